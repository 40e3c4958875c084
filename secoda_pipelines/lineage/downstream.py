"""The data-contract check, outside Dagster: what is downstream of some tables.

Used by the `check_downstream_impact` job and by `secoda-pipelines check-downstream`.

The walk follows every edge ``lineage/manual/`` lists, level by level: for the ids of a
level it lists ``?from_entity__in=<ids>`` and ``?to_entity__in=<ids>`` (``from_entity=`` /
``to_entity=`` for a single id, batches of BATCH ids), and reads each edge by its
(upstream, downstream) pair. So B is downstream of A for A→B DOWNSTREAM and for B→A
UPSTREAM alike: a server that stores the mirror of every edge answers the same either way,
and an edge stored without its mirror is still found. A listed edge whose ends or direction
cannot be read stops the check with an error rather than being skipped: skipping it could
report "nothing downstream" for a table that has dependants.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pandas as pd

from secoda_pipelines.catalog import downstream_links, edge_pair
from secoda_pipelines.catalog.reports import format_path, resource_activity, walk_downstream
from secoda_pipelines.lineage.lookups import (
    BATCH,
    LISTING_THRESHOLD,
    Entity,
    EntityLookup,
    edges_around,
    resolve_references,
)
from secoda_pipelines.secoda import MANUAL_LINEAGE, SecodaClient, SecodaResponseError

ROW_COLUMNS = (
    "table",
    "table_id",
    "resource_id",
    "title",
    "entity_type",
    "depth",
    "path",
    "name",
    "active",
    "last_viewed",
)


class LineageInputError(ValueError):
    """Some references do not name one resource; `errors` holds one message per bad value."""

    def __init__(self, errors: Sequence[str]):
        super().__init__("; ".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class DownstreamRow:
    """One resource downstream of a checked table (`table` as the user named it; `name` the
    resource's display name, qualified for tables and columns; `entity_type` table,
    dashboard or column, None when Secoda did not say; `active` and `last_viewed` as
    `catalog.reports.resource_activity` tells them, None until `with_activity` ran or for
    a resource without usage)."""

    table: str
    table_id: str
    resource_id: str
    title: str | None
    entity_type: str | None
    depth: int
    path: str
    name: str
    active: bool | None = None
    last_viewed: date | None = None


@dataclass(frozen=True)
class DownstreamResult:
    """What a check found: the checked tables (reference → entity), the rows, and the
    references of `missing_ok` that name no table (`missing`, in the order given)."""

    tables: dict[str, Entity]
    rows: list[DownstreamRow]
    depth: int
    missing: list[str] = field(default_factory=list)
    # Resource id → whether its current usage fields show views (None: no usage fields).
    viewed_now: dict[str, bool | None] = field(default_factory=dict)
    # Where `active` came from: "snapshots" (some stored), "current usage" (none stored),
    # or None before `with_activity`.
    activity_source: str | None = None


def _readable(edges: list[dict[str, Any]], base_url: str) -> list[dict[str, Any]]:
    """Returns the edges when every one has readable ends and direction.

    Raises:
        SecodaResponseError: one has not (the message names it by id).
    """
    for edge in edges:
        if edge_pair(edge) is None:
            edge_id = edge.get("id")
            named = f" ({edge_id})" if isinstance(edge_id, str | int) else ""
            raise SecodaResponseError(
                f"GET {MANUAL_LINEAGE} at {base_url} listed an edge{named} without a readable "
                "from_entity, to_entity and direction, so what is downstream cannot be told"
            )
    return edges


def find_downstream(
    client: SecodaClient,
    tables: Sequence[str],
    depth: int,
    missing_ok: Collection[str] = (),
    batch: int = BATCH,
    listing_threshold: int = LISTING_THRESHOLD,
) -> DownstreamResult:
    """Returns what is downstream of each table, up to `depth` levels (0 = all).

    Each downstream resource appears once per table, at its fewest hops, with the path
    that reaches it (``A > B > C``, tables as database.schema.table, others by title).
    Requests: one listing per end and per `batch` ids of each level, then the reached
    resources' details (`EntityLookup.prefetch`: whole listings past `listing_threshold`
    of them). Names in `missing_ok` that no table has
    (a dbt model Secoda has not seen) are returned in `missing`, not raised.

    Raises:
        LineageInputError: no tables, a negative depth, or references naming no one resource
            (every bad one named).
        SecodaResponseError: the API answered a shape it does not promise (a detail that is
            not an object, a lineage edge without readable ends).
        SecodaError: a request failed.
    """
    errors = []
    if not [t for t in tables if t.strip()]:
        errors.append("no table given: name at least one id or database.schema.table")
    if depth < 0:
        errors.append(f"depth {depth} is negative: give 0 (all levels) or more")
    lookup = EntityLookup(client, listing_threshold)
    missing: set[str] = set()
    resolved, unresolved = resolve_references(client, tables, lookup, missing_ok, missing)
    errors += [f"table {ref!r}: {why}" for ref, why in unresolved.items()]
    if errors:
        raise LineageInputError(errors)
    starts = {ref.strip(): resolved[ref.strip()] for ref in tables if ref.strip() in resolved}

    def neighbours(nodes: list[str]) -> dict[str, list[str]]:
        edges = edges_around(client, nodes, batch)
        return downstream_links(_readable(edges, client.base_url), nodes)

    found = walk_downstream([e.id for e in starts.values()], neighbours, depth)
    lookup.prefetch(reached.node for reached in found)
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
                    entity_type=entity.kind if entity else None,
                    depth=reached.hops,
                    path=format_path(reached.path, names),
                    name=names.get(reached.node) or reached.node,
                )
            )
    gone = list(dict.fromkeys(ref.strip() for ref in tables if ref.strip() in missing))
    viewed_now = {}
    for row in rows:
        entity = lookup.get(row.resource_id)
        viewed_now[row.resource_id] = entity.viewed_now if entity else None
    return DownstreamResult(starts, rows, depth, gone, viewed_now)


def with_activity(
    result: DownstreamResult,
    history: pd.DataFrame | None,
    today: date,
    active_days: int,
) -> DownstreamResult:
    """Returns `result` with `active` and `last_viewed` set on every row
    (`catalog.reports.resource_activity` over `history`, the stored
    ``secoda/dashboard_usage`` rows, falling back to the resources' current usage fields,
    `result.viewed_now`).

    Raises:
        ValueError: active_days is below 1.
    """
    current = {row.resource_id: result.viewed_now.get(row.resource_id) for row in result.rows}
    activity = resource_activity(current, history, today, active_days)
    rows = [
        replace(
            row,
            active=activity[row.resource_id].active,
            last_viewed=activity[row.resource_id].last_viewed,
        )
        for row in result.rows
    ]
    stored = history is not None and not history.empty
    return replace(result, rows=rows, activity_source="snapshots" if stored else "current usage")
