"""The one place that decides where tables go, when a run (or tick) starts:
SECODA_WAREHOUSE_URL set = that PostgreSQL database; unset = the DuckDB file
(SECODA_DUCKDB_PATH, else the default). Adding a backend (Snowflake, BigQuery, MotherDuck)
is a sub-package beside `duckdb/` and `postgres/` holding a `Warehouse` subclass, and one
branch here.
"""

from __future__ import annotations

import os

from secoda_pipelines.store.duckdb.files import LOCK_WAIT_SECONDS, duckdb_path
from secoda_pipelines.store.errors import WarehouseError
from secoda_pipelines.store.warehouse import Warehouse

WAREHOUSE_URL_VARIABLE = "SECODA_WAREHOUSE_URL"


def warehouse_url(configured: str | None = None) -> str | None:
    """Returns the PostgreSQL URL to use, checked and normalized: `configured` when given,
    else SECODA_WAREHOUSE_URL as the environment holds it now; None for DuckDB.

    Raises:
        WarehouseError: the URL is not a postgresql:// URL that psycopg reads one way only
            (shown, if at all, with every secret masked).
    """
    raw = (configured or os.environ.get(WAREHOUSE_URL_VARIABLE) or "").strip()
    if not raw:
        return None
    from secoda_pipelines.store.postgres.connection import normalized_url

    return normalized_url(raw)


def choose_warehouse(
    url: str | None = None,
    duckdb_file: str | None = None,
    lock_wait_seconds: float = LOCK_WAIT_SECONDS,
) -> Warehouse:
    """Returns the warehouse the settings (else the environment, read now) name.

    Raises:
        WarehouseError: SECODA_WAREHOUSE_URL is not a PostgreSQL URL, or psycopg is not
            installed for it (names the extra to install).
        ValueError: the DuckDB file is named like one of its schemas.
    """
    postgres = warehouse_url(url)
    if postgres is not None:
        # Imported here: psycopg is an optional extra, needed only for PostgreSQL.
        try:
            from secoda_pipelines.store.postgres.warehouse import PostgresWarehouse
        except ImportError as missing:
            raise WarehouseError(
                f"{WAREHOUSE_URL_VARIABLE} names a PostgreSQL warehouse, which needs "
                f"psycopg 3 ({missing.name} is missing): pip install "
                "'secoda-pipelines[postgres]'"
            ) from None
        return PostgresWarehouse(postgres)
    from secoda_pipelines.store.duckdb.warehouse import DuckDBWarehouse

    return DuckDBWarehouse(duckdb_path(duckdb_file), lock_wait_seconds)
