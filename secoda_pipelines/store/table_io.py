"""What every backend's IO manager shares (`duckdb.io`, `postgres.io`): output metadata,
and the snapshot-history convention.

Besides Dagster's own conventions (one table per asset; a partitioned asset's write replaces
only its partitions' rows, metadata `partition_expr`), every backend honours one more: an
unpartitioned asset whose definition metadata names a `snapshot_column` is a history of
snapshots. Its write replaces only the rows whose snapshot column holds a value the output
holds (today's day, for a daily snapshot) and keeps every other row; and a reader of it
before its first snapshot gets an empty frame ("no history yet"), not an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import dagster as dg
import pandas as pd
from dagster._core.definitions.metadata import TableMetadataSet
from dagster._core.storage.db_io_manager import TableSlice

from secoda_pipelines.store.errors import WarehouseError

# Definition metadata of an unpartitioned asset that keeps a history of snapshots: the
# column (e.g. snapshot_date) whose values name the snapshot a row belongs to.
SNAPSHOT_COLUMN = "snapshot_column"


def snapshot_column(context: dg.OutputContext | dg.InputContext) -> str | None:
    """Returns the snapshot column of the asset being written (an OutputContext) or read (an
    InputContext: the upstream asset's), or None when that asset is not a snapshot history
    (or is partitioned: its partitions decide what a write replaces)."""
    if not context.has_asset_key or context.has_asset_partitions:
        return None
    output = context if isinstance(context, dg.OutputContext) else context.upstream_output
    if output is None:
        return None
    column = (output.definition_metadata or {}).get(SNAPSHOT_COLUMN)
    return str(column) if column else None


def snapshot_values(frame: pd.DataFrame, column: str) -> list[object]:
    """Returns the distinct non-null values of `frame[column]` (the snapshots the output
    holds), as plain Python values a database driver binds (timestamps as datetimes).

    Raises:
        ValueError: the frame has no such column (names it and the columns it has).
    """
    if column not in frame.columns:
        raise ValueError(
            f"the output has no snapshot column {column!r} (its columns: "
            f"{', '.join(map(str, frame.columns))}); the asset's metadata "
            f"{SNAPSHOT_COLUMN!r} must name one of them"
        )
    values = frame[column].dropna().drop_duplicates().tolist()
    return [v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in values]


def empty_history(columns: Sequence[str] | None) -> pd.DataFrame:
    """Returns the frame a snapshot history reads as before its first snapshot: no rows,
    the requested columns (none when none were requested)."""
    return pd.DataFrame({name: pd.Series(dtype=object) for name in columns or ()})


def load_slice(
    context: dg.InputContext,
    table_slice: TableSlice,
    exists: Callable[[], bool],
    read: Callable[[], pd.DataFrame],
) -> pd.DataFrame:
    """Returns the slice's rows as `read` returns them: no rows when the input selects no
    partition, and a snapshot history not taken yet (`exists` False) as no rows.

    Raises:
        WarehouseError: any other table does not exist yet (names the asset to
            materialize first).
    """
    if table_slice.partition_dimensions and not context.asset_partition_keys:
        return pd.DataFrame()
    if not exists():
        if snapshot_column(context) is not None:
            return empty_history(table_slice.columns)
        raise WarehouseError(
            f"warehouse table {table_slice.schema}.{table_slice.table} does not exist "
            f"yet: materialize {table_slice.schema}/{table_slice.table} first"
        )
    return read()


def stored_frame_metadata(storage_kind: str) -> dict[str, object]:
    """Returns the output metadata the store adds to a stored frame: its `storage_kind`.

    The row count and the column schema are the asset's own (`defs.metadata`), with the
    declared types and descriptions; saying them here too would show each twice.
    """
    return dict(TableMetadataSet(storage_kind=storage_kind))
