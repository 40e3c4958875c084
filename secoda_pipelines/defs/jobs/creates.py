"""What the create-style jobs (users, lineage) share: reporting the checked plan, and the
apply step that POSTs one object per `create` row, recording each write on its report row."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from secoda_pipelines.defs.jobs.reporting import (
    bad_input,
    continue_write_pace,
    report_metadata,
    with_planned_writes,
)
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.secoda import SecodaError
from secoda_pipelines.store import FAILED, WRITTEN, ReportStore

CREATE = "create"
Row = dict[str, Any]


@dataclass(frozen=True)
class CreateJob:
    """What differs between the create-style jobs.

    Attributes:
        table: the report table (`reports.<table>`).
        path: the collection POSTed to.
        noun: what one object is called in messages ("user", "edge").
        label: the plan column that names a row in messages (an email, an edge's source).
        id_column: the report column that receives the created object's id.
        body: the POST body of a plan row.
        nothing_done: how a rejected run's message ends ("no lineage was created").
    """

    table: str
    path: str
    noun: str
    label: str
    id_column: str
    body: Callable[[Row], Row]
    nothing_done: str


def report_plan(
    context: dg.OpExecutionContext,
    reports: ReportStore,
    job: CreateJob,
    plan: pd.DataFrame,
    *,
    dry_run: bool,
    errors: list[str],
) -> pd.DataFrame:
    """Appends the checked plan to `reports.<table>` (write_status `planned` on each create)
    and to the run's metadata; returns the plan with `item`, its rows' place in the report.

    Raises:
        dagster.Failure: `errors` is not empty: each bad value listed, nothing appended and
            nothing written (the failure's metadata previews the rows that were checked).
    """
    if errors:
        preview = report_metadata(plan, job.table)["preview"]
        raise bad_input(errors, job.nothing_done, {"checked_rows": preview})
    report = reports.append(
        job.table, with_planned_writes(plan, {CREATE}), run_id=context.run_id, dry_run=dry_run
    )
    context.add_output_metadata(dict(report_metadata(report, job.table, dry_run=dry_run)))
    return plan.reset_index(drop=True).assign(item=report["item"].to_numpy())


def apply_creates(
    context: dg.OpExecutionContext,
    secoda: SecodaResource,
    reports: ReportStore,
    job: CreateJob,
    plan: pd.DataFrame,
    *,
    dry_run: bool,
) -> None:
    """POSTs each `create` row of the plan in order (not in a dry run), recording on its
    report row `written` with the new id, or `failed` with the reason; stops at the first
    failure, leaving the rows after it `planned`.

    A POST is not retried after a 5xx (it may have been applied): a rerun plans again from
    what exists, so nothing is created twice.

    Raises:
        dagster.Failure: a create failed (names it, and how many were created before it).
    """
    to_create = plan[plan["action"] == CREATE]
    if dry_run or to_create.empty:
        verb = f"dry run: would create {len(to_create)} {job.noun}(s)"
        context.log.info(verb if dry_run else f"nothing to create: every {job.noun} exists")
        context.add_output_metadata({"written": 0, "dry_run": dry_run})
        return
    client = secoda.get_client()
    continue_write_pace(context, client, reports)
    written = 0
    for row in to_create.to_dict("records"):
        try:
            answer = client.post(job.path, job.body(row))
        except SecodaError as error:
            outcome = {"item": row["item"], "write_status": FAILED, "write_detail": str(error)}
            reports.record_writes(job.table, context.run_id, [outcome])
            raise dg.Failure(
                description=(
                    f"created {written} of {len(to_create)} {job.noun}s, then "
                    f"{row[job.label]} failed: {str(error).rstrip('.')}. Rerun the job: it "
                    f"plans again from the {job.noun}s that exist, so none is created twice."
                ),
                metadata={"written": written, "failed": row[job.label]},
                allow_retries=False,
            ) from None
        created_id = _created_id(answer)
        outcome = {
            "item": row["item"],
            "write_status": WRITTEN,
            "write_detail": f"created {job.noun} {created_id}",
            job.id_column: created_id,
        }
        reports.record_writes(job.table, context.run_id, [outcome])
        written += 1
    context.log.info(f"created {written} {job.noun}(s)")
    context.add_output_metadata({"written": written, "dry_run": False})


def _created_id(answer: Any) -> str | None:
    # The guide's user-create spelling answers a list of the users it made.
    if isinstance(answer, list):
        answer = answer[0] if answer else None
    value = answer.get("id") if isinstance(answer, dict) else None
    return None if value is None else str(value)
