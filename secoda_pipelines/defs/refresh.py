"""The refresh jobs: what the schedule and the sensor launch."""

import dagster as dg

from secoda_pipelines.defs.assets.catalog import CATALOG_GROUP, columns, tables
from secoda_pipelines.defs.assets.reports import REPORTS_GROUP

catalog_refresh_job = dg.define_asset_job(
    "secoda_catalog_refresh",
    selection=(
        dg.AssetSelection.groups(CATALOG_GROUP, REPORTS_GROUP)
        - dg.AssetSelection.assets(tables, columns)
    ),
    description="The unpartitioned catalog assets and the reports.",
)

integration_refresh_job = dg.define_asset_job(
    "secoda_integration_refresh",
    selection=dg.AssetSelection.assets(tables, columns),
    description="Tables and columns of one integration (one partition).",
)
