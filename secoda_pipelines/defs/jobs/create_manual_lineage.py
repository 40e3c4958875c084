"""`create_manual_lineage`: add manual lineage edges between Secoda resources.

One op (`manual_lineage`), so that every execution plans from the lineage that exists at
that moment: resolve each end (an id, or ``database.schema.table`` across every
integration), list the lineage already around those ids, and check every edge; when any is
bad, fail naming each bad value (nothing reported, nothing written); else append the plan
to `reports.lineage_changes`, then, unless dry_run, one ``POST lineage/manual/`` per
``create`` row (the server stores the mirror itself), each recorded on its report row.
"""

import dagster as dg
import pandas as pd
from pydantic import Field

from secoda_pipelines.catalog import DOWNSTREAM, downstream_pair, existing_pairs
from secoda_pipelines.catalog.planners import EdgeInput, edge_body, plan_lineage
from secoda_pipelines.defs.jobs.writeback import (
    WRITES_TAG,
    CreateJob,
    Row,
    WriteBackConfig,
    bad_input,
    plan_and_create,
    write_back_job,
)
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.lineage import edges_around, list_edges, resolve_references
from secoda_pipelines.secoda import MANUAL_LINEAGE, SecodaClient
from secoda_pipelines.store import ReportStore


def existing_edge(client: SecodaClient, row: Row) -> str | None:
    """Returns the id of an edge (or its mirror) that links the row's two ends the way it
    would, None when there is none.

    Raises:
        SecodaError: the listing failed.
    """
    source, target = str(row["from_id"]), str(row["to_id"])
    pair = downstream_pair(source, target, str(row["direction"]))
    pairs = existing_pairs(edges_around(client, [source]))
    if pair not in pairs:
        return None
    return pairs[pair] or "(no id)"


EDGES = CreateJob(
    table="lineage_changes",
    path=MANUAL_LINEAGE,
    noun="edge",
    label="source",
    id_column="lineage_id",
    body=edge_body,
    find=existing_edge,
    nothing_done="no lineage was created",
)


class EdgeRow(dg.Config):
    """One lineage edge: `to_entity` is DOWNSTREAM (or UPSTREAM) of `from_entity`."""

    from_entity: str = Field(description="A resource id or database.schema.table.")
    to_entity: str = Field(description="A resource id or database.schema.table.")
    direction: str = Field(default=DOWNSTREAM, description="DOWNSTREAM or UPSTREAM (any case).")


class ManualLineageConfig(WriteBackConfig):
    """The run config of `create_manual_lineage` (flat: these fields at top level)."""

    edges: list[EdgeRow] = Field(description="The edges to create.")


@dg.op(
    description="Resolves and checks every requested edge against the lineage that "
    "exists, reports the plan, then (unless dry_run) creates the new edges.",
    tags={WRITES_TAG: "lineage"},
)
def manual_lineage(
    context: dg.OpExecutionContext,
    config: ManualLineageConfig,
    secoda: SecodaResource,
    reports: ReportStore,
) -> None:
    """Plans from the lineage that exists now, reports it, and creates the planned edges
    unless dry_run.

    Raises:
        dagster.Failure: some input is bad (each bad value listed; nothing is reported or
            written), the API refused a read (wrong key or URL), or a create failed (a rerun
            plans again from the lineage that exists).
    """
    edges = [
        EdgeInput(f"edges[{i}]", e.from_entity.strip(), e.to_entity.strip(), e.direction)
        for i, e in enumerate(config.edges)
    ]
    if not edges:
        raise bad_input(["no edges given: edges is empty"], EDGES.nothing_done)
    references = [end for e in edges for end in (e.from_entity, e.to_entity) if end]

    def plan(client: SecodaClient) -> tuple[pd.DataFrame, list[str]]:
        resolved, unresolved = resolve_references(client, references)
        ids = list(dict.fromkeys(entity.id for entity in resolved.values()))
        # Any edge between two of these ids, in either direction or spelling, starts at
        # one of them, so listing by from_entity finds it (and the server's mirror).
        existing = list_edges(client, ids, "from_entity") if ids else []
        return plan_lineage(
            edges, {ref: entity.id for ref, entity in resolved.items()}, unresolved, existing
        )

    plan_and_create(context, secoda.get_client(), reports, EDGES, plan, dry_run=config.dry_run)


create_manual_lineage = write_back_job(
    manual_lineage,
    name="create_manual_lineage",
    description="Create manual lineage edges (ids or database.schema.table); skips existing.",
)
