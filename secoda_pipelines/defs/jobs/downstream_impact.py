"""`check_downstream_impact`: the data-contract check as a job.

One op, read-only: walks lineage downstream of each table (see `secoda_pipelines.downstream`),
appends one row per downstream resource to `reports.downstream_impact`, and fails when
anything is downstream and fail_on_downstream is true. Nothing is written to Secoda, so the
report's dry_run column is false.
"""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.jobs.config import flat_run_config
from secoda_pipelines.defs.jobs.reporting import append_report, report_metadata
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.downstream import (
    LineageInputError,
    failure_text,
    find_downstream,
    rows_frame,
)

REPORT_TABLE = "downstream_impact"


class DownstreamImpactConfig(dg.Config):
    """The run config of `check_downstream_impact` (flat: these fields at top level)."""

    tables: list[str] = Field(description="Table ids or database.schema.table names.")
    depth: int = Field(default=1, description="Levels of lineage to follow; 0 = all.")
    fail_on_downstream: bool = Field(
        default=True, description="Fail the run when anything is downstream."
    )


@dg.op(out=dg.Out(pd.DataFrame, description="One row per resource downstream of a table."))
def find_downstream_impact(
    context: dg.OpExecutionContext,
    config: DownstreamImpactConfig,
    secoda: SecodaResource,
    duckdb: DuckDBResource,
) -> pd.DataFrame:
    """Reports what is downstream of each table.

    Raises:
        dagster.Failure: a table names no one resource, depth is negative, the API refused
            a read, or something is downstream and fail_on_downstream is true (the message
            lists it).
    """
    with secoda_failures():
        try:
            result = find_downstream(secoda.get_client(), config.tables, config.depth)
        except LineageInputError as error:
            listed = "\n".join(f"- {e}" for e in error.errors)
            raise dg.Failure(
                description=f"{len(error.errors)} bad value(s):\n{listed}", allow_retries=False
            ) from None
    frame = rows_frame(result.rows)
    report = append_report(duckdb, REPORT_TABLE, frame, run_id=context.run_id, dry_run=False)
    metadata = dict(
        report_metadata(
            report,
            REPORT_TABLE,
            count_by="table",
            depth=config.depth,
            tables_checked=[entity.name for entity in result.tables.values()],
        )
    )
    if result.rows and config.fail_on_downstream:
        raise dg.Failure(
            description=f"Something is downstream: {failure_text(result)}",
            metadata=metadata,
            allow_retries=False,
        )
    context.add_output_metadata(metadata)
    return frame


@dg.job(
    config=flat_run_config(DownstreamImpactConfig, "find_downstream_impact"),
    description="Data-contract check: list (and by default fail on) what is downstream.",
)
def check_downstream_impact():
    find_downstream_impact()
