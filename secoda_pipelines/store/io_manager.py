"""`WarehouseIOManager`: the IO manager of every asset, storing DataFrames in the warehouse
its `WarehouseResource` names when the run starts (conventions: `table_io`)."""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.db_io_manager import DbIOManager

from secoda_pipelines.store.resource import WarehouseResource


class WarehouseIOManager(dg.ConfigurableIOManagerFactory):
    """DataFrames in the warehouse, one table per asset (`secoda.tables`,
    `reports.adoption`); a partitioned asset's write replaces only its partition's rows
    (metadata `partition_expr`), a snapshot history's only the snapshots it writes
    (metadata `snapshot_column`, see `table_io`).

    `warehouse` is the warehouse (default: `WarehouseResource()`, the
    environment's when the run starts)."""

    warehouse: WarehouseResource

    def __init__(self, *, warehouse: WarehouseResource | None = None, **config):
        # Dagster's nested resources take no default value: give the default here.
        super().__init__(
            warehouse=(warehouse if warehouse is not None else WarehouseResource()),
            **config,
        )

    def create_io_manager(self, context) -> DbIOManager:
        """Returns the chosen warehouse's DbIOManager.

        Raises:
            WarehouseError: SECODA_WAREHOUSE_URL is not usable (password never shown).
            ValueError: the DuckDB file is named like one of its schemas.
        """
        return self.warehouse.get_warehouse().io_manager()
