"""The assets' IO manager on PostgreSQL, built on Dagster's own extension points for
database IO managers (`DbIOManager` with a `DbClient` and a pandas `DbTypeHandler`), as
dagster-duckdb and dagster-snowflake are.

One output is one transaction: the slice's delete and the COPY of its rows commit
together, so a reader sees a partition either as it was or as rewritten, and a run killed
halfway leaves it as it was. Writers of the same slice (the same partition, or the whole
table) queue on an advisory lock per partition key; writers of different partitions take
different locks and only row locks on their own rows, so they never wait for each other.

A snapshot history (metadata `snapshot_column`, see `table_io`) is written under the
table's lock: the snapshots the output holds are deleted and its rows copied in the same
transaction, every other snapshot kept; before its first snapshot it reads as no rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import dagster as dg
import pandas as pd
import psycopg
from dagster._core.storage.db_io_manager import (
    DbClient,
    DbIOManager,
    DbTypeHandler,
    TablePartitionDimension,
    TableSlice,
)
from psycopg import sql

from secoda_pipelines.store.errors import WarehouseError
from secoda_pipelines.store.postgres.connection import (
    database_name,
    transaction,
)
from secoda_pipelines.store.postgres.frames import (
    copy_frame,
    ensure_table,
    existing_columns,
    frame_columns,
    lock_for_change,
    read_frame,
    regclass,
    same_type,
    table_name,
)
from secoda_pipelines.store.table_io import (
    load_slice,
    snapshot_column,
    snapshot_values,
    stored_frame_metadata,
)

STORAGE_KIND = "postgres"


def _where(dimensions: Sequence[TablePartitionDimension]) -> tuple[sql.Composable, list]:
    """Returns the WHERE clause selecting the slice's partitions, and its parameters."""
    clauses, params = [], []
    for dimension in dimensions:
        expr = sql.SQL(dimension.partition_expr)  # authored in the asset's metadata
        if isinstance(dimension.partitions, dg.TimeWindow):
            clauses.append(sql.SQL("{0} >= %s AND {0} < %s").format(expr))
            params += [dimension.partitions.start, dimension.partitions.end]
        else:
            clauses.append(sql.SQL("{} = ANY(%s)").format(expr))
            params.append(list(dimension.partitions))
    return sql.SQL(" AND ").join(clauses), params


def _literal(value: object) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    return sql.Literal(value).as_string(None)


def _select(table_slice: TableSlice) -> tuple[sql.Composable, list]:
    """Returns the SELECT of the slice's columns and partitions, and its parameters."""
    columns = (
        sql.SQL(", ").join(sql.Identifier(c) for c in table_slice.columns)
        if table_slice.columns
        else sql.SQL("*")
    )
    query = sql.SQL("SELECT {} FROM {}").format(
        columns, table_name(table_slice.schema, table_slice.table)
    )
    if not table_slice.partition_dimensions:
        return query, []
    where, params = _where(table_slice.partition_dimensions)
    return sql.SQL("{} WHERE {}").format(query, where), params


class PostgresClient(DbClient):
    """Connections and slice deletes for one warehouse URL (kept out of every message)."""

    def __init__(self, url: str):
        self._url = url

    def __repr__(self) -> str:
        return f"PostgresClient(database={database_name(self._url)!r})"

    @contextmanager
    def connect(self, context, table_slice: TableSlice) -> Iterator[psycopg.Connection]:  # type: ignore[override]
        """Yields a connection in a transaction, committed when the block ends normally and
        rolled back otherwise; a database error leaves as a WarehouseError, scrubbed."""
        table = f"{table_slice.schema}.{table_slice.table}"
        with transaction(self._url, f"warehouse table {table}") as connection:
            yield connection

    @staticmethod
    def ensure_schema_exists(context, table_slice: TableSlice, connection) -> None:
        """Does nothing: the type handler creates the schema with the table, under the
        table's lock, so runs creating it at once never collide."""

    @staticmethod
    def delete_table_slice(context, table_slice: TableSlice, connection) -> None:
        """Deletes the slice's rows, first queueing behind any other writer of the same
        partitions (or, unpartitioned, of the table). A snapshot history's rows are left to
        the type handler, which deletes the snapshots it writes, in this transaction."""
        table = f"{table_slice.schema}.{table_slice.table}"
        keys = context.asset_partition_keys if table_slice.partition_dimensions else []
        with connection.cursor() as cursor:
            lock_for_change(cursor, *[f"slice {table} {k}" for k in keys or ["*"]])
            if snapshot_column(context) is not None:
                return
            if existing_columns(cursor, table_slice.schema, table_slice.table) is None:
                return
            name = table_name(table_slice.schema, table_slice.table)
            if table_slice.partition_dimensions:
                where, params = _where(table_slice.partition_dimensions)
                cursor.execute(sql.SQL("DELETE FROM {} WHERE {}").format(name, where), params)
            else:
                cursor.execute(sql.SQL("DELETE FROM {}").format(name))

    @staticmethod
    def get_select_statement(table_slice: TableSlice) -> str:
        """Returns the SELECT of the slice, values inlined, for the run's metadata."""
        columns = ", ".join(table_slice.columns) if table_slice.columns else "*"
        statement = f"SELECT {columns} FROM {table_slice.schema}.{table_slice.table}"
        if not table_slice.partition_dimensions:
            return statement
        clauses = []
        for dimension in table_slice.partition_dimensions:
            if isinstance(dimension.partitions, dg.TimeWindow):
                start, end = (_literal(v) for v in dimension.partitions)
                expr = dimension.partition_expr
                clauses.append(f"{expr} >= {start} AND {expr} < {end}")
            else:
                keys = ", ".join(_literal(k) for k in dimension.partitions)
                clauses.append(f"{dimension.partition_expr} IN ({keys})")
        return f"{statement} WHERE {' AND '.join(clauses)}"


class PostgresPandasTypeHandler(DbTypeHandler[pd.DataFrame]):
    """Stores DataFrames with COPY and loads them back in the dtypes they were written in."""

    def handle_output(
        self, context, table_slice: TableSlice, obj: pd.DataFrame, connection
    ) -> dict[str, object]:
        """Creates the table (or adds the frame's new columns), deletes the snapshots the
        frame holds when the asset is a snapshot history, and COPYs the rows; returns the
        output's metadata (its storage kind).

        Raises:
            WarehouseError: a column's stored type differs from the frame's.
            ValueError: a snapshot history's output lacks its snapshot column.
        """
        schema, table = table_slice.schema, table_slice.table
        columns = frame_columns(obj)
        column = snapshot_column(context)
        values = [] if column is None else snapshot_values(obj, column)
        with connection.cursor() as cursor:
            indexed = [d.partition_expr for d in table_slice.partition_dimensions]
            if column is not None:
                indexed.append(column)  # authored in the asset's metadata, as partition_expr
            ensure_table(cursor, schema, table, columns, indexed=indexed)
            current = existing_columns(cursor, schema, table) or {}
            clashes = [
                f"{name} is {current[name]} there but {kind} in this output"
                for name, kind in columns
                if not same_type(current[name], kind)
            ]
            if clashes:
                raise WarehouseError(
                    f"warehouse table {schema}.{table}: {'; '.join(clashes)}. Nothing was "
                    "written; drop or rename the table to let this run create it anew"
                )
            if values:
                cursor.execute(
                    sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
                        table_name(schema, table), sql.Identifier(str(column))
                    ),
                    [values],
                )
            copy_frame(cursor, regclass(schema, table), obj)
            # Fresh statistics for what was just written: the coverage queries group and
            # join these tables seconds later, before autovacuum would analyze them, and a
            # plan made without statistics sorts every row on disk (docs/benchmarks.md).
            cursor.execute(sql.SQL("ANALYZE {}").format(table_name(schema, table)))
        return stored_frame_metadata(STORAGE_KIND)

    def load_input(self, context, table_slice: TableSlice, connection) -> pd.DataFrame:
        """Returns the slice's rows (see `table_io.load_slice`). Raises WarehouseError."""
        with connection.cursor() as cursor:
            return load_slice(
                context,
                table_slice,
                lambda: existing_columns(cursor, table_slice.schema, table_slice.table) is not None,
                lambda: read_frame(cursor, *_select(table_slice)),
            )

    @property
    def supported_types(self) -> Sequence[type]:
        return [pd.DataFrame]


def postgres_io_manager(url: str, schema: str | None = None) -> DbIOManager:
    """Returns the DbIOManager storing DataFrames in the warehouse at `url`; its table
    names (run metadata) name the database, never the URL."""
    return DbIOManager(
        db_client=PostgresClient(url),
        database=database_name(url),
        schema=schema,
        type_handlers=[PostgresPandasTypeHandler()],
        default_load_type=pd.DataFrame,
        io_manager_name="SecodaWarehouseIOManager",
    )
