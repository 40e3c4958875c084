"""SPEC B's migration rules, written down plainly from SPEC B's words: the oracle that the
package's one planner (`catalog.planners.migration_match.MigrationMatcher`) and its coverage
(`catalog.reports.coverage`) are held to, row for row.

Nothing here is imported from the package's rules: each function restates a sentence of
SPEC B ("Migration, per field", "Migration across renamed databases", "Migration
coverage" and the `migrate_documentation` row), over rows held in memory, with plain loops.
Only the texts a plan row carries (`detail`) and the order of its rows follow the package's
documented format, so that plans can be compared row for row:

- rows: tables, then columns; source resources grouped by the key they are matched as,
  groups in the order of their first resource, each group in listing order;
- detail of an ambiguous key: "<key> occurs <n> times in the <source|target>: <ids>" (the
  source's ids when the source has it twice, else the target's; in listing order);
- detail of an unmatched resource: "no <kind> <key> in the target";
- detail of a column under an unmatched or ambiguous table: "its table <table key> is
  unmatched: no table <table key> in the target", or "its table <table key> is ambiguous: "
  followed by the table key's ambiguity detail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

SPEC_FIELDS = ("description", "definition", "tags", "pii", "owners", "verified")
SPEC_DEFAULT_FIELDS = ("description", "definition", "tags", "pii")
COMPARED_AS_SETS = ("tags", "owners")
PLAN_COLUMNS = (
    "kind",
    "key",
    "matched_as",
    "documented",
    "source_id",
    "target_id",
    "action",
    "fields",
    "kept_fields",
    "detail",
    "patch",
    "expected",
)
OUTCOME = {
    "unchanged": "carried",
    "update": "pending",
    "kept": "kept",
    "unmatched": "unmatched",
    "ambiguous": "ambiguous",
}

Row = Mapping[str, Any]
Key = tuple[str, ...]


# --- "Migration, per field" -----------------------------------------------------------


def empty(value: Any) -> bool:
    """SPEC B: "a value is empty when null, "None", "", [] or false"."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return value in ("", "None")
    return isinstance(value, list) and len(value) == 0


def _as_set(values: list[Any]) -> set[Any]:
    return {json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v for v in values}


def equal(field: str, source: Any, target: Any) -> bool:
    """SPEC B: "a value equal on both sides (tags compared as sets) needs nothing"; part A
    makes owners a list of ids too, compared the same way."""
    if field in COMPARED_AS_SETS and isinstance(source, list) and isinstance(target, list):
        return _as_set(source) == _as_set(target)
    return source == target


def decide(
    source: Row, target: Row, fields: Sequence[str], overwrite: bool
) -> tuple[dict[str, Any], list[str]]:
    """Returns (the fields written with their values, the fields kept) for one pair."""
    written: dict[str, Any] = {}
    kept: list[str] = []
    for field in fields:
        mine, theirs = source.get(field), target.get(field)
        if empty(mine):  # "An empty source value is never carried."
            continue
        if equal(field, mine, theirs):  # "... needs nothing."
            continue
        if empty(theirs) or overwrite:  # "An empty target value is filled." / overwrite
            written[field] = mine
        else:  # "... overwritten only with `overwrite`, else kept."
            kept.append(field)
    return written, kept


def action_of(written: Mapping[str, Any], kept: Sequence[str]) -> str:
    """SPEC B: "update when at least one field is written, kept when none is written but
    one was kept, unchanged otherwise"."""
    if written:
        return "update"
    return "kept" if kept else "unchanged"


def documented(row: Row, fields: Iterable[str]) -> bool:
    """A source resource is documented when one of `fields` holds a non-empty value."""
    return any(not empty(row.get(field)) for field in fields)


# --- matching keys and renames ----------------------------------------------------------


def fold(name: Any) -> str:
    """A name as keys compare it: case-insensitive (and trimmed); null is ""."""
    return "" if name is None else str(name).strip().casefold()


def table_key(row: Row) -> Key:
    return (fold(row.get("database")), fold(row.get("schema")), fold(row.get("title")))


def column_key(row: Row) -> Key:
    return (
        fold(row.get("table_database")),
        fold(row.get("table_schema")),
        fold(row.get("table_title")),
        fold(row.get("title")),
    )


def renamer(database_map: Mapping[str, str] | None, schema_map: Mapping[str, str] | None):
    """SPEC B: database_map and schema_map "({old name: new name}, matched
    case-insensitively) rename the source side's database and schema before matching";
    each applies once (a renamed name is not renamed again)."""
    databases = {fold(old): fold(new) for old, new in (database_map or {}).items()}
    schemas = {fold(old): fold(new) for old, new in (schema_map or {}).items()}

    def rename(key: Key) -> Key:
        database, schema, *rest = key
        return (databases.get(database, database), schemas.get(schema, schema), *rest)

    return rename


def _label(key: Key) -> str:
    return ".".join(key)


def _grouped(rows: Iterable[Row], key_of) -> dict[Key, list[Row]]:
    groups: dict[Key, list[Row]] = {}
    for row in rows:
        groups.setdefault(key_of(row), []).append(row)
    return groups


def _twice(key: Key, sources: Sequence[Row], targets: Sequence[Row]) -> str:
    side, rows = ("source", sources) if len(sources) > 1 else ("target", targets)
    ids = ", ".join(str(row["id"]) for row in rows)
    return f"{_label(key)} occurs {len(rows)} times in the {side}: {ids}"


# --- the plan ---------------------------------------------------------------------------


def plan_by_spec(
    source_tables: Sequence[Row],
    target_tables: Sequence[Row],
    source_columns: Sequence[Row] = (),
    target_columns: Sequence[Row] = (),
    *,
    fields: Sequence[str] = SPEC_DEFAULT_FIELDS,
    overwrite: bool = False,
    database_map: Mapping[str, str] | None = None,
    schema_map: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Returns SPEC B's plan of the source onto the target: one row per source table, then
    per source column, with PLAN_COLUMNS.

    - Tables are matched by (database, schema, title), columns by (database, schema, table
      title, column title), case-insensitive, after renaming the source's database and
      schema.
    - Keys found twice on either side are ambiguous; source resources with no match are
      unmatched. Neither is written.
    - "A column whose table is unmatched or ambiguous is unmatched or ambiguous too,
      whatever its own key matches on the target, and its reason names the table." A
      column's table is the one its (database, schema, table title) names: ambiguous when
      that key is found twice on either side, unmatched when the target has no table of
      that key (also when the source's table listing lacks it).
    """
    rename = renamer(database_map, schema_map)
    sources = _grouped(source_tables, lambda row: rename(table_key(row)))
    targets = _grouped(target_tables, table_key)

    def table_verdict(key: Key) -> tuple[str, str] | None:
        mine, theirs = sources.get(key, []), targets.get(key, [])
        if len(mine) > 1 or len(theirs) > 1:
            why = _twice(key, mine, theirs)
            return "ambiguous", f"its table {_label(key)} is ambiguous: {why}"
        if not theirs:
            label = _label(key)
            return "unmatched", f"its table {label} is unmatched: no table {label} in the target"
        return None

    rows = _plan_kind("table", sources, targets, table_key, fields, overwrite, lambda key: None)
    column_sources = _grouped(source_columns, lambda row: rename(column_key(row)))
    column_targets = _grouped(target_columns, column_key)
    rows += _plan_kind(
        "column",
        column_sources,
        column_targets,
        column_key,
        fields,
        overwrite,
        lambda key: table_verdict(key[:3]),
    )
    return pd.DataFrame.from_records(rows, columns=list(PLAN_COLUMNS)).astype({"documented": bool})


def _plan_kind(
    kind: str,
    sources: Mapping[Key, list[Row]],
    targets: Mapping[Key, list[Row]],
    own_key,
    fields: Sequence[str],
    overwrite: bool,
    table_verdict,
) -> list[dict[str, Any]]:
    rows = []
    for key, group in sources.items():
        candidates = targets.get(key, [])
        for source in group:
            row = {
                "kind": kind,
                "key": _label(own_key(source)),
                "matched_as": _label(key),
                "documented": documented(source, fields),
                "source_id": str(source["id"]),
                "target_id": None,
                "fields": [],
                "kept_fields": [],
                "detail": None,
                "patch": {},
                "expected": {},
            }
            blocked = table_verdict(key)
            if blocked:
                row["action"], row["detail"] = blocked
            elif len(group) > 1 or len(candidates) > 1:
                row["action"], row["detail"] = "ambiguous", _twice(key, group, candidates)
            elif not candidates:
                row["action"] = "unmatched"
                row["detail"] = f"no {kind} {_label(key)} in the target"
            else:
                target = candidates[0]
                written, kept = decide(source, target, fields, overwrite)
                row.update(
                    target_id=str(target["id"]),
                    action=action_of(written, kept),
                    fields=sorted(written),
                    kept_fields=kept,
                    patch=written,
                    expected={field: target.get(field) for field in written},
                )
            rows.append(row)
    return rows


# --- "Migration coverage" ---------------------------------------------------------------


def coverage_by_spec(
    plan: pd.DataFrame,
    listed_sources: Iterable[Row],
    *,
    fields: Sequence[str],
    include_columns: bool,
) -> dict[str, Any]:
    """Returns SPEC B's coverage of `plan`: {"table": figures, "column": figures (only with
    include_columns), "safe_to_delete_source": bool, "blocked_by": [blockers]}.

    Figures count the source resources of the kind (resources), the documented ones (a
    non-empty value in one of `fields`), and those by what the plan does with them:
    carried (unchanged), pending (update), kept, unmatched, ambiguous. The verdict is true
    only when no documented resource is pending, kept, unmatched or ambiguous, and the run
    covered everything documented: include_columns, and every SPEC field that one of
    `listed_sources` (the source rows the run lists: its tables, and its columns with
    include_columns) has non-empty is among `fields`. Blockers, in order: per kind, each
    blocking outcome ("<n> <kind>(s) <outcome>"); "columns not included"; one "field
    <name> not migrated" per field.
    """
    kinds = ("table", "column") if include_columns else ("table",)
    result: dict[str, Any] = {}
    blocked: list[str] = []
    for kind in kinds:
        rows = plan[plan["kind"] == kind]
        figures = {"resources": len(rows), "documented": int(rows["documented"].sum())}
        for action, outcome in OUTCOME.items():
            figures[outcome] = int((rows["documented"] & (rows["action"] == action)).sum())
        result[kind] = figures
        blocked += [
            f"{figures[outcome]} {kind}(s) {outcome}"
            for outcome in ("pending", "kept", "unmatched", "ambiguous")
            if figures[outcome]
        ]
    if not include_columns:
        blocked.append("columns not included")
    listed = list(listed_sources)
    blocked += [
        f"field {field} not migrated"
        for field in SPEC_FIELDS
        if field not in fields and any(not empty(row.get(field)) for row in listed)
    ]
    result["safe_to_delete_source"] = not blocked
    result["blocked_by"] = blocked
    return result
