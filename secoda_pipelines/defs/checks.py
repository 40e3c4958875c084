"""Asset check rules, as plain functions of a frame so tests call them directly."""

from __future__ import annotations

import dagster as dg
import pandas as pd

IDS_CHECK = "ids_unique_and_present"
STALE_SHARE_CHECK = "at_most_half_of_dashboards_stale"

IDS_CHECK_DESCRIPTION = (
    "Every row has an id and no id repeats. Fails (ERROR) when an id is null or listed "
    "twice: the listing shifted while it was paged (someone edited between two pages) or "
    "Secoda sent a row without an id; the result's examples name them. The rows are stored "
    "all the same, so reports built on them could count a row twice: materialize again."
)
STALE_SHARE_DESCRIPTION = (
    "At most half of the dashboards are stale. A WARN, never an error, when more are: "
    "usually the BI tool's usage sync stopped (external_usage empty in secoda/dashboards) "
    "or stale_after_days is shorter than how often the dashboards are used. Look at the "
    "list before flagging them with flag_stale_dashboards."
)


def ids_check(frame: pd.DataFrame, column: str = "id") -> dg.AssetCheckResult:
    """Returns a failing (ERROR) result when any id is null or repeated, naming a few."""
    ids = frame[column]
    missing = int(ids.isna().sum())
    repeated = ids[ids.duplicated(keep=False) & ids.notna()].unique().tolist()
    return dg.AssetCheckResult(
        check_name=IDS_CHECK,
        passed=missing == 0 and not repeated,
        metadata={"null_ids": missing, "repeated_ids": len(repeated), "examples": repeated[:5]},
    )


def stale_share_check(stale: int, dashboards: int) -> dg.AssetCheckResult:
    """Returns a WARN (never ERROR) result that fails when more than half are stale."""
    share = stale / dashboards if dashboards else 0.0
    return dg.AssetCheckResult(
        check_name=STALE_SHARE_CHECK,
        passed=share <= 0.5,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"stale": stale, "dashboards": dashboards, "stale_share": round(share, 4)},
        description=f"{stale} of {dashboards} dashboards are stale",
    )
