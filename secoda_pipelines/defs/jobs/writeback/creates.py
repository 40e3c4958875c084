"""What the create-style jobs (users, lineage) share: reporting the checked plan, and the
`write_one` that POSTs one object per `create` row through the write loop, looking first
for the object an attempt whose answer was lost may have created."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from secoda_pipelines.catalog.planners import CREATE
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.jobs.writeback.loop import (
    Item,
    Outcome,
    Writes,
    already_done,
    apply_writes,
    workspace_writes,
    written,
)
from secoda_pipelines.defs.jobs.writeback.reporting import (
    bad_input,
    report_metadata,
    with_planned_writes,
)
from secoda_pipelines.secoda import SecodaClient, SecodaResponseError
from secoda_pipelines.store import ReportStore

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
        find: the id of the object a plan row would create, when it exists in Secoda now
            (None when it does not): looked for before a create is tried again.
        nothing_done: how a rejected run's message ends ("no lineage was created").
    """

    table: str
    path: str
    noun: str
    label: str
    id_column: str
    body: Callable[[Row], Row]
    find: Callable[[SecodaClient, Row], str | None]
    nothing_done: str

    @property
    def writes(self) -> Writes:
        """Returns how the loop reports these creates (a 400 or 404 stops the run)."""
        return Writes(self.table, self.noun, creates=True)


def plan_and_create(
    context: dg.OpExecutionContext,
    client: SecodaClient,
    reports: ReportStore,
    job: CreateJob,
    plan: Callable[[SecodaClient], tuple[pd.DataFrame, list[str]]],
    *,
    dry_run: bool,
) -> None:
    """Runs a create-style job's op body: holding the workspace (`workspace_writes`),
    plans with `plan(client)` (the plan and one message per bad value, from what Secoda
    holds now), reports it (`report_plan`) and, unless dry_run, creates each `create` row
    (`apply_creates`).

    Raises:
        dagster.Failure: a bad value (each listed; nothing reported or written), the API
            refused a read (wrong key or URL), or a create failed.
        SecodaError: a read failed after the client's retries.
    """
    with workspace_writes(context, reports, client, dry_run):
        with secoda_failures():
            frame, errors = plan(client)
        frame = report_plan(context, reports, job, frame, dry_run=dry_run, errors=errors)
        apply_creates(context, client, reports, job, frame, dry_run=dry_run)


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
    client: SecodaClient,
    reports: ReportStore,
    job: CreateJob,
    plan: pd.DataFrame,
    *,
    dry_run: bool,
) -> None:
    """POSTs each `create` row of the plan in order through the write loop (not in a dry
    run), recording on its report row `written` with the new id, or `failed` with why.

    When a POST's outcome is unknown (answered 5xx, cut off or never answered), the object
    is looked for (`job.find`) before it is created again: found, the row is `written` with
    its id; so nothing is created twice.

    Raises:
        dagster.Failure: a create failed (names it, and how many were created before it).
    """
    to_create = plan[plan["action"] == CREATE]
    if dry_run or to_create.empty:
        verb = f"dry run: would create {len(to_create)} {job.noun}(s)"
        context.log.info(verb if dry_run else f"nothing to create: every {job.noun} exists")
        context.add_output_metadata({"writes": 0, "dry_run": dry_run})
        return
    items = [
        Item(int(row["item"]), str(row[job.label]), row) for row in to_create.to_dict("records")
    ]
    apply_writes(context, client, reports, job.writes, items, len(items), _create_one(client, job))


def _create_one(client: SecodaClient, job: CreateJob) -> Callable[[Row, bool], Outcome]:
    """Returns the write of one create row: look for it first on a retry, else POST it."""

    def create(row: Row, retry: bool) -> Outcome:
        if retry and (found := job.find(client, row)) is not None:
            return already_done(f"{job.noun} {found} exists", **{job.id_column: found})
        answer = client.post(job.path, job.body(row))
        created_id = _created_id(answer)
        if created_id is None:
            error = SecodaResponseError(
                f"POST {job.path} answered {answer!r:.200} without the new {job.noun}'s id; "
                f"the {job.noun} may have been created"
            )
            error.maybe_applied = True
            raise error
        return written(f"created {job.noun} {created_id}", **{job.id_column: created_id})

    return create


def _created_id(answer: Any) -> str | None:
    # The guide's user-create spelling answers a list of the users it made.
    if isinstance(answer, list):
        answer = answer[0] if answer else None
    value = answer.get("id") if isinstance(answer, dict) else None
    return None if value is None else str(value)
