"""Run metadata of a DataFrame: one row count, one column schema and a markdown preview
short enough for Dagster's UI to show inline.

A schema's types and descriptions are the declared ones (`column_types`,
`column_descriptions`), the same in an asset's definition and in each of its
materializations. The preview is written by hand rather than with
``DataFrame.to_markdown``, which needs the optional ``tabulate`` package.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from secoda_pipelines.defs.column_descriptions import (
    COLUMN_DESCRIPTIONS,
    REPORT_COLUMN_DESCRIPTIONS,
)
from secoda_pipelines.defs.column_types import (
    BOOLEAN,
    COLUMN_TYPES,
    INTEGER,
    NUMBER,
    REPORT_COLUMN_TYPES,
    TEXT,
    TIMESTAMP,
)
from secoda_pipelines.defs.preview_columns import PREVIEW_COLUMNS, REPORT_PREVIEW_COLUMNS

# Dagster's UI shows a markdown entry in place only when it is shorter than this; a longer
# one hides behind "[Show Markdown]".
INLINE_MARKDOWN_LIMIT = 1000
PREVIEW_ROWS = 10
# The widest a preview cell gets, in characters, before it is cut with "…".
PREVIEW_CELL_WIDTH = 36


def human_type(dtype: Any) -> str:
    """Returns the type a person thinks in for a pandas dtype (integer, number, boolean,
    timestamp (UTC) or text): the type of a column nothing declares."""
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if pd.api.types.is_integer_dtype(dtype):
        return INTEGER
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMBER
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return TIMESTAMP
    return TEXT


def _schema(
    columns: Iterable[tuple[str, Any]],
    types: Mapping[str, str],
    descriptions: Mapping[str, str],
) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name,
                types.get(name) or human_type(dtype),
                description=descriptions.get(name),
            )
            for name, dtype in columns
        ]
    )


def asset_column_schema(key: str) -> dg.TableSchema:
    """Returns the declared columns of the asset `key` (e.g. ``secoda/tables``) with their
    types and descriptions: the `dagster/column_schema` of its definition, shown before
    its first materialization.

    Raises:
        KeyError: `key` declares no columns.
    """
    types = COLUMN_TYPES[key]
    return _schema(((name, None) for name in types), types, COLUMN_DESCRIPTIONS[key])


def report_column_schema(table: str) -> dg.TableSchema:
    """Returns the columns of the job report `reports.<table>` with their types and
    descriptions.

    Raises:
        KeyError: no report table has that name.
    """
    types = REPORT_COLUMN_TYPES[table]
    return _schema(((name, None) for name in types), types, REPORT_COLUMN_DESCRIPTIONS[table])


def frame_metadata(frame: pd.DataFrame, key: str) -> dict[str, Any]:
    """Returns the metadata every materialization of the asset `key` carries:
    `dagster/row_count` (the rows it wrote), `dagster/column_schema` (the frame's columns
    with their declared types and descriptions) and `preview`, an inline-sized markdown
    table of the columns a person reads first (`preview_columns.PREVIEW_COLUMNS`).

    Raises:
        KeyError: `key` declares no columns.
    """
    return {
        "dagster/row_count": len(frame),
        "dagster/column_schema": _schema(
            frame.dtypes.items(), COLUMN_TYPES[key], COLUMN_DESCRIPTIONS[key]
        ),
        "preview": dg.MetadataValue.md(inline_preview(frame, PREVIEW_COLUMNS.get(key))),
    }


def report_preview(rows: pd.DataFrame, table: str) -> dg.MarkdownMetadataValue:
    """Returns the inline-sized markdown preview of job report rows of `reports.<table>`
    (its `REPORT_PREVIEW_COLUMNS`), or "(nothing to report)"."""
    text = inline_preview(rows, REPORT_PREVIEW_COLUMNS.get(table)) if len(rows) else ""
    return dg.MetadataValue.md(text or "(nothing to report)")


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


def _preview_text(value: Any) -> str:
    """Returns `value` as a preview shows it: a day as its date, a time to the minute,
    a number to 4 significant digits, the rest as `_text` does."""
    if isinstance(value, pd.Timestamp) and not pd.isna(value):
        if value == value.normalize():
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float | np.floating) and not np.isnan(value):
        return f"{value:.4g}"
    return _text(value)


def _preview_cell(value: Any, width: int) -> str:
    text = " ".join(_preview_text(value).split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.replace("|", "\\|")


def inline_preview(
    frame: pd.DataFrame,
    columns: Sequence[str] | None = None,
    rows: int = PREVIEW_ROWS,
    limit: int = INLINE_MARKDOWN_LIMIT,
    width: int = PREVIEW_CELL_WIDTH,
) -> str:
    """Returns a markdown table of the first rows of `frame`'s `columns` (those it has;
    all its columns when none is named) shorter than `limit` characters: cells longer than
    `width` are cut with "…", then rows are dropped from the end (and, were the header
    alone too long, columns) until it fits. A frame without columns gives "".

    Raises:
        ValueError: `rows` is negative.
    """
    if rows < 0:
        raise ValueError(f"rows must be 0 or more, got {rows}")
    shown = [c for c in columns if c in frame.columns] if columns else list(frame.columns)
    if not shown:
        shown = list(frame.columns)
    while shown:
        lines = [_line([_cell(name) for name in shown]), _line(["---"] * len(shown))]
        head = frame.loc[:, shown].head(rows)
        lines += [
            _line([_preview_cell(value, width) for value in record])
            for record in head.itertuples(index=False, name=None)
        ]
        while len(lines) > 2 and len("\n".join(lines)) >= limit:
            lines.pop()
        if len("\n".join(lines)) < limit:
            return "\n".join(lines)
        shown = shown[:-1]
    return ""


def definition_metadata(key: str, **extra: Any) -> dict[str, Any]:
    """Returns the definition metadata of the asset `key`: `extra` (e.g. the IO manager's
    `partition_expr`) and its declared `dagster/column_schema`.

    Raises:
        KeyError: `key` declares no columns.
    """
    return {**extra, "dagster/column_schema": asset_column_schema(key)}
