"""Job reports: appended to DuckDB (one row per resource, with run_id and dry_run) and
summarised in the run's metadata."""

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from secoda_pipelines.catalog import markdown_preview

REPORTS_SCHEMA = "reports"


def append_report(
    duckdb: DuckDBResource, table: str, rows: pd.DataFrame, *, run_id: str, dry_run: bool
) -> pd.DataFrame:
    """Appends `rows` to `reports.<table>` with run_id, dry_run and reported_at; returns them.

    Reports are never replaced: each run adds its rows, so what was planned and what was
    written stays queryable by run. List values are stored as JSON text.
    """
    stamped = rows.copy()
    for column in stamped.columns:
        if any(isinstance(v, list | tuple) for v in stamped[column]):
            stamped[column] = stamped[column].map(_json_list)
    # Typed columns: in an empty frame an untyped one would make DuckDB create a NULL column.
    index = stamped.index
    stamped.insert(0, "run_id", pd.Series(run_id, index=index, dtype="string"))
    stamped.insert(1, "dry_run", pd.Series(dry_run, index=index, dtype="boolean"))
    now = pd.Timestamp.now(tz="UTC")
    stamped.insert(2, "reported_at", pd.Series(now, index=index, dtype="datetime64[ns, UTC]"))
    with duckdb.get_connection() as connection:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {REPORTS_SCHEMA}")
        connection.register("report_rows", stamped)
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {REPORTS_SCHEMA}.{table} AS "
            "SELECT * FROM report_rows LIMIT 0"
        )
        connection.execute(
            f"INSERT INTO {REPORTS_SCHEMA}.{table} BY NAME SELECT * FROM report_rows"
        )
        connection.unregister("report_rows")
    return stamped


def _json_list(value: Any) -> Any:
    return json.dumps(list(value)) if isinstance(value, list | tuple) else value


def report_metadata(
    rows: pd.DataFrame, table: str, count_by: str = "action", **extra: Any
) -> Mapping[str, Any]:
    """Returns run metadata for a job report: row count, counts per action, a preview."""
    counts = rows[count_by].value_counts().sort_index().to_dict() if len(rows) else {}
    return {
        "report_table": f"{REPORTS_SCHEMA}.{table}",
        "dagster/row_count": len(rows),
        f"{count_by}_counts": {str(k): int(v) for k, v in counts.items()},
        "preview": dg.MetadataValue.md(markdown_preview(rows, rows=20) or "(nothing to report)"),
        **extra,
    }
