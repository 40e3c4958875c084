"""Report assets, computed from the catalog assets in DuckDB (schema `reports`)."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd
from pydantic import Field

from secoda_pipelines.catalog import adoption as adoption_rows
from secoda_pipelines.catalog import markdown_preview, stale_dashboards, stale_summary
from secoda_pipelines.defs.checks import STALE_SHARE_CHECK, stale_share_check
from secoda_pipelines.defs.metadata import frame_metadata
from secoda_pipelines.defs.resources import WAREHOUSE_IO

REPORTS_GROUP = "reports"
STALE_KEY = dg.AssetKey(["reports", "stale_dashboards"])


class StaleDashboardsConfig(dg.Config):
    """Run config of `reports/stale_dashboards`."""

    stale_after_days: int = Field(
        default=90,
        ge=0,
        description="A dashboard not updated in its source for this many days may be stale.",
    )


@dg.asset(
    key=STALE_KEY,
    ins={"dashboards": dg.AssetIn(key=["secoda", "dashboards"])},
    description=(
        "Dashboards nobody uses: no views or viewers in the source tool or in Secoda, and "
        "no update in the source for `stale_after_days` days."
    ),
    group_name=REPORTS_GROUP,
    kinds={"pandas", "duckdb"},
    io_manager_key=WAREHOUSE_IO,
    check_specs=[dg.AssetCheckSpec(STALE_SHARE_CHECK, asset=STALE_KEY)],
)
def stale_dashboards_report(config: StaleDashboardsConfig, dashboards: pd.DataFrame):
    # No return annotation: with check_specs, Dagster would read it as every output's type.
    """Returns the stale dashboards (MaterializeResult), with per-integration counts."""
    now = datetime.now(UTC)
    stale = stale_dashboards(dashboards, now=now, stale_after_days=config.stale_after_days)
    summary = stale_summary(stale, dashboards)
    return dg.MaterializeResult(
        value=stale,
        metadata={
            **frame_metadata(stale),
            "stale_dashboards": len(stale),
            "dashboards": len(dashboards),
            "stale_after_days": config.stale_after_days,
            "as_of": now.isoformat(timespec="seconds"),
            "per_integration": dg.MetadataValue.md(markdown_preview(summary, rows=50)),
        },
        check_results=[stale_share_check(len(stale), len(dashboards))],
    )


@dg.asset(
    key=["reports", "adoption"],
    ins={
        "replies": dg.AssetIn(key=["secoda", "question_replies"]),
        "questions": dg.AssetIn(key=["secoda", "questions"]),
        "users": dg.AssetIn(key=["secoda", "users"]),
    },
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
    return dg.MaterializeResult(
        value=report,
        metadata={**frame_metadata(report), "repliers": len(report), "replies": len(replies)},
    )


report_assets = [stale_dashboards_report, adoption_report]
