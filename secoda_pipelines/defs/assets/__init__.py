"""The assets: catalog listings from Secoda (`catalog`), the dashboard usage history
(`usage`), the reports derived from them (`reports`), and documentation coverage
(`coverage`). Each asset applies a rule of
`secoda_pipelines.catalog` and stores its frame through the warehouse IO manager."""

from secoda_pipelines.defs.assets.catalog import catalog_assets
from secoda_pipelines.defs.assets.coverage import coverage_assets
from secoda_pipelines.defs.assets.reports import report_assets
from secoda_pipelines.defs.assets.usage import dashboard_usage, utc_today

__all__ = ["catalog_assets", "coverage_assets", "dashboard_usage", "report_assets", "utc_today"]
