"""Report rule: documentation-coverage targets (`reports/coverage_targets`), read from the
YAML file `SECODA_COVERAGE_TARGETS` names and followed over the coverage history.

The file holds ``targets: [{name, metric, kind, scope, target, start, deadline}]`` (SPEC
part B, "Targets"). `read_targets` / `parse_targets` check every entry and report every
problem at once (`TargetsFileError`), each naming the file, the entry, the field and what
would be right. `target_statuses` gives one row per target for a day and
`target_status_history` the same for every snapshot day (the chart of each target against
its straight line), both from ``reports/documentation_coverage`` rows.

For a target and a day:

- actual: the metric's share within the target's scope and kind on that day's snapshot
  (sum of the metric / sum of resources over the matching rows); NaN when the scope has no
  resources that day (or the day has no snapshot);
- baseline: actual on the first snapshot on or after `start` (up to the day); the day's
  own when there is none (a start before the first snapshot takes the first snapshot's);
- expected_today: baseline + (target - baseline) x elapsed / (deadline - start), elapsed
  in days from start, at least 0, so the line runs from baseline at start to target at the
  deadline and stays there; a NaN baseline (scope empty then) starts the line at 0;
- status: met (actual >= target, whatever the date), missed (past the deadline, not met),
  on_track (actual >= expected_today), else behind. A scope with no resources is behind,
  then missed: a scope that matches nothing (a mistyped schema) shows instead of passing.

Scope matching: integration_id exactly, database and schema case-insensitively.

Pure: no HTTP, no Dagster.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
import yaml

METRICS = (
    "described",
    "with_description",
    "with_definition",
    "with_owners",
    "with_tags",
    "verified",
)
KINDS = ("table", "column")
SCOPE_KEYS = ("integration_id", "database", "schema")
STATUSES = ("met", "on_track", "behind", "missed")
TARGET_COLUMNS = (
    "snapshot_date",
    "name",
    "metric",
    "kind",
    "scope",
    "target",
    "start",
    "deadline",
    "baseline",
    "actual",
    "expected_today",
    "status",
)
DATE_DTYPE = "datetime64[ns, UTC]"
TARGET_DTYPES: dict[str, str] = {
    "snapshot_date": DATE_DTYPE,
    "name": "string",
    "metric": "string",
    "kind": "string",
    "scope": "string",
    "target": "float64",
    "start": DATE_DTYPE,
    "deadline": DATE_DTYPE,
    "baseline": "float64",
    "actual": "float64",
    "expected_today": "float64",
    "status": "string",
}
# The reports/documentation_coverage columns this rule reads.
HISTORY_COLUMNS = ("snapshot_date", "integration_id", "database", "schema", "kind", "resources")

_REQUIRED_FIELDS = ("name", "metric", "kind", "target", "start", "deadline")
_FIELDS = ("name", "metric", "kind", "scope", "target", "start", "deadline")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Shares are ratios of counts and the line a product: a tolerance keeps 0.5 on a line at
# 0.5000000000000001 on track.
_TOLERANCE = 1e-9


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates and timestamps as text: `_check_date` reads them, so a
    date YAML cannot build (2026-13-01) or one with a time is named in the errors instead
    of failing the whole load."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


@dataclass(frozen=True)
class CoverageTarget:
    """One target of the targets file: reach `target` (a share, 0..1) of `metric` among the
    resources of `kind` in `scope` by `deadline`, on a straight line from `start`.

    `scope` maps some of integration_id, database, schema to a value (text); an empty scope
    is the whole workspace.
    """

    name: str
    metric: str
    kind: str
    scope: dict[str, str] = field(hash=False)
    target: float
    start: date
    deadline: date


class TargetsFileError(ValueError):
    """The targets file cannot be used. `errors` lists every problem found, one line each
    (file, entry, field, what would be right); str() is all of them, one per line."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))

    def __str__(self) -> str:
        return "\n".join(self.errors)


# --- the targets file ---------------------------------------------------------------------


def read_targets(path: str | os.PathLike[str]) -> list[CoverageTarget]:
    """Returns the targets of the YAML file at `path`, in file order (empty for
    ``targets: []``).

    Raises:
        TargetsFileError: the file is missing or unreadable, is not YAML, or any entry is
            bad; every problem is listed, each naming the file.
    """
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise TargetsFileError(
            [
                f"{source}: no such file: SECODA_COVERAGE_TARGETS must name a YAML file of "
                "targets (or be unset for no targets)"
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise TargetsFileError(
            [f"{source}: cannot be read ({reason}): expected a UTF-8 YAML file of targets"]
        ) from None
    return parse_targets(text, source)


def parse_targets(text: str, source: str) -> list[CoverageTarget]:
    """Returns the targets of the YAML `text` (named `source` in errors), in file order.

    Raises:
        TargetsFileError: `text` is not YAML, not a mapping with a ``targets`` list, or any
            entry is bad. Every entry is checked and every problem listed: missing or
            unknown fields, a metric not in METRICS, a kind not table/column, a scope that is
            not a mapping of integration_id/database/schema to text, a target that is not a
            number from 0 to 1, a start or deadline that is not a date, a deadline not after
            its start, a name used twice.
    """
    try:
        document = yaml.load(text, Loader=_Loader)  # a SafeLoader: no objects built
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise TargetsFileError(
            [f"{source}: not YAML{where} ({problem}): expected a mapping with a 'targets' list"]
        ) from None
    entries = _entries(document, source)
    errors: list[str] = []
    targets: list[CoverageTarget] = []
    first_index_of: dict[str, int] = {}
    for index, entry in enumerate(entries):
        target, entry_errors = _target(entry, f"{source}: {_label(index, entry)}")
        errors += entry_errors
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if isinstance(name, str) and name.strip():
            if name in first_index_of:
                errors.append(
                    f"{source}: {_label(index, entry)}: name {name!r} is already used by "
                    f"targets[{first_index_of[name]}]: each target needs a name of its own"
                )
            else:
                first_index_of[name] = index
        if target is not None:
            targets.append(target)
    if errors:
        raise TargetsFileError(errors)
    return targets


def _entries(document: Any, source: str) -> list[Any]:
    """Returns the document's ``targets`` list, or raises TargetsFileError."""
    expected = "expected a mapping with a 'targets' list, e.g. 'targets: []'"
    if not isinstance(document, Mapping):
        got = "an empty file" if document is None else f"a {_type_name(document)}"
        raise TargetsFileError([f"{source}: {expected}, got {got}"])
    errors = []
    if "targets" not in document:
        errors.append(f"{source}: no 'targets' key: {expected}")
    elif not isinstance(document["targets"], list):
        got = _type_name(document["targets"])
        errors.append(f"{source}: 'targets' is a {got}: {expected}")
    errors += [
        f"{source}: unknown top-level key {key!r}: expected only 'targets'"
        for key in document
        if key != "targets"
    ]
    if errors:
        raise TargetsFileError(errors)
    return document["targets"]


def _label(index: int, entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, Mapping) else None
    return f"targets[{index}] ({name!r})" if isinstance(name, str) and name else f"targets[{index}]"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {
        str: "text",
        bool: "boolean",
        int: "number",
        float: "number",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


def _target(entry: Any, where: str) -> tuple[CoverageTarget | None, list[str]]:
    """Returns the entry as a CoverageTarget (None when it has errors) and its errors."""
    if not isinstance(entry, Mapping):
        return None, [
            f"{where}: is a {_type_name(entry)}: expected a mapping of "
            f"{', '.join(_FIELDS)} (scope optional)"
        ]
    errors = [
        f"{where}: missing field {name!r} ({_WHAT[name]})"
        for name in _REQUIRED_FIELDS
        if name not in entry
    ]
    for key in entry:
        if key not in _FIELDS:
            close = difflib.get_close_matches(str(key), _FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            errors.append(
                f"{where}: unknown field {key!r}{hint}: expected only {', '.join(_FIELDS)}"
            )
    checked: dict[str, Any] = {}
    for name, check in _CHECKS.items():
        if name in entry or name == "scope":
            value, error = check(entry.get(name))
            if error:
                errors.append(f"{where}: {name} {error}")
            else:
                checked[name] = value
    start, deadline = checked.get("start"), checked.get("deadline")
    if start is not None and deadline is not None and deadline <= start:
        errors.append(
            f"{where}: deadline {deadline.isoformat()} is not after start "
            f"{start.isoformat()}: the deadline must be a later date"
        )
    if errors:
        return None, errors
    return CoverageTarget(**checked), []


_WHAT = {
    "name": "a non-empty text naming the target",
    "metric": f"one of {', '.join(METRICS)}",
    "kind": f"one of {', '.join(KINDS)}",
    "target": "a share from 0 to 1",
    "start": "a date, YYYY-MM-DD",
    "deadline": "a date, YYYY-MM-DD",
}


def _check_name(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and value.strip():
        return value, None
    return None, f"{value!r} is not a name: expected {_WHAT['name']}"


def _check_choice(choices: tuple[str, ...], what: str) -> Callable[[Any], tuple[Any, str | None]]:
    def check(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, str) and value in choices:
            return value, None
        return None, f"{value!r} is not {what}: expected one of {', '.join(choices)}"

    return check


def _check_scope(value: Any) -> tuple[Any, str | None]:
    if value is None:
        return {}, None
    expected = f"a mapping of some of {', '.join(SCOPE_KEYS)} to a name or id"
    if not isinstance(value, Mapping):
        return None, f"is a {_type_name(value)}: expected {expected}"
    problems = []
    scope: dict[str, str] = {}
    for key, item in value.items():
        if key not in SCOPE_KEYS:
            problems.append(f"has unknown key {key!r}")
        elif isinstance(item, bool) or not isinstance(item, str | int) or str(item) == "":
            problems.append(f"{key} {item!r} is not a name or id")
        else:
            scope[str(key)] = str(item)
    if problems:
        return None, f"{'; '.join(problems)}: expected {expected}"
    return scope, None


def _check_target(value: Any) -> tuple[Any, str | None]:
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 1
    ):
        return float(value), None
    return None, f"{value!r} is not a number from 0 to 1: expected a share (0.8 for 80%)"


def _check_date(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value, None
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip()), None
        except ValueError:
            pass
    return None, f"{value!r} is not a date: expected YYYY-MM-DD (e.g. 2026-03-31)"


_CHECKS = {
    "name": _check_name,
    "metric": _check_choice(METRICS, "a metric"),
    "kind": _check_choice(KINDS, "a kind"),
    "scope": _check_scope,
    "target": _check_target,
    "start": _check_date,
    "deadline": _check_date,
}


# --- statuses -----------------------------------------------------------------------------


def target_statuses(
    targets: Sequence[CoverageTarget], history: pd.DataFrame, today: date
) -> pd.DataFrame:
    """Returns ``reports/coverage_targets``' rows for `today`: one per target, in the
    targets' order, measured on today's snapshot of `history` (rows of
    ``reports/documentation_coverage``; only snapshots up to today count).

    Columns TARGET_COLUMNS, dtypes TARGET_DTYPES: snapshot_date (midnight UTC of `today`),
    start, deadline (midnight UTC, datetime64[ns, UTC]); name, metric, kind, status
    (string); scope (compact JSON text of the scope, keys sorted, "{}" for the whole
    workspace); target, baseline, actual, expected_today (float64, NaN where the scope has
    no resources). The rule is the module's docstring. An empty history is no history:
    every actual is NaN.

    Raises:
        KeyError: `history` has rows but lacks one of HISTORY_COLUMNS or a target's metric.
        ValueError: a snapshot_date of `history` is not a date.
    """
    day = _day(today)
    shares = _shares(targets, history, until=day)
    rows = [_row(target, shares[i], day) for i, target in enumerate(targets)]
    return _frame(rows)


def target_status_history(targets: Sequence[CoverageTarget], history: pd.DataFrame) -> pd.DataFrame:
    """Returns what `target_statuses` gives for each snapshot day of `history`, every day
    measured with only the snapshots up to it: one row per target per day, sorted by
    snapshot_date, then the targets' order (before a target's start its line is flat at
    that day's actual). Columns and dtypes as `target_statuses`; empty (with those columns)
    when `history` or `targets` is empty.

    Raises:
        KeyError: `history` has rows but lacks one of HISTORY_COLUMNS or a target's metric.
        ValueError: a snapshot_date of `history` is not a date.
    """
    shares = _shares(targets, history, until=None)
    days = sorted({day for share in shares for day in share.index})
    rows = [
        _row(target, shares[i][shares[i].index <= day], day)
        for day in days
        for i, target in enumerate(targets)
    ]
    return _frame(rows)


def scope_text(scope: Mapping[str, str]) -> str:
    """Returns the scope as stored in the report: compact JSON, keys sorted. Raises
    nothing."""
    return json.dumps(dict(sorted(scope.items())), separators=(",", ":"), ensure_ascii=False)


def _day(value: date | str | pd.Timestamp) -> pd.Timestamp:
    """Returns midnight UTC of the day `value` falls on (in UTC when it has a zone)."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.normalize()


def _days(values: pd.Series) -> pd.Series:
    """Returns the snapshot dates as midnight UTC; raises ValueError when one is not a date."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamps = values.dt.tz_localize("UTC") if values.dt.tz is None else values
    else:
        objects = values.astype(object)
        try:
            stamps = pd.to_datetime(objects, utc=True, format="ISO8601")
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"documentation coverage history: snapshot_date is not a date ({error})"
            ) from None
    if stamps.isna().any():
        raise ValueError("documentation coverage history: a snapshot_date is null")
    return stamps.dt.tz_convert("UTC").dt.normalize().astype(DATE_DTYPE)


def _shares(
    targets: Sequence[CoverageTarget], history: pd.DataFrame, until: pd.Timestamp | None
) -> list[pd.Series]:
    """Returns per target its share per snapshot day (every day of `history` up to
    `until`, NaN where the scope has no resources), indexed by day, ascending."""
    if history is None or history.empty:
        return [pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))] * len(targets)
    needed = list(dict.fromkeys([*HISTORY_COLUMNS, *(target.metric for target in targets)]))
    missing = [name for name in needed if name not in history.columns]
    if missing:
        raise KeyError(
            f"documentation coverage history lacks the column(s) {missing}: expected {needed}"
        )
    frame = pd.DataFrame(
        {
            "day": _days(history["snapshot_date"]).to_numpy(),
            "integration_id": _text(history["integration_id"]),
            "database": _text(history["database"]).str.lower(),
            "schema": _text(history["schema"]).str.lower(),
            "kind": _text(history["kind"]),
            "resources": pd.to_numeric(history["resources"]).fillna(0).to_numpy(),
        }
    )
    if until is not None:
        keep = (frame["day"] <= until).to_numpy()
        frame, history = frame[keep], history[keep]
    days = pd.DatetimeIndex(sorted(frame["day"].unique())).tz_convert("UTC")
    shares = []
    for target in targets:
        matching = (frame["kind"] == target.kind).fillna(False)
        for key, value in target.scope.items():
            wanted = value if key == "integration_id" else value.lower()
            matching &= (frame[key] == wanted).fillna(False)
        counted = pd.DataFrame(
            {
                "day": frame["day"][matching].to_numpy(),
                "metric": pd.to_numeric(history[target.metric][matching.to_numpy()])
                .fillna(0)
                .to_numpy(),
                "resources": frame["resources"][matching].to_numpy(),
            }
        )
        sums = counted.groupby("day")[["metric", "resources"]].sum().reindex(days, fill_value=0)
        resources = sums["resources"].astype("float64")
        share = (sums["metric"].astype("float64") / resources).where(resources > 0)
        shares.append(share)
    return shares


def _text(values: pd.Series) -> pd.Series:
    """Returns the values as ``string`` with the frame's index reset (ids as text)."""
    return pd.Series(pd.array(values.to_numpy(dtype=object), dtype="string"))


def _row(target: CoverageTarget, share: pd.Series, day: pd.Timestamp) -> dict[str, object]:
    """Returns the target's report row for `day`, from its shares of the days up to it."""
    start, deadline = _day(target.start), _day(target.deadline)
    actual = _value(share.get(day))
    since_start = share[share.index >= start]
    baseline = _value(since_start.iloc[0]) if len(since_start) else actual
    line_from = 0.0 if math.isnan(baseline) else baseline
    span = (deadline - start).days
    elapsed = max(0, (day - start).days)
    fraction = min(1.0, elapsed / span) if span > 0 else 1.0
    expected = line_from + (target.target - line_from) * fraction
    return {
        "snapshot_date": day,
        "name": target.name,
        "metric": target.metric,
        "kind": target.kind,
        "scope": scope_text(target.scope),
        "target": target.target,
        "start": start,
        "deadline": deadline,
        "baseline": baseline,
        "actual": actual,
        "expected_today": expected,
        "status": _status(actual, target.target, expected, past_deadline=day > deadline),
    }


def _value(value: Any) -> float:
    return math.nan if value is None or pd.isna(value) else float(value)


def _status(actual: float, target: float, expected: float, *, past_deadline: bool) -> str:
    if not math.isnan(actual) and actual >= target - _TOLERANCE:
        return "met"
    if past_deadline:
        return "missed"
    if not math.isnan(actual) and actual >= expected - _TOLERANCE:
        return "on_track"
    return "behind"


def _frame(rows: Iterable[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(list(rows), columns=list(TARGET_COLUMNS))
    return frame.astype(TARGET_DTYPES)
