"""The assets' IO manager on DuckDB: dagster-duckdb-pandas' DbIOManager, connecting to the
file chosen when the run starts and waiting out other writers (`duckdb_files`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd
from dagster._core.storage.db_io_manager import DbIOManager
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasTypeHandler

from secoda_pipelines.store.duckdb_files import LOCK_WAIT_SECONDS, connect_duckdb


class _PatientDuckDbClient(DuckDbClient):
    """dagster-duckdb's client, connecting to a given file and waiting for its lock
    (dagster-duckdb's own gives up after about 100 s)."""

    def __init__(self, path: str, wait_seconds: float):
        self.path = path
        self.wait_seconds = wait_seconds

    @contextmanager
    def connect(self, context, table_slice) -> Iterator[duckdb.DuckDBPyConnection]:  # type: ignore[override]
        connection = connect_duckdb(
            self.path, config={"custom_user_agent": "dagster"}, wait_seconds=self.wait_seconds
        )
        try:
            yield connection
        finally:
            connection.close()


def duckdb_io_manager(path: str, wait_seconds: float = LOCK_WAIT_SECONDS) -> DbIOManager:
    """Returns the DbIOManager storing DataFrames in the DuckDB file at `path`, one table
    per asset (`secoda.tables`, `reports.adoption`); a partitioned asset replaces only its
    partition's rows (metadata `partition_expr`)."""
    return DbIOManager(
        db_client=_PatientDuckDbClient(path, wait_seconds),
        database=path,
        schema=None,
        type_handlers=[DuckDBPandasTypeHandler()],
        default_load_type=pd.DataFrame,
        io_manager_name="DuckDBIOManager",
    )
