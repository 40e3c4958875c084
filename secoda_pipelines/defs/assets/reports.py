"""Report assets, computed from the catalog assets in the warehouse (schema `reports`).

Each materialization carries the figures a person follows over time as plain numbers in
its metadata (stale count and share; replies, accepted answers, acceptance rate), so the
asset's events can be compared in the UI and read through GraphQL.
"""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from pydantic import Field

from secoda_pipelines.catalog.reports import (
    HISTORY_COLUMNS,
    adoption_figures,
    monthly_adoption,
    replies_created_in,
    stale_dashboards,
    stale_summary,
    usage_unreadable,
)
from secoda_pipelines.catalog.reports import adoption as adoption_rows
from secoda_pipelines.defs.assets.usage import USAGE_KEY
from secoda_pipelines.defs.checks import (
    STALE_SHARE_CHECK,
    STALE_SHARE_DESCRIPTION,
    stale_share_check,
)
from secoda_pipelines.defs.metadata import definition_metadata, frame_metadata, markdown_preview
from secoda_pipelines.defs.partitions import reply_months
from secoda_pipelines.defs.resources import WAREHOUSE_IO

REPORTS_GROUP = "reports"
STALE_KEY = dg.AssetKey(["reports", "stale_dashboards"])
ADOPTION_INS = {
    "replies": dg.AssetIn(key=["secoda", "question_replies"]),
    "questions": dg.AssetIn(key=["secoda", "questions"]),
    "users": dg.AssetIn(key=["secoda", "users"]),
}


class StaleDashboardsConfig(dg.Config):
    """Run config of `reports/stale_dashboards`."""

    stale_after_days: int = Field(
        default=90,
        ge=0,
        description="A dashboard not updated in its source, and not seen viewed in a usage "
        "snapshot, for this many days may be stale.",
    )


def stale_figures(stale: int, dashboards: int) -> dict[str, float | int]:
    """Returns the stale count, the dashboard count and the stale share (0.0 without
    dashboards), as numbers for a materialization's metadata."""
    share = stale / dashboards if dashboards else 0.0
    return {
        "stale_dashboards": stale,
        "dashboards": dashboards,
        "stale_share": dg.MetadataValue.float(round(share, 4)),
    }


@dg.asset(
    key=STALE_KEY,
    metadata=definition_metadata(STALE_KEY.to_user_string()),
    ins={
        "dashboards": dg.AssetIn(key=["secoda", "dashboards"]),
        # Only to name the integrations of the per-integration counts.
        "integrations": dg.AssetIn(
            key=["secoda", "integrations"], metadata={"columns": ["id", "name"]}
        ),
        # Every snapshot taken so far, only the columns the rule reads; before the first
        # snapshot, no rows (the history's `snapshot_column` metadata says so).
        "usage": dg.AssetIn(key=USAGE_KEY, metadata={"columns": list(HISTORY_COLUMNS)}),
    },
    description=(
        "Dashboards nobody uses: no views or viewers in the source tool or in Secoda, no "
        "update in the source for `stale_after_days` days, and no usage snapshot of those "
        "days showing a view."
    ),
    group_name=REPORTS_GROUP,
    kinds={"pandas", "duckdb"},
    io_manager_key=WAREHOUSE_IO,
    check_specs=[
        dg.AssetCheckSpec(STALE_SHARE_CHECK, asset=STALE_KEY, description=STALE_SHARE_DESCRIPTION)
    ],
)
def stale_dashboards_report(
    config: StaleDashboardsConfig,
    dashboards: pd.DataFrame,
    integrations: pd.DataFrame,
    usage: pd.DataFrame,
):
    # No return annotation: with check_specs, Dagster would read it as every output's type.
    """Returns the stale dashboards (MaterializeResult), with per-integration counts."""
    now = datetime.now(UTC)
    stale = stale_dashboards(
        dashboards, now=now, stale_after_days=config.stale_after_days, history=usage
    )
    names = dict(zip(integrations["id"].astype(str), integrations["name"], strict=True))
    summary = stale_summary(stale, dashboards, names)
    snapshot_days = int(pd.Series(usage["snapshot_date"]).nunique()) if len(usage) else 0
    return dg.MaterializeResult(
        value=stale,
        metadata={
            **frame_metadata(stale, STALE_KEY.to_user_string()),
            **stale_figures(len(stale), len(dashboards)),
            # A setting, not a figure to follow: JSON, so the UI draws no flat plot of it.
            "settings": dg.MetadataValue.json({"stale_after_days": config.stale_after_days}),
            "usage_snapshot_days": snapshot_days,
            # Never stale, whatever else holds: their usage was sent as something not a count.
            "dashboards_with_unreadable_usage": int(usage_unreadable(dashboards).sum()),
            "as_of": now.isoformat(timespec="seconds"),
            "per_integration": dg.MetadataValue.md(markdown_preview(summary, rows=50)),
        },
        check_results=[stale_share_check(len(stale), len(dashboards))],
    )


@dg.asset(
    key=["reports", "adoption"],
    metadata=definition_metadata("reports/adoption"),
    ins=ADOPTION_INS,
    description=(
        "Question-answering adoption per user: replies written, replies accepted, "
        "acceptance rate and the latest reply."
    ),
    group_name=REPORTS_GROUP,
    kinds={"pandas", "duckdb"},
    io_manager_key=WAREHOUSE_IO,
)
def adoption_report(
    replies: pd.DataFrame, questions: pd.DataFrame, users: pd.DataFrame
) -> dg.MaterializeResult[pd.DataFrame]:
    """Returns one row per user who wrote a reply, most replies first."""
    report = adoption_rows(replies, questions, users)
    figures = adoption_figures(replies, questions)
    return dg.MaterializeResult(
        value=report,
        metadata={
            **frame_metadata(report, "reports/adoption"),
            "repliers": len(report),
            **figures,
            "acceptance_rate": dg.MetadataValue.float(figures["acceptance_rate"]),
        },
    )


@dg.asset(
    key=["reports", "adoption_monthly"],
    ins=ADOPTION_INS,
    partitions_def=reply_months,
    metadata=definition_metadata("reports/adoption_monthly", partition_expr="month"),
    description=(
        "Question-answering adoption per user and month of the replies' created_at; "
        "backfill past months from the asset's page."
    ),
    group_name=REPORTS_GROUP,
    kinds={"pandas", "duckdb"},
    io_manager_key=WAREHOUSE_IO,
)
def adoption_monthly_report(
    context: dg.AssetExecutionContext,
    replies: pd.DataFrame,
    questions: pd.DataFrame,
    users: pd.DataFrame,
) -> dg.MaterializeResult[pd.DataFrame]:
    """Returns the month's adoption, one row per user who replied in it."""
    window = context.partition_time_window
    report = monthly_adoption(replies, questions, users, window.start, window.end)
    figures = adoption_figures(replies_created_in(replies, window.start, window.end), questions)
    return dg.MaterializeResult(
        value=report,
        metadata={
            **frame_metadata(report, "reports/adoption_monthly"),
            "month": context.partition_key,
            "repliers": len(report),
            **figures,
            "acceptance_rate": dg.MetadataValue.float(figures["acceptance_rate"]),
        },
    )


report_assets = [stale_dashboards_report, adoption_report, adoption_monthly_report]
