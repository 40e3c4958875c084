"""Schedules. Each run request carries a run key naming its partition and its day, so a
tick evaluated again (a daemon restart, a missed tick caught up) launches nothing twice."""

import dagster as dg
import pandas as pd

from secoda_pipelines.defs.partitions import secoda_integrations
from secoda_pipelines.defs.refresh import (
    adoption_refresh_job,
    catalog_refresh_job,
    integration_refresh_job,
)


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
    """Returns the run of `secoda_catalog_refresh` for the tick's UTC day."""
    day = _tick_day(context).strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"catalog-refresh:{day}", partition_key=day)


@dg.schedule(
    name="daily_integration_refresh",
    job=integration_refresh_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    description="Every day at 06:00 UTC: the tables and columns of every integration, one "
    "run per secoda_integrations partition (the secoda_api pool caps how many run at once).",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_integration_refresh(
    context: dg.ScheduleEvaluationContext,
) -> list[dg.RunRequest] | dg.SkipReason:
    """Returns one run of `secoda_integration_refresh` per integration partition, keyed by
    partition and day; skips (saying why) when no integration is registered yet."""
    keys = context.instance.get_dynamic_partitions(secoda_integrations.name)
    if not keys:
        return dg.SkipReason(
            "no secoda_integrations partitions yet: new_integration_sensor adds them"
        )
    day = _tick_day(context).strftime("%Y-%m-%d")
    return [
        dg.RunRequest(run_key=f"integration-refresh:{key}:{day}", partition_key=key)
        for key in sorted(keys)
    ]


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
