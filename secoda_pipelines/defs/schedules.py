"""Schedules."""

import dagster as dg

from secoda_pipelines.defs.refresh import catalog_refresh_job

daily_secoda_refresh = dg.ScheduleDefinition(
    name="daily_secoda_refresh",
    job=catalog_refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    description="Every day at 05:00 UTC: the unpartitioned catalog assets and both reports.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
