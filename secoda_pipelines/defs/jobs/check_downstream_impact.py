"""`check_downstream_impact`: the data-contract check as a job.

One op, read-only: walks lineage downstream of each table (see
`secoda_pipelines.lineage.downstream`), tells which resources are in use from the stored
`secoda/dashboard_usage` snapshots (else their current usage fields), appends one row per
downstream resource to `reports.downstream_impact`, and fails when something `fail_on`
counts is downstream and fail_on_downstream is true. Nothing is written to Secoda, so the
report's dry_run column is false.
"""

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Literal

import dagster as dg
import pandas as pd
from pydantic import Field

from secoda_pipelines.catalog.reports import counted
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.jobs.writeback import bad_input, flat_run_config, report_metadata
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.lineage import (
    ROW_COLUMNS,
    DownstreamResult,
    DownstreamRow,
    LineageInputError,
    find_downstream,
    with_activity,
)
from secoda_pipelines.store import ReportStore

REPORT_TABLE = "downstream_impact"


def rows_frame(rows: Sequence[DownstreamRow]) -> pd.DataFrame:
    """Returns the rows as a frame with ROW_COLUMNS (typed even when empty)."""
    frame = pd.DataFrame([asdict(row) for row in rows], columns=list(ROW_COLUMNS))
    text = [c for c in ROW_COLUMNS if c not in ("depth", "active", "last_viewed")]
    frame = frame.astype({c: "string" for c in text})
    frame["last_viewed"] = pd.to_datetime(frame["last_viewed"]).dt.tz_localize("UTC")
    return frame.astype({"depth": "int64", "active": "boolean"})


def failure_text(result: DownstreamResult, fail_on: str) -> str:
    """Returns the one-paragraph list of what `fail_on` counts downstream, for a failed
    run's message."""
    parts = []
    for reference, entity in result.tables.items():
        rows = [r for r in result.rows if r.table == reference and counted(r.active, fail_on)]
        if rows:
            listed = ", ".join(
                f"{r.path.split(' > ')[-1]} ({r.resource_id}, depth {r.depth}"
                + (", in use)" if r.active else ")")
                for r in rows
            )
            what = "in use downstream" if fail_on == "active" else "downstream"
            parts.append(f"{len(rows)} {what} of {entity.name}: {listed}")
    return "; ".join(parts)


class DownstreamImpactConfig(dg.Config):
    """The run config of `check_downstream_impact` (flat: these fields at top level)."""

    tables: list[str] = Field(description="Table ids or database.schema.table names.")
    depth: int = Field(default=1, ge=0, description="Levels of lineage to follow; 0 = all.")
    fail_on_downstream: bool = Field(
        default=True, description="Fail the run when something fail_on counts is downstream."
    )
    fail_on: Literal["any", "active", "none"] = Field(
        default="any",
        description=(
            "What fails the run: any downstream resource; active: only one in use (viewed in"
            " a usage snapshot of the last active_days days, else by its current usage);"
            " none: nothing."
        ),
    )
    active_days: int = Field(
        default=30,
        ge=1,
        description="Days of stored usage snapshots in which a view makes a resource active.",
    )


@dg.op(out=dg.Out(pd.DataFrame, description="One row per resource downstream of a table."))
def find_downstream_impact(
    context: dg.OpExecutionContext,
    config: DownstreamImpactConfig,
    secoda: SecodaResource,
    reports: ReportStore,
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
            raise bad_input(error.errors, "nothing was checked") from None
    history = reports.get_warehouse().read_table("secoda", "dashboard_usage")
    today = datetime.now(UTC).date()
    result = with_activity(result, history, today, config.active_days)
    frame = rows_frame(result.rows)
    blocking = [row for row in result.rows if counted(row.active, config.fail_on)]
    report = reports.append(REPORT_TABLE, frame, run_id=context.run_id, dry_run=False)
    metadata = dict(
        report_metadata(
            report,
            REPORT_TABLE,
            count_by="table",
            depth=config.depth,
            tables_checked=[entity.name for entity in result.tables.values()],
            downstream_in_use=sum(1 for row in result.rows if row.active),
            fail_on=config.fail_on,
            activity_from=result.activity_source,
        )
    )
    if blocking and config.fail_on_downstream:
        what = "in use is downstream" if config.fail_on == "active" else "is downstream"
        raise dg.Failure(
            description=f"Something {what}: {failure_text(result, config.fail_on)}",
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
