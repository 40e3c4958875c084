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

from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from pydantic import Field

from secoda_pipelines.catalog.frames import DASHBOARDS_SCHEMA, frame_of_rows
from secoda_pipelines.catalog.planners import (
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
from secoda_pipelines.catalog.reports import stale_dashboards
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.jobs.writeback import (
    WRITES_TAG,
    Item,
    Outcome,
    WriteBackConfig,
    Writes,
    already_done,
    apply_writes,
    bad_input,
    report_metadata,
    skipped,
    with_planned_writes,
    workspace_writes,
    write_back_job,
    written,
)
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.secoda import (
    DASHBOARDS,
    TAGS,
    SecodaBadRequestError,
    SecodaClient,
    SecodaResponseError,
    detail_path,
)
from secoda_pipelines.store import ReportStore

FLAGS_TABLE = "stale_dashboard_flags"
NOTHING_DONE = "nothing was tagged"
TAG_COLOR = "#9e9e9e"
TAG_WRITES = Writes(FLAGS_TABLE, "tag", creates=True)
DASHBOARD_WRITES = Writes(FLAGS_TABLE, "dashboard")


class FlagStaleDashboardsConfig(WriteBackConfig):
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


class _Flagging:
    """One run's rule and writes: the client, the usage history and the tag, once known."""

    def __init__(
        self,
        config: FlagStaleDashboardsConfig,
        client: SecodaClient,
        history: pd.DataFrame,
    ) -> None:
        self.config = config
        self.client = client
        self.history = history
        self.now = datetime.now(UTC)
        self.tag_name = config.tag_name.strip()
        self.tag_id: str | None = None

    def stale(self, dashboards: list[dict]) -> pd.DataFrame:
        """Returns the stale report's rows for these API rows (the rule, with history)."""
        return stale_dashboards(
            frame_of_rows(dashboards, schema=DASHBOARDS_SCHEMA),
            now=self.now,
            stale_after_days=self.config.stale_after_days,
            history=self.history,
        )

    def create_tag(self, row: dict, retry: bool) -> Outcome:
        """Creates the tag, unless it exists by now (someone made it, or an attempt whose
        answer was lost did); returns the outcome, with the tag's id.

        Raises:
            SecodaError: the listing or the POST failed (a 400 other than "it exists" too).
        """
        if retry and (found := self._existing_tag()) is not None:
            return already_done(f"tag {self.tag_name!r} exists ({found})", tag_id=found)
        body = {
            "name": self.tag_name,
            "description": "Dashboards with no views, viewers or recent updates, flagged by "
            "secoda-pipelines' flag_stale_dashboards job.",
            "color": TAG_COLOR,
        }
        try:
            created = self.client.post(TAGS, body)
        except SecodaBadRequestError:
            found = self._existing_tag()
            if found is None:
                raise
            return skipped(f"tag {self.tag_name!r} exists now ({found})", tag_id=found)
        tag_id = created.get("id") if isinstance(created, dict) else None
        if tag_id is None:
            raise SecodaResponseError(
                f"POST {TAGS} answered {created!r:.200} without the new tag's id",
                status=201,
            )
        return written(f"POST {TAGS}: created tag {tag_id}", tag_id=str(tag_id))

    def _existing_tag(self) -> str | None:
        """Returns the id of the one tag named like ours, None when there is none.

        Raises:
            SecodaBadRequestError: several tags have the name now.
        """
        named = tags_named(self.client.list(TAGS), self.tag_name)
        if len(named) > 1:
            raise SecodaBadRequestError(
                f"{len(named)} tags are named {self.tag_name!r} now: "
                + ", ".join(str(t["id"]) for t in named),
                status=400,
                method="POST",
                path=TAGS,
            )
        return str(named[0]["id"]) if named else None

    def change_tags(self, row: dict, retry: bool) -> Outcome:
        """Reads the dashboard again and PATCHes its tags when it still needs the change:
        the tags it holds now, plus or minus ours; returns the outcome.

        Raises:
            SecodaError: the read or the PATCH failed.
        """
        tag_id = self.tag_id
        assert tag_id is not None
        path = detail_path(DASHBOARDS, row["dashboard_id"])
        current = self.client.get(path)
        tags = list(current.get("tags") or [])
        still_stale = not self.stale([current]).empty
        columns = {"tag_id": tag_id, "tags_after": tags}
        if row["action"] == ADD:
            if tag_id in tag_ids(tags):
                return already_done("already tagged", **columns)
            if not still_stale:
                return skipped("in use since the plan: not tagged", **columns)
            after = with_tag(tags, tag_id)
        else:
            if tag_id not in tag_ids(tags):
                return already_done("tag already removed", **columns)
            if still_stale:
                return skipped("stale again since the plan: tag kept", **columns)
            after = without_tag(tags, tag_id)
        self.client.patch(path, {"tags": after})
        verb = "added" if row["action"] == ADD else "removed"
        return written(f"PATCH tags ({verb} {tag_id})", tag_id=tag_id, tags_after=after)


def _history(reports: ReportStore) -> pd.DataFrame:
    """Returns every usage snapshot the warehouse holds (empty when none was taken)."""
    return reports.get_warehouse().read_table("secoda", "dashboard_usage")


def _plan(
    context: dg.OpExecutionContext, run: _Flagging, reports: ReportStore
) -> tuple[pd.DataFrame, dict | None]:
    """Returns (the plan with `item`, its rows' place in the report; the existing tag or
    None), after appending the plan to the report and the run's metadata.

    Raises:
        dagster.Failure: the tag name is ambiguous (the tags named; nothing reported or
            written), or the API refused the key.
    """
    config = run.config
    tag_name = run.tag_name
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
    report = reports.append(
        FLAGS_TABLE,
        with_planned_writes(plan, WRITING_ACTIONS),
        run_id=context.run_id,
        dry_run=config.dry_run,
    )
    writes = int(plan["action"].isin(list(WRITING_ACTIONS)).sum())
    context.add_output_metadata(
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
    context.log.info(
        f"Plan: {writes} write(s) for {len(stale)} stale of {len(dashboards)} dashboards "
        f"({'dry run: nothing will be written' if config.dry_run else 'applying next'})"
    )
    return plan.assign(item=report["item"].to_numpy()), tag


def _items(rows: pd.DataFrame) -> list[Item[dict]]:
    return [
        Item(int(row["item"]), f"{row['title']} ({row['dashboard_id']})", row)
        for row in rows.to_dict("records")
    ]


def _apply(
    context: dg.OpExecutionContext,
    run: _Flagging,
    reports: ReportStore,
    plan: pd.DataFrame,
    tag: dict | None,
) -> None:
    """Creates the tag when planned, then changes each planned dashboard (`apply_writes`).

    Raises:
        dagster.Failure: writes failed (each named), the tag could not be created, or the
            API refused the key.
    """
    run.tag_id = None if tag is None else str(tag["id"])
    creates = plan[plan["action"] == CREATE].to_dict("records")
    if creates:
        tag_row = [Item(int(creates[0]["item"]), f"tag {run.tag_name!r}", creates[0])]
        apply_writes(context, run.client, reports, TAG_WRITES, tag_row, 1, _remember(run))
    changes = plan[plan["action"].isin([ADD, REMOVE])]
    apply_writes(
        context,
        run.client,
        reports,
        DASHBOARD_WRITES,
        _items(changes),
        len(changes),
        run.change_tags,
    )


def _remember(run: _Flagging) -> Callable[[dict, bool], Outcome]:
    """Returns `run.create_tag`, keeping the tag's id for the dashboards' writes."""

    def create(row: dict, retry: bool) -> Outcome:
        outcome = run.create_tag(row, retry)
        run.tag_id = outcome.columns["tag_id"]
        return outcome

    return create


@dg.op(
    description="Lists dashboards and tags, applies the stale rule now, reports the plan, "
    "then (unless dry_run) creates the tag if missing and PATCHes each changed dashboard.",
    tags={WRITES_TAG: "dashboard_tags"},
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
    with workspace_writes(context, reports, client, config.dry_run):
        run = _Flagging(config, client, _history(reports))
        plan, tag = _plan(context, run, reports)
        if config.dry_run:
            context.log.info("Dry run: nothing written.")
            return
        _apply(context, run, reports, plan, tag)


flag_stale_dashboards = write_back_job(
    stale_dashboard_flagging,
    name="flag_stale_dashboards",
    description=(
        "Tag the dashboards reports/stale_dashboards' rule finds stale now (creating the tag "
        "when missing) and untag those in use again. Dry run by default."
    ),
)
