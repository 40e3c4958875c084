"""Partitions: one per Secoda integration (added by the sensor or the demo), one per month
of question replies. Dashboard usage is not partitioned by day: a past day's snapshot can
never be taken (see `assets/usage.py`)."""

import dagster as dg

secoda_integrations = dg.DynamicPartitionsDefinition(name="secoda_integrations")

REPLIES_START = "2024-01-01"
# The current month is a partition too, refreshed daily until it ends.
reply_months = dg.MonthlyPartitionsDefinition(
    start_date=REPLIES_START, end_offset=1, timezone="UTC"
)
