"""`Warehouse`: what every store backend offers the assets and the jobs.

A backend (DuckDB, PostgreSQL) is one subclass: the assets' IO manager, the job reports'
SQL, and reading a table back. `selection.choose_warehouse` is the one place that picks
one; nothing else names a backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
from dagster._core.storage.db_io_manager import DbIOManager

from secoda_pipelines.store.report_tables import ReportTable


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

    @abstractmethod
    def update_report_rows(self, spec: ReportTable, run_id: str, frame: pd.DataFrame) -> None:
        """Sets `frame`'s columns on the run's rows whose `item` matches, in one
        transaction."""

    @abstractmethod
    def write_times_since(
        self, specs: Sequence[ReportTable], since: pd.Timestamp
    ) -> list[pd.Timestamp]:
        """Returns every `written_at` at or after `since` in those report tables (UTC)."""

    @abstractmethod
    def read_table(
        self, schema: str, table: str, equal: Mapping[str, object] | None = None
    ) -> pd.DataFrame:
        """Returns the rows of `schema.table` (those whose columns equal `equal`'s values),
        in storage order; an empty frame when the table does not exist."""

    @abstractmethod
    def location(self) -> str:
        """Returns where the tables are, fit to print: a path, or a URL without password."""

    @abstractmethod
    def query_hint(self, sql: str) -> str:
        """Returns a shell command that runs `sql` on this warehouse (never the password)."""
