"""`secoda/dashboard_usage`: one snapshot of every dashboard's usage per UTC day."""

import dagster as dg
import pandas as pd

from secoda_pipelines.catalog import dashboards_frame, frame_from_pages
from secoda_pipelines.catalog.usage import usage_snapshot
from secoda_pipelines.defs.assets.catalog import API_RETRY, CATALOG_GROUP, SECODA_POOL
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.metadata import frame_metadata
from secoda_pipelines.defs.partitions import usage_days
from secoda_pipelines.defs.resources import WAREHOUSE_IO, SecodaResource

USAGE_KEY = dg.AssetKey(["secoda", "dashboard_usage"])


def utc_today() -> str:
    """Returns today's UTC date as a partition key (``YYYY-MM-DD``)."""
    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")


def refuse_other_days(day: str, today: str) -> None:
    """Returns None when `day` is `today`.

    Raises:
        dagster.Failure: (allow_retries=False) `day` is another day: the API holds only
            current usage, so no other day's snapshot can be taken; nothing is stored.
    """
    if day == today:
        return
    when = "a past day" if day < today else "a day that has not begun"
    raise dg.Failure(
        description=(
            f"secoda/dashboard_usage partition {day} is {when}: Secoda's API returns only "
            "current usage (external_usage: the source's last 24 hours at its last sync; "
            "internal_usage: Secoda's last 90 days), so a day's snapshot can only be taken "
            f"on that day. Only today's partition, {today} (UTC), can be materialized; "
            f"nothing was stored for {day}."
        ),
        metadata={"partition": day, "today_utc": today},
        allow_retries=False,
    )


@dg.asset(
    key=USAGE_KEY,
    description=(
        "Every dashboard's usage counts as the API gives them today: one snapshot per UTC "
        "day, the history Secoda itself does not keep. Only today's partition can be taken."
    ),
    group_name=CATALOG_GROUP,
    kinds={"secoda", "pandas", "duckdb"},
    io_manager_key=WAREHOUSE_IO,
    pool=SECODA_POOL,
    retry_policy=API_RETRY,
    partitions_def=usage_days,
    metadata={"partition_expr": "snapshot_date"},
)
def dashboard_usage(
    context: dg.AssetExecutionContext, secoda: SecodaResource
) -> dg.MaterializeResult[pd.DataFrame]:
    """Returns today's snapshot of `dashboard/dashboards/` usage.

    Raises:
        dagster.Failure: the partition is not today (UTC), or the API refused the key.
    """
    day = context.partition_key
    refuse_other_days(day, utc_today())
    with secoda_failures():
        pages = secoda.get_client().iter_pages("dashboard/dashboards/")
        dashboards = frame_from_pages(pages, dashboards_frame)
    snapshot = usage_snapshot(dashboards, day, pd.Timestamp.now(tz="UTC"))
    viewed = int(
        ((snapshot["external_usage"].fillna(0) > 0) | (snapshot["internal_usage"].fillna(0) > 0))
        .astype(bool)
        .sum()
    )
    return dg.MaterializeResult(
        value=snapshot,
        metadata={
            **frame_metadata(snapshot),
            "snapshot_date": day,
            "dashboards": len(snapshot),
            "dashboards_viewed": viewed,
        },
    )
