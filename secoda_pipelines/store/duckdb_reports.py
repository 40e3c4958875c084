"""Job reports in the DuckDB file (schema `reports`): tables created once with explicit
types, evolved in place, appended by run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from secoda_pipelines.store.report_store import ReportStore
from secoda_pipelines.store.report_tables import (
    BOOL,
    INT,
    JSON,
    REPORTS_SCHEMA,
    TEXT,
    TIMESTAMP,
    ReportTable,
)

# (DDL type, the name information_schema reports for it)
SQL_TYPES = {
    TEXT: ("VARCHAR", "VARCHAR"),
    JSON: ("VARCHAR", "VARCHAR"),
    BOOL: ("BOOLEAN", "BOOLEAN"),
    INT: ("BIGINT", "BIGINT"),
    TIMESTAMP: ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"),
}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckDBReportStore(ReportStore):
    """Job reports in a DuckDB file (SECODA_DUCKDB_PATH)."""

    database: str = Field(description="The DuckDB file (SECODA_DUCKDB_PATH).")

    @contextmanager
    def _table_with(
        self, spec: ReportTable, frame: pd.DataFrame
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yields a connection on which `spec`'s table is up to date and `frame` is the
        relation `rows`."""
        # DuckDBResource retries while another process holds the file's lock.
        with DuckDBResource(database=self.database).get_connection() as connection:
            ensure_table(connection, spec)
            connection.register("rows", frame)
            try:
                yield connection
            finally:
                connection.unregister("rows")

    def _insert(self, spec: ReportTable, frame: pd.DataFrame) -> None:
        names = ", ".join(_quoted(name) for name, _ in spec.columns)
        casts = ", ".join(
            f"CAST({_quoted(name)} AS {SQL_TYPES[kind][0]})" for name, kind in spec.columns
        )
        with self._table_with(spec, frame) as connection:
            connection.execute(
                f"INSERT INTO {REPORTS_SCHEMA}.{_quoted(spec.name)} ({names}) "
                f"SELECT {casts} FROM rows"
            )

    def _update(self, spec: ReportTable, run_id: str, frame: pd.DataFrame) -> None:
        kinds = dict(spec.columns)
        sets = ", ".join(
            f"{_quoted(name)} = CAST(w.{_quoted(name)} AS {SQL_TYPES[kinds[name]][0]})"
            for name in frame.columns
            if name != "item"
        )
        with self._table_with(spec, frame) as connection:
            connection.execute(
                f"UPDATE {REPORTS_SCHEMA}.{_quoted(spec.name)} AS r SET {sets} "
                "FROM rows AS w WHERE r.run_id = ? AND r.item = w.item",
                [run_id],
            )


def ensure_table(connection: duckdb.DuckDBPyConnection, spec: ReportTable) -> None:
    """Creates `reports.<table>` with its declared types, or brings an existing one to them:
    a declared column that is missing is added (older rows hold null), and one whose type
    differs (a file from a release that took types from the first rows written) is
    converted. Columns the table has but no longer declares are left as they are.

    Raises:
        RuntimeError: an existing column's values cannot be converted (names the column).
    """
    table = f"{REPORTS_SCHEMA}.{_quoted(spec.name)}"
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {REPORTS_SCHEMA}")
    columns = ", ".join(f"{_quoted(n)} {SQL_TYPES[k][0]}" for n, k in spec.columns)
    connection.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
    existing = dict(
        connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?",
            [REPORTS_SCHEMA, spec.name],
        ).fetchall()
    )
    for name, kind in spec.columns:
        ddl, reported = SQL_TYPES[kind]
        if name not in existing:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {_quoted(name)} {ddl}")
        elif existing[name] != reported:
            try:
                connection.execute(f"ALTER TABLE {table} ALTER {_quoted(name)} TYPE {ddl}")
            except duckdb.Error as error:
                raise RuntimeError(
                    f"{table}.{name} is {existing[name]} in this file and cannot become "
                    f"{ddl} ({error}); rename the table to keep its rows, and the next run "
                    "creates it anew"
                ) from None
