"""`Warehouse`: what every store backend offers the assets and the jobs.

A backend (DuckDB, PostgreSQL) is one subclass: the assets' IO manager, the job reports'
SQL, and reading a table back. `selection.choose_warehouse` is the one place that picks
one; nothing else names a backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import duckdb
import pandas as pd
from dagster._core.storage.db_io_manager import DbIOManager

from secoda_pipelines.store.report_rows import typed_rows
from secoda_pipelines.store.report_tables import ReportTable

QUERY_CHUNK_VECTORS = 8  # a report query is read in chunks of 8 DuckDB vectors (16,384 rows)


class WarehouseError(RuntimeError):
    """The warehouse cannot be used: a malformed URL, a refused connection, a failed query.
    Its message never holds a password."""


class Warehouse(ABC):
    """Where every asset's table and every job report is kept."""

    kind: str  # "duckdb" or "postgres": the `storage_kind` of the tables

    @abstractmethod
    def io_manager(self) -> DbIOManager:
        """Returns the DbIOManager storing the assets' DataFrames (schema = key prefix)."""

    @abstractmethod
    def insert_report_rows(self, spec: ReportTable, frames: Iterable[pd.DataFrame]) -> None:
        """Appends `frames` (each with every column of `spec`, typed, consumed one at a
        time) to `reports.<spec.name>`, creating or evolving the table first, in one
        transaction (DuckDB's commits every ROWS_PER_COMMIT rows, to keep its memory
        flat)."""

    def insert_report_query(
        self,
        spec: ReportTable,
        connection: duckdb.DuckDBPyConnection,
        query: str,
        values: Mapping[str, Any],
    ) -> None:
        """Appends the rows `query` returns on the DuckDB `connection`, with `values` set on
        every row, to `reports.<spec.name>` as `insert_report_rows` does; the query's
        columns are some of the table's, its tables named in full.

        This reads the rows a chunk at a time into typed frames; a backend that can copy
        them in SQL does so instead.

        Raises:
            duckdb.Error: the query failed.
        """
        cursor = connection.cursor()
        try:
            cursor.execute(query)

            def frames() -> Iterator[pd.DataFrame]:
                while not (chunk := cursor.fetch_df_chunk(QUERY_CHUNK_VECTORS)).empty:
                    yield typed_rows(spec, chunk.assign(**values))

            self.insert_report_rows(spec, frames())
        finally:
            cursor.close()

    @abstractmethod
    def update_report_rows(self, spec: ReportTable, run_id: str, frame: pd.DataFrame) -> None:
        """Sets `frame`'s columns on the run's rows whose `item` matches, in one
        transaction."""

    @abstractmethod
    def read_table(
        self, schema: str, table: str, equal: Mapping[str, object] | None = None
    ) -> pd.DataFrame:
        """Returns the rows of `schema.table` (those whose columns equal `equal`'s values),
        in storage order; an empty frame when the table does not exist."""

    @abstractmethod
    def location(self) -> str:
        """Returns where the tables are, fit to print: the DuckDB file's path, or a database
        named by host, port and database only (`postgresql://host:port/database`: no user,
        password or parameter)."""

    @abstractmethod
    def query_hint(self, sql: str) -> str:
        """Returns a shell command that runs `sql` on this warehouse; a secret (a password)
        never appears in it: the command reads it from the environment."""
