"""The coverage chart shown in the metadata of reports/documentation_coverage: a PNG that
decodes, at the size asked, small enough for the event log, for a long history, a single
day, no targets and no snapshot at all; and the markdown that embeds it."""

from __future__ import annotations

import base64
import io
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from matplotlib import colormaps
from matplotlib.image import imread

from secoda_pipelines.catalog.charts import (
    CHART_SIZE_PX,
    EMPTY_SIZE_PX,
    coverage_chart_png,
    png_markdown,
)

MAX_BYTES = 150 * 1024
FIRST_DAY = pd.Timestamp("2025-03-01", tz="UTC")
TAB10 = [tuple(round(255 * c) for c in colormaps["tab10"](i)[:3]) for i in range(10)]


def coverage_history(days: int, integrations: int) -> pd.DataFrame:
    """Returns reports/documentation_coverage rows: per day, integration, schema and kind,
    shares rising a little every day."""
    rows = []
    for day in range(days):
        for i in range(integrations):
            for schema in ("raw", "mart"):
                for kind, resources in (("table", 40), ("column", 600)):
                    described = int(resources * min(1.0, 0.1 + 0.15 * i + 0.01 * day))
                    rows.append(
                        {
                            "snapshot_date": FIRST_DAY + pd.Timedelta(days=day),
                            "integration_id": f"int-{i}",
                            "integration_name": f"Warehouse {i}",
                            "database": "analytics",
                            "schema": schema,
                            "kind": kind,
                            "resources": resources,
                            "described": described,
                            "with_description": described,
                            "with_definition": 0,
                            "with_owners": described // 2,
                            "with_tags": 0,
                            "pii": 0,
                            "verified": 0,
                            "described_share": described / resources,
                        }
                    )
    frame = pd.DataFrame(rows)
    return frame.astype({"snapshot_date": "datetime64[ns, UTC]"}) if rows else frame


def target_history(days: int, targets: int, *, dates_as_timestamps: bool = False) -> pd.DataFrame:
    """Returns reports/coverage_targets rows for every snapshot day; start and deadline as
    dates, or as midnight-UTC timestamps (how the targets rule types them)."""
    rows = []
    for day in range(days):
        for t in range(targets):
            start = date(2025, 3, 1)
            deadline = date(2025, 5, 1 + 7 * t)
            actual = 0.2 + 0.05 * t + 0.005 * day
            rows.append(
                {
                    "snapshot_date": FIRST_DAY + pd.Timedelta(days=day),
                    "name": f"target {t}",
                    "metric": "described",
                    "kind": "table",
                    "scope": "{}",
                    "target": 0.6 + 0.1 * t,
                    "start": pd.Timestamp(start, tz="UTC") if dates_as_timestamps else start,
                    "deadline": pd.Timestamp(deadline, tz="UTC")
                    if dates_as_timestamps
                    else deadline,
                    "baseline": 0.2 + 0.05 * t,
                    "actual": actual,
                    "expected_today": actual - 0.01,
                    "status": "on_track",
                }
            )
    return pd.DataFrame(rows)


def decode(png: bytes) -> np.ndarray:
    """Returns the PNG's pixels (height x width x channels, floats 0..1)."""
    return imread(io.BytesIO(png), format="png")


def size_px(pixels: np.ndarray) -> tuple[int, int]:
    return pixels.shape[1], pixels.shape[0]


def has_color(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 12) -> bool:
    """Returns whether some pixel is within `tolerance` (per channel, 0..255) of `rgb`."""
    channels = np.rint(pixels[..., :3] * 255).astype(int)
    return bool((np.abs(channels - np.array(rgb)) <= tolerance).all(axis=-1).any())


def test_thirty_days_of_five_integrations_and_four_targets_fit_under_150_kb() -> None:
    png = coverage_chart_png(coverage_history(30, 5), target_history(30, 4))

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) < MAX_BYTES
    pixels = decode(png)
    assert size_px(pixels) == CHART_SIZE_PX == (900, 600)
    # One colour per integration (and per target), each drawn.
    assert all(has_color(pixels, color) for color in TAB10[:5])


@pytest.mark.parametrize("dates_as_timestamps", [False, True], ids=["dates", "timestamps"])
def test_a_single_snapshot_day_is_drawn_as_points(dates_as_timestamps: bool) -> None:
    png = coverage_chart_png(
        coverage_history(1, 3), target_history(1, 2, dates_as_timestamps=dates_as_timestamps)
    )

    pixels = decode(png)
    assert size_px(pixels) == CHART_SIZE_PX
    assert len(png) < MAX_BYTES
    top_panel = pixels[: pixels.shape[0] // 2, : int(pixels.shape[1] * 0.7)]
    assert all(has_color(top_panel, color) for color in TAB10[:3])


def test_without_targets_the_coverage_panel_is_drawn_alone() -> None:
    history = coverage_history(10, 2)

    alone = coverage_chart_png(history, None)

    assert alone == coverage_chart_png(history, target_history(0, 0))
    assert alone != coverage_chart_png(history, target_history(10, 1))
    pixels = decode(alone)
    assert size_px(pixels) == CHART_SIZE_PX
    # The single panel spans the height: integration lines below the middle too.
    bottom_half = pixels[pixels.shape[0] // 2 :, : int(pixels.shape[1] * 0.8)]
    assert has_color(bottom_half, TAB10[0])


@pytest.mark.parametrize("targets", [None, "empty"])
def test_no_snapshot_yet_gives_a_small_image(targets: str | None) -> None:
    empty_targets = target_history(0, 0) if targets else None

    png = coverage_chart_png(coverage_history(0, 0), empty_targets)

    assert size_px(decode(png)) == EMPTY_SIZE_PX
    assert len(png) < 10 * 1024
    assert png == coverage_chart_png(pd.DataFrame(), None)


def test_the_same_frames_give_the_same_bytes() -> None:
    first = coverage_chart_png(coverage_history(5, 2), target_history(5, 2))

    assert first == coverage_chart_png(coverage_history(5, 2), target_history(5, 2))
    assert b"tIME" not in first  # no timestamp chunk
    assert b"Software" not in first


def test_integrations_sharing_a_name_and_unnamed_ones_are_drawn() -> None:
    history = coverage_history(3, 3)
    history.loc[history["integration_id"] == "int-1", "integration_name"] = "Warehouse 0"
    history.loc[history["integration_id"] == "int-2", "integration_name"] = None

    pixels = decode(coverage_chart_png(history, None))

    assert all(has_color(pixels, color) for color in TAB10[:3])


def test_a_frame_without_a_needed_column_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"coverage_history lacks column\(s\) described\b"):
        coverage_chart_png(coverage_history(2, 1).drop(columns=["described"]), None)
    with pytest.raises(ValueError, match=r"target_history lacks column\(s\) baseline, actual"):
        coverage_chart_png(
            coverage_history(2, 1), target_history(2, 1).drop(columns=["baseline", "actual"])
        )


def test_a_target_date_that_is_not_a_date_is_refused() -> None:
    targets = target_history(2, 1).astype({"deadline": object})
    targets.loc[0, "deadline"] = "soon"

    with pytest.raises(
        ValueError, match=re.escape("target_history.deadline holds a value that is not a date")
    ):
        coverage_chart_png(coverage_history(2, 1), targets)


def test_png_markdown_embeds_the_bytes_as_a_data_uri() -> None:
    png = coverage_chart_png(coverage_history(2, 1), None)

    markdown = png_markdown(png, "Documentation [coverage]\nby day")

    found = re.fullmatch(r"!\[([^\]]*)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert found is not None, markdown[:80]
    assert found.group(1) == "Documentation coverage by day"
    assert base64.b64decode(found.group(2), validate=True) == png


def test_png_markdown_refuses_bytes_that_are_not_a_png() -> None:
    with pytest.raises(ValueError, match=r"png_markdown needs PNG bytes .* got b'GIF89a"):
        png_markdown(b"GIF89a\x01\x00", "chart")
