"""The jobs, one module or package per job, named after it.

Write-back jobs (`flag_stale_dashboards`, `provision_users`, `create_manual_lineage`,
`migrate_documentation`) plan first, report the plan, and write only when not a dry run.
Each is built on the one write-back shape in `writeback` (`WriteBackConfig` with
`dry_run`, `write_back_job`, the `apply_writes` loop; `CreateJob` for jobs that POST one
object per row) and plans with a planner of `secoda_pipelines.catalog.planners`.
`check_downstream_impact` only reads and reports.

A new write-back job goes in `jobs/<job name>.py` (a package `jobs/<job name>/` when it
needs several modules, as `migrate_documentation` does): its planner in
`catalog.planners`, its op and job here, built with `writeback`; add it to
`secoda_pipelines.definitions` and its tests to
`secoda_pipelines_tests/defs/test_<job name>.py`.
"""

from secoda_pipelines.defs.jobs.check_downstream_impact import check_downstream_impact
from secoda_pipelines.defs.jobs.create_manual_lineage import create_manual_lineage
from secoda_pipelines.defs.jobs.flag_stale_dashboards import flag_stale_dashboards
from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.defs.jobs.provision_users import provision_users

__all__ = [
    "check_downstream_impact",
    "create_manual_lineage",
    "flag_stale_dashboards",
    "migrate_documentation",
    "provision_users",
]
