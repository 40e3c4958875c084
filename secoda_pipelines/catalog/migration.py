"""Documentation migration planning: which target resources get which source fields.

Pure functions over API rows (lists of dicts as the client returns them): no HTTP, no
Dagster. `plan_migration` is the reference planner over rows in memory; the job plans
through `catalog.migration_match.MigrationMatcher`, which streams both sides into DuckDB and
yields the same plan row for row with neither side held as Python objects. Rows are used as
the API sent them, so a planned PATCH carries the source's own values (tag ids, owner ids,
booleans) unchanged.

A migration to a tool that names databases or schemas differently renames the source side's
names before matching (`Renames`, from the job's `database_map` and `schema_map`).
"""

from __future__ import annotations

import dataclasses
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
# Each rename map of the job's config and the part of a match key it renames.
RENAME_MAPS = {"database_map": "database", "schema_map": "schema"}
MAX_NAMES_LISTED = 20


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


def rename_map_errors(name: str, mapping: Mapping[str, str]) -> list[str]:
    """Returns every problem with one rename map of the config (`name` is ``database_map``
    or ``schema_map``): an empty old or new name, or two old names that are the same once
    trimmed and case-folded but map to different new names. Empty when the map is fine."""
    level = RENAME_MAPS[name]
    errors: list[str] = []
    first: dict[str, tuple[str, str]] = {}  # folded old name -> (old, new) as first given
    for old, new in mapping.items():
        if not _norm(old):
            errors.append(
                f"{name} has an empty {level} name {old!r} (mapped to {new!r}): "
                f"each key names one of the source's {level}s"
            )
            continue
        if not _norm(new):
            errors.append(
                f"{name}[{old!r}] is empty ({new!r}): give the {level} name the target uses"
            )
            continue
        seen = first.setdefault(_norm(old), (old, new))
        if _norm(seen[1]) != _norm(new):
            errors.append(
                f"{name} keys {seen[0]!r} and {old!r} are the same {level} (names match "
                f"case-insensitively) but map to {seen[1]!r} and {new!r}: keep one"
            )
    return errors


def unused_rename_keys(
    database_map: Mapping[str, str], schema_map: Mapping[str, str], source_tables: Iterable[Row]
) -> list[str]:
    """Returns one problem per map key that no source table's database (database_map) or
    schema (schema_map) uses, each listing the names the source does use (a typo in a map
    would otherwise silently rename nothing). Empty when every key is used."""
    used: dict[str, dict[str, str]] = {"database": {}, "schema": {}}
    for row in source_tables:
        for level, names in used.items():
            names.setdefault(_norm(row.get(level)), str(row.get(level) or "").strip())
    return unused_rename_keys_of(database_map, schema_map, used)


def unused_rename_keys_of(
    database_map: Mapping[str, str],
    schema_map: Mapping[str, str],
    used: Mapping[str, Mapping[str, str]],
) -> list[str]:
    """Returns `unused_rename_keys`'s problems given the names the source's tables use:
    `used` maps "database" and "schema" to {folded name: name as first seen}. Empty when
    every key is used. Raises nothing."""
    errors = []
    for name, mapping in (("database_map", database_map), ("schema_map", schema_map)):
        level = RENAME_MAPS[name]
        names = used[level]
        for old in mapping:
            if _norm(old) and _norm(old) not in names:
                errors.append(
                    f"{name} key {old!r} is no {level} of the source's tables; its "
                    f"{level}s: {_listed(sorted(n for n in names.values() if n))}"
                )
    return errors


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_NAMES_LISTED]) or "(none)"
    more = len(names) - MAX_NAMES_LISTED
    return f"{shown} and {more} more" if more > 0 else shown


@dataclass(frozen=True)
class Renames:
    """The source side's database and schema renames, applied to match keys.

    Both maps hold trimmed, case-folded names (as match keys do). A schema rename applies
    in every database (schema_map keys are bare schema names); each rename applies once,
    never chained (``{a: b, b: c}`` renames a to b, not to c).
    """

    databases: Mapping[str, str] = dataclasses.field(default_factory=dict)
    schemas: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_maps(
        cls,
        database_map: Mapping[str, str] | None = None,
        schema_map: Mapping[str, str] | None = None,
    ) -> Renames:
        """Returns the renames of the config's `database_map` and `schema_map`.

        Raises:
            ValueError: a map is bad (every problem of `rename_map_errors` named).
        """
        maps = {"database_map": database_map or {}, "schema_map": schema_map or {}}
        errors = [error for name, m in maps.items() for error in rename_map_errors(name, m)]
        if errors:
            raise ValueError("; ".join(errors))
        folded = {name: {_norm(k): _norm(v) for k, v in m.items()} for name, m in maps.items()}
        return cls(folded["database_map"], folded["schema_map"])

    def key(self, key: tuple[str, ...]) -> tuple[str, ...]:
        """Returns a match key (database, schema, ...) with the source's database and schema
        renamed; the rest (table and column titles) as they were."""
        database, schema, *rest = key
        return (self.databases.get(database, database), self.schemas.get(schema, schema), *rest)


def is_documented(row: Row, fields: Iterable[str]) -> bool:
    """Returns True when the resource has a non-empty value in at least one of `fields`."""
    return any(not is_empty(row.get(field)) for field in fields)


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


@dataclass(frozen=True)
class _Request:
    """What every plan row is decided by: the fields to carry, overwrite, the renames."""

    fields: Sequence[str]
    overwrite: bool
    renames: Renames


def _plan_kind(
    kind: str,
    source_rows: Sequence[Row],
    target_rows: Sequence[Row],
    key_fn,
    request: _Request,
) -> list[dict[str, Any]]:
    # Sources are grouped by the key they are matched as: two source resources renamed
    # onto the same key are ambiguous, like a key found twice.
    sources = _index(source_rows, lambda row: request.renames.key(key_fn(row)))
    targets = _index(target_rows, key_fn)
    plan: list[dict[str, Any]] = []
    for key, group in sources.items():
        candidates = targets.get(key, [])
        label = ".".join(key)
        for source in group:
            row = {
                "kind": kind,
                "key": ".".join(key_fn(source)),
                "matched_as": label,
                "documented": is_documented(source, request.fields),
                "source_id": str(source["id"]),
                "target_id": None,
            }
            if len(group) > 1 or len(candidates) > 1:
                plan.append(
                    {**row, "action": "ambiguous", "detail": _ambiguity(label, group, candidates)}
                )
            elif not candidates:
                detail = f"no {kind} {label} in the target"
                plan.append({**row, "action": "unmatched", "detail": detail})
            else:
                plan.append({**row, **_decided(source, candidates[0], request)})
    return plan


def _ambiguity(label: str, group: Sequence[Row], candidates: Sequence[Row]) -> str:
    duplicated = "source" if len(group) > 1 else "target"
    ids = group if len(group) > 1 else candidates
    return f"{label} occurs {len(ids)} times in the {duplicated}: " + ", ".join(
        str(r["id"]) for r in ids
    )


def _decided(source: Row, target: Row, request: _Request) -> dict[str, Any]:
    decision = decide_fields(source, target, request.fields, request.overwrite)
    return {
        "target_id": str(target["id"]),
        "action": decision.action,
        "fields": sorted(decision.patch),
        "kept_fields": decision.kept,
        "patch": decision.patch,
        "expected": {name: target.get(name) for name in decision.patch},
    }


def plan_migration(
    source_tables: Sequence[Row],
    target_tables: Sequence[Row],
    source_columns: Sequence[Row] = (),
    target_columns: Sequence[Row] = (),
    *,
    fields: Sequence[str] = DEFAULT_FIELDS,
    overwrite: bool = False,
    renames: Renames | None = None,
) -> pd.DataFrame:
    """Returns the migration plan: one row per source table, then per source column.

    Columns: kind (table, column), key (the source's own database.schema.table[.column],
    trimmed and case-folded), matched_as (that key after `renames`: what the target is
    searched for), documented (the source has a non-empty value in one of `fields`),
    source_id, target_id, action (update, kept, unchanged, unmatched, ambiguous), fields
    (the fields the PATCH writes), kept_fields (different target values left alone), detail
    (why a resource is unmatched or ambiguous), patch (the PATCH body; empty unless
    update) and expected (the target's values of the patched fields when planned, which the
    apply step checks again before it writes: see `recheck_patch`). Sources are matched to
    targets by matched_as; a key found twice on either side (after renaming, on the source
    side) is ambiguous and never written.

    Raises:
        ValueError: a field name is not one a migration can carry (the message lists them).
    """
    bad = unknown_fields(fields)
    if bad:
        raise ValueError(f"unknown field(s) {bad}: choose from {list(MIGRATABLE_FIELDS)}")
    request = _Request(fields, overwrite, renames or Renames())
    rows = _plan_kind("table", source_tables, target_tables, table_key, request)
    rows += _plan_kind("column", source_columns, target_columns, column_key, request)
    plan = pd.DataFrame.from_records(rows, columns=list(PLAN_COLUMNS))
    plan["documented"] = plan["documented"].astype(bool)
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
