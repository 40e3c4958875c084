"""Write-back planners: what a write-back job would write, decided from Secoda's rows as
they are now, row by row with the action and the reason, before anything is sent.

One module per job's plan: `stale_flags` (`flag_stale_dashboards`), `users`
(`provision_users`), `lineage` (`create_manual_lineage`), `migration` (the per-field rules
of `migrate_documentation`, the re-check before each write) and `migration_match` (its
planner, in DuckDB at catalog scale); `actions` names the actions create-style plans share.

A new write-back job's planner goes in a module of its own here; the job that reports the
plan and applies it goes in `secoda_pipelines.defs.jobs`. Not here: report rules
(`catalog.reports`), the write loop and its retries (`defs.jobs.writeback`), HTTP.
"""

from secoda_pipelines.catalog.planners.actions import CREATE, EXISTS, INVALID
from secoda_pipelines.catalog.planners.lineage import EdgeInput, edge_body, plan_lineage
from secoda_pipelines.catalog.planners.migration import (
    ACTIONS,
    COUNT_COLUMNS,
    DEFAULT_FIELDS,
    MIGRATABLE_FIELDS,
    Renames,
    preview_source,
    recheck_patch,
    rename_map_errors,
    unknown_fields,
    unused_rename_keys_of,
)
from secoda_pipelines.catalog.planners.migration_match import MigrationMatcher, PlannedUpdate
from secoda_pipelines.catalog.planners.stale_flags import (
    ADD,
    REMOVE,
    WRITING_ACTIONS,
    plan_flags,
    tag_ids,
    tag_name_errors,
    tags_named,
    with_tag,
    without_tag,
)
from secoda_pipelines.catalog.planners.users import (
    UserInput,
    parse_users_csv,
    plan_provisioning,
    user_body,
)

__all__ = [
    "ACTIONS",
    "ADD",
    "COUNT_COLUMNS",
    "CREATE",
    "DEFAULT_FIELDS",
    "EXISTS",
    "INVALID",
    "MIGRATABLE_FIELDS",
    "REMOVE",
    "WRITING_ACTIONS",
    "EdgeInput",
    "MigrationMatcher",
    "PlannedUpdate",
    "Renames",
    "UserInput",
    "edge_body",
    "parse_users_csv",
    "plan_flags",
    "plan_lineage",
    "plan_provisioning",
    "preview_source",
    "recheck_patch",
    "rename_map_errors",
    "tag_ids",
    "tag_name_errors",
    "tags_named",
    "unknown_fields",
    "unused_rename_keys_of",
    "user_body",
    "with_tag",
    "without_tag",
]
