"""`flag_stale_dashboards`: tag in Secoda the dashboards the stale rule finds, and take
the tag off those in use again. Dry run by default.

One op, so that every execution (a rerun, a run retry, a re-execution from failure) plans
from Secoda's state at that moment: it lists the dashboards and the tags, applies
`reports/stale_dashboards`' rule to them (with the usage snapshots the warehouse holds),
appends the plan to `reports.stale_dashboard_flags` and the run's metadata, then, unless
`dry_run`, creates the tag when missing and PATCHes each dashboard that changes. Each
dashboard is read again just before its PATCH and the new list is built from its tags as
they are then, so a tag someone added or removed since the plan stays as they left it.
"""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from pydantic import Field

from secoda_pipelines.catalog import dashboards_frame, stale_dashboards
from secoda_pipelines.catalog.stale_flags import (
    ADD,
    CREATE,
    REMOVE,
    WRITING_ACTIONS,
    plan_flags,
    tag_ids,
    tag_name_errors,
    tags_named,
    with_tag,
    without_tag,
)
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.jobs.config import flat_run_config
from secoda_pipelines.defs.jobs.reporting import (
    bad_input,
    continue_write_pace,
    report_metadata,
    with_planned_writes,
)
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.secoda import (
    SecodaAuthError,
    SecodaBadRequestError,
    SecodaClient,
    SecodaNotFoundError,
    detail_path,
)
from secoda_pipelines.store import FAILED, SKIPPED, WRITTEN, ReportStore

FLAGS_TABLE = "stale_dashboard_flags"
DASHBOARDS = "dashboard/dashboards/"
TAGS = "tag/"
NOTHING_DONE = "nothing was tagged"
TAG_COLOR = "#9e9e9e"
PROGRESS_EVERY = 50


class FlagStaleDashboardsConfig(dg.Config):
    """The flat run config of `flag_stale_dashboards` (SPEC B)."""

    tag_name: str = Field(
        default="stale",
        description="The tag stale dashboards get (matched case-insensitively; created when "
        "no tag has this name).",
    )
    stale_after_days: int = Field(
        default=90, ge=0, description="The stale rule's days (as reports/stale_dashboards)."
    )
    remove_when_used: bool = Field(
        default=True, description="Take the tag off dashboards that are no longer stale."
    )
    dry_run: bool = Field(default=True, description="Plan and report only; write nothing.")


class _Flagging:
    """One run's state: the client, the rule's inputs, and the outcomes to record."""

    def __init__(
        self,
        context: dg.OpExecutionContext,
        config: FlagStaleDashboardsConfig,
        client: SecodaClient,
        reports: ReportStore,
        history: pd.DataFrame,
    ) -> None:
        self.context = context
        self.config = config
        self.client = client
        self.reports = reports
        self.history = history
        self.now = datetime.now(UTC)
        self.outcomes: list[dict] = []

    def stale(self, dashboards: list[dict]) -> pd.DataFrame:
        """Returns the stale report's rows for these API rows (the rule, with history)."""
        return stale_dashboards(
            dashboards_frame(dashboards),
            now=self.now,
            stale_after_days=self.config.stale_after_days,
            history=self.history,
        )

    def record(self, item: int, status: str, detail: str, **columns: object) -> None:
        sent = None if status == SKIPPED else pd.Timestamp.now(tz="UTC")
        self.outcomes.append(
            {"item": item, "write_status": status, "write_detail": detail, "written_at": sent}
            | columns
        )

    def flush(self) -> None:
        self.reports.record_writes(FLAGS_TABLE, self.context.run_id, self.outcomes)
        self.outcomes.clear()


def _history(reports: ReportStore) -> pd.DataFrame:
    """Returns every usage snapshot the warehouse holds (empty when none was taken)."""
    return reports.warehouse().read_table("secoda", "dashboard_usage")


def _plan(run: _Flagging) -> tuple[pd.DataFrame, dict | None]:
    """Returns (the plan with `item`, its rows' place in the report; the existing tag or
    None), after appending the plan to the report and the run's metadata.

    Raises:
        dagster.Failure: the tag name is ambiguous (the tags named; nothing reported or
            written), or the API refused the key.
    """
    config = run.config
    tag_name = config.tag_name.strip()
    with secoda_failures():
        tags = run.client.list(TAGS)
        dashboards = run.client.list(DASHBOARDS)
    named = tags_named(tags, tag_name)
    if len(named) > 1:
        listed = ", ".join(f"{t['id']} ({t.get('name')!r})" for t in named)
        raise bad_input(
            [
                f"tag_name {tag_name!r} matches {len(named)} tags, case-insensitively: "
                f"{listed}; rename or delete all but one in Secoda, or choose another name"
            ],
            NOTHING_DONE,
        )
    tag = named[0] if named else None
    stale = run.stale(dashboards)
    plan = plan_flags(dashboards, stale, tag, tag_name, remove_when_used=config.remove_when_used)
    report = run.reports.append(
        FLAGS_TABLE,
        with_planned_writes(plan, WRITING_ACTIONS),
        run_id=run.context.run_id,
        dry_run=config.dry_run,
    )
    writes = int(plan["action"].isin(list(WRITING_ACTIONS)).sum())
    run.context.add_output_metadata(
        dict(
            report_metadata(
                report,
                FLAGS_TABLE,
                dry_run=config.dry_run,
                tag_name=tag_name,
                tag_id=None if tag is None else str(tag["id"]),
                stale_dashboards=len(stale),
                dashboards=len(dashboards),
                writes_planned=writes,
            )
        )
    )
    run.context.log.info(
        f"Plan: {writes} write(s) for {len(stale)} stale of {len(dashboards)} dashboards "
        f"({'dry run: nothing will be written' if config.dry_run else 'applying next'})"
    )
    return plan.assign(item=report["item"].to_numpy()), tag


def _create_tag(run: _Flagging, row: pd.Series) -> str:
    """Creates the tag (or finds the one someone created meanwhile); returns its id.

    Raises:
        dagster.Failure: the API refused the tag (its answer named).
    """
    name = run.config.tag_name.strip()
    body = {
        "name": name,
        "description": "Dashboards with no views, viewers or recent updates, flagged by "
        "secoda-pipelines' flag_stale_dashboards job.",
        "color": TAG_COLOR,
    }
    try:
        created = run.client.post(TAGS, body)
    except SecodaBadRequestError as error:
        existing = tags_named(run.client.list(TAGS), name)
        if len(existing) != 1:
            run.record(row["item"], FAILED, str(error))
            run.flush()
            raise dg.Failure(
                description=f"creating tag {name!r} failed: {error}; nothing was tagged",
                allow_retries=False,
            ) from None
        tag_id = str(existing[0]["id"])
        run.record(row["item"], SKIPPED, f"tag {name!r} exists now ({tag_id})", tag_id=tag_id)
        return tag_id
    tag_id = str(created["id"])
    run.record(row["item"], WRITTEN, f"POST tag/: created tag {tag_id}", tag_id=tag_id)
    run.flush()  # the tag exists now: a rerun must find it rather than plan it again
    return tag_id


def _change_one(run: _Flagging, row: pd.Series, tag_id: str) -> tuple[str, str, list | None]:
    """Reads the dashboard again and PATCHes its tags when it still needs the change;
    returns (write_status, write_detail, the tags it holds afterwards).

    Raises:
        SecodaError: the read or the PATCH failed.
    """
    path = detail_path(DASHBOARDS, row["dashboard_id"])
    current = run.client.get(path)
    tags = list(current.get("tags") or [])
    still_stale = not run.stale([current]).empty
    if row["action"] == ADD:
        if tag_id in tag_ids(tags):
            return SKIPPED, "already tagged (since the plan)", tags
        if not still_stale:
            return SKIPPED, "in use since the plan: not tagged", tags
        after = with_tag(tags, tag_id)
    else:
        if tag_id not in tag_ids(tags):
            return SKIPPED, "tag already removed (since the plan)", tags
        if still_stale:
            return SKIPPED, "stale again since the plan: tag kept", tags
        after = without_tag(tags, tag_id)
    run.client.patch(path, {"tags": after})
    return WRITTEN, f"PATCH tags ({'added' if row['action'] == ADD else 'removed'} {tag_id})", after


def _apply(run: _Flagging, plan: pd.DataFrame, tag: dict | None) -> None:
    """Creates the tag when planned, then changes each planned dashboard, recording every
    write on its report row. A 400 or 404 on one dashboard is recorded and the rest go on;
    the run then fails naming them.

    Raises:
        dagster.Failure: writes failed (each named), the tag could not be created, or the
            API refused the key.
    """
    continue_write_pace(run.context, run.client, run.reports)
    tag_id = None if tag is None else str(tag["id"])
    failed: list[str] = []
    counts = {WRITTEN: 0, SKIPPED: 0}
    changes = plan[plan["action"].isin([ADD, REMOVE])]
    try:
        for _, row in plan[plan["action"] == CREATE].iterrows():
            tag_id = _create_tag(run, row)
        for done, (_, row) in enumerate(changes.iterrows(), start=1):
            try:
                status, detail, after = _change_one(run, row, tag_id)
            except (SecodaBadRequestError, SecodaNotFoundError) as error:
                status, detail, after = FAILED, str(error), None
                failed.append(f"{row['title']} ({row['dashboard_id']}): {error}")
            except SecodaAuthError as error:
                raise dg.Failure(description=str(error), allow_retries=False) from None
            counts[status] = counts.get(status, 0) + 1
            extra = {"tag_id": tag_id} | ({} if after is None else {"tags_after": after})
            run.record(row["item"], status, detail, **extra)
            if done % PROGRESS_EVERY == 0:
                run.flush()
    finally:
        run.flush()
    run.context.add_output_metadata(
        {"writes": counts[WRITTEN], "skipped": counts[SKIPPED], "failed": len(failed)}
    )
    run.context.log.info(
        f"Flags: {counts[WRITTEN]} dashboard(s) changed, {counts[SKIPPED]} skipped, "
        f"{len(failed)} failed"
    )
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} of {len(changes)} tag changes failed: "
            + "; ".join(failed[:20]),
            allow_retries=False,
        )


@dg.op(
    description="Lists dashboards and tags, applies the stale rule now, reports the plan, "
    "then (unless dry_run) creates the tag if missing and PATCHes each changed dashboard."
)
def stale_dashboard_flagging(
    context: dg.OpExecutionContext,
    config: FlagStaleDashboardsConfig,
    secoda: SecodaResource,
    reports: ReportStore,
) -> None:
    """Plans the flags from Secoda's state now and, unless dry_run, writes them.

    Raises:
        dagster.Failure: the config is bad (nothing written), writes failed (each named),
            or the API refused the key.
    """
    errors = tag_name_errors(config.tag_name)
    if errors:
        raise bad_input(errors, NOTHING_DONE)
    client = secoda.get_client()
    run = _Flagging(context, config, client, reports, _history(reports))
    plan, tag = _plan(run)
    if config.dry_run:
        context.log.info("Dry run: nothing written.")
        return
    _apply(run, plan, tag)


@dg.job(
    name="flag_stale_dashboards",
    description=(
        "Tag the dashboards reports/stale_dashboards' rule finds stale now (creating the tag "
        "when missing) and untag those in use again. Dry run by default."
    ),
    config=flat_run_config(FlagStaleDashboardsConfig, "stale_dashboard_flagging"),
    tags={"secoda/writes": "dashboard_tags"},
)
def flag_stale_dashboards() -> None:
    stale_dashboard_flagging()
