"""A report handed to the store as a Parquet file: how a job that builds a report too large
to pass through Python in SQL of its own (the migration's plan, in its matcher's DuckDB)
gives it to any backend, so that no backend's type crosses the `Warehouse` interface.
Read with an in-memory DuckDB, which reads Parquet itself (no pyarrow).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

CHUNK_VECTORS = 8  # a file is read 8 DuckDB vectors (16,384 rows) at a time


def parquet_source(path: Path) -> str:
    """Returns the SQL table expression reading the Parquet file at `path`. Raises
    nothing."""
    return "read_parquet('" + str(path).replace("'", "''") + "')"


def parquet_columns(path: Path) -> list[str]:
    """Returns the column names of the Parquet file at `path`, in order.

    Raises:
        duckdb.Error: the file is missing or not Parquet.
    """
    with duckdb.connect() as connection:
        return [
            row[0]
            for row in connection.execute(
                f"DESCRIBE SELECT * FROM {parquet_source(path)}"
            ).fetchall()
        ]


def parquet_head(path: Path, rows: int) -> pd.DataFrame:
    """Returns the `rows` rows of smallest `item` of the Parquet file at `path`.

    Raises:
        duckdb.Error: the file is missing, not Parquet, or has no `item`.
    """
    with duckdb.connect() as connection:
        return connection.execute(
            f"SELECT * FROM {parquet_source(path)} ORDER BY item LIMIT {int(rows)}"
        ).df()


def parquet_chunks(path: Path) -> Iterator[pd.DataFrame]:
    """Yields the rows of the Parquet file at `path`, 16,384 at a time, in file order.

    Raises:
        duckdb.Error: the file is missing or not Parquet.
    """
    with duckdb.connect() as connection:
        connection.execute(f"SELECT * FROM {parquet_source(path)}")
        while not (chunk := connection.fetch_df_chunk(CHUNK_VECTORS)).empty:
            yield chunk
