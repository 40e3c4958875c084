"""The metadata every backend's IO handler gives a stored frame: its row count (of the
partition, for a partitioned asset), where it is stored, and its columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import pandas as pd
from dagster._core.definitions.metadata import TableMetadataSet


def stored_frame_metadata(
    context: dg.OutputContext, frame: pd.DataFrame, storage_kind: str
) -> Mapping[str, Any]:
    """Returns the output metadata of `frame` as stored by the `storage_kind` backend."""
    count = (
        TableMetadataSet(partition_row_count=len(frame), storage_kind=storage_kind)
        if context.has_partition_key
        else TableMetadataSet(row_count=len(frame), storage_kind=storage_kind)
    )
    schema = dg.TableSchema(
        columns=[dg.TableColumn(name=str(n), type=str(t)) for n, t in frame.dtypes.items()]
    )
    return {**count, "dataframe_columns": dg.MetadataValue.table_schema(schema)}
