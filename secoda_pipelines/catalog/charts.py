"""Charts for asset metadata: frames in, PNG bytes out (SPEC part B: "where a chart is
wanted, a small PNG made by a plotting library and shown in the metadata serves").

`coverage_chart_png` draws what Dagster's own metadata plots cannot: the described share
of each integration over the snapshot days, and each coverage target's actual against its
straight line from (start, baseline) to (deadline, target). `png_markdown` wraps a PNG as
the markdown Dagster's UI shows (a ``data:`` URI, which the UI's markdown sanitizer allows
for images).

matplotlib is imported inside the functions, so importing this module stays cheap; the
figure is drawn on its own Agg canvas (no pyplot, no global figure state, safe in threads)
under matplotlib's default style, so a user's matplotlibrc does not change the picture.
The PNG carries no timestamp or software tag (saved again by Pillow as a 256-colour
palette image, a third of the size): the same frames give the same bytes.

Pure: no HTTP, no Dagster.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# 900 x 600 px at dpi 100, saved with a 256-colour palette: some 40 KB for 30 days of 5
# integrations and 4 targets, well under the 150 KB a metadata entry should stay below.
CHART_SIZE_PX = (900, 600)
EMPTY_SIZE_PX = (600, 150)
DPI = 100
NO_SNAPSHOT_TEXT = "no coverage snapshot yet"
NO_TARGETS_TEXT = "no coverage targets set (SECODA_COVERAGE_TARGETS)"
# More integrations than this: the largest (by resources on the latest day) are drawn and
# the rest pooled as one "other" line, so the legend stays readable.
MAX_INTEGRATIONS = 8
COVERAGE_CHART_COLUMNS = (
    "snapshot_date",
    "integration_id",
    "integration_name",
    "kind",
    "resources",
    "described",
)
TARGET_CHART_COLUMNS = (
    "snapshot_date",
    "name",
    "target",
    "start",
    "deadline",
    "baseline",
    "actual",
)
KIND_STYLES = {"table": "-", "column": "--"}
# Up to this many snapshot days every day is marked with a point (one day shows as points);
# beyond it the lines alone are clearer, and the PNG smaller.
MARKED_DAYS = 14
# A single snapshot day is drawn this many days wide on each side.
SINGLE_DAY_PAD_DAYS = 3
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_INTEGRATIONS = "all integrations"
LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 8}
OTHER_INTEGRATIONS = "other"


def coverage_chart_png(
    coverage_history: pd.DataFrame, target_history: pd.DataFrame | None
) -> bytes:
    """Returns a PNG (CHART_SIZE_PX at DPI) of documentation coverage over the snapshot days.

    Top panel: the described share (sum of described / sum of resources) of tables (solid)
    and columns (dashed) per integration, by integration name (the MAX_INTEGRATIONS - 1
    largest and the rest pooled, when there are more), and over all integrations when
    there are several. Bottom panel: each target's actual over the days (solid)
    against its straight line from (start, baseline) to (deadline, target) (dotted,
    a NaN baseline starting at 0), the target marked at its deadline, the label giving the
    latest status. Up to MARKED_DAYS snapshot days each day is drawn as a point too, so
    one snapshot day shows as points (on an axis SINGLE_DAY_PAD_DAYS wide each side).

    `coverage_history`: rows of reports/documentation_coverage (COVERAGE_CHART_COLUMNS at
    least). `target_history`: rows of reports/coverage_targets for every snapshot day
    (TARGET_CHART_COLUMNS at least, `status` used when present); None or empty draws the
    coverage panel alone with a note. An empty `coverage_history` gives a small image
    (EMPTY_SIZE_PX) saying NO_SNAPSHOT_TEXT.

    Raises:
        ValueError: a frame with rows lacks one of the columns named above (the message
            names the frame and the missing columns), or a snapshot_date, start or
            deadline is not a date.
    """
    from matplotlib import style

    with style.context("default"):
        if coverage_history is None or coverage_history.empty:
            return _message_png(NO_SNAPSHOT_TEXT, EMPTY_SIZE_PX)
        _require(coverage_history, COVERAGE_CHART_COLUMNS, "coverage_history")
        targets = None if target_history is None or target_history.empty else target_history
        if targets is not None:
            _require(targets, TARGET_CHART_COLUMNS, "target_history")
        figure = _figure(CHART_SIZE_PX)
        if targets is not None:
            top, bottom = figure.subplots(2, 1)
            _draw_coverage(top, coverage_history)
            _draw_targets(bottom, targets)
        else:
            top = figure.subplots(1, 1)
            _draw_coverage(top, coverage_history)
            figure.supxlabel(NO_TARGETS_TEXT, fontsize=9, color="0.4")
        return _png(figure)


def png_markdown(png: bytes, alt: str) -> str:
    """Returns the markdown image ``![alt](data:image/png;base64,...)`` embedding `png`, for
    `dg.MetadataValue.md`: Dagster's UI shows it under "[Show Markdown]" of the entry.
    Brackets and line breaks in `alt` are replaced by spaces (they would end the markdown).

    Raises:
        ValueError: `png` does not start with the PNG signature.
    """
    if not bytes(png[: len(PNG_SIGNATURE)]) == PNG_SIGNATURE:
        raise ValueError(
            f"png_markdown needs PNG bytes (starting with {PNG_SIGNATURE!r}); "
            f"got {bytes(png[:8])!r}"
        )
    text = " ".join("".join(" " if c in "[]\\" else c for c in alt).split())
    encoded = base64.b64encode(png).decode("ascii")
    return f"![{text}](data:image/png;base64,{encoded})"


def _require(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} lacks column(s) {', '.join(missing)}; the chart needs {', '.join(columns)}"
            f" (got {', '.join(map(str, frame.columns)) or 'none'})"
        )


def _days(values: pd.Series, what: str) -> pd.Series:
    """Returns the values as naive datetime64 days in UTC (matplotlib's date axis)."""
    try:
        stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} holds a value that is not a date: {error}") from error
    return stamps.dt.tz_localize(None).dt.normalize()


def _figure(size_px: tuple[int, int]) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size_px[0] / DPI, size_px[1] / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    """Returns the figure as a 256-colour palette PNG: a line chart loses nothing visible
    and the file is about a third of the RGBA one Agg writes."""
    from PIL import Image  # Pillow: a dependency of matplotlib

    rgba = io.BytesIO()
    figure.savefig(rgba, format="png", dpi=DPI, metadata={"Software": None})
    rgba.seek(0)
    with Image.open(rgba) as image:
        palette = image.convert("RGB").quantize(colors=256)
    buffer = io.BytesIO()
    palette.save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def _message_png(text: str, size_px: tuple[int, int]) -> bytes:
    figure = _figure(size_px)
    figure.text(0.5, 0.5, text, ha="center", va="center", fontsize=14, color="0.3")
    return _png(figure)


def _integration_labels(frame: pd.DataFrame) -> pd.Series:
    """Returns one label per row: the integration's name (its id when it has none), with
    the id added where two integrations share a name."""
    ids = frame["integration_id"].astype("string").fillna("?")
    names = frame["integration_name"].astype("string")
    names = names.where(names.notna() & (names.str.strip() != ""), ids)
    ids_per_name = pd.Series(ids.values, index=names.values).groupby(level=0).nunique()
    shared = names.map(ids_per_name) > 1
    return names.where(~shared, names + " (" + ids + ")")


def _shares(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    sums = frame.groupby(by, dropna=False)[["resources", "described"]].sum().reset_index()
    sums = sums[sums["resources"] > 0]
    return sums.assign(share=sums["described"] / sums["resources"])


def _draw_coverage(axes: Axes, history: pd.DataFrame) -> None:
    frame = pd.DataFrame(
        {
            "day": _days(history["snapshot_date"], "coverage_history.snapshot_date"),
            "label": _integration_labels(history),
            "kind": history["kind"].astype("string"),
            "resources": pd.to_numeric(history["resources"]).fillna(0),
            "described": pd.to_numeric(history["described"]).fillna(0),
        }
    )
    latest = frame[frame["day"] == frame["day"].max()]
    ranked = (
        latest.groupby("label")["resources"].sum().reindex(frame["label"].unique(), fill_value=0)
    )
    order = sorted(ranked.index, key=lambda label: (-ranked[label], label))
    if len(order) > MAX_INTEGRATIONS:
        kept = order[: MAX_INTEGRATIONS - 1]
        pooled = f"{OTHER_INTEGRATIONS} ({len(order) - len(kept)})"
        frame["label"] = frame["label"].where(frame["label"].isin(kept), pooled)
        order = [*kept, pooled]
    marked = frame["day"].nunique() <= MARKED_DAYS
    colors = _colors(len(order))
    shares = _shares(frame, ["label", "kind", "day"])
    lines = [(label, color, 1.5) for label, color in zip(order, colors, strict=True)]
    if len(order) > 1:
        # Drawn first and wider, so an integration at the overall share still shows on it.
        shares = pd.concat([shares, _shares(frame, ["kind", "day"]).assign(label=ALL_INTEGRATIONS)])
        lines.insert(0, (ALL_INTEGRATIONS, "black", 3.0))
    for label, color, width in lines:
        for kind, line_style in KIND_STYLES.items():
            points = shares[(shares["label"] == label) & (shares["kind"] == kind)]
            axes.plot(
                points["day"].to_numpy(),
                points["share"].to_numpy(dtype=float),
                color=color,
                linestyle=line_style,
                linewidth=width,
                **(_kind_marker(kind, width) if marked else {}),
            )
    axes.legend(handles=_legend_handles([*lines[1:], *lines[:1]], marked), **LEGEND)
    axes.set_title("Described share per integration", fontsize=10)
    _share_axis(axes)
    _date_axis(axes, frame["day"])


def _draw_targets(axes: Axes, history: pd.DataFrame) -> None:
    frame = pd.DataFrame(
        {
            "day": _days(history["snapshot_date"], "target_history.snapshot_date"),
            "name": history["name"].astype("string").fillna("?"),
            "target": pd.to_numeric(history["target"]),
            "start": _days(history["start"], "target_history.start"),
            "deadline": _days(history["deadline"], "target_history.deadline"),
            "baseline": pd.to_numeric(history["baseline"]),
            "actual": pd.to_numeric(history["actual"]),
            "status": history["status"].astype("string")
            if "status" in history.columns
            else pd.Series(pd.NA, index=history.index, dtype="string"),
        }
    ).sort_values("day", kind="stable")
    marked = frame["day"].nunique() <= MARKED_DAYS
    names = list(dict.fromkeys(frame["name"]))
    for color, name in zip(_colors(len(names)), names, strict=True):
        rows = frame[frame["name"] == name]
        last = rows.iloc[-1]
        target = float(last["target"])
        baseline = 0.0 if pd.isna(last["baseline"]) else float(last["baseline"])
        status = "" if pd.isna(last["status"]) else f", {last['status']}"
        axes.plot(
            rows["day"].to_numpy(),
            rows["actual"].to_numpy(dtype=float),
            color=color,
            marker="o" if marked else None,
            markersize=4,
            label=f"{name}: {target:.0%} by {last['deadline']:%Y-%m-%d}{status}",
        )
        axes.plot([last["start"], last["deadline"]], [baseline, target], color=color, linestyle=":")
        axes.plot([last["deadline"]], [target], color=color, marker="*", markersize=10)
    axes.legend(**LEGEND)
    axes.set_title(
        "Targets: actual (solid) against the straight line to target (dotted)", fontsize=10
    )
    _share_axis(axes)
    _date_axis(axes, pd.concat([frame["day"], frame["start"], frame["deadline"]]))


def _legend_handles(lines: list[tuple[str, Any, float]], marked: bool) -> list[Any]:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=color, lw=width, label=label) for label, color, width in lines]
    for kind, line_style in KIND_STYLES.items():
        marker = _kind_marker(kind, 1.5) if marked else {}
        handles.append(
            Line2D([], [], color="0.4", linestyle=line_style, label=f"{kind}s", **marker)
        )
    return handles


def _kind_marker(kind: str, width: float) -> dict[str, Any]:
    """Returns the plot keywords marking each day: tables as hollow circles around columns'
    filled squares, so both show when their shares are equal; wider lines, wider marks."""
    size = 2.5 * width
    if kind == "table":
        return {"marker": "o", "markersize": size * 1.6, "markerfacecolor": "none"}
    return {"marker": "s", "markersize": size}


def _colors(count: int) -> list[Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10" if count <= 10 else "tab20"]
    return [palette(i % palette.N) for i in range(count)]


def _share_axis(axes: Axes) -> None:
    from matplotlib.ticker import PercentFormatter

    axes.set_ylim(-0.02, 1.02)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.grid(True, color="0.9")


def _date_axis(axes: Axes, days: pd.Series) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    first, last = days.min(), days.max()
    pad = pd.Timedelta(days=SINGLE_DAY_PAD_DAYS) if first == last else (last - first) * 0.03
    axes.set_xlim(first - pad, last + pad)
    locator = AutoDateLocator(minticks=3, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
