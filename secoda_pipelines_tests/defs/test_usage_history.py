"""`secoda/dashboard_usage` against the sandbox, and the stale report reading its history."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import duckdb
import pandas as pd

from secoda_pipelines.defs.assets.catalog import catalog_assets, columns, tables
from secoda_pipelines.defs.assets.reports import adoption_monthly_report, report_assets
from secoda_pipelines.defs.assets.usage import dashboard_usage, utc_today
from secoda_pipelines_tests.helpers import api_rows, independent_stale, is_api_null, query

ALL_ASSETS = [*catalog_assets, dashboard_usage, *report_assets]
REFRESH = dg.AssetSelection.all() - dg.AssetSelection.assets(
    tables, columns, adoption_monthly_report
)
USAGE = dg.AssetSelection.assets(dashboard_usage)


def materialize(resources, instance, selection=REFRESH, partition_key=None, **kwargs):
    return dg.materialize(
        ALL_ASSETS,
        selection=selection,
        resources=resources,
        instance=instance,
        partition_key=partition_key or utc_today(),
        **kwargs,
    )


def count(value) -> int:
    return 0 if is_api_null(value) else int(value)


def test_todays_snapshot_holds_every_dashboards_counts(sandbox, resources, instance, warehouse):
    assert materialize(resources, instance, USAGE).success
    stored = query(warehouse, "SELECT * FROM secoda.dashboard_usage").set_index("dashboard_id")
    dashboards = api_rows(sandbox, "dashboard/dashboards/")
    assert sorted(stored.index) == sorted(d["id"] for d in dashboards)
    today = pd.Timestamp(utc_today(), tz="UTC")
    assert (stored["snapshot_date"] == today).all()
    for d in dashboards:
        row = stored.loc[d["id"]]
        assert row["title"] == d["title"]
        assert row["integration_id"] == d["integration"]
        for field in ("external_usage", "internal_usage"):
            sent = None if is_api_null(d[field]) else d[field]
            assert (pd.isna(row[field]) and sent is None) or row[field] == sent, field
        for field in ("external_users", "internal_users"):
            assert row[f"{field}_count"] == len(d[field] or []), field
    event = instance.get_latest_materialization_event(dashboard_usage.key)
    metadata = event.asset_materialization.metadata
    assert metadata["snapshot_date"].value == utc_today()
    assert metadata["dashboards"].value == len(dashboards)
    viewed = sum(
        1 for d in dashboards if count(d["external_usage"]) > 0 or count(d["internal_usage"]) > 0
    )
    assert metadata["dashboards_viewed"].value == viewed


def test_a_past_day_cannot_be_taken_and_nothing_is_stored(sandbox, resources, instance, warehouse):
    assert materialize(resources, instance, USAGE).success
    sandbox.clear_log()
    result = materialize(
        resources, instance, USAGE, partition_key="2026-01-15", raise_on_error=False
    )
    assert not result.success
    [failure] = result.get_step_failure_events()
    message = failure.step_failure_data.user_failure_data.description
    assert "partition 2026-01-15 is a past day" in message
    assert f"Only today's partition, {utc_today()} (UTC), can be materialized" in message
    assert "nothing was stored for 2026-01-15" in message
    assert sandbox.requests == [], "a past day never reads the API"
    days = query(warehouse, "SELECT DISTINCT snapshot_date FROM secoda.dashboard_usage")
    assert days["snapshot_date"].tolist() == [pd.Timestamp(utc_today(), tz="UTC")]
    # Not retried: the same day fails the same way every time.
    retries = [e for e in instance.all_logs(result.run_id) if "RETRY" in str(e.dagster_event)]
    assert retries == []


def _store_past_snapshots(warehouse, rows: list[dict]) -> None:
    """Inserts snapshots as if they had been taken on their days."""
    frame = pd.DataFrame(rows)
    with duckdb.connect(str(warehouse)) as connection:
        connection.register("past", frame)
        connection.execute(
            "INSERT INTO secoda.dashboard_usage BY NAME "
            "SELECT snapshot_date, dashboard_id, external_usage, internal_usage FROM past"
        )


def test_the_stale_report_reads_ninety_days_of_snapshots(sandbox, resources, instance, warehouse):
    now = datetime.now(UTC)
    dashboards = api_rows(sandbox, "dashboard/dashboards/")
    stale_today = independent_stale(dashboards, now)
    viewed_once, never_viewed, *_ = sorted(stale_today)
    assert materialize(resources, instance).success  # today's snapshot: day 1 of 90
    today = pd.Timestamp(utc_today(), tz="UTC")
    past = []
    for ago in range(1, 90):
        for dashboard_id in (viewed_once, never_viewed):
            views = 2 if (dashboard_id == viewed_once and ago == 40) else 0
            past.append(
                {
                    "snapshot_date": today - pd.Timedelta(days=ago),
                    "dashboard_id": dashboard_id,
                    "external_usage": views,
                    "internal_usage": 0,
                }
            )
    _store_past_snapshots(warehouse, past)
    assert materialize(resources, instance).success  # today's snapshot taken again, then the rule
    report = query(warehouse, "SELECT * FROM reports.stale_dashboards").set_index("id")
    assert viewed_once not in report.index, "viewed 40 days ago: not stale"
    assert sorted(report.index) == sorted(set(stale_today) - {viewed_once})
    assert report.loc[never_viewed, "days_without_views"] == 90
    others = report.drop(index=never_viewed)
    assert (others["days_without_views"] == 1).all(), "one snapshot each: today's"
    metadata = instance.get_latest_materialization_event(
        dg.AssetKey(["reports", "stale_dashboards"])
    ).asset_materialization.metadata
    assert metadata["stale_dashboards"].value == len(report)
    assert metadata["dashboards"].value == len(dashboards)
    assert isinstance(metadata["stale_share"], dg.FloatMetadataValue)
    assert metadata["stale_share"].value == round(len(report) / len(dashboards), 4)
    assert metadata["usage_snapshot_days"].value == 90
