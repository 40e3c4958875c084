"""`migrate_documentation`'s rules: which target resources get which source fields.

The per-field rules (`decide_fields`), the check made again before each write
(`recheck_patch`), the config's rename maps (`Renames`, applied to the source's names
before matching), the integration a new one inherits from (`preview_source`) and the names
a plan's rows carry. The matching itself is `migration_match.MigrationMatcher`. Rows are
used as the API sent them, so a planned PATCH carries the source's own values (tag ids,
owner ids, booleans) unchanged. The rules, told for users: docs/migration.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
# A plan's counts (`MigrationMatcher.counts`): resources per (kind, action, documented),
# and per kind the migratable fields its source resources have non-empty (a JSON list,
# the same on each row of the kind).
COUNT_COLUMNS = ("kind", "action", "documented", "resources", "source_fields")

Row = Mapping[str, Any]


def unknown_fields(fields: Iterable[str]) -> list[str]:
    """Returns the names in `fields` that a migration cannot carry (empty when all are fine)."""
    return [field for field in fields if field not in MIGRATABLE_FIELDS]


def is_empty(value: Any) -> bool:
    """Returns True for a value a migration treats as absent (SPEC B): null, the string
    "None" (the API's null, when a row did not come through the client), "", [] or false.
    """
    return value is None or value is False or value == "" or value == [] or value == "None"


def same_value(field: str, source: Any, target: Any) -> bool:
    """Returns True when the two values need no write (list fields compared as sets)."""
    if field in SET_FIELDS and isinstance(source, list) and isinstance(target, list):
        return {_hashable(v) for v in source} == {_hashable(v) for v in target}
    return source == target


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value


def fold_name(value: Any) -> str:
    """Returns a name trimmed and case-folded, as match keys and rename maps compare it."""
    return "" if value is None else str(value).strip().casefold()


KEY_FIELDS = {
    "table": ("database", "schema", "title"),
    "column": ("table_database", "table_schema", "table_title", "title"),
}
# Each rename map of the job's config and the part of a match key it renames.
RENAME_MAPS = {"database_map": "database", "schema_map": "schema"}
MAX_NAMES_LISTED = 20


def rename_map_errors(name: str, mapping: Mapping[str, str]) -> list[str]:
    """Returns every problem with one rename map of the config (`name` is ``database_map``
    or ``schema_map``): an empty old or new name, or two old names that are the same once
    trimmed and case-folded but map to different new names. Empty when the map is fine."""
    level = RENAME_MAPS[name]
    errors: list[str] = []
    first: dict[str, tuple[str, str]] = {}  # folded old name -> (old, new) as first given
    for old, new in mapping.items():
        if not fold_name(old):
            errors.append(
                f"{name} has an empty {level} name {old!r} (mapped to {new!r}): "
                f"each key names one of the source's {level}s"
            )
            continue
        if not fold_name(new):
            errors.append(
                f"{name}[{old!r}] is empty ({new!r}): give the {level} name the target uses"
            )
            continue
        seen = first.setdefault(fold_name(old), (old, new))
        if fold_name(seen[1]) != fold_name(new):
            errors.append(
                f"{name} keys {seen[0]!r} and {old!r} are the same {level} (names match "
                f"case-insensitively) but map to {seen[1]!r} and {new!r}: keep one"
            )
    return errors


def unused_rename_keys_of(
    database_map: Mapping[str, str],
    schema_map: Mapping[str, str],
    used: Mapping[str, Mapping[str, str]],
) -> list[str]:
    """Returns one problem per map key that no source table's database (database_map) or
    schema (schema_map) uses, each listing the names the source does use (a typo in a map
    would otherwise silently rename nothing), given the names the source's tables use:
    `used` maps "database" and "schema" to {folded name: name as first seen}
    (`MigrationMatcher.source_names`). Empty when every key is used. Raises nothing."""
    errors = []
    for name, mapping in (("database_map", database_map), ("schema_map", schema_map)):
        level = RENAME_MAPS[name]
        names = used[level]
        for old in mapping:
            if fold_name(old) and fold_name(old) not in names:
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
        folded = {
            name: {fold_name(k): fold_name(v) for k, v in m.items()} for name, m in maps.items()
        }
        return cls(folded["database_map"], folded["schema_map"])

    def key(self, key: tuple[str, ...]) -> tuple[str, ...]:
        """Returns a match key (database, schema, ...) with the source's database and schema
        renamed; the rest (table and column titles) as they were."""
        database, schema, *rest = key
        return (self.databases.get(database, database), self.schemas.get(schema, schema), *rest)


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
