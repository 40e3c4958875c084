"""`secoda/dashboard_usage`: a history of daily snapshots of every dashboard's usage.

The API holds only current usage and a past day cannot be fetched again (SPEC A), so the
asset is not partitioned by day: each materialization takes the current UTC day's snapshot,
replacing that day's rows if it was taken before, and keeps every earlier day's rows (the
warehouse IO manager's `snapshot_column` convention). The table is the history.
"""

import dagster as dg
import pandas as pd

from secoda_pipelines.catalog.frames import DASHBOARDS_SCHEMA, frame_from_pages
from secoda_pipelines.catalog.reports import usage_snapshot
from secoda_pipelines.defs.assets.catalog import API_RETRY, CATALOG_GROUP, SECODA_POOL
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.metadata import definition_metadata, frame_metadata
from secoda_pipelines.defs.resources import WAREHOUSE_IO, SecodaResource
from secoda_pipelines.secoda import DASHBOARDS
from secoda_pipelines.store import SNAPSHOT_COLUMN

USAGE_KEY = dg.AssetKey(["secoda", "dashboard_usage"])


def utc_today() -> str:
    """Returns today's UTC date as ``YYYY-MM-DD``: the day a snapshot taken now is of."""
    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")


@dg.asset(
    key=USAGE_KEY,
    description=(
        "Every dashboard's usage counts as the API gives them, one snapshot per UTC day: "
        "the history Secoda itself does not keep. Each materialization takes today's "
        "snapshot (replacing one taken earlier today) and keeps every earlier day's."
    ),
    group_name=CATALOG_GROUP,
    kinds={"secoda", "pandas", "duckdb"},
    io_manager_key=WAREHOUSE_IO,
    pool=SECODA_POOL,
    retry_policy=API_RETRY,
    metadata=definition_metadata(USAGE_KEY.to_user_string(), **{SNAPSHOT_COLUMN: "snapshot_date"}),
)
def dashboard_usage(secoda: SecodaResource) -> dg.MaterializeResult[pd.DataFrame]:
    """Returns today's (UTC, when the step starts) snapshot of `dashboard/dashboards/`
    usage; stored, it replaces today's earlier snapshot and keeps the other days'.

    Raises:
        dagster.Failure: the API refused the key or the request for good.
    """
    day = utc_today()
    with secoda_failures():
        pages = secoda.get_client().iter_pages(DASHBOARDS)
        dashboards = frame_from_pages(pages, schema=DASHBOARDS_SCHEMA)
    snapshot = usage_snapshot(dashboards, day, pd.Timestamp.now(tz="UTC"))
    viewed = int(
        ((snapshot["external_usage"].fillna(0) > 0) | (snapshot["internal_usage"].fillna(0) > 0))
        .astype(bool)
        .sum()
    )
    return dg.MaterializeResult(
        value=snapshot,
        metadata={
            **frame_metadata(snapshot, USAGE_KEY.to_user_string()),
            "snapshot_date": day,
            "dashboards": len(snapshot),
            "dashboards_viewed": viewed,
        },
    )
