"""`check_downstream_impact` on the demo workspace, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pytest
from dagster._core.errors import DagsterInvalidConfigError

from secoda_pipelines.defs.assets.usage import dashboard_usage
from secoda_pipelines.defs.jobs.check_downstream_impact import check_downstream_impact
from secoda_pipelines_tests.helpers import (
    dashboard_id,
    failure_message,
    job_resources,
    output_metadata,
    query,
    report_rows,
    run_job,
    table_id,
)
from secoda_pipelines_tests.sandbox.helpers import insert_object, update_object


def requests_of(sandbox) -> list[tuple[str, str, dict]]:
    return [(r.method, r.path, r.query) for r in sandbox.requests]


def run(sandbox, warehouse, instance, **config):
    return run_job(check_downstream_impact, sandbox, warehouse, instance, **config)


def test_one_level_by_name_sends_exactly_these_requests_and_fails(sandbox, warehouse, instance):
    page_views = table_id(sandbox, "product.events.page_views")
    staged = table_id(sandbox, "product.events.stg_page_views")
    sandbox.clear_log()

    result = run(sandbox, warehouse, instance, tables=["PRODUCT.events.page_views"])

    assert not result.success
    assert failure_message(result) == (
        "Something is downstream: 1 downstream of product.events.page_views: "
        f"product.events.stg_page_views ({staged}, depth 1)"
    )
    assert requests_of(sandbox) == [
        ("GET", "table/tables/", {"page": "1"}),
        ("GET", "table/tables/", {"page": "2"}),
        ("GET", "lineage/manual/", {"from_entity": page_views, "page": "1"}),
        ("GET", "lineage/manual/", {"to_entity": page_views, "page": "1"}),
    ]
    assert sandbox.writes() == []
    report = query(warehouse, "SELECT * FROM reports.downstream_impact")
    assert report[
        ["table", "table_id", "resource_id", "title", "entity_type", "depth", "path"]
    ].to_dict("records") == [
        {
            "table": "PRODUCT.events.page_views",
            "table_id": page_views,
            "resource_id": staged,
            "title": "stg_page_views",
            "entity_type": "table",
            "depth": 1,
            "path": "product.events.page_views > product.events.stg_page_views",
        }
    ]
    assert report.run_id.tolist() == [result.run_id] and not report.dry_run[0]


def test_all_levels_of_a_chain_end_at_the_dashboard(sandbox, warehouse, instance):
    chain = [
        table_id(sandbox, n)
        for n in (
            "product.events.page_views",
            "product.events.stg_page_views",
            "product.marts.fct_sessions",
            "product.marts.daily_active_users",
        )
    ]
    dashboard = dashboard_id(sandbox, "Product Engagement")
    sandbox.clear_log()

    result = run(sandbox, warehouse, instance, tables=[chain[0]], depth=0, fail_on_downstream=False)

    assert result.success
    frame = result.output_for_node("find_downstream_impact")
    assert frame.resource_id.tolist() == [*chain[1:], dashboard]
    assert frame.depth.tolist() == [1, 2, 3, 4]
    assert frame.entity_type.tolist() == ["table", "table", "table", "dashboard"]
    assert frame.path.iloc[-1] == (
        "product.events.page_views > product.events.stg_page_views > product.marts.fct_sessions"
        " > product.marts.daily_active_users > Product Engagement"
    )
    # One listing per end per level, five levels (the dashboard has nothing downstream).
    lineage = [r.query for r in sandbox.requests if r.path == "lineage/manual/"]
    assert lineage == [
        {end: node, "page": "1"}
        for node in [*chain, dashboard]
        for end in ("from_entity", "to_entity")
    ]
    meta = output_metadata(result)
    assert meta["dagster/row_count"].value == 4
    assert meta["report_table"].value == "reports.downstream_impact"
    assert meta["table_counts"].value == {chain[0]: 4}


def test_a_cycle_ends_and_the_start_is_not_its_own_downstream(sandbox, warehouse, instance):
    journal, balances, centers = (
        table_id(sandbox, f"finance.ledger.{t}")
        for t in ("journal_entries", "gl_balances", "cost_centers")
    )
    result = run(sandbox, warehouse, instance, tables=[journal], depth=0)
    assert not result.success
    frame = query(warehouse, "SELECT resource_id, depth, path FROM reports.downstream_impact")
    assert frame.resource_id.tolist() == [balances, centers]
    assert frame.depth.tolist() == [1, 2]
    assert frame.path.tolist()[1] == (
        "finance.ledger.journal_entries > finance.ledger.gl_balances > finance.ledger.cost_centers"
    )


def test_several_tables_share_each_levels_listing(sandbox, warehouse, instance):
    charges, staged, payments, revenue, opportunities, monthly, arr = (
        table_id(sandbox, n)
        for n in (
            "raw.stripe.charges",
            "analytics.staging.stg_payments",
            "analytics.core.payments",
            "analytics.marts.fct_revenue",
            "raw.salesforce.opportunities",
            "finance.reporting.monthly_revenue",
            "finance.reporting.arr_by_segment",
        )
    )
    sandbox.clear_log()
    result = run(sandbox, warehouse, instance, tables=[charges, opportunities], depth=2)
    assert not result.success
    report = query(warehouse, "SELECT table_id, resource_id, depth FROM reports.downstream_impact")
    assert report.values.tolist() == [
        [charges, staged, 1],
        [charges, payments, 2],
        [charges, revenue, 2],
        [opportunities, monthly, 1],
        [opportunities, arr, 2],
    ]
    lineage = [r.query for r in sandbox.requests if r.path == "lineage/manual/"]
    assert lineage == [
        {"from_entity__in": f"{charges},{opportunities}", "page": "1"},
        {"to_entity__in": f"{charges},{opportunities}", "page": "1"},
        {"from_entity__in": f"{staged},{monthly}", "page": "1"},
        {"to_entity__in": f"{staged},{monthly}", "page": "1"},
    ]


def test_nothing_downstream_succeeds_and_reports_are_appended(sandbox, warehouse, instance):
    leaf = table_id(sandbox, "finance.reporting.arr_by_segment")
    first = run(sandbox, warehouse, instance, tables=[leaf])
    assert first.success
    assert output_metadata(first)["dagster/row_count"].value == 0
    monthly = table_id(sandbox, "finance.reporting.monthly_revenue")
    second = run(sandbox, warehouse, instance, tables=[monthly], fail_on_downstream=False)
    third = run(sandbox, warehouse, instance, tables=[monthly], fail_on_downstream=False)
    assert second.success and third.success
    report = query(warehouse, "SELECT run_id, resource_id FROM reports.downstream_impact")
    assert report.run_id.tolist() == [second.run_id, third.run_id]
    assert sandbox.writes() == []


def test_edges_without_mirrors_and_id_spelled_ends_are_followed(make_sandbox, tmp_path, instance):
    sandbox = make_sandbox(lineage_spelling="from_entity_id")
    leaf = table_id(sandbox, "finance.reporting.arr_by_segment")
    extra = table_id(sandbox, "analytics.core.orders")
    # Only the UPSTREAM half: "arr_by_segment is upstream of orders" = orders is downstream.
    insert_object(
        sandbox,
        "lineage/manual/",
        {"from_entity": extra, "to_entity": leaf, "direction": "UPSTREAM"},
    )
    result = run(sandbox, tmp_path / "w.duckdb", instance, tables=[leaf], depth=0)
    assert not result.success
    assert f"analytics.core.orders ({extra}, depth 1" in failure_message(result)


@pytest.mark.parametrize(
    ("tables", "named"),
    [
        (["raw.stripe.charges"], "'raw.stripe.charges' matches 2 tables"),
        (["nowhere.at.all"], "no table is named 'nowhere.at.all' in any integration"),
        (["no-such-id"], "no table, column or dashboard has the id 'no-such-id'"),
        ([], "no table given"),
    ],
)
def test_bad_tables_fail_naming_them(sandbox, warehouse, instance, tables, named):
    result = run(sandbox, warehouse, instance, tables=tables)
    message = failure_message(result)
    assert named in message
    assert sandbox.writes() == []
    assert report_rows(warehouse, "downstream_impact").empty, "a rejected run reports nothing"
    if tables == ["raw.stripe.charges"]:
        legacy = table_id(sandbox, "raw.stripe.charges", "Snowflake (legacy)")
        assert legacy in message and table_id(sandbox, "raw.stripe.charges") in message


def test_a_negative_depth_is_refused_by_the_config_before_any_request(sandbox, warehouse, instance):
    sandbox.clear_log()
    with pytest.raises(DagsterInvalidConfigError) as refused:
        run(sandbox, warehouse, instance, tables=["analytics.core.orders"], depth=-1)
    assert "depth = -1: Input should be greater than or equal to 0" in str(refused.value)
    assert sandbox.requests == []
    assert report_rows(warehouse, "downstream_impact").empty


def test_a_wrong_key_fails_without_showing_it(sandbox, warehouse, instance):
    secret = "sk-live-not-the-key-9f3a"
    result = check_downstream_impact.execute_in_process(
        run_config={"tables": ["product.events.page_views"]},
        resources=job_resources(sandbox, warehouse, api_key=secret),
        instance=instance,
        raise_on_error=False,
    )
    message = failure_message(result)
    assert "401" in message and secret not in message


def test_rows_follow_the_order_the_tables_were_given_in(sandbox, warehouse, instance):
    sessions = table_id(sandbox, "product.marts.fct_sessions")
    daily = table_id(sandbox, "product.marts.daily_active_users")
    tables = [sessions, "product.marts.daily_active_users"]
    result = run(sandbox, warehouse, instance, tables=tables, fail_on_downstream=False)
    frame = result.output_for_node("find_downstream_impact")
    assert frame.table.tolist() == tables
    assert frame.resource_id.tolist() == [daily, dashboard_id(sandbox, "Product Engagement")]


# --- who still uses what is downstream -------------------------------------------------------

CHAIN = (
    "product.events.page_views",
    "product.events.stg_page_views",
    "product.marts.fct_sessions",
    "product.marts.daily_active_users",
)


def set_usage(sandbox, path: str, ids, external: int | None, internal: int | None) -> None:
    for object_id in ids:
        update_object(sandbox, path, object_id, external_usage=external, internal_usage=internal)


@pytest.fixture
def unused_chain(sandbox):
    """The chain's tables and its dashboard, none of them viewed now (current usage 0)."""
    tables = [table_id(sandbox, name) for name in CHAIN]
    dashboard = dashboard_id(sandbox, "Product Engagement")
    set_usage(sandbox, "table/tables/", tables, 0, None)
    set_usage(sandbox, "dashboard/dashboards/", [dashboard], 0, 0)
    return tables, dashboard


def test_fail_on_active_passes_when_nothing_downstream_is_in_use(
    sandbox, warehouse, instance, unused_chain
):
    tables, dashboard = unused_chain
    result = run(sandbox, warehouse, instance, tables=[CHAIN[0]], depth=0, fail_on="active")

    assert result.success
    report = report_rows(warehouse, "downstream_impact", result.run_id)
    assert report.resource_id.tolist() == [*tables[1:], dashboard]
    assert report.active.tolist() == [False] * 4
    assert report.last_viewed.isna().all()
    meta = output_metadata(result)
    assert (meta["downstream_in_use"].value, meta["activity_from"].value) == (0, "current usage")


def test_fail_on_active_fails_naming_only_what_is_in_use(
    sandbox, warehouse, instance, unused_chain
):
    _, dashboard = unused_chain
    set_usage(sandbox, "dashboard/dashboards/", [dashboard], None, 7)  # viewed in Secoda

    result = run(sandbox, warehouse, instance, tables=[CHAIN[0]], depth=0, fail_on="active")

    assert not result.success
    assert failure_message(result) == (
        "Something in use is downstream: 1 in use downstream of product.events.page_views: "
        f"Product Engagement ({dashboard}, depth 4, in use)"
    )
    report = report_rows(warehouse, "downstream_impact", result.run_id)
    assert report.active.tolist() == [False, False, False, True]
    # fail_on any (the default) counts the unused tables too; none counts nothing.
    assert not run(sandbox, warehouse, instance, tables=[CHAIN[0]], depth=0).success
    assert run(sandbox, warehouse, instance, tables=[CHAIN[0]], depth=0, fail_on="none").success


def test_stored_snapshots_decide_over_current_usage(
    sandbox, warehouse, instance, resources, unused_chain
):
    tables, dashboard = unused_chain
    # Today's snapshot sees the dashboard viewed; then the BI sync says 0 again.
    set_usage(sandbox, "dashboard/dashboards/", [dashboard], 3, 0)
    assert dg.materialize([dashboard_usage], resources=resources, instance=instance).success
    set_usage(sandbox, "dashboard/dashboards/", [dashboard], 0, 0)
    today = datetime.now(UTC).date()

    result = run(sandbox, warehouse, instance, tables=[CHAIN[0]], depth=0, fail_on="active")

    assert not result.success
    report = report_rows(warehouse, "downstream_impact", result.run_id).set_index("resource_id")
    assert bool(report.loc[dashboard, "active"]) is True
    assert report.loc[dashboard, "last_viewed"] == pd.Timestamp(today, tz="UTC")
    # Tables have no snapshot: their current usage (0) decides.
    assert report.loc[tables[1:], "active"].tolist() == [False] * 3
    assert f"Product Engagement ({dashboard}, depth 4, in use)" in failure_message(result)


def test_active_days_and_fail_on_are_checked_before_any_request(sandbox, warehouse, instance):
    sandbox.clear_log()
    for config in ({"active_days": 0}, {"fail_on": "sometimes"}):
        with pytest.raises(DagsterInvalidConfigError):
            run(sandbox, warehouse, instance, tables=[CHAIN[0]], **config)
    assert sandbox.requests == []
