"""Catalog frames built from API rows (SPEC part A objects), by the frame's schema.

The caller names the frame's schema (`schemas`): ``frame_of_rows(rows, schema=...)`` for
rows as the client returns them (a list of dicts), ``frame_from_pages(pages, schema=...)``
for a listing page by page: each page's values leave its dicts as it arrives (so a
500,000-row listing never holds its rows beside the frame), and equal strings within a
column are held once. Either way the columns and dtypes come from the schema alone;
`convert` types the values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from secoda_pipelines.catalog.frames.convert import (
    json_list,
    to_bool,
    to_id,
    to_int,
    to_json_list,
    to_lower,
    to_text,
    to_timestamp,
    unreadable_counts,
)
from secoda_pipelines.catalog.frames.schemas import Field, FrameSchema

Row = Mapping[str, Any]

CONVERTERS: dict[str, Callable[[Sequence[Any]], pd.Series]] = {
    "id": to_id,
    "text": to_text,
    "lower": to_lower,
    "int": to_int,
    "bool": to_bool,
    "timestamp": to_timestamp,
    "list": to_json_list,
    "unreadable": unreadable_counts,
}


def _first_present(row: Row, keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = row.get(key)
        if value is not None and value != "":
            return value
    return None


def _pluck(rows: Sequence[Row], keys: tuple[str, ...]) -> list[Any]:
    if len(keys) == 1:
        key = keys[0]
        return [row.get(key) for row in rows]
    return [_first_present(row, keys) for row in rows]


# A column's recently seen strings are kept to share equal values (see `_shared`); past this
# many the memo starts afresh, so a column of distinct ids never grows it without bound.
_SHARED_STRINGS_LIMIT = 10_000


def _shared(values: list[Any], memo: dict[str, str]) -> list[Any]:
    """Returns `values` with each string replaced by an equal one already in `memo` (adding
    those that are not).

    The decoder makes a new string for every occurrence, so without this a schema name, a
    column type or a table's id repeated on each of its columns would be held once per row.
    """
    if len(memo) > _SHARED_STRINGS_LIMIT:
        memo.clear()
    return [memo.setdefault(value, value) if type(value) is str else value for value in values]


class _ColumnBuffer:
    """One batch of a frame's columns, plucked from pages of rows as the pages arrive.

    A page's values are taken out of its dicts at once (list fields already encoded as JSON
    text), so the dicts can be dropped; only the plain values wait for `take`, which types a
    whole batch at a time (typing a 50-row page on its own costs more than listing it).
    """

    def __init__(self, fields: tuple[Field, ...]):
        self.fields = fields
        self.rows = 0
        self._values: list[list[Any]] = [[] for _ in fields]
        self._memos: list[dict[str, str]] = [{} for _ in fields]

    def add(self, rows: Sequence[Row]) -> None:
        """Appends the rows' values; keeps no reference to the rows themselves."""
        for field, values, memo in zip(self.fields, self._values, self._memos, strict=True):
            plucked = _pluck(rows, field.keys)
            if field.kind == "list":
                plucked = [json_list(value) for value in plucked]
            values.extend(_shared(plucked, memo))
        self.rows += len(rows)

    def take(self) -> list[pd.Series]:
        """Returns the batch's columns typed (one Series per field, in order) and empties
        the buffer; the string memos carry over to the next batch."""
        columns = [
            (to_text if field.kind == "list" else CONVERTERS[field.kind])(values)
            for field, values in zip(self.fields, self._values, strict=True)
        ]
        self._values = [[] for _ in self.fields]
        self.rows = 0
        return columns


def _concat_columns(parts: list[list[pd.Series]], fields: tuple[Field, ...]) -> pd.DataFrame:
    """Returns the frame of each field's column parts joined in order; each field's parts
    are released once joined, so only one column is ever held twice."""
    columns: dict[str, pd.Series] = {}
    for field, part in zip(fields, parts, strict=True):
        columns[field.name] = part[0] if len(part) == 1 else pd.concat(part, ignore_index=True)
        part.clear()
    rows = len(columns[fields[0].name])
    # copy=False: the columns are this function's own, and a dict of Series is copied by
    # default.
    return pd.DataFrame(columns, index=pd.RangeIndex(rows), copy=False)


def _frame_of_pages(
    pages: Iterable[Sequence[Row]], fields: tuple[Field, ...], batch_rows: int
) -> pd.DataFrame:
    """Returns the frame of `fields` over every page's rows, typed `batch_rows` at a time."""
    buffer = _ColumnBuffer(fields)
    parts: list[list[pd.Series]] = [[] for _ in fields]
    for page in pages:
        buffer.add(page)
        if buffer.rows >= batch_rows:
            for part, column in zip(parts, buffer.take(), strict=True):
                part.append(column)
    if buffer.rows or not parts[0]:
        for part, column in zip(parts, buffer.take(), strict=True):
            part.append(column)
    return _concat_columns(parts, fields)


def frame_of_rows(rows: Iterable[Row], *, schema: FrameSchema) -> pd.DataFrame:
    """Returns the frame of `schema` (e.g. TABLES_SCHEMA) over API rows as the client
    returns them: `schema`'s columns and dtypes whatever the rows hold (an empty listing
    too). Raises nothing for odd values: they become null."""
    rows = rows if isinstance(rows, list) else list(rows)
    return _frame_of_pages([rows], schema.fields, batch_rows=max(len(rows), 1))


def rows_of_other_integrations(frame: pd.DataFrame, integration_id: str) -> dict[str, list[str]]:
    """Returns, for each integration other than `integration_id` that rows of `frame` name,
    the ids of those rows (a null id as ``""``), in the order the rows come.

    `frame` is a frame of TABLES_SCHEMA or COLUMNS_SCHEMA (``integration_id``, ``id``).
    Rows with a null integration are not counted: a listing filtered by integration leaves
    them as the filter's. The dict is ordered by how many rows name the integration, most
    first, then by integration id. Raises KeyError when `frame` lacks either column.
    """
    named = to_id(frame["integration_id"])
    other = named.notna() & (named != integration_id)
    if not other.any():
        return {}
    ids = to_id(frame["id"])[other].fillna("")
    by_integration: dict[str, list[str]] = {}
    for integration, row_id in zip(named[other], ids, strict=True):
        by_integration.setdefault(str(integration), []).append(str(row_id))
    order = sorted(by_integration, key=lambda key: (-len(by_integration[key]), key))
    return {key: by_integration[key] for key in order}


def frame_from_pages(
    pages: Iterable[Sequence[Row]], *, schema: FrameSchema, batch_rows: int = 50_000
) -> pd.DataFrame:
    """Returns the frame of `schema` (e.g. TABLES_SCHEMA) over a listing's pages, in page
    order: the frame `frame_of_rows` gives for all their rows at once.

    Each page's values are taken out of its dicts as the page arrives, so no page's rows
    stay alive once the next page is read; the values are typed `batch_rows` rows at a
    time, and equal strings within a column are shared. Raises what iterating `pages`
    raises.
    """
    return _frame_of_pages(pages, schema.fields, batch_rows)
