"""Where job reports go: their fixed schemas, and the store that writes them.

Assets are stored by their IO manager (`defs/resources.py`); job reports go through a
`ReportStore` resource. The schemas in `report_tables` are the one description of every
report table, whatever backend holds it.
"""

from secoda_pipelines.store.duckdb_reports import DuckDBReportStore
from secoda_pipelines.store.report_store import ReportStore
from secoda_pipelines.store.report_tables import (
    FAILED,
    PLANNED,
    REPORT_TABLES,
    REPORTS_SCHEMA,
    SKIPPED,
    WRITTEN,
    ReportTable,
    report_table,
)

__all__ = [
    "FAILED",
    "PLANNED",
    "REPORTS_SCHEMA",
    "REPORT_TABLES",
    "SKIPPED",
    "WRITTEN",
    "DuckDBReportStore",
    "ReportStore",
    "ReportTable",
    "report_table",
]
