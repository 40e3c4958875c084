"""Client-side lineage lookups shared by `create_manual_lineage` and the downstream check.

Resolving a reference (an id of a table, dashboard or column, or ``database.schema.table``)
to an `Entity`, and listing the ``lineage/manual/`` edges that touch a set of ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from secoda_pipelines.catalog import is_table_name, resolve_table_names
from secoda_pipelines.catalog.frames import TABLES_SCHEMA, frame_of_rows
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
    return Entity(id=_text(obj.get("id")) or fallback_id, kind=kind, title=title, name=name)


class EntityLookup:
    """Finds tables, dashboards and columns by id through one client, remembering answers."""

    def __init__(self, client: SecodaClient):
        self.client = client
        self._found: dict[str, Entity | None] = {}

    def get(self, entity_id: str) -> Entity | None:
        """Returns the entity with this id, or None when no collection has it.

        Raises:
            SecodaResponseError: a collection answered something other than a JSON object.
            SecodaError: a request failed other than with 404.
        """
        if entity_id not in self._found:
            self._found[entity_id] = None
            for kind, collection in ENTITY_COLLECTIONS:
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


def resolve_references(
    client: SecodaClient, references: Iterable[str], lookup: EntityLookup | None = None
) -> tuple[dict[str, Entity], dict[str, str]]:
    """Returns (reference → entity, reference → why it names none) for ids and table names.

    A reference with a dot is ``database.schema.table``, matched case-insensitively against
    every integration's tables (listed once, unfiltered: Secoda's ``title`` filter is exact,
    so it would miss ``ORDERS`` for ``orders``); anything else is an id of a table,
    dashboard or column. References are stripped; empty ones are skipped.

    Raises:
        SecodaError: a listing or lookup failed, or answered a shape the API does not promise.
    """
    lookup = lookup or EntityLookup(client)
    references = list(dict.fromkeys(r.strip() for r in references))
    resolved: dict[str, Entity] = {}
    errors: dict[str, str] = {}
    names = [r for r in references if is_table_name(r)]
    if names:
        tables = frame_of_rows(client.list(TABLES), schema=TABLES_SCHEMA)
        matches, errors = resolve_table_names(names, tables)
        for name, match in matches.items():
            entity = Entity(match.id, "table", match.title, match.name)
            lookup.remember(entity)
            resolved[name] = entity
    for reference in references:
        if not reference or is_table_name(reference):
            continue
        entity = lookup.get(reference)
        if entity is None:
            errors[reference] = f"no table, column or dashboard has the id {reference!r}"
        else:
            resolved[reference] = entity
    return resolved, errors


def list_edges(client: SecodaClient, ids: Sequence[str], end: str) -> list[dict[str, Any]]:
    """Returns the lineage objects whose `end` (from_entity or to_entity) is one of `ids`.

    One listing per BATCH ids: ``?<end>=<id>`` for a single id, ``?<end>__in=<ids>`` else.

    Raises:
        SecodaError: a listing failed.
    """
    edges: list[dict[str, Any]] = []
    for i in range(0, len(ids), BATCH):
        batch = list(ids[i : i + BATCH])
        params = {end: batch[0]} if len(batch) == 1 else {f"{end}__in": ",".join(batch)}
        edges.extend(client.list(MANUAL_LINEAGE, params))
    return edges


def _edge_key(edge: Mapping[str, Any]) -> str:
    edge_id = edge.get("id")
    if isinstance(edge_id, str | int) and not isinstance(edge_id, bool) and edge_id != "":
        return f"id:{edge_id}"
    return "edge:" + json.dumps(edge, sort_keys=True, default=str)


def edges_around(client: SecodaClient, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Returns every lineage object with either end in `ids`, once each (by id; an edge
    without a usable id by its whole content).

    Raises:
        SecodaError: a listing failed.
    """
    seen: dict[str, dict[str, Any]] = {}
    for end in ("from_entity", "to_entity"):
        for edge in list_edges(client, ids, end):
            seen.setdefault(_edge_key(edge), edge)
    return list(seen.values())
