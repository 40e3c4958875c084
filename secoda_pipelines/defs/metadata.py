"""Run metadata of a DataFrame asset: row count, column schema, markdown preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd

from secoda_pipelines.catalog import column_schema, markdown_preview


def frame_metadata(frame: pd.DataFrame, preview_rows: int = 10) -> dict[str, Any]:
    """Returns `dagster/row_count`, `dagster/column_schema` and a markdown `preview`."""
    return {
        "dagster/row_count": len(frame),
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, dtype) for name, dtype in column_schema(frame)]
        ),
        "preview": dg.MetadataValue.md(markdown_preview(frame, rows=preview_rows)),
    }
