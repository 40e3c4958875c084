"""Report rule: the dashboard usage history, daily snapshots of the API's usage counts,
and what they show.

Secoda's usage fields are a snapshot (SPEC A): ``external_usage`` counts the source's last
24 hours at its last sync, ``internal_usage`` Secoda's last 90 days. A history exists only
where one is recorded, one snapshot per UTC day (``secoda/dashboard_usage``). These
functions build a snapshot from the dashboards frame and summarise a history per
dashboard for the stale rule.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from secoda_pipelines.catalog.frames.convert import (
    TIMESTAMP_DTYPE,
    list_lengths,
    to_id,
    to_int,
    to_text,
    to_timestamp,
)

# A dashboard's usage as the API gives it now: what a snapshot keeps and the stale rule reads.
USAGE_FIGURES = (
    "external_usage",
    "internal_usage",
    "external_users_count",
    "internal_users_count",
    "external_updated_at",
)
HISTORY_COLUMNS = (
    "dashboard_id",
    "snapshot_date",
    "external_usage",
    "internal_usage",
)
SUMMARY_COLUMNS = ("dashboard_id", "snapshots", "last_viewed_on", "days_without_views")


def day_start(day: date | str) -> pd.Timestamp:
    """Returns midnight UTC of `day` (a date or ``YYYY-MM-DD``).

    Raises:
        ValueError: `day` is text that is not a date.
    """
    return pd.Timestamp(day).normalize().tz_localize("UTC")


def usage_snapshot(
    dashboards: pd.DataFrame, day: date | str, taken_at: pd.Timestamp
) -> pd.DataFrame:
    """Returns ``secoda/dashboard_usage``'s rows for `day`: one per dashboard of
    `dashboards` (a frame of DASHBOARDS_SCHEMA), with its usage counts as the API gave
    them when the snapshot was taken.

    Columns: snapshot_date (midnight UTC of `day`), dashboard_id, title, integration_id
    (string), external_usage, internal_usage (Int64), external_users_count,
    internal_users_count (int64; a null list counts 0), external_updated_at, taken_at
    (datetime64[ns, UTC]).

    Raises:
        KeyError: `dashboards` lacks one of those columns.
    """
    frame = dashboards.reset_index(drop=True)
    count = len(frame)
    names = pd.DataFrame(
        {
            "snapshot_date": pd.Series([day_start(day)] * count, dtype=TIMESTAMP_DTYPE),
            "dashboard_id": to_id(frame["id"]),
            "title": to_text(frame["title"]),
            "integration_id": to_id(frame["integration_id"]),
        }
    )
    snapshot = pd.concat([names, usage_figures(frame)], axis=1)
    snapshot["taken_at"] = pd.Series([taken_at] * count, dtype=TIMESTAMP_DTYPE)
    return snapshot


def usage_figures(dashboards: pd.DataFrame) -> pd.DataFrame:
    """Returns the dashboards' USAGE_FIGURES, coerced, with a fresh 0..n-1 index:
    external_usage, internal_usage (Int64), external_users_count, internal_users_count
    (int64; a null list counts 0), external_updated_at (datetime64[ns, UTC]).

    Raises:
        KeyError: `dashboards` lacks external_usage, internal_usage, external_users,
            internal_users or external_updated_at.
    """
    frame = dashboards.reset_index(drop=True)
    return pd.DataFrame(
        {
            "external_usage": to_int(frame["external_usage"]),
            "internal_usage": to_int(frame["internal_usage"]),
            "external_users_count": list_lengths(frame["external_users"]),
            "internal_users_count": list_lengths(frame["internal_users"]),
            "external_updated_at": to_timestamp(frame["external_updated_at"]),
        }
    )


def _viewed(history: pd.DataFrame) -> pd.Series:
    """Returns, per snapshot row, whether it shows views (either count above 0)."""
    external = to_int(history["external_usage"]).fillna(0) > 0
    internal = to_int(history["internal_usage"]).fillna(0) > 0
    return (external | internal).astype(bool)


def viewed_rows(history: pd.DataFrame) -> pd.DataFrame:
    """Returns one row per dashboard and snapshot day of `history` (a day snapshotted twice
    is one day, viewed if either snapshot was): dashboard_id (string), snapshot_date (the
    day, naive midnight), viewed (bool: either count above 0). Rows without an id or a date
    are dropped.

    Raises:
        KeyError: `history` lacks one of HISTORY_COLUMNS.
    """
    rows = pd.DataFrame(
        {
            "dashboard_id": to_id(history["dashboard_id"]),
            "snapshot_date": to_timestamp(history["snapshot_date"]).dt.normalize(),
            "viewed": _viewed(history),
        }
    ).dropna(subset=["dashboard_id", "snapshot_date"])
    rows["snapshot_date"] = rows["snapshot_date"].dt.tz_localize(None)
    days = rows.groupby(["dashboard_id", "snapshot_date"], sort=False)["viewed"].any()
    return days.reset_index()


def usage_summary(history: pd.DataFrame) -> pd.DataFrame:
    """Returns one row per dashboard in `history` (``secoda/dashboard_usage`` rows, any
    number of days, any order; a day snapshotted twice counts once).

    Columns: dashboard_id (string); snapshots (int64, days with a snapshot);
    last_viewed_on (datetime64[ns, UTC], the latest snapshot_date whose external_usage or
    internal_usage is above 0; null when none is); days_without_views (Int64: the number of
    consecutive snapshots, ending at the dashboard's latest, in which both counts are null
    or 0, i.e. its snapshots after last_viewed_on, all of them when never viewed).

    Raises:
        KeyError: `history` lacks one of HISTORY_COLUMNS.
    """
    if history.empty:
        return pd.DataFrame(
            {
                "dashboard_id": pd.Series(dtype="string"),
                "snapshots": pd.Series(dtype="int64"),
                "last_viewed_on": pd.Series(dtype=TIMESTAMP_DTYPE),
                "days_without_views": pd.Series(dtype="Int64"),
            }
        )
    rows = pd.DataFrame(
        {
            "dashboard_id": to_id(history["dashboard_id"]),
            "snapshot_date": to_timestamp(history["snapshot_date"]).dt.normalize(),
            "viewed": _viewed(history),
        }
    ).dropna(subset=["dashboard_id", "snapshot_date"])
    # A day snapshotted twice (a partition re-taken) is one day; viewed if either was.
    days = rows.groupby(["dashboard_id", "snapshot_date"], sort=False)["viewed"].any()
    days = days.reset_index()
    days["viewed_on"] = days["snapshot_date"].where(days["viewed"])
    per_dashboard = days.groupby("dashboard_id", sort=True).agg(
        snapshots=("snapshot_date", "size"), last_viewed_on=("viewed_on", "max")
    )
    last_view = days["dashboard_id"].map(per_dashboard["last_viewed_on"])
    unviewed = days[last_view.isna() | (days["snapshot_date"] > last_view)]
    streak = unviewed.groupby("dashboard_id").size()
    summary = per_dashboard.reset_index()
    summary["days_without_views"] = (
        summary["dashboard_id"].map(streak).fillna(0).astype("int64").astype("Int64")
    )
    return pd.DataFrame(
        {
            "dashboard_id": summary["dashboard_id"].astype("string"),
            "snapshots": summary["snapshots"].astype("int64"),
            "last_viewed_on": summary["last_viewed_on"].astype(TIMESTAMP_DTYPE),
            "days_without_views": summary["days_without_views"],
        }
    ).loc[:, list(SUMMARY_COLUMNS)]
