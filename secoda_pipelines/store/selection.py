"""The one place that decides where tables go, when a run (or tick) starts:
SECODA_WAREHOUSE_URL set = that PostgreSQL database; unset = the DuckDB file
(SECODA_DUCKDB_PATH, else the default). Adding a backend (Snowflake, BigQuery, MotherDuck)
is a `Warehouse` subclass and one branch here.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field

from secoda_pipelines.store.duckdb_files import (
    DATABASE_DESCRIPTION,
    LOCK_WAIT_DESCRIPTION,
    LOCK_WAIT_SECONDS,
    duckdb_path,
)
from secoda_pipelines.store.warehouse import Warehouse, WarehouseError

WAREHOUSE_URL_VARIABLE = "SECODA_WAREHOUSE_URL"


def warehouse_url_field() -> Any:
    """Returns the `warehouse_url` field every store resource offers: a secret, kept out of
    reprs (Dagster rebuilds resources with their values resolved)."""
    return Field(
        default="",
        description="PostgreSQL URL of the warehouse (a secret: it holds the password); "
        f"empty: {WAREHOUSE_URL_VARIABLE} when the run starts, and when that is unset too, "
        "the DuckDB file.",
        json_schema_extra={"dagster__is_secret": True},
        repr=False,
    )


def database_field() -> Any:
    """Returns the `database` field (the DuckDB file) every store resource offers."""
    return Field(default="", description=DATABASE_DESCRIPTION)


def lock_wait_field() -> Any:
    """Returns the `lock_wait_seconds` field every store resource offers."""
    return Field(default=LOCK_WAIT_SECONDS, description=LOCK_WAIT_DESCRIPTION)


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
    from secoda_pipelines.store.postgres_connection import normalized_url

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
            from secoda_pipelines.store.postgres_warehouse import PostgresWarehouse
        except ImportError as missing:
            raise WarehouseError(
                f"{WAREHOUSE_URL_VARIABLE} names a PostgreSQL warehouse, which needs "
                f"psycopg 3 ({missing.name} is missing): pip install "
                "'secoda-pipelines[postgres]'"
            ) from None
        return PostgresWarehouse(postgres)
    from secoda_pipelines.store.duckdb_warehouse import DuckDBWarehouse

    return DuckDBWarehouse(duckdb_path(duckdb_file), lock_wait_seconds)
