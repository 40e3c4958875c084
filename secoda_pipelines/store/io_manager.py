"""`WarehouseIOManager`: the IO manager of every asset, storing DataFrames wherever
`selection.choose_warehouse` says when the run starts."""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.db_io_manager import DbIOManager

from secoda_pipelines.store.selection import (
    choose_warehouse,
    database_field,
    lock_wait_field,
    warehouse_url_field,
)


class WarehouseIOManager(dg.ConfigurableIOManagerFactory):
    """DataFrames in the warehouse, one table per asset (`secoda.tables`,
    `reports.adoption`); a partitioned asset's write replaces only its partition's rows
    (metadata `partition_expr`)."""

    warehouse_url: str = warehouse_url_field()
    database: str = database_field()
    lock_wait_seconds: float = lock_wait_field()

    def create_io_manager(self, context) -> DbIOManager:
        """Returns the chosen warehouse's DbIOManager.

        Raises:
            WarehouseError: SECODA_WAREHOUSE_URL is not usable (password never shown).
            ValueError: the DuckDB file is named like one of its schemas.
        """
        return choose_warehouse(
            self.warehouse_url, self.database, self.lock_wait_seconds
        ).io_manager()
