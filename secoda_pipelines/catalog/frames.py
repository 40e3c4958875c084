"""DataFrames of the catalog assets, built from Secoda API rows (SPEC part A objects).

Every frame function takes the rows as the client returns them (a list of dicts) and gives
a DataFrame whose columns and dtypes do not depend on the rows, so an empty listing still
makes a table with the right schema. The client has already turned the API's ``"None"``
strings into None when it decoded the response (``secoda.paging.decode_json``), so a
``"None"`` reaching these functions is text like any other (the client leaves an item of a
list as it is, so ``["None"]`` is a list of one text). The API's other quirks are absorbed
here:

- ``""`` for ids, names, timestamps and lists (null);
- missing keys (null);
- integers sent as strings (``Int64``, null when not a whole number);
- ISO timestamps with or without a zone (``datetime64[ns, UTC]``, naive taken as UTC,
  unparseable as NaT);
- booleans as ``true``/``"True"``/``1`` (``boolean``, null when unknown);
- lists that may be null (stored as compact JSON text, null when the API sent null), whose
  items may be objects (``[{"id": "u1", "email": ...}]`` for owners): an object with an
  ``id`` is stored as that id, so every list column holds ids, never a Python repr;
- usage counts (``external_usage``, ``internal_usage``) that are not a count: a whole
  number or its text is read (``"12"`` is 12); any other value (``""``, ``"n/a"``, 1.5,
  true) is unknown, not null: the count column holds null and ``<field>_unreadable`` the
  value as sent, so the stale rule (null or 0) does not take it for "no views".

Text columns use the ``string`` dtype rather than ``object``: DuckDB types an ``object``
column that holds only nulls (or no rows) as ``NULL`` instead of ``VARCHAR``.

The column converters (``to_text``, ``to_int``, ...) are public so that the reports can
coerce frames that come back from DuckDB with slightly different dtypes.

``frame_from_pages`` builds the same frames from a listing page by page: each page's values
leave its dicts as it arrives (so a 500,000-row listing never holds its rows beside the
frame), and equal strings within a column are held once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

Row = Mapping[str, Any]

TIMESTAMP_DTYPE = "datetime64[ns, UTC]"

_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)
_BOOLEANS: dict[Any, bool] = {
    True: True,
    False: False,
    "true": True,
    "false": False,
    "t": True,
    "f": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
}


# --- column converters -------------------------------------------------------------------


def _index_of(values: Iterable[Any]) -> pd.Index | None:
    return values.index if isinstance(values, pd.Series) else None


def _objects(values: Iterable[Any]) -> np.ndarray:
    """Returns the values as a 1-D object array (lists stay elements, not a second axis)."""
    if isinstance(values, pd.Series | pd.Index | pd.api.extensions.ExtensionArray):
        return values.to_numpy(dtype=object, na_value=None)
    if not isinstance(values, list):
        values = list(values)
    # Slice assignment keeps each list as one element (pandas builds 1-D object arrays so).
    objects = np.empty(len(values), dtype=object)
    objects[:] = values
    return objects


def _is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pd.NA (never for containers)."""
    if value is None:
        return True
    if isinstance(value, list | tuple | dict | np.ndarray):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def to_text(values: Iterable[Any], *, empty_is_null: bool = False) -> pd.Series:
    """Returns the values as a ``string`` Series; ``""`` → null if asked.

    Non-string values are converted with ``str`` (ints in id fields become ``"12"``).
    The index of a Series argument is kept. Never raises.
    """
    objects = _objects(values)
    text = pd.Series(pd.array(objects, dtype="string"), index=_index_of(values))
    return text.mask(text == "") if empty_is_null else text


def to_id(values: Iterable[Any]) -> pd.Series:
    """Returns ids or names as a ``string`` Series (``""`` → null). Never raises."""
    return to_text(values, empty_is_null=True)


def to_lower(values: Iterable[Any]) -> pd.Series:
    """Returns the values stripped and lowercased as ``string``; blank → null. Never raises."""
    text = to_id(values).str.strip().str.lower()
    return text.mask(text == "")


_INT64_LIMIT = 2**63


def _int_value(value: Any) -> int | None:
    if type(value) is int:  # the common case, first; bool is deliberately not an int here
        number: Any = value
    elif isinstance(value, str):
        try:
            number = int(value)
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                return None
    elif isinstance(value, float | np.integer | np.floating):
        number = value
    else:
        return None
    if isinstance(number, float | np.floating) and not (
        math.isfinite(number) and float(number).is_integer()
    ):
        return None
    number = int(number)
    return number if -_INT64_LIMIT <= number < _INT64_LIMIT else None


def to_int(values: Iterable[Any]) -> pd.Series:
    """Returns the values as an ``Int64`` Series.

    Integers, whole floats and numeric strings are read; anything else (``""``, other
    text, a fractional number, a boolean) is null. Never raises.
    """
    ints = [_int_value(value) for value in _objects(values)]
    return pd.Series(pd.array(ints, dtype="Int64"), index=_index_of(values))


def _unreadable(value: Any) -> str | None:
    if _is_missing(value) or _int_value(value) is not None:
        return None
    return value if isinstance(value, str) else _JSON.encode(value)


def unreadable_counts(values: Iterable[Any]) -> pd.Series:
    """Returns, per value, the value as sent (text; JSON for a non-text value) when it is
    present but not a count ``to_int`` reads (``""``, ``"n/a"``, 1.5, true), else null: a
    ``string`` Series. Never raises."""
    texts = [_unreadable(value) for value in _objects(values)]
    return pd.Series(pd.array(texts, dtype="string"), index=_index_of(values))


def _bool_value(value: Any) -> bool | None:
    if isinstance(value, str):
        return _BOOLEANS.get(value.strip().lower())
    try:
        return _BOOLEANS.get(value)
    except TypeError:  # unhashable: a list or dict where a flag was expected
        return None


def to_bool(values: Iterable[Any]) -> pd.Series:
    """Returns the values as a ``boolean`` Series.

    True/False, ``"true"``/``"false"`` (any case), ``"yes"``/``"no"`` and 1/0 are read;
    anything else (``""``, other text, missing) is null. Never raises.
    """
    flags = [_bool_value(value) for value in _objects(values)]
    return pd.Series(pd.array(flags, dtype="boolean"), index=_index_of(values))


def to_timestamp(values: Iterable[Any]) -> pd.Series:
    """Returns the values as a ``datetime64[ns, UTC]`` Series.

    ISO 8601 strings with a zone are converted to UTC, naive ones are taken as UTC;
    datetimes are accepted too. Anything unparseable (``""``, numbers, other text) is NaT.
    Never raises.
    """
    index = _index_of(values)
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamps = values.dt.tz_localize("UTC") if values.dt.tz is None else values
        return stamps.dt.tz_convert("UTC").astype(TIMESTAMP_DTYPE)
    candidates = [
        value if isinstance(value, str | datetime) and value != "" else None
        for value in _objects(values)
    ]
    stamps = pd.to_datetime(
        pd.Series(candidates, dtype=object), utc=True, format="ISO8601", errors="coerce"
    )
    stamps = stamps.astype(TIMESTAMP_DTYPE)
    if index is not None:
        stamps.index = index
    return stamps


def _item(value: Any) -> Any:
    """Returns a list item as stored: an object's ``id`` when it has one (owners may come as
    user objects), else the item itself."""
    if isinstance(value, dict):
        key = value.get("id")
        if key is not None and key != "":
            return key
    return value


def _items(values: list[Any]) -> list[Any]:
    """Returns the list with every object that has an ``id`` replaced by it."""
    if any(isinstance(value, dict) for value in values):
        return [_item(value) for value in values]
    return values


def parse_list(value: Any) -> list[Any] | None:
    """Returns a list field's value as a Python list, or None when it is null.

    Accepts a list (or tuple, or array), JSON text of a list, ``""`` or missing (null); any
    other scalar (or text that is not a JSON list) is taken as a one-element list. An item
    that is an object with an ``id`` is returned as that id. Never raises.
    """
    if isinstance(value, list):
        return _items(value)
    if isinstance(value, tuple | np.ndarray):
        return _items(list(value))
    if isinstance(value, str):
        if value == "":
            return None
        if value.startswith("["):
            try:
                decoded = json.loads(value)
            except ValueError:
                return [value]
            return _items(decoded) if isinstance(decoded, list) else [value]
        return [value]
    if _is_missing(value):
        return None
    return [_item(value)]


def _json_list(value: Any) -> str | None:
    if isinstance(value, list):
        return _JSON.encode(_items(value)) if value else "[]"
    items = parse_list(value)
    return None if items is None else _JSON.encode(items)


def to_json_list(values: Iterable[Any]) -> pd.Series:
    """Returns list fields as compact JSON text (``'["a","b"]'``, ``'[]'``) in a ``string``
    Series; null stays null (see ``parse_list`` for what is accepted). Never raises."""
    texts = [_json_list(value) for value in _objects(values)]
    return pd.Series(pd.array(texts, dtype="string"), index=_index_of(values))


def list_lengths(values: Iterable[Any]) -> pd.Series:
    """Returns each list field's item count as ``int64``; a null list is 0. Never raises."""
    lengths = [len(parse_list(value) or ()) for value in _objects(values)]
    return pd.Series(lengths, dtype="int64", index=_index_of(values))


def id_list(value: Any) -> list[str]:
    """Returns a list field's items as distinct non-null id strings, in order. Never raises."""
    items = parse_list(value) or []
    ids = (_id_text(item) for item in items)
    return list(dict.fromkeys(item for item in ids if item is not None))


def _id_text(value: Any) -> str | None:
    value = _item(value)
    if _is_missing(value) or isinstance(value, dict | list | tuple):
        return None  # an object without an id, or a nested list: no id to name
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return None if text == "" else text


# --- frame schemas -----------------------------------------------------------------------

_CONVERTERS: dict[str, Callable[[Sequence[Any]], pd.Series]] = {
    "id": to_id,
    "text": to_text,
    "lower": to_lower,
    "int": to_int,
    "bool": to_bool,
    "timestamp": to_timestamp,
    "list": to_json_list,
    "unreadable": unreadable_counts,
}


@dataclass(frozen=True)
class _Field:
    """One output column: its name, converter kind and the API keys it is read from."""

    name: str
    kind: str
    keys: tuple[str, ...]


def _field(name: str, kind: str, *keys: str) -> _Field:
    return _Field(name, kind, keys or (name,))


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

    def __init__(self, fields: tuple[_Field, ...]):
        self.fields = fields
        self.rows = 0
        self._values: list[list[Any]] = [[] for _ in fields]
        self._memos: list[dict[str, str]] = [{} for _ in fields]

    def add(self, rows: Sequence[Row]) -> None:
        """Appends the rows' values; keeps no reference to the rows themselves."""
        for field, values, memo in zip(self.fields, self._values, self._memos, strict=True):
            plucked = _pluck(rows, field.keys)
            if field.kind == "list":
                plucked = [_json_list(value) for value in plucked]
            values.extend(_shared(plucked, memo))
        self.rows += len(rows)

    def take(self) -> list[pd.Series]:
        """Returns the batch's columns typed (one Series per field, in order) and empties
        the buffer; the string memos carry over to the next batch."""
        columns = [
            (to_text if field.kind == "list" else _CONVERTERS[field.kind])(values)
            for field, values in zip(self.fields, self._values, strict=True)
        ]
        self._values = [[] for _ in self.fields]
        self.rows = 0
        return columns


def _concat_columns(parts: list[list[pd.Series]], fields: tuple[_Field, ...]) -> pd.DataFrame:
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
    pages: Iterable[Sequence[Row]], fields: tuple[_Field, ...], batch_rows: int
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


def _build(rows: Iterable[Row], fields: tuple[_Field, ...]) -> pd.DataFrame:
    rows = rows if isinstance(rows, list) else list(rows)
    return _frame_of_pages([rows], fields, batch_rows=max(len(rows), 1))


_INTEGRATION = ("integration", "integration_id")

INTEGRATION_FIELDS = (
    _field("id", "id"),
    _field("name", "text"),
    _field("type", "text"),
    _field("created_at", "timestamp"),
    _field("updated_at", "timestamp"),
)
USER_FIELDS = (
    _field("id", "id"),
    _field("email", "id"),
    _field("first_name", "text"),
    _field("last_name", "text"),
    _field("role", "lower"),
    _field("pending", "bool"),
    _field("disabled", "bool"),
    _field("user_groups", "list"),
    _field("teams", "list"),
)
DASHBOARD_FIELDS = (
    _field("id", "id"),
    _field("title", "text"),
    _field("integration_id", "id", *_INTEGRATION),
    _field("external_usage", "int"),
    _field("internal_usage", "int"),
    _field("external_users", "list"),
    _field("internal_users", "list"),
    _field("external_updated_at", "timestamp"),
    _field("parent_id", "id", "parent"),
    _field("url", "id"),
    _field("owners", "list"),
    _field("tags", "list"),
    _field("created_at", "timestamp"),
    _field("external_usage_unreadable", "unreadable", "external_usage"),
    _field("internal_usage_unreadable", "unreadable", "internal_usage"),
)
QUESTION_FIELDS = (
    _field("id", "id"),
    _field("title", "text"),
    _field("answer", "id"),
    _field("owners", "list"),
    _field("created_at", "timestamp"),
)
QUESTION_REPLY_FIELDS = (
    _field("id", "id"),
    _field("question_id", "id", "parent"),
    _field("owners", "list"),
    _field("accepted_answer", "bool"),
    _field("created_at", "timestamp"),
)
TABLE_FIELDS = (
    _field("id", "id"),
    _field("integration_id", "id", *_INTEGRATION),
    _field("database", "id"),
    _field("schema", "id"),
    _field("title", "text"),
    _field("description", "text"),
    _field("definition", "text"),
    _field("tags", "list"),
    _field("pii", "bool"),
    _field("owners", "list"),
    _field("verified", "bool"),
    _field("parent_id", "id", "parent"),
)
COLUMN_FIELDS = (
    _field("id", "id"),
    _field("integration_id", "id", *_INTEGRATION),
    _field("table_id", "id", "parent"),
    _field("database", "id", "table_database"),
    _field("schema", "id", "table_schema"),
    _field("table_title", "id"),
    _field("title", "text"),
    _field("description", "text"),
    _field("definition", "text"),
    _field("tags", "list"),
    _field("pii", "bool"),
    _field("type", "text"),
    _field("sort_order", "int"),
)


# --- frames ------------------------------------------------------------------------------


def integrations_frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Returns ``secoda/integrations`` from ``integration/integrations/`` rows.

    Columns: id, name, type (string); created_at, updated_at (datetime64[ns, UTC]).
    Raises nothing for odd values: they become null.
    """
    return _build(rows, INTEGRATION_FIELDS)


def users_frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Returns ``secoda/users`` from ``user/`` rows.

    Columns: id, email, first_name, last_name, role (lowercased) (string); pending,
    disabled (boolean); user_groups, teams (JSON text). Raises nothing for odd values.
    """
    return _build(rows, USER_FIELDS)


def dashboards_frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Returns ``secoda/dashboards`` from ``dashboard/dashboards/`` rows.

    Columns: id, title, integration_id (string); external_usage, internal_usage (Int64);
    external_users, internal_users (JSON text); external_updated_at (datetime64[ns, UTC]);
    parent_id, url (string); owners, tags (JSON text); created_at (datetime64[ns, UTC]);
    external_usage_unreadable, internal_usage_unreadable (string: the usage value as sent
    when it is not a count, see ``unreadable_counts``; else null). Raises nothing for odd
    values.
    """
    return _build(rows, DASHBOARD_FIELDS)


def questions_frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Returns questions from ``question/questions/`` rows.

    Columns: id, title, answer (the accepted reply's id or null) (string); owners (JSON
    text); created_at (datetime64[ns, UTC]). Raises nothing for odd values.
    """
    return _build(rows, QUESTION_FIELDS)


def question_replies_frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Returns ``secoda/question_replies`` from ``question/replies/`` rows.

    Columns: id, question_id (the reply's ``parent``) (string); owners (JSON text);
    accepted_answer (boolean: the API's own flag, null when absent or null, as the
    client decodes the API's ``"None"``);
    created_at (datetime64[ns, UTC]). Raises nothing for odd values.
    """
    return _build(rows, QUESTION_REPLY_FIELDS)


def tables_frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Returns ``secoda/tables`` from ``table/tables/`` rows.

    Columns: id, integration_id, database, schema, title, description, definition
    (string); tags (JSON text); pii (boolean); owners (JSON text); verified (boolean);
    parent_id (the schema's id) (string). Raises nothing for odd values.
    """
    return _build(rows, TABLE_FIELDS)


def columns_frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Returns ``secoda/columns`` from ``table/columns/`` rows.

    Columns: id, integration_id, table_id (the column's ``parent``), database, schema
    (from ``table_database``/``table_schema``), table_title, title, description,
    definition (string); tags (JSON text); pii (boolean); type (string); sort_order
    (Int64). Raises nothing for odd values.
    """
    return _build(rows, COLUMN_FIELDS)


def rows_of_other_integrations(frame: pd.DataFrame, integration_id: str) -> dict[str, list[str]]:
    """Returns, for each integration other than `integration_id` that rows of `frame` name,
    the ids of those rows (a null id as ``""``), in the order the rows come.

    `frame` is a ``tables_frame`` or ``columns_frame`` (column ``integration_id``; ``id``).
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


_FIELDS_OF_FRAME: dict[Callable[..., pd.DataFrame], tuple[_Field, ...]] = {
    integrations_frame: INTEGRATION_FIELDS,
    users_frame: USER_FIELDS,
    dashboards_frame: DASHBOARD_FIELDS,
    questions_frame: QUESTION_FIELDS,
    question_replies_frame: QUESTION_REPLY_FIELDS,
    tables_frame: TABLE_FIELDS,
    columns_frame: COLUMN_FIELDS,
}


def frame_from_pages(
    pages: Iterable[Sequence[Row]],
    to_frame: Callable[[Sequence[Row]], pd.DataFrame],
    batch_rows: int = 50_000,
) -> pd.DataFrame:
    """Returns one frame built from a listing's pages: the frame `to_frame` gives for all
    their rows at once, in page order.

    For this module's frame functions (``tables_frame``, ``columns_frame``, ...) each page's
    values are taken out of its dicts as the page arrives, so no page's rows stay alive
    once the next page is read; the values are typed `batch_rows` rows at a time, and equal
    strings within a column are shared. Any other `to_frame` is called on batches of about
    `batch_rows` rows, whose frames are concatenated. Raises what iterating `pages` raises.
    """
    fields = _FIELDS_OF_FRAME.get(to_frame)
    if fields is not None:
        return _frame_of_pages(pages, fields, batch_rows)
    chunks: list[pd.DataFrame] = []
    batch: list[Row] = []
    for page in pages:
        batch.extend(page)
        if len(batch) >= batch_rows:
            chunks.append(to_frame(batch))
            batch = []
    if batch or not chunks:
        chunks.append(to_frame(batch))
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)
