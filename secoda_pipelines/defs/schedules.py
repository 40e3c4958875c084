"""Schedules. Each run request carries a run key naming its day (and its partition), so a
tick evaluated again (a daemon restart, a missed tick caught up) launches nothing twice."""

import dagster as dg
import pandas as pd

from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.integration_tags import by_id, integration_tags
from secoda_pipelines.defs.partitions import secoda_integrations
from secoda_pipelines.defs.refresh import (
    adoption_refresh_job,
    catalog_refresh_job,
    coverage_snapshot_job,
    integration_refresh_job,
)
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.secoda import INTEGRATIONS, SecodaError


def _tick_day(context: dg.ScheduleEvaluationContext) -> pd.Timestamp:
    """Returns the UTC day the tick was scheduled for (now, when evaluated by hand)."""
    when = context.scheduled_execution_time
    stamp = pd.Timestamp(when) if when is not None else pd.Timestamp.now(tz="UTC")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.normalize()


@dg.schedule(
    name="daily_secoda_refresh",
    job=catalog_refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    description="Every day at 05:00 UTC: today's dashboard usage snapshot, the "
    "unpartitioned catalog assets and the reports.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_secoda_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Returns the day's run of `secoda_catalog_refresh` (run key `catalog-refresh:<day>`,
    no partition: the run takes the usage snapshot of the day it runs on)."""
    day = _tick_day(context).strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"catalog-refresh:{day}")


@dg.schedule(
    name="daily_integration_refresh",
    job=integration_refresh_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    description="Every day at 06:00 UTC: the tables and columns of every integration Secoda "
    "still lists, one run per secoda_integrations partition (the secoda_api pool caps how "
    "many run at once); a partition whose integration is gone is skipped, its rows kept.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_integration_refresh(
    context: dg.ScheduleEvaluationContext, secoda: SecodaResource
) -> list[dg.RunRequest] | dg.SkipReason:
    """Returns one run of `secoda_integration_refresh` per integration partition whose
    integration Secoda still lists, keyed by partition and day and tagged with the
    integration's name and type as listed (`integration_tags`); skips (saying why) when no
    integration is registered yet, or none of them is still listed.

    A partition whose integration Secoda no longer lists gets no run (its stored rows stay
    as they are) and is named in the tick's log. When Secoda cannot be listed (down, after
    the tick client's retries), every partition is requested, without name tags, with a
    warning: each run checks that its integration still exists before it stores anything.

    Raises:
        dagster.Failure: Secoda refused the key or the URL (the client's message).
    """
    keys = sorted(context.instance.get_dynamic_partitions(secoda_integrations.name))
    if not keys:
        return dg.SkipReason(
            "no secoda_integrations partitions yet: new_integration_sensor adds them"
        )
    try:
        with secoda_failures():
            listed = secoda.get_tick_client().list(INTEGRATIONS)
    except SecodaError as error:
        context.log.warning(
            f"Could not list Secoda's integrations ({error}); requesting every one of the "
            f"{len(keys)} partitions: each run checks its integration still exists before "
            "storing anything."
        )
        current = set(keys)
        listed_by_id = {}  # names unknown: the requests go without name tags
    else:
        listed_by_id = by_id(listed)
        current = set(listed_by_id)
    gone = [key for key in keys if key not in current]
    if gone:
        context.log.warning(
            f"Skipped {len(gone)} secoda_integrations partition(s) whose integration Secoda "
            f"no longer lists (their stored tables and columns are kept): {gone}"
        )
    day = _tick_day(context).strftime("%Y-%m-%d")
    requests = [
        dg.RunRequest(
            run_key=f"integration-refresh:{key}:{day}",
            partition_key=key,
            tags=integration_tags(listed_by_id.get(key)),
        )
        for key in keys
        if key in current
    ]
    if not requests:
        return dg.SkipReason(
            f"Secoda no longer lists the integration of any of the {len(keys)} "
            f"secoda_integrations partitions (kept as they are): {gone}"
        )
    return requests


@dg.schedule(
    name="daily_adoption_refresh",
    job=adoption_refresh_job,
    cron_schedule="30 5 * * *",
    execution_timezone="UTC",
    description="Every day at 05:30 UTC, after the catalog refresh: the current month of "
    "reports/adoption_monthly (and, on the 1st, the month that just ended).",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_adoption_refresh(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """Returns the runs of `secoda_adoption_refresh` for the tick's month and, on the first
    day of a month, for the month before (its last hours' replies came after its last run).
    """
    day = _tick_day(context)
    months = [day.replace(day=1)]
    if day.day == 1:
        months.insert(0, (day - pd.Timedelta(days=1)).replace(day=1))
    stamp = day.strftime("%Y-%m-%d")
    return [
        dg.RunRequest(
            run_key=f"adoption-refresh:{m.strftime('%Y-%m')}:{stamp}",
            partition_key=m.strftime("%Y-%m-%d"),
        )
        for m in months
    ]


@dg.schedule(
    name="daily_coverage_snapshot",
    job=coverage_snapshot_job,
    cron_schedule="0 8 * * *",
    execution_timezone="UTC",
    description="Every day at 08:00 UTC, after the catalog (05:00) and integration (06:00) "
    "refreshes: today's documentation coverage snapshot, the targets' status and the work "
    "list, computed in the warehouse from the stored tables and columns.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_coverage_snapshot(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Returns the day's run of `secoda_coverage_snapshot` (run key
    `coverage-snapshot:<day>`)."""
    day = _tick_day(context).strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"coverage-snapshot:{day}")
