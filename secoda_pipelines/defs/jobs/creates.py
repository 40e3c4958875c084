"""What the create-style jobs (users, lineage) share: refusing bad input, and POSTing one
object per planned row, stopping at the first failure."""

from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from secoda_pipelines.defs.jobs.reporting import append_report, report_metadata
from secoda_pipelines.secoda import SecodaClient, SecodaError

Row = dict[str, Any]
PLANNED, WRITTEN, FAILED = "planned", "written", "failed"


def bad_input(
    errors: list[str], nothing_done: str, metadata: Mapping[str, Any] | None = None
) -> dg.Failure:
    """Returns the Failure for bad input: one line per bad value, never retried."""
    listed = "\n".join(f"- {error}" for error in errors)
    return dg.Failure(
        description=f"{len(errors)} bad value(s); {nothing_done}:\n{listed}",
        metadata=dict(metadata or {}),
        allow_retries=False,
    )


def post_each(
    client: SecodaClient, path: str, rows: list[Row], body: Callable[[Row], Row]
) -> tuple[list[tuple[Row, Any]], tuple[Row, SecodaError] | None]:
    """POSTs body(row) for each row in order and stops at the first failure.

    Returns:
        (each row created with the server's answer, the failed row and its error or None).
        A POST is not retried after a 5xx (it may have been applied): the caller's rerun
        plans again from what exists, so nothing is created twice.
    """
    created: list[tuple[Row, Any]] = []
    for row in rows:
        try:
            answer = client.post(path, body(row))
        except SecodaError as error:
            return created, (row, error)
        created.append((row, answer))
    return created, None


def partial_failure(
    written: int, planned: int, what: str, failed: str, error: SecodaError, metadata: Mapping
) -> dg.Failure:
    """Returns the Failure for a create that failed after `written` of `planned` succeeded."""
    return dg.Failure(
        description=(
            f"created {written} of {planned} {what}, then {failed} failed: "
            f"{str(error).rstrip('.')}. Rerun the "
            f"job: it plans again from the {what} that exist, so none is created twice."
        ),
        metadata=dict(metadata),
        allow_retries=False,
    )


def report_plan(
    context: dg.OpExecutionContext,
    duckdb: DuckDBResource,
    table: str,
    plan: pd.DataFrame,
    *,
    dry_run: bool,
    errors: list[str],
    nothing_done: str,
) -> None:
    """Appends the plan (status `planned`) to `reports.<table>` and the run's metadata.

    Raises:
        dagster.Failure: `errors` is not empty (each bad value listed; nothing is written).
    """
    report = append_report(
        duckdb, table, plan.assign(status=PLANNED), run_id=context.run_id, dry_run=dry_run
    )
    metadata = dict(report_metadata(report, table, dry_run=dry_run))
    if errors:
        raise bad_input(errors, nothing_done, metadata)
    context.add_output_metadata(metadata)


def report_writes(
    context: dg.OpExecutionContext,
    duckdb: DuckDBResource,
    table: str,
    outcomes: list[Row],
    *,
    planned: int,
    what: str,
    failure: tuple[str, SecodaError] | None,
) -> pd.DataFrame:
    """Appends one row per attempted create to `reports.<table>`; returns them as a frame.

    Raises:
        dagster.Failure: `failure` (the failed item's name and error) is set.
    """
    frame = pd.DataFrame(outcomes).astype("string")
    report = append_report(duckdb, table, frame, run_id=context.run_id, dry_run=False)
    written = int((frame["status"] == WRITTEN).sum())
    metadata = dict(report_metadata(report, table, count_by="status", written=written))
    if failure is not None:
        raise partial_failure(written, planned, what, failure[0], failure[1], metadata)
    context.add_output_metadata(metadata)
    return frame
