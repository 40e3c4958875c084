"""`create_manual_lineage`: add manual lineage edges between Secoda resources.

Plan (`plan_manual_lineage`): resolve each end (an id, or ``database.schema.table`` across
every integration), list the lineage already around those ids, check every edge, append the
plan to `reports.lineage_changes` (status ``planned``), and fail, naming every bad value,
when any edge is invalid. Apply (`apply_manual_lineage`): unless dry_run, one
``POST lineage/manual/`` per ``create`` row (the server stores the mirror itself), then
append one row per attempted write (status ``written`` or ``failed``).
"""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from secoda_pipelines.catalog.lineage import (
    CREATE,
    DOWNSTREAM,
    EdgeInput,
    create_body,
    plan_lineage,
)
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.jobs.config import flat_run_config
from secoda_pipelines.defs.jobs.creates import (
    FAILED,
    WRITTEN,
    bad_input,
    post_each,
    report_plan,
    report_writes,
)
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.downstream import LINEAGE, list_edges, resolve_references

NOTHING_DONE = "no lineage was created"
REPORT_TABLE = "lineage_changes"


class EdgeRow(dg.Config):
    """One lineage edge: `to_entity` is DOWNSTREAM (or UPSTREAM) of `from_entity`."""

    from_entity: str = Field(description="A resource id or database.schema.table.")
    to_entity: str = Field(description="A resource id or database.schema.table.")
    direction: str = Field(default=DOWNSTREAM, description="DOWNSTREAM or UPSTREAM (any case).")


class ManualLineageConfig(dg.Config):
    """The run config of `create_manual_lineage` (flat: these fields at top level)."""

    edges: list[EdgeRow] = Field(description="The edges to create.")
    dry_run: bool = Field(default=True, description="Plan and report only; write nothing.")


@dg.op(out=dg.Out(pd.DataFrame, description="One row per requested edge with its action."))
def plan_manual_lineage(
    context: dg.OpExecutionContext,
    config: ManualLineageConfig,
    secoda: SecodaResource,
    duckdb: DuckDBResource,
) -> pd.DataFrame:
    """Resolves and checks every requested edge against the lineage that exists; reports it.

    Raises:
        dagster.Failure: some input is bad (each bad value listed; nothing is written), or
            the API refused a read (wrong key or URL).
    """
    edges = [
        EdgeInput(f"edges[{i}]", e.from_entity.strip(), e.to_entity.strip(), e.direction)
        for i, e in enumerate(config.edges)
    ]
    if not edges:
        raise bad_input(["no edges given: edges is empty"], NOTHING_DONE)
    references = [end for e in edges for end in (e.from_entity, e.to_entity) if end]
    with secoda_failures():
        client = secoda.get_client()
        resolved, unresolved = resolve_references(client, references)
        ids = list(dict.fromkeys(entity.id for entity in resolved.values()))
        # Any edge between two of these ids, in either direction or spelling, starts at one
        # of them, so listing by from_entity finds it (and the server's mirror with it).
        existing = list_edges(client, ids, "from_entity") if ids else []
    plan, errors = plan_lineage(
        edges, {ref: entity.id for ref, entity in resolved.items()}, unresolved, existing
    )
    report_plan(
        context,
        duckdb,
        REPORT_TABLE,
        plan,
        dry_run=config.dry_run,
        errors=errors,
        nothing_done=NOTHING_DONE,
    )
    return plan


@dg.op(out=dg.Out(pd.DataFrame, description="One row per edge created (or failed)."))
def apply_manual_lineage(
    context: dg.OpExecutionContext,
    config: ManualLineageConfig,
    secoda: SecodaResource,
    duckdb: DuckDBResource,
    plan: pd.DataFrame,
) -> pd.DataFrame:
    """Creates the planned edges (not in a dry run) and reports each write.

    Raises:
        dagster.Failure: a create failed; the edges created before it are reported, and a
            rerun plans again from the lineage that exists, so none is created twice.
    """
    to_create = plan[plan["action"] == CREATE]
    outcomes: list[dict] = []
    if config.dry_run or to_create.empty:
        context.log.info(
            f"dry run: would create {len(to_create)} edge(s)"
            if config.dry_run
            else "nothing to create"
        )
        context.add_output_metadata({"written": 0, "dry_run": config.dry_run})
        return pd.DataFrame(outcomes, columns=[*plan.columns, "status"])
    created, failure = post_each(
        secoda.get_client(), LINEAGE, to_create.to_dict("records"), create_body
    )
    for row, answer in created:
        edge_id = str(answer.get("id")) if isinstance(answer, dict) else None
        outcomes.append(
            {**row, "status": WRITTEN, "detail": f"created edge {edge_id}", "lineage_id": edge_id}
        )
    if failure is not None:
        outcomes.append({**failure[0], "status": FAILED, "detail": str(failure[1])})
    return report_writes(
        context,
        duckdb,
        REPORT_TABLE,
        outcomes,
        planned=len(to_create),
        what="edges",
        failure=None if failure is None else (failure[0]["source"], failure[1]),
    )


@dg.job(
    config=flat_run_config(ManualLineageConfig, "plan_manual_lineage", "apply_manual_lineage"),
    description="Create manual lineage edges (ids or database.schema.table); skips existing.",
)
def create_manual_lineage():
    apply_manual_lineage(plan_manual_lineage())
