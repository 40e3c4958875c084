"""Documentation migration planning: which target resources get which source fields.

Pure functions over API rows (lists of dicts as the client returns them): no HTTP, no
Dagster. Rows are used as the API sent them, so a planned PATCH carries the source's own
values (tag ids, owner ids, booleans) unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

MIGRATABLE_FIELDS = ("description", "definition", "tags", "pii", "owners", "verified")
DEFAULT_FIELDS = ("description", "definition", "tags", "pii")
SET_FIELDS = frozenset({"tags", "owners"})  # compared as sets: order carries no meaning
PLAN_COLUMNS = (
    "kind",
    "key",
    "source_id",
    "target_id",
    "action",
    "fields",
    "kept_fields",
    "detail",
    "patch",
    "expected",
)
ACTIONS = ("update", "kept", "unchanged", "unmatched", "ambiguous")

Row = Mapping[str, Any]


def unknown_fields(fields: Iterable[str]) -> list[str]:
    """Returns the names in `fields` that a migration cannot carry (empty when all are fine)."""
    return [field for field in fields if field not in MIGRATABLE_FIELDS]


def is_empty(value: Any) -> bool:
    """Returns True for a value a migration treats as absent: null, "", [] or false.

    (SPEC B counts the string "None" as empty too; the client turns it into null when it
    decodes a response, so rows never hold it here.)
    """
    return value is None or value is False or value == "" or value == []


def same_value(field: str, source: Any, target: Any) -> bool:
    """Returns True when the two values need no write (list fields compared as sets)."""
    if field in SET_FIELDS and isinstance(source, list) and isinstance(target, list):
        return {_hashable(v) for v in source} == {_hashable(v) for v in target}
    return source == target


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def _norm(value: Any) -> str:
    return "" if value is None else str(value).strip().casefold()


KEY_FIELDS = {
    "table": ("database", "schema", "title"),
    "column": ("table_database", "table_schema", "table_title", "title"),
}


def slim(rows: Iterable[Row], kind: str, fields: Sequence[str]) -> list[dict[str, Any]]:
    """Returns the rows with only what planning reads: id, the match key and `fields`.

    A catalog-scale listing holds hundreds of thousands of rows; dropping the rest of each
    object keeps the plan's memory to a fraction.
    """
    keep = ("id", *KEY_FIELDS[kind], *fields)
    return [{key: row.get(key) for key in keep} for row in rows]


def table_key(row: Row) -> tuple[str, ...]:
    """Returns a table's match key: (database, schema, title), trimmed and case-folded."""
    return (_norm(row.get("database")), _norm(row.get("schema")), _norm(row.get("title")))


def column_key(row: Row) -> tuple[str, ...]:
    """Returns a column's match key: (database, schema, table title, column title)."""
    return (
        _norm(row.get("table_database")),
        _norm(row.get("table_schema")),
        _norm(row.get("table_title")),
        _norm(row.get("title")),
    )


@dataclass(frozen=True)
class FieldDecision:
    """What one target resource needs: the fields to write (with values) and those kept."""

    patch: dict[str, Any]
    kept: list[str]

    @property
    def action(self) -> str:
        """Returns update, kept or unchanged."""
        if self.patch:
            return "update"
        return "kept" if self.kept else "unchanged"


def decide_fields(
    source: Row, target: Row, fields: Sequence[str], overwrite: bool
) -> FieldDecision:
    """Returns which of `fields` to copy from source to target, per SPEC B's rules.

    An empty source value is never carried; equal values need nothing; an empty target
    value is filled; a different non-empty target value is overwritten only with
    `overwrite`, else kept.
    """
    patch: dict[str, Any] = {}
    kept: list[str] = []
    for field in fields:
        value, current = source.get(field), target.get(field)
        if is_empty(value) or same_value(field, value, current):
            continue
        if is_empty(current) or overwrite:
            patch[field] = value
        else:
            kept.append(field)
    return FieldDecision(patch, kept)


def _index(rows: Iterable[Row], key_fn) -> dict[tuple[str, ...], list[Row]]:
    index: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for row in rows:
        index[key_fn(row)].append(row)
    return index


def _plan_kind(
    kind: str,
    source_rows: Sequence[Row],
    target_rows: Sequence[Row],
    key_fn,
    fields: Sequence[str],
    overwrite: bool,
) -> list[dict[str, Any]]:
    sources = _index(source_rows, key_fn)
    targets = _index(target_rows, key_fn)
    plan: list[dict[str, Any]] = []
    for key, group in sources.items():
        candidates = targets.get(key, [])
        label = ".".join(key)
        for source in group:
            row = {"kind": kind, "key": label, "source_id": str(source["id"]), "target_id": None}
            if len(group) > 1 or len(candidates) > 1:
                duplicated = "source" if len(group) > 1 else "target"
                ids = group if len(group) > 1 else candidates
                detail = f"{label} occurs {len(ids)} times in the {duplicated}: " + ", ".join(
                    str(r["id"]) for r in ids
                )
                plan.append({**row, "action": "ambiguous", "detail": detail})
            elif not candidates:
                detail = f"no {kind} {label} in the target"
                plan.append({**row, "action": "unmatched", "detail": detail})
            else:
                target = candidates[0]
                decision = decide_fields(source, target, fields, overwrite)
                plan.append(
                    {
                        **row,
                        "target_id": str(target["id"]),
                        "action": decision.action,
                        "fields": sorted(decision.patch),
                        "kept_fields": decision.kept,
                        "patch": decision.patch,
                        "expected": {field: target.get(field) for field in decision.patch},
                    }
                )
    return plan


def plan_migration(
    source_tables: Sequence[Row],
    target_tables: Sequence[Row],
    source_columns: Sequence[Row] = (),
    target_columns: Sequence[Row] = (),
    *,
    fields: Sequence[str] = DEFAULT_FIELDS,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Returns the migration plan: one row per source table, then per source column.

    Columns: kind (table, column), key (database.schema.table[.column], case-folded),
    source_id, target_id, action (update, kept, unchanged, unmatched, ambiguous), fields
    (the fields the PATCH writes), kept_fields (different target values left alone), detail
    (why a resource is unmatched or ambiguous), patch (the PATCH body; empty unless
    update) and expected (the target's values of the patched fields when planned, which the
    apply step checks again before it writes: see `recheck_patch`). Sources are matched to
    targets by key; a key found twice on either side is
    ambiguous and never written.

    Raises:
        ValueError: a field name is not one a migration can carry (the message lists them).
    """
    bad = unknown_fields(fields)
    if bad:
        raise ValueError(f"unknown field(s) {bad}: choose from {list(MIGRATABLE_FIELDS)}")
    rows = _plan_kind("table", source_tables, target_tables, table_key, fields, overwrite)
    rows += _plan_kind("column", source_columns, target_columns, column_key, fields, overwrite)
    plan = pd.DataFrame.from_records(rows, columns=list(PLAN_COLUMNS))
    for column in ("fields", "kept_fields"):
        plan[column] = plan[column].map(lambda v: v if isinstance(v, list) else [])
    for column in ("patch", "expected"):
        plan[column] = plan[column].map(lambda v: v if isinstance(v, dict) else {})
    return plan


@dataclass(frozen=True)
class Recheck:
    """A planned PATCH checked against the target as it is now.

    Attributes:
        patch: what to send: the planned fields whose value is still what the plan saw.
        changed: fields someone changed since the plan (never overwritten).
        done: fields that already hold the planned value (written meanwhile).
    """

    patch: dict[str, Any]
    changed: list[str]
    done: list[str]


def recheck_patch(patch: Row, expected: Row, current: Row) -> Recheck:
    """Returns which fields of a planned PATCH may still be written to a target that now
    holds `current`, given that the plan saw `expected`: a field is written only while its
    value is still the one the plan saw (list fields compared as sets)."""
    send: dict[str, Any] = {}
    changed: list[str] = []
    done: list[str] = []
    for field, value in patch.items():
        now = current.get(field)
        if same_value(field, value, now):
            done.append(field)
        elif same_value(field, expected.get(field), now) or (
            is_empty(expected.get(field)) and is_empty(now)
        ):
            send[field] = value
        else:
            changed.append(field)
    return Recheck(send, changed, done)


def action_counts(plan: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Returns {kind: {action: count}} with every action present (0 when absent)."""
    counts: dict[str, dict[str, int]] = {}
    for kind in ("table", "column"):
        of_kind = plan[plan["kind"] == kind]["action"].value_counts()
        counts[kind] = {action: int(of_kind.get(action, 0)) for action in ACTIONS}
    return counts


def preview_source(new: Row, integrations: Iterable[Row]) -> Row | None:
    """Returns the integration a new one would inherit documentation from: the most recently
    created other integration of the same type created before it (None when there is none).
    """
    kind, created = new.get("type"), str(new.get("created_at") or "")
    older = [
        i
        for i in integrations
        if i.get("id") != new.get("id")
        and i.get("type") == kind
        and kind is not None
        and str(i.get("created_at") or "") < created
    ]
    return max(older, key=lambda i: str(i.get("created_at") or ""), default=None)
