"""Where tables go: the DuckDB file (`duckdb_files`: which one, and waiting for its lock),
the assets' IO manager (`duckdb_io`), and the job reports (`report_tables`: their fixed
schemas, the one description of every report table whatever backend holds it;
`report_store` and `duckdb_reports`: the store that writes them).
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
