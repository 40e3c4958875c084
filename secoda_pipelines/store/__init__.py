"""Where tables go: every asset's table and every job report, in the warehouse chosen when
a run starts (docs/warehouse.md). Nothing here imports the rest of the project.

Backend-neutral, at this level:
- `resource.WarehouseResource`: the one resource naming the warehouse (`warehouse_url`,
  `database`, `lock_wait_seconds`); `selection.choose_warehouse` turns it into a
  `warehouse.Warehouse`, the ABC every backend implements.
- `io_manager.WarehouseIOManager`: the assets' IO manager; `table_io`: the conventions
  every backend's IO keeps (snapshot histories, output metadata).
- `report_store.ReportStore`: the job reports, in the fixed schemas of `report_tables`
  (`report_rows` types them).
- `workspace_lock.WorkspaceLock`: one writer per Secoda workspace, and `write_journal`, the
  journal of its writes; each backend supplies its own lock and journal.

One sub-package per backend: `duckdb/` (files, io, warehouse, lock, journal) and
`postgres/` (connection, frames, io, warehouse, lock, journal). A new backend is a
sub-package beside them holding a `Warehouse` subclass, plus one branch in
`selection.choose_warehouse`. Other packages import from here (`__all__`), never a backend.
"""

from secoda_pipelines.store.errors import WarehouseError
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
from secoda_pipelines.store.resource import WarehouseResource
from secoda_pipelines.store.selection import WAREHOUSE_URL_VARIABLE, choose_warehouse
from secoda_pipelines.store.table_io import SNAPSHOT_COLUMN
from secoda_pipelines.store.warehouse import Warehouse
from secoda_pipelines.store.workspace_lock import WorkspaceBusyError
from secoda_pipelines.store.write_journal import WorkspaceJournal

__all__ = [
    "FAILED",
    "PLANNED",
    "REPORTS_SCHEMA",
    "REPORT_TABLES",
    "SKIPPED",
    "SNAPSHOT_COLUMN",
    "WAREHOUSE_URL_VARIABLE",
    "WRITTEN",
    "ReportStore",
    "ReportTable",
    "Warehouse",
    "WarehouseError",
    "WarehouseIOManager",
    "WarehouseResource",
    "WorkspaceBusyError",
    "WorkspaceJournal",
    "choose_warehouse",
    "report_table",
]
