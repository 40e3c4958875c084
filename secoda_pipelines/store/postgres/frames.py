"""DataFrames in and out of PostgreSQL: each pandas dtype's column type, loading with
`COPY ... FROM STDIN` (psycopg 3), reading back into the dtypes the frame was written with,
and creating or widening a table without racing another run that does the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

# Rows handed to COPY per batch: bounds the Python objects alive at once.
COPY_BATCH_ROWS = 20_000

# OIDs of the types `postgres_type` creates, and the dtype each comes back as.
_DTYPE_OF_OID = {
    16: "boolean",  # boolean
    20: "Int64",  # bigint
    21: "Int64",
    23: "Int64",
    25: "string",  # text
    1043: "string",  # varchar
    700: "float64",
    701: "float64",  # double precision
    1114: "datetime64[ns]",  # timestamp
    1184: "datetime64[ns, UTC]",  # timestamptz
}


def postgres_type(dtype: Any) -> str:
    """Returns the PostgreSQL column type for a pandas dtype: boolean, bigint, double
    precision, timestamptz (timestamp when naive) or text (strings, lists as JSON text and
    anything else). Raises nothing."""
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "timestamp"
    return "text"


def frame_columns(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """Returns (name, PostgreSQL type) for each column of `frame`, in order."""
    return [(str(name), postgres_type(dtype)) for name, dtype in frame.dtypes.items()]


def table_name(schema: str, table: str) -> sql.Composed:
    """Returns `schema.table` as quoted identifiers."""
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def existing_columns(cursor: psycopg.Cursor, schema: str, table: str) -> dict[str, str] | None:
    """Returns column name → type (as `format_type` spells it) of the table, or None when
    it does not exist."""
    cursor.execute("SELECT to_regclass(%s)", [regclass(schema, table)])
    (oid,) = cursor.fetchone()  # type: ignore[misc]
    if oid is None:
        return None
    cursor.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        [regclass(schema, table)],
    )
    return dict(cursor.fetchall())


def lock_for_change(cursor: psycopg.Cursor, *names: str) -> None:
    """Takes a transaction advisory lock for each name (sorted, so two transactions never
    wait on each other in a circle); held until the transaction ends."""
    for name in sorted(set(names)):
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])


def ensure_table(
    cursor: psycopg.Cursor,
    schema: str,
    table: str,
    columns: Sequence[tuple[str, str]],
    *,
    convert_types: bool = False,
    indexed: Sequence[str] = (),
) -> None:
    """Makes `schema.table` exist with at least `columns` (name, type); returns None.

    A missing schema or table is created and a missing column added (older rows hold null).
    A table created here gets an index on each of the `indexed` SQL expressions (the
    partition column, so deleting one partition of a large table reads only its rows).
    With `convert_types`, a column of another type is converted to the declared one. The
    DDL runs only when something is missing, under an advisory lock on the table held to
    the end of the transaction, so two runs creating the same table never collide and runs
    that find it ready never wait.

    Raises:
        psycopg.Error: the DDL failed, e.g. an existing column's values cannot be
            converted.
    """
    current = existing_columns(cursor, schema, table)
    if current is not None and not _changes(current, columns, convert_types):
        return
    lock_for_change(cursor, f"table {schema}.{table}")
    current = existing_columns(cursor, schema, table)  # another run may have done it
    name = table_name(schema, table)
    if current is None:
        cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        definition = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns
        )
        cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(name, definition))
        for expression in indexed:
            cursor.execute(sql.SQL("CREATE INDEX ON {} (({}))").format(name, sql.SQL(expression)))
        return
    for column, kind in _changes(current, columns, convert_types):
        if column not in current:
            cursor.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                    name, sql.Identifier(column), sql.SQL(kind)
                )
            )
        else:
            cursor.execute(
                sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{}").format(
                    name,
                    sql.Identifier(column),
                    sql.SQL(kind),
                    sql.Identifier(column),
                    sql.SQL(kind),
                )
            )


_SPELLED = {"timestamptz": "timestamp with time zone", "timestamp": "timestamp without time zone"}


def same_type(spelled: str, kind: str) -> bool:
    """Returns whether `spelled` (as `format_type` gives it) is the type `kind` names."""
    return spelled == _SPELLED.get(kind, kind)


def _changes(
    current: Mapping[str, str], columns: Sequence[tuple[str, str]], convert_types: bool
) -> list[tuple[str, str]]:
    return [
        (column, kind)
        for column, kind in columns
        if column not in current or (convert_types and not same_type(current[column], kind))
    ]


def _column_values(values: pd.Series) -> np.ndarray:
    """Returns the column as Python objects, every kind of missing value as None."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
        values.dtype
    ):
        # Timestamps as datetimes (psycopg dumps them; NaT becomes None).
        stamps = values.array.to_pydatetime().astype(object)
        stamps[values.isna().to_numpy()] = None
        return stamps
    return values.to_numpy(dtype=object, na_value=None)


def _rows(frame: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    for start in range(0, len(frame), COPY_BATCH_ROWS):
        batch = frame.iloc[start : start + COPY_BATCH_ROWS]
        yield from zip(*(_column_values(batch[c]) for c in batch.columns), strict=True)


def column_oids(cursor: psycopg.Cursor, relation: str) -> dict[str, int]:
    """Returns column name → type OID of `relation` (a regclass text: `"schema"."table"`,
    or a temporary table's bare name)."""
    cursor.execute(
        "SELECT attname, atttypid::int FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [relation],
    )
    return dict(cursor.fetchall())


def copy_frame(cursor: psycopg.Cursor, relation: str, frame: pd.DataFrame) -> None:
    """Loads every row of `frame` into `relation` (a regclass text, as `column_oids`
    takes) with one binary COPY, columns matched by name; returns None.

    Raises:
        psycopg.Error: the server refused a value, or a column's values do not fit its
            type (the error names the column).
    """
    if frame.empty:
        return
    oids = column_oids(cursor, relation)
    names = [str(c) for c in frame.columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.SQL(relation), sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    with cursor.copy(statement) as copy:
        copy.set_types([oids[n] for n in names])
        for row in _rows(frame):
            copy.write_row(row)


def regclass(schema: str, table: str) -> str:
    """Returns `schema.table` quoted, as regclass text and as SQL."""
    return f'"{schema}"."{table}"'


def read_frame(
    cursor: psycopg.Cursor, query: sql.Composable | str, params: Any = None
) -> pd.DataFrame:
    """Returns the query's rows as a DataFrame in the dtypes `postgres_type` maps from:
    text as ``string``, bigint as ``Int64``, boolean as ``boolean``, timestamptz as
    ``datetime64[ns, UTC]``, other types as Python objects. Raises psycopg.Error."""
    cursor.execute(query, params)
    description = cursor.description or []
    rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(description)
    data = {}
    for column, values in zip(description, columns, strict=True):
        dtype = _DTYPE_OF_OID.get(column.type_code)
        objects = np.empty(len(values), dtype=object)
        objects[:] = values
        if dtype is None:
            data[column.name] = pd.Series(objects, dtype=object)
        elif dtype.startswith("datetime64"):
            stamps = pd.to_datetime(objects, utc=dtype.endswith("UTC]"))
            data[column.name] = pd.Series(stamps, dtype=dtype)
        else:
            data[column.name] = pd.Series(objects, dtype=object).astype(dtype)
    return pd.DataFrame(data, columns=[c.name for c in description])
