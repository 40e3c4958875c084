"""Partitions: one per Secoda integration (added by the sensor or the demo), one per UTC day
of usage snapshots, one per month of question replies."""

import dagster as dg

secoda_integrations = dg.DynamicPartitionsDefinition(name="secoda_integrations")

# Snapshots start when this release could first take them; a day before it never had one.
USAGE_START = "2025-01-01"
# end_offset=1: today is a partition (Dagster's default ends at the last complete day),
# because today's snapshot is the only one the API can give.
usage_days = dg.DailyPartitionsDefinition(start_date=USAGE_START, end_offset=1, timezone="UTC")

REPLIES_START = "2024-01-01"
# The current month is a partition too, refreshed daily until it ends.
reply_months = dg.MonthlyPartitionsDefinition(
    start_date=REPLIES_START, end_offset=1, timezone="UTC"
)
