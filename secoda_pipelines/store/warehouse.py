"""`Warehouse`: what every store backend offers the assets and the jobs.

A backend (`duckdb/`, `postgres/`) is one subclass: the assets' IO manager, the job
reports' SQL, reading a table back and the one writer per Secoda workspace.
`selection.choose_warehouse` is the one place that picks one; nothing else names a backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from dagster._core.storage.db_io_manager import DbIOManager

from secoda_pipelines.store.parquet import parquet_chunks
from secoda_pipelines.store.report_rows import typed_rows
from secoda_pipelines.store.report_tables import ReportTable
from secoda_pipelines.store.workspace_lock import WriterLock


class Warehouse(ABC):
    """Where every asset's table and every job report is kept."""

    kind: str  # "duckdb" or "postgres": the `storage_kind` of the tables

    @abstractmethod
    def io_manager(self) -> DbIOManager:
        """Returns the DbIOManager storing the assets' DataFrames (schema = key prefix)."""

    @abstractmethod
    def insert_report_rows(self, spec: ReportTable, frames: Iterable[pd.DataFrame]) -> None:
        """Appends `frames` (each with every column of `spec`, typed, consumed one at a
        time, so that a report of any size is never whole in memory) to
        `reports.<spec.name>`, creating or evolving the table first, in one transaction
        (DuckDB's commits every ROWS_PER_COMMIT rows, to keep its memory flat)."""

    def insert_report_file(self, spec: ReportTable, path: Path, values: Mapping[str, Any]) -> None:
        """Appends the rows of the Parquet file at `path` (columns named as some of
        `spec`'s), with `values` set on every row, as `insert_report_rows` does.

        This reads the file a chunk at a time into typed frames; a backend that reads
        Parquet itself copies it in SQL instead.

        Raises:
            duckdb.Error: the file is missing or not Parquet.
        """
        frames = (typed_rows(spec, chunk.assign(**values)) for chunk in parquet_chunks(path))
        self.insert_report_rows(spec, frames)

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
    def query(self, sql: str) -> pd.DataFrame:
        """Returns the rows of `sql`, one read-only SELECT, as a DataFrame (column types as
        the backend gives them: bring them to fixed dtypes before comparing backends).

        Raises:
            WarehouseError: (PostgreSQL) the query failed; the message has no secret.
            duckdb.Error: (DuckDB) the query failed, or the file does not exist.
        """

    @abstractmethod
    def existing_tables(self, schema: str) -> set[str]:
        """Returns the names of the tables (and views) in `schema`; empty when the schema or
        the warehouse does not exist yet."""

    @abstractmethod
    def writer_lock(self, workspace: str, key: int, tag: str, run_id: str) -> WriterLock:
        """Returns the (not yet taken) lock that makes run `run_id` the one writer of the
        normalized Secoda `workspace` (its advisory lock `key`, its file-name `tag`: see
        `workspace_lock.workspace_key`) among the runs sharing this warehouse."""

    @abstractmethod
    def location(self) -> str:
        """Returns where the tables are, fit to print: the DuckDB file's path, or a database
        named by host, port and database only (`postgresql://host:port/database`: no user,
        password or parameter)."""

    @abstractmethod
    def query_hint(self, sql: str) -> str:
        """Returns a shell command that runs `sql` on this warehouse; a secret (a password)
        never appears in it: the command reads it from the environment."""
