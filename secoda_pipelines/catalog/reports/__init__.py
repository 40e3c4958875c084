"""Report rules: each takes catalog frames (`catalog.frames`) and returns a report's frame
or the figures a run's metadata follows. One module per report:

- `stale`: `reports/stale_dashboards` and its share per integration;
- `usage`: the dashboard usage history (`secoda/dashboard_usage`) and its summary;
- `adoption`: `reports/adoption`, `reports/adoption_monthly` and the trend over months;
- `coverage`: a documentation migration's coverage (`reports.migration_coverage`);
- `documentation_coverage`: the SQL of `reports/documentation_coverage`, its by-owner view
  and `reports/undocumented_popular`, in DuckDB's and PostgreSQL's dialects;
- `coverage_targets`: the targets file and each target's status over the coverage history;
- `downstream`: the walk behind `reports.downstream_impact`, and whether what it finds
  is in use.

A new report rule goes in a module of its own here, named after its report. Not here:
what a job would write (`catalog.planners`), the assets that store reports
(`defs.assets`), listing the API.
"""

from secoda_pipelines.catalog.reports.adoption import (
    ADOPTION_COLUMNS,
    adoption,
    adoption_figures,
    adoption_trend,
    monthly_adoption,
    replies_created_in,
    trend_months,
)
from secoda_pipelines.catalog.reports.coverage import (
    AFTER_WRITES_BASIS,
    COVERAGE_COLUMNS,
    PLAN_BASIS,
    coverage_figures,
    coverage_line,
    coverage_of_counts,
)
from secoda_pipelines.catalog.reports.coverage_targets import (
    METRICS,
    STATUSES,
    TARGET_COLUMNS,
    CoverageTarget,
    TargetsFileError,
    read_targets,
    target_status_history,
    target_statuses,
)
from secoda_pipelines.catalog.reports.documentation_coverage import (
    BY_OWNER_COLUMNS,
    DOCUMENTATION_COVERAGE_COLUMNS,
    UNDOCUMENTED_COLUMNS,
    coverage_by_owner_sql,
    coverage_sql,
    typed_by_owner,
    typed_coverage,
    typed_undocumented,
    undocumented_popular_sql,
)
from secoda_pipelines.catalog.reports.downstream import (
    FAIL_ON,
    Activity,
    Reached,
    counted,
    format_path,
    resource_activity,
    walk_downstream,
)
from secoda_pipelines.catalog.reports.stale import (
    STALE_COLUMNS,
    stale_dashboards,
    stale_summary,
    usage_unreadable,
)
from secoda_pipelines.catalog.reports.usage import (
    HISTORY_COLUMNS,
    usage_snapshot,
    usage_summary,
)

__all__ = [
    "ADOPTION_COLUMNS",
    "AFTER_WRITES_BASIS",
    "BY_OWNER_COLUMNS",
    "COVERAGE_COLUMNS",
    "DOCUMENTATION_COVERAGE_COLUMNS",
    "FAIL_ON",
    "HISTORY_COLUMNS",
    "METRICS",
    "PLAN_BASIS",
    "STALE_COLUMNS",
    "STATUSES",
    "TARGET_COLUMNS",
    "UNDOCUMENTED_COLUMNS",
    "Activity",
    "CoverageTarget",
    "Reached",
    "TargetsFileError",
    "adoption",
    "adoption_figures",
    "adoption_trend",
    "counted",
    "coverage_by_owner_sql",
    "coverage_figures",
    "coverage_line",
    "coverage_of_counts",
    "coverage_sql",
    "format_path",
    "monthly_adoption",
    "read_targets",
    "replies_created_in",
    "resource_activity",
    "stale_dashboards",
    "stale_summary",
    "target_status_history",
    "target_statuses",
    "trend_months",
    "typed_by_owner",
    "typed_coverage",
    "typed_undocumented",
    "undocumented_popular_sql",
    "usage_snapshot",
    "usage_summary",
    "usage_unreadable",
    "walk_downstream",
]
