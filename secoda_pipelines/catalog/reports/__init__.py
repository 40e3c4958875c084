"""Report rules: each takes catalog frames (`catalog.frames`) and returns a report's frame
or the figures a run's metadata follows. One module per report:

- `stale`: `reports/stale_dashboards` and its share per integration;
- `usage`: the dashboard usage history (`secoda/dashboard_usage`) and its summary;
- `adoption`: `reports/adoption`, `reports/adoption_monthly` and the trend over months;
- `coverage`: a documentation migration's coverage (`reports.migration_coverage`);
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
    "COVERAGE_COLUMNS",
    "FAIL_ON",
    "HISTORY_COLUMNS",
    "PLAN_BASIS",
    "STALE_COLUMNS",
    "Activity",
    "Reached",
    "adoption",
    "adoption_figures",
    "adoption_trend",
    "counted",
    "coverage_figures",
    "coverage_line",
    "coverage_of_counts",
    "format_path",
    "monthly_adoption",
    "replies_created_in",
    "resource_activity",
    "stale_dashboards",
    "stale_summary",
    "trend_months",
    "usage_snapshot",
    "usage_summary",
    "usage_unreadable",
    "walk_downstream",
]
