"""The IO manager of every asset: DataFrames in the DuckDB file, resolved and locked the
way `duckdb_files` says (the file chosen when the run starts; waiting out other writers)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster._core.storage.db_io_manager import DbIOManager
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasIOManager
from pydantic import Field

from secoda_pipelines.store.duckdb_files import (
    DATABASE_DESCRIPTION,
    LOCK_WAIT_DESCRIPTION,
    LOCK_WAIT_SECONDS,
    connect_duckdb,
    duckdb_path,
)


class _PatientDuckDbClient(DuckDbClient):
    """dagster-duckdb's client, connecting to a file chosen at run time and waiting for its
    lock (dagster-duckdb's own gives up after about 100 s)."""

    def __init__(self, path: str, config: dict, wait_seconds: float):
        self.path = path
        self.config = {"custom_user_agent": "dagster", **config}
        self.wait_seconds = wait_seconds

    @contextmanager
    def connect(self, context, table_slice) -> Iterator[duckdb.DuckDBPyConnection]:  # type: ignore[override]
        connection = connect_duckdb(self.path, config=self.config, wait_seconds=self.wait_seconds)
        try:
            yield connection
        finally:
            connection.close()


class SecodaDuckDBIOManager(DuckDBPandasIOManager):
    """DataFrames in DuckDB, one table per asset (`secoda.tables`, `reports.adoption`);
    partitioned assets replace only their partition's rows (metadata `partition_expr`)."""

    database: str = Field(default="", description=DATABASE_DESCRIPTION)
    lock_wait_seconds: float = Field(default=LOCK_WAIT_SECONDS, description=LOCK_WAIT_DESCRIPTION)

    def create_io_manager(self, context) -> DbIOManager:
        """Returns the DbIOManager writing to the file the environment names now.

        Raises:
            ValueError: the file is named like one of its schemas.
        """
        path = duckdb_path(self.database)
        return DbIOManager(
            db_client=_PatientDuckDbClient(path, self.connection_config, self.lock_wait_seconds),
            database=path,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="DuckDBIOManager",
        )
