"""Column converters: API values as typed pandas columns.

The client has already turned the API's ``"None"`` strings into None when it decoded the
response (``secoda.paging.decode_json``), so a ``"None"`` reaching these functions is text
like any other (the client leaves an item of a list as it is, so ``["None"]`` is a list of
one text). The API's other quirks are absorbed here:

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
column that holds only nulls (or no rows) as ``NULL`` instead of ``VARCHAR``. The report
rules use these converters too, to coerce frames that come back from the warehouse with
slightly different dtypes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

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


def json_list(value: Any) -> str | None:
    """Returns one list field's value as compact JSON text (null stays None)."""
    if isinstance(value, list):
        return _JSON.encode(_items(value)) if value else "[]"
    items = parse_list(value)
    return None if items is None else _JSON.encode(items)


def to_json_list(values: Iterable[Any]) -> pd.Series:
    """Returns list fields as compact JSON text (``'["a","b"]'``, ``'[]'``) in a ``string``
    Series; null stays null (see ``parse_list`` for what is accepted). Never raises."""
    texts = [json_list(value) for value in _objects(values)]
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
