"""The one shape every write-back job is built on, and what the report-writing jobs share.

A write-back job is a config with `dry_run` (`WriteBackConfig`), a planner
(`secoda_pipelines.catalog.planners`) whose plan the op reports (`reporting`), and a
`write_one(row, retry)` that reads its target again, works out what is still needed, and
sends it; `apply_writes` (`loop`) is the one loop around it, and `write_back_job` makes
the job, with the flat run config (`config`) and the `secoda/writes` tag the op declares.
Jobs that create one object per plan row (users, lineage edges) describe what differs in a
`CreateJob` and run `report_plan` and `apply_creates` (`creates`).
"""

from secoda_pipelines.defs.jobs.writeback.config import flat_run_config
from secoda_pipelines.defs.jobs.writeback.creates import (
    CreateJob,
    Row,
    apply_creates,
    plan_and_create,
    report_plan,
)
from secoda_pipelines.defs.jobs.writeback.loop import (
    MAX_ATTEMPTS,
    WRITES_TAG,
    Applied,
    Item,
    Outcome,
    WriteBackConfig,
    Writes,
    already_done,
    apply_writes,
    duration,
    skipped,
    workspace_writes,
    write_back_job,
    written,
)
from secoda_pipelines.defs.jobs.writeback.reporting import (
    bad_input,
    continue_write_pace,
    report_metadata,
    with_planned_writes,
)

__all__ = [
    "MAX_ATTEMPTS",
    "WRITES_TAG",
    "Applied",
    "CreateJob",
    "Item",
    "Outcome",
    "Row",
    "WriteBackConfig",
    "Writes",
    "already_done",
    "apply_creates",
    "apply_writes",
    "bad_input",
    "continue_write_pace",
    "duration",
    "flat_run_config",
    "plan_and_create",
    "report_metadata",
    "report_plan",
    "skipped",
    "with_planned_writes",
    "workspace_writes",
    "write_back_job",
    "written",
]
