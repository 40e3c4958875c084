"""Report rows in a table's fixed schema: the one conversion every backend's writes share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from secoda_pipelines.store.report_tables import BOOL, INT, JSON, TIMESTAMP, ReportTable

_PANDAS_TYPES = {BOOL: "boolean", INT: "Int64", TIMESTAMP: "datetime64[ns, UTC]"}


def typed_rows(
    spec: ReportTable, rows: pd.DataFrame, only: Sequence[str] | None = None
) -> pd.DataFrame:
    """Returns `rows` with the table's columns (or `only` those), in order, each converted
    to its declared type: lists as JSON text, missing columns as nulls. Raises nothing."""
    names = list(only) if only is not None else list(spec.column_names)
    kinds = dict(spec.columns)
    index = pd.RangeIndex(len(rows))
    out = {}
    for name in names:
        values = rows[name].reset_index(drop=True) if name in rows.columns else None
        kind = kinds[name]
        if values is None:
            values = pd.Series([None] * len(rows), index=index, dtype=object)
        if kind == JSON:
            text = [v if type(v) is str else _json_text(v) for v in values.to_numpy(object)]
            values = pd.Series(text, index=index, dtype="string")
        elif kind in _PANDAS_TYPES:
            values = values.astype(_PANDAS_TYPES[kind])
        else:
            values = values.astype("string")
        out[name] = values
    return pd.DataFrame(out, index=index)


def _json_text(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    return str(value)  # already JSON text
