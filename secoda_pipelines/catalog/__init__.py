"""The rules: pure functions over Secoda API rows and DataFrames. No HTTP, no Dagster.

One package per kind of rule, so a rule's module is found from its name:

- `catalog.frames`: API rows to the catalog assets' DataFrames (a frame's schema, the
  converters that type API values). A new catalog frame goes here.
- `catalog.reports`: report rules, one module per report (`stale`, `usage`, `adoption`,
  `coverage`, `downstream`): frames in, the report's frame or figures out. A new report
  rule goes here, as `reports/<report>.py`.
- `catalog.planners`: write-back planners, one module per job's plan (`stale_flags`,
  `users`, `lineage`, `migration` and its DuckDB matcher `migration_match`): what a job
  would write, decided from the API rows as they are now. A new write-back job's planner
  goes here, as `planners/<what it plans>.py`; its Dagster job goes in
  `secoda_pipelines.defs.jobs`.
- `catalog.charts`: the PNG charts shown in run metadata (matplotlib, imported when drawn).
- `catalog.edges`: lineage objects read as (upstream, downstream) pairs, and
  ``database.schema.table`` names, which the downstream report and the lineage planner
  share; exported from this package.

Not here: anything that talks to Secoda (`secoda`, `lineage`), stores a table (`store`) or
renders run metadata (`defs.metadata`).
"""

from secoda_pipelines.catalog.charts import coverage_chart_png, png_markdown
from secoda_pipelines.catalog.edges import (
    DIRECTIONS,
    DOWNSTREAM,
    UPSTREAM,
    TableMatch,
    downstream_links,
    downstream_pair,
    edge_ends,
    edge_pair,
    existing_pairs,
    is_table_name,
    normalize_direction,
    resolve_table_names,
    split_table_name,
)

__all__ = [
    "DIRECTIONS",
    "DOWNSTREAM",
    "UPSTREAM",
    "TableMatch",
    "coverage_chart_png",
    "downstream_links",
    "downstream_pair",
    "edge_ends",
    "edge_pair",
    "existing_pairs",
    "is_table_name",
    "normalize_direction",
    "png_markdown",
    "resolve_table_names",
    "split_table_name",
]
