"""The DuckDB warehouse: the assets in the file through `duckdb.io`, the job reports (schema
`reports`) in tables created once with explicit types, evolved in place, appended by run,
and the one writer per workspace through `duckdb.lock`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from dagster._core.storage.db_io_manager import DbIOManager

from secoda_pipelines.store.duckdb.files import LOCK_WAIT_SECONDS, connect_duckdb, memory_limited
from secoda_pipelines.store.duckdb.io import WRITE_MEMORY_LIMIT, duckdb_io_manager
from secoda_pipelines.store.duckdb.lock import FileWriterLock, write_journal_path, write_lock_path
from secoda_pipelines.store.parquet import parquet_columns, parquet_source
from secoda_pipelines.store.report_tables import (
    BOOL,
    INT,
    JSON,
    REPORTS_SCHEMA,
    TEXT,
    TIMESTAMP,
    ReportTable,
)
from secoda_pipelines.store.warehouse import Warehouse

# (DDL type, the name information_schema reports for it)
SQL_TYPES = {
    TEXT: ("VARCHAR", "VARCHAR"),
    JSON: ("VARCHAR", "VARCHAR"),
    BOOL: ("BOOLEAN", "BOOLEAN"),
    INT: ("BIGINT", "BIGINT"),
    TIMESTAMP: ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"),
}


# A long report commits every this many rows: DuckDB holds a transaction's appended rows
# in memory until it commits, so one transaction for a 550,000-row plan cost ~270 MiB.
ROWS_PER_COMMIT = 65_536
# One INSERT from a Parquet file holds a few row groups of the widest report (the
# migration plan) at once: 32MB fails on it, 64MB takes 1.8 s for 550,000 rows, 96MB 1.5 s.
FILE_COPY_MEMORY_LIMIT = "96MB"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckDBWarehouse(Warehouse):
    """Every table in one DuckDB file: the default, embedded store (one writer at a time,
    waited for; see `duckdb.files`)."""

    kind = "duckdb"

    def __init__(self, path: str, lock_wait_seconds: float = LOCK_WAIT_SECONDS):
        self.path = path
        self.lock_wait_seconds = lock_wait_seconds

    def __repr__(self) -> str:
        return f"DuckDBWarehouse({self.path!r})"

    def io_manager(self) -> DbIOManager:
        return duckdb_io_manager(self.path, self.lock_wait_seconds)

    @contextmanager
    def _transaction(
        self, spec: ReportTable, memory_limit: str = WRITE_MEMORY_LIMIT
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yields a connection in one transaction on which `spec`'s table is up to date,
        DuckDB's memory limited to `memory_limit` meanwhile."""
        connection = connect_duckdb(self.path, wait_seconds=self.lock_wait_seconds)
        try:
            # Rolled back before the limit is reset: a RESET in an aborted transaction
            # would fail and hide the error that aborted it.
            with memory_limited(connection, memory_limit):
                # One transaction: a reader never sees a table half-evolved or rows
                # half-written.
                connection.begin()
                try:
                    ensure_table(connection, spec)
                    yield connection
                    connection.commit()
                except BaseException:
                    connection.rollback()
                    raise
        finally:
            connection.close()

    def insert_report_rows(self, spec: ReportTable, frames: Iterable[pd.DataFrame]) -> None:
        names = ", ".join(_quoted(name) for name, _ in spec.columns)
        casts = ", ".join(
            f"CAST({_quoted(name)} AS {SQL_TYPES[kind][0]})" for name, kind in spec.columns
        )
        insert = (
            f"INSERT INTO {REPORTS_SCHEMA}.{_quoted(spec.name)} ({names}) SELECT {casts} FROM rows"
        )
        with self._transaction(spec) as connection:
            pending = 0
            for frame in frames:
                connection.register("rows", frame)
                connection.execute(insert)
                connection.unregister("rows")
                pending += len(frame)
                if pending >= ROWS_PER_COMMIT:
                    connection.commit()
                    connection.begin()
                    pending = 0

    def insert_report_file(self, spec: ReportTable, path: Path, values: Mapping[str, Any]) -> None:
        """Copies the file in SQL, one INSERT ... SELECT in one transaction (for the
        migration's 550,000-row plan, a fraction of the time the same rows take through
        Python frames)."""
        kinds = dict(spec.columns)
        given = parquet_columns(path)
        names = ", ".join(_quoted(name) for name in [*given, *values])
        picked = [f"CAST({_quoted(n)} AS {SQL_TYPES[kinds[n]][0]})" for n in given]
        picked += [f"CAST(? AS {SQL_TYPES[kinds[n]][0]})" for n in values]
        constants = [
            value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
            for value in values.values()
        ]
        with self._transaction(spec, FILE_COPY_MEMORY_LIMIT) as connection:
            # Rows appended to a table created or altered in the same transaction are held
            # in memory until the commit; rows appended to a committed table go to the file
            # a row group at a time.
            connection.commit()
            connection.begin()
            connection.execute(
                f"INSERT INTO {REPORTS_SCHEMA}.{_quoted(spec.name)} ({names}) "
                f"SELECT {', '.join(picked)} FROM {parquet_source(path)}",
                constants,
            )

    def update_report_rows(self, spec: ReportTable, run_id: str, frame: pd.DataFrame) -> None:
        kinds = dict(spec.columns)
        sets = ", ".join(
            f"{_quoted(name)} = CAST(w.{_quoted(name)} AS {SQL_TYPES[kinds[name]][0]})"
            for name in frame.columns
            if name != "item"
        )
        with self._transaction(spec) as connection:
            connection.register("rows", frame)
            connection.execute(
                f"UPDATE {REPORTS_SCHEMA}.{_quoted(spec.name)} AS r SET {sets} "
                "FROM rows AS w WHERE r.run_id = ? AND r.item = w.item",
                [run_id],
            )

    def _existing_tables(self, connection: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
        return {
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                [schema],
            ).fetchall()
        }

    def read_table(
        self, schema: str, table: str, equal: Mapping[str, object] | None = None
    ) -> pd.DataFrame:
        if not Path(self.path).exists():
            return pd.DataFrame()
        connection = connect_duckdb(self.path, read_only=True, wait_seconds=self.lock_wait_seconds)
        try:
            if table not in self._existing_tables(connection, schema):
                return pd.DataFrame()
            equal = dict(equal or {})
            where = " AND ".join(f"{_quoted(c)} = ?" for c in equal) or "true"
            return connection.execute(
                f"SELECT * FROM {_quoted(schema)}.{_quoted(table)} WHERE {where}",
                list(equal.values()),
            ).df()
        finally:
            connection.close()

    def query(self, sql: str) -> pd.DataFrame:
        """Runs `sql` on a read-only connection (waiting, like `read_table`, while a writer
        holds the file) and returns its rows; see `Warehouse.query`."""
        connection = connect_duckdb(self.path, read_only=True, wait_seconds=self.lock_wait_seconds)
        try:
            return connection.execute(sql).df()
        finally:
            connection.close()

    def existing_tables(self, schema: str) -> set[str]:
        if not Path(self.path).exists():
            return set()
        connection = connect_duckdb(self.path, read_only=True, wait_seconds=self.lock_wait_seconds)
        try:
            return self._existing_tables(connection, schema)
        finally:
            connection.close()

    def writer_lock(self, workspace: str, key: int, tag: str, run_id: str) -> FileWriterLock:
        return FileWriterLock(
            str(write_lock_path(self.path, tag)),
            str(write_journal_path(self.path, tag)),
            workspace,
            run_id,
        )

    def location(self) -> str:
        return str(Path(self.path).resolve())

    def query_hint(self, sql: str) -> str:
        return (
            f"python -c \"import duckdb; print(duckdb.connect('{self.location()}', "
            f'read_only=True).sql(\\"{sql}\\"))"'
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
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
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
