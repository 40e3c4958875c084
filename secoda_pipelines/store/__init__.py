"""Where tables go. `selection.choose_warehouse` picks the warehouse when a run starts:
PostgreSQL (`postgres_*`) when SECODA_WAREHOUSE_URL is set, else the DuckDB file
(`duckdb_*`). Each is a `Warehouse` (`warehouse`): the assets' IO manager
(`io_manager.WarehouseIOManager` asks it for a DbIOManager) and the job reports'
SQL (`report_store.ReportStore` turns a job's frame into rows of the fixed schemas in
`report_tables`, the one description of every report table whatever backend holds it).
A write-back run holds the Secoda workspace through `ReportStore.workspace_lock`
(`workspace_lock`): one writer at a time, whichever way its run was started; holding it,
the run records its writes in the workspace's journal (`write_journal.WorkspaceJournal`),
from which the next run continues the write pace.
"""

from secoda_pipelines.store.io_manager import WarehouseIOManager
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
from secoda_pipelines.store.selection import WAREHOUSE_URL_VARIABLE, choose_warehouse
from secoda_pipelines.store.warehouse import Warehouse, WarehouseError
from secoda_pipelines.store.workspace_lock import WorkspaceBusyError
from secoda_pipelines.store.write_journal import WorkspaceJournal

__all__ = [
    "FAILED",
    "PLANNED",
    "REPORTS_SCHEMA",
    "REPORT_TABLES",
    "SKIPPED",
    "WAREHOUSE_URL_VARIABLE",
    "WRITTEN",
    "ReportStore",
    "ReportTable",
    "Warehouse",
    "WarehouseError",
    "WarehouseIOManager",
    "WorkspaceBusyError",
    "WorkspaceJournal",
    "choose_warehouse",
    "report_table",
]
