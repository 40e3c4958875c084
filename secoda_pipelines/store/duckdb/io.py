"""The assets' IO manager on DuckDB: dagster-duckdb's DbIOManager and client, connecting to
the file chosen when the run starts and waiting out other writers (`duckdb.files`), with a
pandas type handler of our own that writes under a small memory limit
(`WRITE_MEMORY_LIMIT`), in one transaction, by column name.

What the handler adds to dagster-duckdb-pandas': an output without rows still creates its
table (with its columns), so what reads it finds it; a column the table lacks is added (an
asset that gains a column keeps its stored rows, null in it); a snapshot history (metadata
`snapshot_column`, see `table_io`) replaces only the snapshots it writes; and a table not
created yet is read as an empty history when it is one, else refused naming the asset to
materialize first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import duckdb
import pandas as pd
from dagster._core.storage.db_io_manager import DbIOManager, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasTypeHandler

from secoda_pipelines.store.duckdb.files import (
    LOCK_WAIT_SECONDS,
    connect_duckdb,
    memory_limited,
)
from secoda_pipelines.store.table_io import (
    load_slice,
    snapshot_column,
    snapshot_values,
    stored_frame_metadata,
)

# DuckDB's memory for a write. By default DuckDB keeps every block it writes cached, up to
# 80% of the machine's memory: storing a 500,000-row frame then costs about as much again as
# the frame (+157 MiB). Under this limit the written blocks are evicted (they are in the
# file, or in DuckDB's temporary files for an in-memory database): +33 MiB, as fast, and
# still enough with 32 threads (+21 MiB at 16MB). Measured in docs/benchmarks.md,
# "Refreshing one integration".
WRITE_MEMORY_LIMIT = "32MB"  # also the job reports' (duckdb.warehouse)
STORAGE_KIND = "duckdb"
_FRAME = "secoda_output_frame"  # the name the output frame is registered under


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table(table_slice: TableSlice) -> str:
    return f"{_quoted(table_slice.schema)}.{_quoted(table_slice.table)}"


def _table_columns(
    connection: duckdb.DuckDBPyConnection, table_slice: TableSlice
) -> list[str] | None:
    """Returns the stored table's column names, or None when it does not exist."""
    rows = connection.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [table_slice.schema, table_slice.table],
    ).fetchall()
    return [row[0] for row in rows] or None


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

    @staticmethod
    def delete_table_slice(context, table_slice: TableSlice, connection) -> None:
        """Deletes the slice's rows as dagster-duckdb does (all of an unpartitioned table's),
        except for a snapshot history, whose type handler replaces the snapshots it writes
        in the transaction that writes them."""
        if snapshot_column(context) is None:
            DuckDbClient.delete_table_slice(context, table_slice, connection)


def _write(
    connection: duckdb.DuckDBPyConnection,
    table_slice: TableSlice,
    replaced: tuple[str, list[object]] | None,
) -> None:
    """Stores the frame registered as `_FRAME` in the slice's table, in the connection's
    open transaction: creates the table (even without rows), adds the columns it lacks,
    deletes the rows whose snapshot column holds one of the values when `replaced` is
    (snapshot column, values), then inserts by column name. Raises duckdb.Error."""
    name = _table(table_slice)
    stored = _table_columns(connection, table_slice)
    if stored is None:
        connection.execute(f"CREATE TABLE {name} AS SELECT * FROM {_FRAME} LIMIT 0")
        stored = _table_columns(connection, table_slice) or []
    for field, kind, *_ in connection.execute(f"DESCRIBE SELECT * FROM {_FRAME}").fetchall():
        if field not in stored:
            connection.execute(f"ALTER TABLE {name} ADD COLUMN {_quoted(field)} {kind}")
    if replaced is not None and replaced[1]:
        column, values = replaced
        marks = ", ".join("?" for _ in values)
        connection.execute(f"DELETE FROM {name} WHERE {_quoted(column)} IN ({marks})", values)
    connection.execute(f"INSERT INTO {name} BY NAME SELECT * FROM {_FRAME}")


class _LeanDuckDBPandasTypeHandler(DuckDBPandasTypeHandler):
    """Stores DataFrames in DuckDB under `WRITE_MEMORY_LIMIT`, in one transaction (see the
    module docstring), and reads them back as dagster-duckdb-pandas does."""

    def handle_output(  # type: ignore[override]
        self, context, table_slice: TableSlice, obj: pd.DataFrame, connection
    ) -> Mapping[str, object]:
        """Stores the frame; returns the output's metadata (its storage kind).

        Raises:
            duckdb.Error: the write failed; nothing of it was stored.
            ValueError: a snapshot history's output lacks its snapshot column.
        """
        column = snapshot_column(context)
        replaced = None if column is None else (column, snapshot_values(obj, column))
        with memory_limited(connection, WRITE_MEMORY_LIMIT):
            connection.register(_FRAME, obj)
            try:
                connection.begin()
                try:
                    _write(connection, table_slice, replaced)
                    connection.commit()
                except BaseException:
                    # Before memory_limited resets the limit: an aborted transaction would
                    # refuse the SET and hide this error.
                    connection.rollback()
                    raise
            finally:
                connection.unregister(_FRAME)
        return stored_frame_metadata(STORAGE_KIND)

    def load_input(self, context, table_slice: TableSlice, connection) -> pd.DataFrame:
        """Returns the slice's rows (see `table_io.load_slice`). Raises WarehouseError."""
        return load_slice(
            context,
            table_slice,
            lambda: _table_columns(connection, table_slice) is not None,
            lambda: connection.execute(DuckDbClient.get_select_statement(table_slice)).fetchdf(),
        )


def duckdb_io_manager(path: str, wait_seconds: float = LOCK_WAIT_SECONDS) -> DbIOManager:
    """Returns the DbIOManager storing DataFrames in the DuckDB file at `path`, one table
    per asset (`secoda.tables`, `reports.adoption`); a partitioned asset replaces only its
    partition's rows (metadata `partition_expr`), a snapshot history only the snapshots it
    writes (metadata `snapshot_column`)."""
    return DbIOManager(
        db_client=_PatientDuckDbClient(path, wait_seconds),
        database=path,
        schema=None,
        type_handlers=[_LeanDuckDBPandasTypeHandler()],
        default_load_type=pd.DataFrame,
        io_manager_name="DuckDBIOManager",
    )
