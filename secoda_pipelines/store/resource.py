"""`WarehouseResource`: the one resource that says where tables go. The assets' IO manager
(`io_manager.WarehouseIOManager`) and the job reports (`report_store.ReportStore`) both
take it, so the warehouse is configured in one place (docs/warehouse.md).
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from secoda_pipelines.store.duckdb.files import (
    DATABASE_DESCRIPTION,
    LOCK_WAIT_DESCRIPTION,
    LOCK_WAIT_SECONDS,
)
from secoda_pipelines.store.selection import WAREHOUSE_URL_VARIABLE, choose_warehouse
from secoda_pipelines.store.warehouse import Warehouse


class WarehouseResource(dg.ConfigurableResource):
    """Where every asset's table and job report is kept: PostgreSQL when `warehouse_url`
    (else SECODA_WAREHOUSE_URL when the run starts) is set, else the DuckDB file."""

    warehouse_url: str = Field(
        default="",
        description="PostgreSQL URL of the warehouse (a secret: it holds the password); "
        f"empty: {WAREHOUSE_URL_VARIABLE} when the run starts, and when that is unset too, "
        "the DuckDB file.",
        json_schema_extra={"dagster__is_secret": True},
        repr=False,  # Dagster rebuilds resources with their values resolved
    )
    database: str = Field(default="", description=DATABASE_DESCRIPTION)
    lock_wait_seconds: float = Field(default=LOCK_WAIT_SECONDS, description=LOCK_WAIT_DESCRIPTION)

    def get_warehouse(self) -> Warehouse:
        """Returns the warehouse these settings (else the environment, now) name.

        Raises:
            WarehouseError: SECODA_WAREHOUSE_URL is not usable (password never shown), or
                psycopg is missing for it.
            ValueError: the DuckDB file is named like one of its schemas.
        """
        return choose_warehouse(self.warehouse_url, self.database, self.lock_wait_seconds)
