"""The assets' IO manager on DuckDB: dagster-duckdb-pandas' DbIOManager, connecting to the
file chosen when the run starts and waiting out other writers (`duckdb_files`), and
writing under a small memory limit (`WRITE_MEMORY_LIMIT`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import duckdb
import pandas as pd
from dagster._core.storage.db_io_manager import DbIOManager, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasTypeHandler

from secoda_pipelines.store.duckdb_files import (
    LOCK_WAIT_SECONDS,
    connect_duckdb,
    memory_limited,
)

# DuckDB's memory for a write. By default DuckDB keeps every block it writes cached, up to
# 80% of the machine's memory: storing a 500,000-row frame then costs about as much again as
# the frame (+157 MiB). Under this limit the written blocks are evicted (they are in the
# file, or in DuckDB's temporary files for an in-memory database): +33 MiB, as fast, and
# still enough with 32 threads (+21 MiB at 16MB). Measured in docs/benchmarks.md,
# "Refreshing one integration".
WRITE_MEMORY_LIMIT = "32MB"  # also the job reports' (duckdb_warehouse)


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


class _LeanDuckDBPandasTypeHandler(DuckDBPandasTypeHandler):
    """dagster-duckdb-pandas' handler, writing under `WRITE_MEMORY_LIMIT`."""

    def handle_output(  # type: ignore[override]
        self, context, table_slice: TableSlice, obj: pd.DataFrame, connection
    ) -> Mapping[str, object] | None:
        """Stores the frame as dagster-duckdb-pandas does; returns its metadata (None: the
        handler adds it to the context itself). Raises duckdb.Error."""
        with memory_limited(connection, WRITE_MEMORY_LIMIT):
            return super().handle_output(context, table_slice, obj, connection)


def duckdb_io_manager(path: str, wait_seconds: float = LOCK_WAIT_SECONDS) -> DbIOManager:
    """Returns the DbIOManager storing DataFrames in the DuckDB file at `path`, one table
    per asset (`secoda.tables`, `reports.adoption`); a partitioned asset replaces only its
    partition's rows (metadata `partition_expr`)."""
    return DbIOManager(
        db_client=_PatientDuckDbClient(path, wait_seconds),
        database=path,
        schema=None,
        type_handlers=[_LeanDuckDBPandasTypeHandler()],
        default_load_type=pd.DataFrame,
        io_manager_name="DuckDBIOManager",
    )
