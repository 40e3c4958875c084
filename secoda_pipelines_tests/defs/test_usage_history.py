"""`secoda/dashboard_usage` against the sandbox: a history of daily snapshots, not partitioned
by day, in DuckDB and in PostgreSQL alike; and the stale report reading it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import psycopg
import pytest

from secoda_pipelines.defs.assets import usage
from secoda_pipelines.defs.assets.catalog import catalog_assets, columns, tables
from secoda_pipelines.defs.assets.reports import adoption_monthly_report, report_assets
from secoda_pipelines.defs.assets.usage import dashboard_usage, utc_today
from secoda_pipelines.defs.refresh import catalog_refresh_job
from secoda_pipelines.sandbox import Sandbox
from secoda_pipelines.store import WarehouseIOManager, WarehouseResource, choose_warehouse
from secoda_pipelines_tests.helpers import api_rows, independent_stale, is_api_null, query
from secoda_pipelines_tests.sandbox.helpers import update_object

ALL_ASSETS = [*catalog_assets, dashboard_usage, *report_assets]
REFRESH = dg.AssetSelection.all() - dg.AssetSelection.assets(
    tables, columns, adoption_monthly_report
)
USAGE = dg.AssetSelection.assets(dashboard_usage)
PAST_COLUMNS = ["snapshot_date", "dashboard_id", "external_usage", "internal_usage"]


def materialize(resources, instance, selection=REFRESH, **kwargs):
    return dg.materialize(
        ALL_ASSETS, selection=selection, resources=resources, instance=instance, **kwargs
    )


def count(value) -> int:
    return 0 if is_api_null(value) else int(value)


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_todays_snapshot_holds_every_dashboards_counts(sandbox, resources, instance, warehouse):
    assert materialize(resources, instance, USAGE).success
    stored = query(warehouse, "SELECT * FROM secoda.dashboard_usage").set_index("dashboard_id")
    dashboards = api_rows(sandbox, "dashboard/dashboards/")
    assert sorted(stored.index) == sorted(d["id"] for d in dashboards)
    assert (stored["snapshot_date"] == day(utc_today())).all()
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
    assert event.dagster_event.partition is None, "not partitioned: no day to pick"
    metadata = event.asset_materialization.metadata
    assert metadata["snapshot_date"].value == utc_today()
    assert metadata["dashboards"].value == len(dashboards)
    viewed = sum(
        1 for d in dashboards if count(d["external_usage"]) > 0 or count(d["internal_usage"]) > 0
    )
    assert metadata["dashboards_viewed"].value == viewed


# ---- the history, in both warehouses ------------------------------------------------------


def _insert_duckdb(target: str, frame: pd.DataFrame) -> None:
    with duckdb.connect(target) as connection:
        connection.register("past", frame)
        connection.execute(
            f"INSERT INTO secoda.dashboard_usage BY NAME SELECT {', '.join(PAST_COLUMNS)} FROM past"
        )


def _insert_postgres(target: str, frame: pd.DataFrame) -> None:
    with psycopg.connect(target, autocommit=True) as connection:
        connection.cursor().executemany(
            f"INSERT INTO secoda.dashboard_usage ({', '.join(PAST_COLUMNS)}) "
            "VALUES (%s, %s, %s, %s)",
            [tuple(None if pd.isna(v) else v for v in row) for row in frame.values.tolist()],
        )


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(
    request: pytest.FixtureRequest, warehouse: Path
) -> tuple[WarehouseIOManager, Callable[[pd.DataFrame], None], Callable[[], pd.DataFrame]]:
    """Returns (the IO manager of a fresh warehouse, a function inserting rows into its
    secoda.dashboard_usage directly, a function reading that table back)."""
    if request.param == "duckdb":
        io = WarehouseIOManager(warehouse=WarehouseResource(database=str(warehouse)))

        def insert(frame: pd.DataFrame) -> None:
            _insert_duckdb(str(warehouse), frame)

        return (
            io,
            insert,
            lambda: choose_warehouse(None, str(warehouse)).read_table("secoda", "dashboard_usage"),
        )
    url = request.getfixturevalue("make_warehouse_url")()

    def insert_pg(frame: pd.DataFrame) -> None:
        _insert_postgres(url, frame)

    return (
        WarehouseIOManager(warehouse=WarehouseResource(warehouse_url=url)),
        insert_pg,
        lambda: choose_warehouse(url).read_table("secoda", "dashboard_usage"),
    )


def test_a_snapshot_replaces_todays_rows_and_keeps_every_earlier_day(
    sandbox: Sandbox, resources: dict[str, Any], instance, backend
) -> None:
    io, insert, stored = backend
    resources = {**resources, "warehouse_io": io}
    dashboards = api_rows(sandbox, "dashboard/dashboards/")
    first, second = dashboards[0]["id"], dashboards[1]["id"]
    assert materialize(resources, instance, USAGE).success  # the first one creates the table
    today = day(utc_today())
    past = pd.DataFrame(
        {
            "snapshot_date": [today - pd.Timedelta(days=n) for n in (2, 2, 1)],
            "dashboard_id": [first, second, first],
            "external_usage": [5, 0, 7],
            "internal_usage": [None, 1, 0],
        }
    )
    insert(past)
    update_object(sandbox, "dashboard/dashboards/", first, external_usage=4321)

    assert materialize(resources, instance, USAGE).success  # today's snapshot, taken again

    history = stored()
    history["snapshot_date"] = pd.to_datetime(history["snapshot_date"], utc=True)
    todays = history[history["snapshot_date"] == today]
    assert sorted(todays["dashboard_id"]) == sorted(d["id"] for d in dashboards), "once each"
    assert todays.set_index("dashboard_id").loc[first, "external_usage"] == 4321
    earlier = history[history["snapshot_date"] < today].sort_values(
        ["snapshot_date", "dashboard_id"]
    )
    expected = past.sort_values(["snapshot_date", "dashboard_id"])
    assert earlier["dashboard_id"].tolist() == expected["dashboard_id"].tolist()
    assert earlier["snapshot_date"].tolist() == expected["snapshot_date"].tolist()
    assert earlier["external_usage"].tolist() == expected["external_usage"].tolist()
    assert [None if pd.isna(v) else v for v in earlier["internal_usage"]] == [
        None if pd.isna(v) else v for v in expected["internal_usage"]
    ]
    assert len(history) == len(dashboards) + len(past)


def test_the_refresh_job_runs_without_a_partition_and_takes_the_day_it_runs_on(
    sandbox, resources, instance, warehouse, monkeypatch
) -> None:
    """Launched from the launchpad with no partition (there is none to pick), and run again
    as if queued or retried past midnight: each run takes the snapshot of its own day."""
    job = dg.Definitions(
        assets=ALL_ASSETS, jobs=[catalog_refresh_job], resources=resources
    ).resolve_job_def(catalog_refresh_job.name)
    assert job.partitions_def is None

    assert job.execute_in_process(instance=instance).success
    today = utc_today()
    tomorrow = (day(today) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    monkeypatch.setattr(usage, "utc_today", lambda: tomorrow)
    assert job.execute_in_process(instance=instance).success

    days = query(
        warehouse,
        "SELECT snapshot_date, count(*) AS n FROM secoda.dashboard_usage GROUP BY 1 ORDER BY 1",
    )
    dashboards = len(api_rows(sandbox, "dashboard/dashboards/"))
    assert days["snapshot_date"].tolist() == [day(today), day(tomorrow)]
    assert days["n"].tolist() == [dashboards, dashboards]


def _store_past_snapshots(warehouse, rows: list[dict]) -> None:
    """Inserts snapshots as if they had been taken on their days."""
    _insert_duckdb(str(warehouse), pd.DataFrame(rows, columns=PAST_COLUMNS))


@pytest.mark.slow
def test_the_stale_report_reads_ninety_days_of_snapshots(sandbox, resources, instance, warehouse):
    now = datetime.now(UTC)
    dashboards = api_rows(sandbox, "dashboard/dashboards/")
    stale_today = independent_stale(dashboards, now)
    viewed_once, never_viewed, *_ = sorted(stale_today)
    assert materialize(resources, instance).success  # today's snapshot: day 1 of 90
    today = day(utc_today())
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
    assert metadata["dashboards_with_unreadable_usage"].value == 0


def test_usage_the_api_sends_as_text_is_stored_and_only_counts_make_a_dashboard_stale(
    sandbox, resources, instance, warehouse
):
    """Usage that is not a count ("n/a", "") is unknown: stored as sent beside the null
    count, never taken for "no views"; a count sent as text is the count."""
    now = datetime.now(UTC)
    dashboards = api_rows(sandbox, "dashboard/dashboards/")
    stale = sorted(independent_stale(dashboards, now))
    as_text, not_a_count, empty = stale[:3]
    update_object(sandbox, "dashboard/dashboards/", as_text, external_usage="0")
    update_object(sandbox, "dashboard/dashboards/", not_a_count, external_usage="n/a")
    update_object(sandbox, "dashboard/dashboards/", empty, internal_usage="")

    assert materialize(resources, instance).success

    report = query(warehouse, "SELECT id FROM reports.stale_dashboards")["id"].tolist()
    assert as_text in report
    assert not_a_count not in report and empty not in report
    assert sorted(report) == sorted(set(stale) - {not_a_count, empty})
    stored = query(
        warehouse,
        "SELECT id, external_usage, external_usage_unreadable, internal_usage_unreadable "
        "FROM secoda.dashboards",
    ).set_index("id")
    assert stored.loc[not_a_count, "external_usage_unreadable"] == "n/a"
    assert pd.isna(stored.loc[not_a_count, "external_usage"])
    assert stored.loc[empty, "internal_usage_unreadable"] == ""
    assert stored.loc[as_text, "external_usage"] == 0
    metadata = instance.get_latest_materialization_event(
        dg.AssetKey(["reports", "stale_dashboards"])
    ).asset_materialization.metadata
    assert metadata["dashboards_with_unreadable_usage"].value == 2
