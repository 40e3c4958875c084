"""Client-side lineage lookups shared by `create_manual_lineage` and the downstream check.

Resolving a reference (an id of a table, dashboard or column, or ``database.schema.table``)
to an `Entity`, and listing the ``lineage/manual/`` edges that touch a set of ids.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from secoda_pipelines.catalog import is_table_name, resolve_table_names, split_table_name
from secoda_pipelines.catalog.frames import (
    TABLES_SCHEMA,
    frame_of_rows,
    to_int,
    unreadable_counts,
)
from secoda_pipelines.secoda import (
    COLUMNS,
    DASHBOARDS,
    MANUAL_LINEAGE,
    TABLES,
    SecodaClient,
    SecodaNotFoundError,
    SecodaResponseError,
    detail_path,
)

BATCH = 50  # ids per `__in` filter: ~1,900 characters of UUIDs, well inside any URL limit
# Past this many ids to look up, listing every table and dashboard (about 50 per page) costs
# fewer requests than one GET per id, and a listing's rows carry the usage fields too.
LISTING_THRESHOLD = 100
USAGE_KINDS = ("table", "dashboard", "chart")
USAGE_FIELDS = ("external_usage", "internal_usage")

# Where an id is looked for, in this order: lineage joins tables mostly.
ENTITY_COLLECTIONS = (("table", TABLES), ("dashboard", DASHBOARDS), ("column", COLUMNS))
_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


@dataclass(frozen=True)
class Entity:
    """A resource lineage can join: `name` is what reports show (qualified for tables)."""

    id: str
    kind: str
    title: str | None
    name: str
    # Whether its usage fields (external_usage, internal_usage) show views now; None for a
    # resource without usage fields (a column) or whose fields are not counts.
    viewed_now: bool | None = None


def _text(value: object) -> str | None:
    # The client already turned "None" into None when it decoded the JSON.
    return None if value is None or value == "" else str(value)


def _entity(kind: str, obj: Mapping[str, object], fallback_id: str) -> Entity:
    title = _text(obj.get("title"))
    if kind == "table":
        parts = [_text(obj.get("database")), _text(obj.get("schema")), title]
    elif kind == "column":
        keys = ("table_database", "table_schema", "table_title")
        parts = [*(_text(obj.get(key)) for key in keys), title]
    else:
        parts = [title]
    name = ".".join(p for p in parts if p) if all(parts) else (title or fallback_id)
    return Entity(
        id=_text(obj.get("id")) or fallback_id,
        kind=kind,
        title=title,
        name=name,
        viewed_now=_viewed_now(kind, obj),
    )


def _viewed_now(kind: str, obj: Mapping[str, object]) -> bool | None:
    """Returns whether the object's usage counts show views: True when one is above 0,
    False when both are null or 0, None when one is not a count or the kind has none."""
    if kind not in USAGE_KINDS:
        return None
    # The project's count reading (`catalog.frames`); an empty text counts as no value.
    values = [None if obj.get(field) == "" else obj.get(field) for field in USAGE_FIELDS]
    if (to_int(values).fillna(0) > 0).any():
        return True
    if unreadable_counts(values).notna().any():
        return None
    return False


class EntityLookup:
    """Finds tables, dashboards and columns by id through one client, remembering answers."""

    def __init__(self, client: SecodaClient, listing_threshold: int = LISTING_THRESHOLD):
        self.client = client
        self.listing_threshold = listing_threshold
        self._found: dict[str, Entity | None] = {}
        self._listed: set[str] = set()  # kinds whose whole collection has been listed
        self.tables: list[dict[str, Any]] | None = None  # every table, once listed
        self._table_rows: dict[str | None, dict[str, Any]] = {}

    def list_tables(self) -> list[dict[str, Any]]:
        """Returns every table of every integration (listed once, then remembered).

        Raises:
            SecodaError: the listing failed.
        """
        if self.tables is None:
            self.tables = list(self.client.list(TABLES))
            self._listed.add("table")
            self._table_rows = {_text(row.get("id")): row for row in self.tables}
        return self.tables

    def prefetch(self, ids: Iterable[str]) -> None:
        """Finds the entities of `ids` not known yet, with as few requests as it can:
        past LISTING_THRESHOLD of them, one listing of every table and every dashboard
        (kept only for `ids`), then one GET per id still unknown (skipping the
        collections already listed whole); returns None.

        Raises:
            SecodaResponseError: a collection answered something other than a JSON object.
            SecodaError: a request failed other than with 404.
        """
        wanted = [i for i in dict.fromkeys(ids) if i not in self._found]
        if len(wanted) > self.listing_threshold:
            pending = set(wanted)  # tables come from their listing, in `get`
            self.list_tables()
            if "dashboard" not in self._listed:
                for obj in self.client.list(DASHBOARDS):
                    object_id = _text(obj.get("id"))
                    if object_id in pending:
                        self._found[object_id] = _entity("dashboard", obj, object_id)
                self._listed.add("dashboard")
        for entity_id in wanted:
            self.get(entity_id)

    def get(self, entity_id: str) -> Entity | None:
        """Returns the entity with this id, or None when no collection has it.

        Raises:
            SecodaResponseError: a collection answered something other than a JSON object.
            SecodaError: a request failed other than with 404.
        """
        if entity_id not in self._found and entity_id in self._table_rows:
            self._found[entity_id] = _entity("table", self._table_rows[entity_id], entity_id)
        if entity_id not in self._found:
            self._found[entity_id] = None
            for kind, collection in ENTITY_COLLECTIONS:
                if kind in self._listed:  # a full listing did not have it: no GET will
                    continue
                path = detail_path(collection, entity_id)
                try:
                    obj = self.client.get(path)
                except SecodaNotFoundError:
                    continue
                if not isinstance(obj, dict):
                    raise SecodaResponseError(
                        f"GET {path} at {self.client.base_url} answered a JSON "
                        f"{_JSON_TYPES.get(type(obj), 'null')}, not the {kind} object the API "
                        "promises"
                    )
                self._found[entity_id] = _entity(kind, obj, entity_id)
                break
        return self._found[entity_id]

    def remember(self, entity: Entity) -> None:
        """Records an entity found another way (a table resolved by name); returns None."""
        self._found.setdefault(entity.id, entity)


def _unmatched(name: str, tables: list[dict[str, Any]]) -> bool:
    """Returns whether no table at all is named `name` (database.schema.table, any case)."""
    key = split_table_name(name)
    if key is None:
        return False
    for row in tables:
        parts = (row.get("database"), row.get("schema"), row.get("title"))
        if tuple(str(p).strip().lower() for p in parts) == key:
            return False
    return True


def resolve_references(
    client: SecodaClient,
    references: Iterable[str],
    lookup: EntityLookup | None = None,
    missing_ok: Collection[str] = (),
    missing: set[str] | None = None,
) -> tuple[dict[str, Entity], dict[str, str]]:
    """Returns (reference → entity, reference → why it names none) for ids and table names.

    A reference with a dot is ``database.schema.table``, matched case-insensitively against
    every integration's tables (listed once, unfiltered: Secoda's ``title`` filter is exact,
    so it would miss ``ORDERS`` for ``orders``); anything else is an id of a table,
    dashboard or column. References are stripped; empty ones are skipped. A name of
    `missing_ok` that no table has goes into `missing` (when given) instead of the errors.

    Raises:
        SecodaError: a listing or lookup failed, or answered a shape the API does not promise.
    """
    lookup = lookup or EntityLookup(client)
    references = list(dict.fromkeys(r.strip() for r in references))
    resolved: dict[str, Entity] = {}
    errors: dict[str, str] = {}
    names = [r for r in references if is_table_name(r)]
    if names:
        rows = lookup.list_tables()
        matches, errors = resolve_table_names(names, frame_of_rows(rows, schema=TABLES_SCHEMA))
        by_id = {_text(row.get("id")): row for row in rows}
        for name, match in matches.items():
            entity = _entity("table", by_id.get(match.id, {}), match.id)
            entity = Entity(match.id, "table", match.title, match.name, entity.viewed_now)
            lookup.remember(entity)
            resolved[name] = entity
        if missing is not None:
            for name in [n for n in errors if n in missing_ok and _unmatched(n, rows)]:
                missing.add(name)
                del errors[name]
    for reference in references:
        if not reference or is_table_name(reference):
            continue
        entity = lookup.get(reference)
        if entity is None:
            errors[reference] = f"no table, column or dashboard has the id {reference!r}"
        else:
            resolved[reference] = entity
    return resolved, errors


def list_edges(
    client: SecodaClient, ids: Sequence[str], end: str, batch: int = BATCH
) -> list[dict[str, Any]]:
    """Returns the lineage objects whose `end` (from_entity or to_entity) is one of `ids`.

    One listing per `batch` ids: ``?<end>=<id>`` for a single id, ``?<end>__in=<ids>`` else.

    Raises:
        SecodaError: a listing failed.
    """
    edges: list[dict[str, Any]] = []
    for i in range(0, len(ids), batch):
        some = list(ids[i : i + batch])
        params = {end: some[0]} if len(some) == 1 else {f"{end}__in": ",".join(some)}
        edges.extend(client.list(MANUAL_LINEAGE, params))
    return edges


def _edge_key(edge: Mapping[str, Any]) -> str:
    edge_id = edge.get("id")
    if isinstance(edge_id, str | int) and not isinstance(edge_id, bool) and edge_id != "":
        return f"id:{edge_id}"
    return "edge:" + json.dumps(edge, sort_keys=True, default=str)


def edges_around(
    client: SecodaClient, ids: Sequence[str], batch: int = BATCH
) -> list[dict[str, Any]]:
    """Returns every lineage object with either end in `ids`, once each (by id; an edge
    without a usable id by its whole content).

    Raises:
        SecodaError: a listing failed.
    """
    seen: dict[str, dict[str, Any]] = {}
    for end in ("from_entity", "to_entity"):
        for edge in list_edges(client, ids, end, batch):
            seen.setdefault(_edge_key(edge), edge)
    return list(seen.values())
