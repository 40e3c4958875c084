"""Run metadata of a DataFrame: row count, column schema and a markdown preview.

The preview is written by hand rather than with ``DataFrame.to_markdown``, which needs
the optional ``tabulate`` package.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd


def frame_metadata(
    frame: pd.DataFrame,
    preview_rows: int = 10,
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Returns `dagster/row_count`, `dagster/column_schema` and a markdown `preview`.

    Each column of the schema carries its entry of ``descriptions`` (column name to what
    the value means; see `column_descriptions.COLUMN_DESCRIPTIONS`), none when absent.
    """
    described = descriptions or {}
    return {
        "dagster/row_count": len(frame),
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(name, dtype, description=described.get(name))
                for name, dtype in column_schema(frame)
            ]
        ),
        "preview": dg.MetadataValue.md(markdown_preview(frame, rows=preview_rows)),
    }


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # containers: pd.isna answers element-wise
        return False


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if value is None or _is_missing(value):
        return ""
    if isinstance(value, float | np.floating):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _cell(value: Any) -> str:
    """Returns the value as one markdown table cell: pipes escaped, line breaks as spaces."""
    text = _text(value).replace("|", "\\|")
    return " ".join(text.splitlines()) if ("\n" in text or "\r" in text) else text


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown_preview(df: pd.DataFrame, rows: int = 10) -> str:
    """Returns a markdown table of the first ``rows`` rows of ``df`` (header included).

    Text, including JSON text of lists, is shown as is (with ``|`` escaped); nulls are
    empty cells; floats keep 6 significant digits; timestamps are ISO 8601. A frame without
    columns gives an empty string.

    Raises:
        ValueError: ``rows`` is negative.
    """
    if rows < 0:
        raise ValueError(f"rows must be 0 or more, got {rows}")
    if len(df.columns) == 0:
        return ""
    lines = [_line([_cell(name) for name in df.columns]), _line(["---"] * len(df.columns))]
    for record in df.head(rows).itertuples(index=False, name=None):
        lines.append(_line([_cell(value) for value in record]))
    return "\n".join(lines)


def column_schema(df: pd.DataFrame) -> list[tuple[str, str]]:
    """Returns ``(column name, dtype name)`` for each column of ``df``, in order.

    Raises nothing.
    """
    return [(str(name), str(dtype)) for name, dtype in df.dtypes.items()]
