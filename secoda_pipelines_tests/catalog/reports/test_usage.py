"""Usage history and the stale rule with snapshots, against rows worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from secoda_pipelines.catalog.reports.stale import stale_dashboards
from secoda_pipelines.catalog.reports.usage import usage_snapshot, usage_summary

NOW = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
TODAY = pd.Timestamp("2026-12-02", tz="UTC")


def unused(dashboard_id: str, updated: str | None = None) -> dict:
    """Returns a dashboards-frame row that today's counts alone call stale."""
    return {
        "id": dashboard_id,
        "title": dashboard_id.title(),
        "integration_id": "tableau",
        "external_usage": 0,
        "internal_usage": None,
        "external_users": None,
        "internal_users": "[]",
        "external_updated_at": updated,
    }


def history(views_by_dashboard: dict[str, dict[int, int]], days: int) -> pd.DataFrame:
    """Returns `days` daily snapshots ending today; views_by_dashboard[id][days_ago] = views
    (external_usage) on that day, 0 on every other."""
    rows = []
    for dashboard_id, views in views_by_dashboard.items():
        for ago in range(days):
            rows.append(
                {
                    "dashboard_id": dashboard_id,
                    "snapshot_date": TODAY - pd.Timedelta(days=ago),
                    "external_usage": views.get(ago, 0),
                    "internal_usage": None if ago % 2 else 0,
                }
            )
    return pd.DataFrame(rows)


def test_viewed_once_forty_days_ago_in_ninety_snapshots_is_not_stale():
    dashboards = pd.DataFrame([unused("viewed_once"), unused("never_viewed")])
    snapshots = history({"viewed_once": {40: 3}, "never_viewed": {}}, days=90)
    stale = stale_dashboards(dashboards, NOW, stale_after_days=90, history=snapshots)
    assert stale["id"].tolist() == ["never_viewed"]
    assert stale["days_without_views"].tolist() == [90]
    assert stale["last_viewed_on"].isna().all()
    # Without the history, today's counts alone call both stale.
    assert sorted(stale_dashboards(dashboards, NOW, 90)["id"]) == ["never_viewed", "viewed_once"]


def test_a_view_older_than_the_window_does_not_save_a_dashboard():
    dashboards = pd.DataFrame([unused("a")])
    snapshots = history({"a": {90: 1}}, days=120)  # the 91st day back: outside 90 days
    stale = stale_dashboards(dashboards, NOW, stale_after_days=90, history=snapshots)
    assert stale["id"].tolist() == ["a"]
    assert stale["days_without_views"].tolist() == [90]  # the 90 snapshots after the view
    assert stale["last_viewed_on"].tolist() == [TODAY - pd.Timedelta(days=90)]
    inside = history({"a": {89: 1}}, days=120)  # the 90th day back, today being the first
    assert stale_dashboards(dashboards, NOW, stale_after_days=90, history=inside).empty


def test_days_without_views_counts_consecutive_snapshots_ending_at_the_latest():
    snapshots = pd.DataFrame(
        [
            # b: viewed on the 1st and the 3rd, then 2 snapshots without views.
            {"dashboard_id": "b", "snapshot_date": "2026-11-01", "external_usage": 4},
            {"dashboard_id": "b", "snapshot_date": "2026-11-02", "external_usage": 0},
            {"dashboard_id": "b", "snapshot_date": "2026-11-03", "internal_usage": 2},
            {"dashboard_id": "b", "snapshot_date": "2026-11-04"},
            {"dashboard_id": "b", "snapshot_date": "2026-11-06", "external_usage": 0},
            # c: viewed in its latest snapshot.
            {"dashboard_id": "c", "snapshot_date": "2026-11-05", "external_usage": 0},
            {"dashboard_id": "c", "snapshot_date": "2026-11-06", "external_usage": 1},
            # d: the same day taken twice, once with views: that day shows views.
            {"dashboard_id": "d", "snapshot_date": "2026-11-06", "external_usage": 0},
            {"dashboard_id": "d", "snapshot_date": "2026-11-06", "external_usage": 5},
        ]
    )
    summary = usage_summary(snapshots).set_index("dashboard_id")
    assert summary.loc["b", "days_without_views"] == 2
    assert summary.loc["b", "last_viewed_on"] == pd.Timestamp("2026-11-03", tz="UTC")
    assert summary.loc["b", "snapshots"] == 5
    assert summary.loc["c", "days_without_views"] == 0
    assert summary.loc["d", "days_without_views"] == 0
    assert summary.loc["d", "snapshots"] == 1


def test_a_dashboard_without_snapshots_has_null_days_without_views():
    dashboards = pd.DataFrame([unused("new"), unused("old")])
    stale = stale_dashboards(dashboards, NOW, 90, history=history({"old": {}}, days=3))
    by_id = stale.set_index("id")["days_without_views"]
    assert pd.isna(by_id["new"]) and by_id["old"] == 3


def test_history_never_makes_a_dashboard_with_viewers_stale():
    used = {**unused("has_viewers"), "external_users": '["jdoe"]'}
    stale = stale_dashboards(
        pd.DataFrame([used]), NOW, 90, history=history({"has_viewers": {}}, days=90)
    )
    assert stale.empty


def test_snapshot_rows_hold_the_days_counts():
    dashboards = pd.DataFrame(
        [
            {**unused("a"), "external_usage": "12", "external_users": '["x", "y"]'},
            {**unused("b", "2026-11-30T08:00:00Z"), "internal_usage": 3},
        ]
    )
    taken = pd.Timestamp("2026-12-02T05:00:07Z")
    snapshot = usage_snapshot(dashboards, "2026-12-02", taken)
    assert snapshot.to_dict("records") == [
        {
            "snapshot_date": TODAY,
            "dashboard_id": "a",
            "title": "A",
            "integration_id": "tableau",
            "external_usage": 12,
            "internal_usage": None,
            "external_users_count": 2,
            "internal_users_count": 0,
            "external_updated_at": pd.NaT,
            "taken_at": taken,
        },
        {
            "snapshot_date": TODAY,
            "dashboard_id": "b",
            "title": "B",
            "integration_id": "tableau",
            "external_usage": 0,
            "internal_usage": 3,
            "external_users_count": 0,
            "internal_users_count": 0,
            "external_updated_at": pd.Timestamp("2026-11-30T08:00:00Z"),
            "taken_at": taken,
        },
    ]


def test_a_bad_snapshot_day_is_refused():
    with pytest.raises(ValueError):
        usage_snapshot(pd.DataFrame([unused("a")]), "yesterday", pd.Timestamp.now(tz="UTC"))
