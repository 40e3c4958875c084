"""Job reports: one row per resource per run in the report store, summarised in the run's
metadata (see `secoda_pipelines.store.report_tables` for the shape)."""

from collections.abc import Collection, Mapping
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from secoda_pipelines.catalog import markdown_preview
from secoda_pipelines.secoda import SecodaClient
from secoda_pipelines.store import PLANNED, REPORTS_SCHEMA, ReportStore


def continue_write_pace(
    context: dg.OpExecutionContext, client: SecodaClient, reports: ReportStore
) -> int:
    """Counts the workspace's writes of the last minute, as the reports record them, in the
    client's write pace; returns how many there were.

    Each run has its own client: without this, a write-back run starting right after
    another would open a fresh window and could send, within one minute, more writes than
    Secoda allows. (The deployment runs one write-back run at a time, so no two runs
    count the same minute at once.)
    """
    limiter = client.limiter
    now = pd.Timestamp.now(tz="UTC")
    recent = reports.recent_write_times(limiter.period + limiter.margin)
    counted = limiter.seed((now - written).total_seconds() for written in recent)
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
    """Returns run metadata for a job report: row count, counts per `count_by`, a preview."""
    counts = rows[count_by].value_counts().sort_index().to_dict() if len(rows) else {}
    return {
        "report_table": f"{REPORTS_SCHEMA}.{table}",
        "dagster/row_count": len(rows),
        f"{count_by}_counts": {str(k): int(v) for k, v in counts.items()},
        "preview": dg.MetadataValue.md(markdown_preview(rows, rows=20) or "(nothing to report)"),
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
