"""The refresh jobs: what the schedules and the sensor launch."""

import dagster as dg

from secoda_pipelines.defs.assets.catalog import CATALOG_GROUP, columns, tables
from secoda_pipelines.defs.assets.coverage import COVERAGE_GROUP
from secoda_pipelines.defs.assets.reports import REPORTS_GROUP, adoption_monthly_report

# Unpartitioned: a run takes the usage snapshot of the UTC day it runs on (a run queued or
# retried past midnight takes the new day's) and refreshes every unpartitioned catalog asset
# and report.
catalog_refresh_job = dg.define_asset_job(
    "secoda_catalog_refresh",
    selection=(
        dg.AssetSelection.groups(CATALOG_GROUP, REPORTS_GROUP)
        - dg.AssetSelection.assets(tables, columns, adoption_monthly_report)
    ),
    description="Today's dashboard usage snapshot, the unpartitioned catalog assets and the "
    "reports.",
)

integration_refresh_job = dg.define_asset_job(
    "secoda_integration_refresh",
    selection=dg.AssetSelection.assets(tables, columns),
    description="Tables and columns of one integration (one partition).",
)

adoption_refresh_job = dg.define_asset_job(
    "secoda_adoption_refresh",
    selection=dg.AssetSelection.assets(adoption_monthly_report),
    description="Question-answering adoption of one month (one partition).",
)

# After the day's refreshes (catalog at 05:00, integrations from 06:00): coverage is
# computed from the stored tables and columns, so it is taken once they are stored.
coverage_snapshot_job = dg.define_asset_job(
    "secoda_coverage_snapshot",
    selection=dg.AssetSelection.groups(COVERAGE_GROUP),
    description="Today's documentation coverage snapshot (by integration and by owner), "
    "the targets' status and the undocumented-popular work list.",
)
