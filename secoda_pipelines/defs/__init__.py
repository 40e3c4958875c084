"""The Dagster layer, thin: everything `secoda_pipelines.definitions` assembles.

`assets/` (catalog listings, the usage history, the reports, documentation coverage),
`jobs/` (one module or package per job, named after it; the write-back jobs built on
`jobs.writeback`),
`refresh` (the asset jobs the schedules and the sensor launch), `schedules`, `sensors`,
`partitions`, `resources`, and the helpers they share (`checks`, `failures`, `metadata`,
`integration_tags`, the column declarations `column_types` and `column_descriptions`).
The rules themselves live in `secoda_pipelines.catalog`; nothing here decides what a
report holds or what a job writes.
"""

from secoda_pipelines.defs.integration_tags import integration_tags
from secoda_pipelines.defs.partitions import reply_months, secoda_integrations
from secoda_pipelines.defs.refresh import (
    adoption_refresh_job,
    catalog_refresh_job,
    coverage_snapshot_job,
    integration_refresh_job,
)
from secoda_pipelines.defs.resources import code_location_resources
from secoda_pipelines.defs.schedules import (
    daily_adoption_refresh,
    daily_coverage_snapshot,
    daily_integration_refresh,
    daily_secoda_refresh,
)
from secoda_pipelines.defs.sensors import new_integration_sensor

__all__ = [
    "adoption_refresh_job",
    "catalog_refresh_job",
    "code_location_resources",
    "coverage_snapshot_job",
    "daily_adoption_refresh",
    "daily_coverage_snapshot",
    "daily_integration_refresh",
    "daily_secoda_refresh",
    "integration_refresh_job",
    "integration_tags",
    "new_integration_sensor",
    "reply_months",
    "secoda_integrations",
]
