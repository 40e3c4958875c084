"""The data-contract check, outside Dagster: what is downstream of some tables.

Used by the `check_downstream_impact` job and by `secoda-pipelines check-downstream`. Also
home of the client-side lookups both lineage jobs share: resolving a reference (an id or
``database.schema.table``) to an entity, and listing lineage around a set of ids.

The walk follows every edge ``lineage/manual/`` lists, level by level: for the ids of a
level it lists ``?from_entity__in=<ids>`` and ``?to_entity__in=<ids>`` (``from_entity=`` /
``to_entity=`` for a single id, batches of BATCH ids), and reads each edge by its
(upstream, downstream) pair. So B is downstream of A for A→B DOWNSTREAM and for B→A
UPSTREAM alike: a server that stores the mirror of every edge answers the same either way,
and an edge stored without its mirror is still found.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from secoda_pipelines.catalog.frames import tables_frame
from secoda_pipelines.catalog.lineage import (
    downstream_links,
    format_path,
    is_table_name,
    resolve_table_names,
    walk_downstream,
)
from secoda_pipelines.secoda import SecodaClient, SecodaError, SecodaNotFoundError, detail_path

TABLES = "table/tables/"
COLUMNS = "table/columns/"
DASHBOARDS = "dashboard/dashboards/"
LINEAGE = "lineage/manual/"
BATCH = 50  # ids per `__in` filter: ~1,900 characters of UUIDs, well inside any URL limit

# Where an id is looked for, in this order: lineage joins tables mostly.
ENTITY_COLLECTIONS = (("table", TABLES), ("dashboard", DASHBOARDS), ("column", COLUMNS))
ROW_COLUMNS = ("table", "table_id", "resource_id", "title", "kind", "depth", "path", "name")


class LineageInputError(ValueError):
    """Some references do not name one resource; `errors` holds one message per bad value."""

    def __init__(self, errors: Sequence[str]):
        super().__init__("; ".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class Entity:
    """A resource lineage can join: `name` is what reports show (qualified for tables)."""

    id: str
    kind: str
    title: str | None
    name: str


def _text(value: object) -> str | None:
    return None if value is None or value in ("None", "") else str(value)


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
            SecodaError: a request failed other than with 404.
        """
        if entity_id not in self._found:
            self._found[entity_id] = None
            for kind, collection in ENTITY_COLLECTIONS:
                try:
                    obj = self.client.get(detail_path(collection, entity_id))
                except SecodaNotFoundError:
                    continue
                self._found[entity_id] = _entity(kind, obj, entity_id)
                break
        return self._found[entity_id]

    def remember(self, entity: Entity) -> None:
        """Records an entity found another way (a table resolved by name)."""
        self._found.setdefault(entity.id, entity)


def resolve_references(
    client: SecodaClient, references: Iterable[str], lookup: EntityLookup | None = None
) -> tuple[dict[str, Entity], dict[str, str]]:
    """Returns (reference → entity, reference → why it names none) for ids and table names.

    A reference with a dot is ``database.schema.table``, matched case-insensitively against
    every integration's tables (listed once, unfiltered: Secoda's ``title`` filter is exact,
    so it would miss ``ORDERS`` for ``orders``); anything else is an id of a table,
    dashboard or column.

    Raises:
        SecodaError: a listing or lookup failed.
    """
    lookup = lookup or EntityLookup(client)
    references = list(dict.fromkeys(r.strip() for r in references))
    resolved: dict[str, Entity] = {}
    errors: dict[str, str] = {}
    names = [r for r in references if is_table_name(r)]
    if names:
        tables = tables_frame(client.list(TABLES))
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


def list_edges(client: SecodaClient, ids: Sequence[str], end: str) -> list[dict]:
    """Returns the lineage objects whose `end` (from_entity or to_entity) is one of `ids`.

    Raises:
        SecodaError: a listing failed.
    """
    edges: list[dict] = []
    for i in range(0, len(ids), BATCH):
        batch = list(ids[i : i + BATCH])
        params = {end: batch[0]} if len(batch) == 1 else {f"{end}__in": ",".join(batch)}
        edges.extend(client.list(LINEAGE, params))
    return edges


def edges_around(client: SecodaClient, ids: Sequence[str]) -> list[dict]:
    """Returns every lineage object with either end in `ids`, once each (by id).

    Raises:
        SecodaError: a listing failed.
    """
    seen: dict[object, dict] = {}
    for end in ("from_entity", "to_entity"):
        for edge in list_edges(client, ids, end):
            seen.setdefault(edge.get("id") or json.dumps(edge, sort_keys=True), edge)
    return list(seen.values())


@dataclass(frozen=True)
class DownstreamRow:
    """One resource downstream of a checked table (`table` as the user named it; `name` the
    resource's display name, qualified for tables and columns)."""

    table: str
    table_id: str
    resource_id: str
    title: str | None
    kind: str | None
    depth: int
    path: str
    name: str


@dataclass(frozen=True)
class DownstreamResult:
    """What a check found: the checked tables (reference → entity) and the rows."""

    tables: dict[str, Entity]
    rows: list[DownstreamRow]
    depth: int


def find_downstream(client: SecodaClient, tables: Sequence[str], depth: int) -> DownstreamResult:
    """Returns what is downstream of each table, up to `depth` levels (0 = all).

    Each downstream resource appears once per table, at its fewest hops, with the path
    that reaches it (``A > B > C``, tables as database.schema.table, others by title).

    Raises:
        LineageInputError: no tables, a negative depth, or references naming no one resource
            (every bad one named).
        SecodaError: a request failed.
    """
    errors = []
    if not [t for t in tables if t.strip()]:
        errors.append("no table given: name at least one id or database.schema.table")
    if depth < 0:
        errors.append(f"depth {depth} is negative: give 0 (all levels) or more")
    lookup = EntityLookup(client)
    resolved, unresolved = resolve_references(client, tables, lookup)
    errors += [f"table {ref!r}: {why}" for ref, why in unresolved.items()]
    if errors:
        raise LineageInputError(errors)
    starts = {ref.strip(): resolved[ref.strip()] for ref in tables if ref.strip() in resolved}

    def neighbours(nodes: list[str]) -> dict[str, list[str]]:
        return downstream_links(edges_around(client, nodes), nodes)

    found = walk_downstream([e.id for e in starts.values()], neighbours, depth)
    names = {e.id: e.name for e in starts.values()}
    for reached in found:
        entity = lookup.get(reached.node)
        if entity is not None:
            names[reached.node] = entity.name
    rows = []
    for reference, start in starts.items():
        for reached in found:
            if reached.start != start.id:
                continue
            entity = lookup.get(reached.node)
            rows.append(
                DownstreamRow(
                    table=reference,
                    table_id=start.id,
                    resource_id=reached.node,
                    title=entity.title if entity else None,
                    kind=entity.kind if entity else None,
                    depth=reached.hops,
                    path=format_path(reached.path, names),
                    name=names.get(reached.node) or reached.node,
                )
            )
    return DownstreamResult(tables=starts, rows=rows, depth=depth)


def rows_frame(rows: Sequence[DownstreamRow]) -> pd.DataFrame:
    """Returns the rows as a frame with ROW_COLUMNS (typed even when empty)."""
    frame = pd.DataFrame([asdict(row) for row in rows], columns=list(ROW_COLUMNS))
    frame = frame.astype({c: "string" for c in ROW_COLUMNS if c != "depth"})
    return frame.astype({"depth": "int64"})


# --- the command's output ------------------------------------------------------------------


def format_table(result: DownstreamResult) -> str:
    """Returns the check as text: per table, its downstream resources, then a summary."""
    lines = []
    scope = "all levels" if result.depth == 0 else f"{result.depth} level(s)"
    for reference, entity in result.tables.items():
        rows = [r for r in result.rows if r.table == reference]
        label = f"{entity.name} ({entity.id})"
        if not rows:
            lines.append(f"{label}: nothing downstream within {scope}")
            continue
        lines.append(f"{label}: {len(rows)} downstream within {scope}")
        header = ("DEPTH", "KIND", "RESOURCE ID", "PATH")
        cells = [(str(r.depth), r.kind or "?", r.resource_id, r.path) for r in rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
        for line in (header, *cells):
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    total = len(result.rows)
    lines.append(
        f"{total} downstream resource(s) found for {len(result.tables)} table(s)"
        if total
        else "Nothing downstream."
    )
    return "\n".join(line.rstrip() for line in lines)


def format_json(result: DownstreamResult) -> str:
    """Returns the check as JSON: depth, count, the tables checked and every downstream row."""
    return json.dumps(
        {
            "depth": result.depth,
            "count": len(result.rows),
            "tables": [
                {
                    "table": reference,
                    "table_id": entity.id,
                    "name": entity.name,
                    "downstream": sum(1 for r in result.rows if r.table == reference),
                }
                for reference, entity in result.tables.items()
            ],
            "downstream": [asdict(row) for row in result.rows],
        },
        indent=2,
    )


def failure_text(result: DownstreamResult) -> str:
    """Returns the one-paragraph list of what is downstream, for a failed run's message."""
    parts = []
    for reference, entity in result.tables.items():
        rows = [r for r in result.rows if r.table == reference]
        if rows:
            listed = ", ".join(
                f"{r.path.split(' > ')[-1]} ({r.resource_id}, depth {r.depth})" for r in rows
            )
            parts.append(f"{len(rows)} downstream of {entity.name}: {listed}")
    return "; ".join(parts)


# --- the command ----------------------------------------------------------------------------

NOTHING, SOMETHING, ERROR = 0, 1, 2
# A CI step should fail fast on a dead network: 3 retries (~4 s) rather than the client's 8.
COMMAND_RETRIES = 3


def run_check(
    tables: Sequence[str], depth: int, as_json: bool, environ: Mapping[str, str]
) -> tuple[int, str, str]:
    """Runs the check for `secoda-pipelines check-downstream`; returns (exit code, out, err).

    The exit code is 0 when nothing is downstream, 1 when something is (`out` lists it,
    as JSON with `as_json`), 2 on an error (`err` is its one-line reason: unknown table,
    authentication, network, configuration). SECODA_API_URL and SECODA_API_KEY come from
    `environ`. Raises nothing for those errors.
    """
    try:
        with SecodaClient(
            environ.get("SECODA_API_KEY"), environ.get("SECODA_API_URL"), retries=COMMAND_RETRIES
        ) as client:
            result = find_downstream(client, tables, depth)
    except (LineageInputError, SecodaError) as error:
        return ERROR, "", "error: " + " ".join(str(error).split())
    out = format_json(result) if as_json else format_table(result)
    return (SOMETHING if result.rows else NOTHING), out, ""
