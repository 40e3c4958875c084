"""Job reports: one row per resource per run in the report store, summarised in the run's
metadata (see `secoda_pipelines.store.report_tables` for the shape)."""

from collections.abc import Collection, Mapping
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from secoda_pipelines.defs.metadata import report_column_schema, report_preview
from secoda_pipelines.secoda import SecodaClient
from secoda_pipelines.store import PLANNED, REPORTS_SCHEMA, WorkspaceJournal


def continue_write_pace(
    context: dg.OpExecutionContext, client: SecodaClient, journal: WorkspaceJournal
) -> int:
    """Counts the workspace's writes of the last minute, as its journal of writes records
    them, in the client's write pace; returns how many there were.

    Each run has its own client: without this, a write-back run starting right after
    another would open a fresh window and could send, within one minute, more writes than
    Secoda allows. The journal (`ReportStore.workspace_lock` opens it) is written before
    each write is sent, so it holds even the writes of a run killed mid-request: one sent
    with no answer on record counts as just made. Call it holding the workspace, so no
    other run writes meanwhile.

    Raises:
        WarehouseError: the journal could not be read.
    """
    limiter = client.limiter
    counted = limiter.seed(journal.recent_ages(limiter.period + limiter.margin))
    if counted:
        context.log.info(
            f"{counted} write(s) of the last {limiter.period:g} s, by earlier runs, count "
            f"toward this run's pace of {limiter.limit} a minute"
        )
    return counted


def with_planned_writes(plan: pd.DataFrame, writing_actions: Collection[str]) -> pd.DataFrame:
    """Returns the plan with `write_status`: `planned` where its action writes, else null."""
    writes = plan["action"].isin(list(writing_actions)).to_numpy()
    status = np.where(writes, PLANNED, None)
    return plan.assign(write_status=pd.Series(status, index=plan.index, dtype="string"))


def report_metadata(
    rows: pd.DataFrame, table: str, count_by: str = "action", **extra: Any
) -> Mapping[str, Any]:
    """Returns run metadata for a job report of `reports.<table>`: row count, counts per
    `count_by`, the table's columns with their types and descriptions, and an inline-sized
    preview of the columns a person reads first."""
    counts = rows[count_by].value_counts().sort_index().to_dict() if len(rows) else {}
    return {
        "report_table": f"{REPORTS_SCHEMA}.{table}",
        "dagster/row_count": len(rows),
        f"{count_by}_counts": {str(k): int(v) for k, v in counts.items()},
        "dagster/column_schema": report_column_schema(table),
        "preview": report_preview(rows, table),
        **extra,
    }


def bad_input(
    errors: list[str], nothing_done: str, metadata: Mapping[str, Any] | None = None
) -> dg.Failure:
    """Returns the Failure for rejected input: one line per bad value, never retried.

    A rejected run appends nothing to its report (every job alike): the report holds only
    runs whose whole input passed its checks.
    """
    listed = "\n".join(f"- {error}" for error in errors)
    return dg.Failure(
        description=f"{len(errors)} bad value(s); {nothing_done}:\n{listed}",
        metadata=dict(metadata or {}),
        allow_retries=False,
    )
