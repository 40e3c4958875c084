"""Job reports in the DuckDB file (schema `reports`): tables created once with explicit
types, evolved in place, appended by run."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from pydantic import Field

from secoda_pipelines.store.duckdb_files import (
    DATABASE_DESCRIPTION,
    LOCK_WAIT_DESCRIPTION,
    LOCK_WAIT_SECONDS,
    connect_duckdb,
    duckdb_path,
)
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

    database: str = Field(default="", description=DATABASE_DESCRIPTION)
    lock_wait_seconds: float = Field(default=LOCK_WAIT_SECONDS, description=LOCK_WAIT_DESCRIPTION)

    @contextmanager
    def _table_with(
        self, spec: ReportTable, frame: pd.DataFrame
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yields a connection on which `spec`'s table is up to date and `frame` is the
        relation `rows`."""
        path = duckdb_path(self.database)
        connection = connect_duckdb(path, wait_seconds=self.lock_wait_seconds)
        try:
            # One transaction: a reader never sees a table half-evolved or rows half-written.
            connection.begin()
            ensure_table(connection, spec)
            connection.register("rows", frame)
            yield connection
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()

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

    def _write_times_since(
        self, specs: Sequence[ReportTable], since: pd.Timestamp
    ) -> list[pd.Timestamp]:
        path = duckdb_path(self.database)
        if not Path(path).exists():
            return []
        connection = connect_duckdb(path, wait_seconds=self.lock_wait_seconds)
        try:
            existing = {
                name
                for (name,) in connection.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                    [REPORTS_SCHEMA],
                ).fetchall()
            }
            times: list[pd.Timestamp] = []
            for spec in specs:
                if spec.name not in existing:
                    continue
                rows = connection.execute(
                    f"SELECT written_at FROM {REPORTS_SCHEMA}.{_quoted(spec.name)} "
                    "WHERE written_at >= ?",
                    [since.to_pydatetime()],
                ).fetchall()
                times += [pd.Timestamp(value).tz_convert("UTC") for (value,) in rows]
            return times
        finally:
            connection.close()


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
