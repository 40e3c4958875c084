"""The code location: `defs`, loaded by workspace.yaml (and `dagster dev -m`)."""

import warnings

import dagster as dg

from secoda_pipelines.defs import (
    adoption_refresh_job,
    catalog_refresh_job,
    code_location_resources,
    coverage_snapshot_job,
    daily_adoption_refresh,
    daily_coverage_snapshot,
    daily_integration_refresh,
    daily_secoda_refresh,
    integration_refresh_job,
    new_integration_sensor,
)
from secoda_pipelines.defs.assets import coverage_assets
from secoda_pipelines.defs.assets.catalog import catalog_assets
from secoda_pipelines.defs.assets.reports import report_assets
from secoda_pipelines.defs.assets.usage import dashboard_usage
from secoda_pipelines.defs.jobs.check_downstream_impact import check_downstream_impact
from secoda_pipelines.defs.jobs.create_manual_lineage import create_manual_lineage
from secoda_pipelines.defs.jobs.flag_stale_dashboards import flag_stale_dashboards
from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.defs.jobs.provision_users import provision_users

# Dagster 1.13 itself passes `owners` (we set none) when it binds the sensor to its jobs'
# resources, then warns on every load that the parameter is beta: not ours to act on.
warnings.filterwarnings(
    "ignore",
    category=dg.BetaWarning,
    message="Parameter `owners` of initializer `SensorDefinition.__init__`",
)

defs = dg.Definitions(
    assets=[*catalog_assets, dashboard_usage, *report_assets, *coverage_assets],
    jobs=[
        catalog_refresh_job,
        integration_refresh_job,
        adoption_refresh_job,
        coverage_snapshot_job,
        migrate_documentation,
        provision_users,
        create_manual_lineage,
        check_downstream_impact,
        flag_stale_dashboards,
    ],
    schedules=[
        daily_secoda_refresh,
        daily_integration_refresh,
        daily_adoption_refresh,
        daily_coverage_snapshot,
    ],
    sensors=[new_integration_sensor],
    resources=code_location_resources(),
)
