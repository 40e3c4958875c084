"""`create_manual_lineage` on the demo workspace, over HTTP."""

from __future__ import annotations

from secoda_pipelines.defs.jobs.create_manual_lineage import create_manual_lineage
from secoda_pipelines_tests.helpers import (
    api_rows,
    dashboard_id,
    failure_message,
    report_rows,
    run_job,
    table_id,
)
from secoda_pipelines_tests.sandbox.helpers import insert_object

DAU = "product.marts.daily_active_users"


def run(sandbox, warehouse, instance, **config):
    return run_job(create_manual_lineage, sandbox, warehouse, instance, **config)


def lineage_between(sandbox, a: str, b: str) -> list[tuple[str, str, str]]:
    return sorted(
        (e["from_entity"], e["to_entity"], e["direction"])
        for e in api_rows(sandbox, "lineage/manual/")
        if {e["from_entity"], e["to_entity"]} == {a, b}
    )


def test_dry_run_then_apply_then_rerun(sandbox, warehouse, instance):
    dau = table_id(sandbox, DAU)
    monthly = table_id(sandbox, "finance.reporting.monthly_revenue")
    edges = [{"from_entity": DAU.upper(), "to_entity": monthly}]
    sandbox.clear_log()

    dry = run(sandbox, warehouse, instance, edges=edges)

    assert dry.success
    assert [(r.method, r.path, r.query) for r in sandbox.requests] == [
        ("GET", "table/tables/", {"page": "1"}),
        ("GET", "table/tables/", {"page": "2"}),
        ("GET", "lineage/manual/", {"from_entity__in": f"{dau},{monthly}", "page": "1"}),
    ]
    assert sandbox.writes() == []
    sandbox.clear_log()

    applied = run(sandbox, warehouse, instance, edges=edges, dry_run=False)

    assert applied.success
    assert [(w.method, w.path, w.body) for w in sandbox.writes()] == [
        (
            "POST",
            "lineage/manual/",
            {"from_entity": dau, "to_entity": monthly, "direction": "DOWNSTREAM"},
        )
    ]
    assert lineage_between(sandbox, dau, monthly) == [
        (dau, monthly, "DOWNSTREAM"),
        (monthly, dau, "UPSTREAM"),
    ]
    sandbox.clear_log()

    rerun = run(sandbox, warehouse, instance, edges=edges, dry_run=False)

    assert rerun.success
    assert sandbox.writes() == []
    report = report_rows(warehouse, "lineage_changes")
    columns = ["dry_run", "action", "write_status", "from_id", "to_id"]
    assert report[columns].values.tolist() == [
        [True, "create", "planned", dau, monthly],
        [False, "create", "written", dau, monthly],
        [False, "exists", None, dau, monthly],
    ]
    assert report.run_id.tolist() == [dry.run_id, applied.run_id, rerun.run_id]


def test_an_edge_present_in_either_direction_or_spelling_is_skipped(
    make_sandbox, tmp_path, instance
):
    sandbox = make_sandbox(lineage_spelling="from_entity_id")
    page_views = table_id(sandbox, "product.events.page_views")
    staged = table_id(sandbox, "product.events.stg_page_views")
    sessions = table_id(sandbox, "product.marts.fct_sessions")
    # Stored without its mirror: "sessions is upstream of page_views".
    insert_object(
        sandbox,
        "lineage/manual/",
        {"from_entity": page_views, "to_entity": sessions, "direction": "UPSTREAM"},
    )
    edges = [
        {"from_entity": staged, "to_entity": page_views, "direction": "upstream"},  # the mirror
        {"from_entity": sessions, "to_entity": page_views},  # the inserted half, other way round
    ]
    result = run(sandbox, tmp_path / "w.duckdb", instance, edges=edges, dry_run=False)
    assert result.success
    assert sandbox.writes() == []
    plan = report_rows(tmp_path / "w.duckdb", "lineage_changes", result.run_id)
    assert plan.action.tolist() == ["exists", "exists"]


def test_ends_may_be_dashboards_and_each_new_edge_is_one_post(sandbox, warehouse, instance):
    dashboard = dashboard_id(sandbox, "Product Engagement")
    arr = table_id(sandbox, "finance.reporting.arr_by_segment")
    orders = table_id(sandbox, "analytics.core.orders")
    edges = [
        {"from_entity": arr, "to_entity": dashboard},
        {"from_entity": arr, "to_entity": orders, "direction": "UPSTREAM"},
    ]
    sandbox.clear_log()
    result = run(sandbox, warehouse, instance, edges=edges, dry_run=False)
    assert result.success
    assert [w.body for w in sandbox.writes()] == [
        {"from_entity": arr, "to_entity": dashboard, "direction": "DOWNSTREAM"},
        {"from_entity": arr, "to_entity": orders, "direction": "UPSTREAM"},
    ]
    applied = report_rows(warehouse, "lineage_changes", result.run_id)
    assert applied.write_status.tolist() == ["written", "written"]
    created = {e["id"] for e in api_rows(sandbox, "lineage/manual/", from_entity=arr)}
    assert set(applied.lineage_id) <= created


def test_every_bad_edge_is_named_and_nothing_is_written(sandbox, warehouse, instance):
    staged = table_id(sandbox, "product.events.stg_page_views")
    legacy = table_id(sandbox, "raw.stripe.charges", "Snowflake (legacy)")
    new = table_id(sandbox, "raw.stripe.charges")
    edges = [
        {"from_entity": "raw.stripe.charges", "to_entity": staged},  # in two integrations
        {"from_entity": "product.events.nope", "to_entity": staged},  # no such table
        {"from_entity": "no-such-id", "to_entity": staged},  # no such resource
        {"from_entity": staged, "to_entity": "PRODUCT.EVENTS.STG_PAGE_VIEWS"},  # itself
        {"from_entity": staged, "to_entity": DAU, "direction": "SIDEWAYS"},
        {"from_entity": DAU, "to_entity": staged},  # fine on its own
    ]
    sandbox.clear_log()
    result = run(sandbox, warehouse, instance, edges=edges, dry_run=False)
    message = failure_message(result)
    assert message.startswith("5 bad value(s); no lineage was created:")
    for named in (
        f"edges[0]: from_entity: 'raw.stripe.charges' matches 2 tables: {legacy}",
        new,
        "edges[1]: from_entity: no table is named 'product.events.nope' in any integration",
        "edges[2]: from_entity: no table, column or dashboard has the id 'no-such-id'",
        f"edges[3]: '{staged}' → 'PRODUCT.EVENTS.STG_PAGE_VIEWS' is an edge from {staged} to "
        "itself",
        "edges[4]: direction 'SIDEWAYS' is not one of DOWNSTREAM, UPSTREAM",
    ):
        assert named in message
    assert sandbox.writes() == []
    assert report_rows(warehouse, "lineage_changes").empty, "a rejected run reports nothing"


def test_an_empty_edge_list_fails_before_any_request(sandbox, warehouse, instance):
    sandbox.clear_log()
    result = run(sandbox, warehouse, instance, edges=[])
    assert "no edges given" in failure_message(result)
    assert sandbox.requests == []
