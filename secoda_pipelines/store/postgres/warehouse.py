"""The PostgreSQL warehouse (SECODA_WAREHOUSE_URL): the assets through `postgres.io`, the
job reports in schema `reports` with the same tables and columns as in DuckDB, and the one
writer per workspace through `postgres.lock`.

Lists are JSON text in `text` columns, as in DuckDB, so a query reads the same in both
(cast with `::jsonb` to use PostgreSQL's JSON operators). Timestamps are `timestamptz`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

import pandas as pd
import psycopg
from dagster._core.storage.db_io_manager import DbIOManager
from psycopg import sql

from secoda_pipelines.store.postgres.connection import transaction, warehouse_name
from secoda_pipelines.store.postgres.frames import (
    copy_frame,
    ensure_table,
    existing_columns,
    read_frame,
    regclass,
    table_name,
)
from secoda_pipelines.store.postgres.io import postgres_io_manager
from secoda_pipelines.store.postgres.lock import PostgresWriterLock
from secoda_pipelines.store.report_tables import BOOL, INT, REPORTS_SCHEMA, TIMESTAMP, ReportTable
from secoda_pipelines.store.warehouse import Warehouse

# Text, and lists as JSON text, are `text`.
_SQL_TYPES = {BOOL: "boolean", INT: "bigint", TIMESTAMP: "timestamptz"}


def sql_type(kind: str) -> str:
    """Returns the PostgreSQL type of a report column of logical type `kind`."""
    return _SQL_TYPES.get(kind, "text")


class PostgresWarehouse(Warehouse):
    """Every table in one PostgreSQL database, shared by runs on any machine."""

    kind = "postgres"

    def __init__(self, url: str):
        self._url = url

    def __repr__(self) -> str:
        return f"PostgresWarehouse({warehouse_name(self._url)!r})"

    def io_manager(self) -> DbIOManager:
        return postgres_io_manager(self._url)

    @contextmanager
    def _cursor(self, what: str) -> Iterator[psycopg.Cursor]:
        """Yields a cursor in one transaction (see `transaction`)."""
        with transaction(self._url, what) as connection, connection.cursor() as cursor:
            yield cursor

    def _ensure(self, cursor: psycopg.Cursor, spec: ReportTable) -> None:
        columns = [(name, sql_type(kind)) for name, kind in spec.columns]
        ensure_table(cursor, REPORTS_SCHEMA, spec.name, columns, convert_types=True)

    def insert_report_rows(self, spec: ReportTable, frames: Iterable[pd.DataFrame]) -> None:
        with self._cursor(f"appending to {REPORTS_SCHEMA}.{spec.name}") as cursor:
            self._ensure(cursor, spec)
            table = regclass(REPORTS_SCHEMA, spec.name)
            for frame in frames:
                copy_frame(cursor, table, frame)

    def update_report_rows(self, spec: ReportTable, run_id: str, frame: pd.DataFrame) -> None:
        kinds = dict(spec.columns)
        names = [str(c) for c in frame.columns]
        with self._cursor(f"recording writes in {REPORTS_SCHEMA}.{spec.name}") as cursor:
            self._ensure(cursor, spec)
            definition = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(sql_type(kinds[n])))
                for n in names
            )
            cursor.execute(
                sql.SQL("CREATE TEMP TABLE report_writes ({}) ON COMMIT DROP").format(definition)
            )
            copy_frame(cursor, "report_writes", frame)
            sets = sql.SQL(", ").join(
                sql.SQL("{0} = w.{0}").format(sql.Identifier(n)) for n in names if n != "item"
            )
            cursor.execute(
                sql.SQL(
                    "UPDATE {} AS r SET {} FROM report_writes AS w "
                    "WHERE r.run_id = %s AND r.item = w.item"
                ).format(table_name(REPORTS_SCHEMA, spec.name), sets),
                [run_id],
            )

    def read_table(
        self, schema: str, table: str, equal: Mapping[str, object] | None = None
    ) -> pd.DataFrame:
        equal = dict(equal or {})
        with self._cursor(f"reading {schema}.{table}") as cursor:
            if existing_columns(cursor, schema, table) is None:
                return pd.DataFrame()
            where = sql.SQL(" AND ").join(
                sql.SQL("{} = %s").format(sql.Identifier(c)) for c in equal
            )
            query = sql.SQL("SELECT * FROM {}").format(table_name(schema, table))
            if equal:
                query = sql.SQL("{} WHERE {}").format(query, where)
            return read_frame(cursor, query, list(equal.values()))

    def query(self, sql_text: str) -> pd.DataFrame:
        """Runs `sql_text` in a READ ONLY transaction and returns its rows in the dtypes
        `read_frame` gives (text ``string``, bigint ``Int64``, ...); see `Warehouse.query`."""
        with self._cursor("running a query") as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            # The coverage queries' set-returning JSON functions make the planner guess
            # millions of rows, which turns on JIT: compiling then costs more than running.
            cursor.execute("SET LOCAL jit = off")
            return read_frame(cursor, sql_text)

    def existing_tables(self, schema: str) -> set[str]:
        with self._cursor(f"listing the tables of schema {schema}") as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                [schema],
            )
            return {name for (name,) in cursor.fetchall()}

    def writer_lock(self, workspace: str, key: int, tag: str, run_id: str) -> PostgresWriterLock:
        return PostgresWriterLock(self._url, key, run_id)

    def location(self) -> str:
        return warehouse_name(self._url)

    def query_hint(self, sql_text: str) -> str:
        # The URL stays in the variable: printing it would print the password.
        return f'psql "$SECODA_WAREHOUSE_URL" -c "{sql_text}"'
