"""The data-contract check of a dbt pull request (`check_contract`), through the real client
against the sandbox's demo workspace, whose lineage follows the shipped dbt project.

What the check should find is worked out here independently: a breadth-first walk over
every lineage edge the API lists (read with plain requests), and each resource's usage as
the API holds it.
"""

from __future__ import annotations

import json
from collections import deque
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from secoda_pipelines.dbt import read_manifest
from secoda_pipelines.lineage import check_contract
from secoda_pipelines.lineage.contract import NO_RELATION, UNKNOWN_TO_SECODA
from secoda_pipelines.sandbox import DEMO_DBT_MANIFESTS
from secoda_pipelines.secoda import MANUAL_LINEAGE
from secoda_pipelines_tests.helpers import api_rows, dashboard_id

TEST_MANIFESTS = Path(__file__).parents[1] / "dbt" / "manifests"
PRODUCTION = read_manifest(DEMO_DBT_MANIFESTS / "production.json")
PULL_REQUEST = read_manifest(DEMO_DBT_MANIFESTS / "pull_request.json")
TODAY = date(2026, 6, 30)


def downstream_of(sandbox, start: str) -> dict[str, int]:
    """Returns resource id → fewest hops from `start`, over every edge the API lists."""
    children: dict[str, set[str]] = {}
    for edge in api_rows(sandbox, MANUAL_LINEAGE):
        up, down = edge["from_entity"], edge["to_entity"]
        if edge["direction"] == "UPSTREAM":
            up, down = down, up
        children.setdefault(up, set()).add(down)
    hops = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in children.get(node, ()):
            if child not in hops:
                hops[child] = hops[node] + 1
                queue.append(child)
    del hops[start]
    return hops


def _count(value) -> float | None:
    """Returns a usage value as a number (numeric text too); None when it is not a count."""
    if value is None or value == "None" or value == "":
        return 0
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number.is_integer() and not isinstance(value, bool) else None


def in_use_now(sandbox) -> dict[str, bool | None]:
    """Returns id → whether its current usage counts show views (None: a count that is not
    a number and none above 0), for tables and dashboards."""
    found = {}
    for path in ("table/tables/", "dashboard/dashboards/"):
        for obj in api_rows(sandbox, path):
            counts = [_count(obj.get(f)) for f in ("external_usage", "internal_usage")]
            if any(c is not None and c > 0 for c in counts):
                found[obj["id"]] = True
            else:
                found[obj["id"]] = None if None in counts else False
    return found


def table_ids(sandbox) -> dict[str, str]:
    """Returns database.schema.title → id of the current Snowflake's dbt tables."""
    return {
        f"{t['database']}.{t['schema']}.{t['title']}": t["id"]
        for t in api_rows(sandbox, "table/tables/")
        if t["database"] == "analytics" and str(t["schema"]).startswith("shop_")
    }


def lineage_requests(sandbox) -> list[dict[str, str]]:
    return [r.query for r in sandbox.requests if r.path == MANUAL_LINEAGE]


def test_a_pull_request_checks_its_changed_models_at_every_level(sandbox, client):
    ids = table_ids(sandbox)
    sandbox.clear_log()

    check = check_contract(client, manifest=PULL_REQUEST, state=PRODUCTION, depth=0)
    listings = lineage_requests(sandbox)

    assert [(t.node.unique_id, t.change, t.reference) for t in check.tables] == [
        ("model.shop.orders", "modified", "analytics.shop_marts.orders"),
        ("model.shop.stg_orders", "modified", "analytics.shop_staging.stg_orders"),
    ]
    viewed = in_use_now(sandbox)
    for table in check.tables:
        assert table.entity.id == ids[table.reference] and table.skipped is None
        expected = downstream_of(sandbox, table.entity.id)
        assert {row.resource_id: row.depth for row in table.rows} == expected
        assert {row.resource_id: row.active for row in table.rows} == {
            resource: viewed[resource] for resource in expected
        }
    orders = {row.title: row for row in check.tables[0].rows}
    assert orders["Daily Orders"].active and not orders["Legacy Revenue (v1)"].active
    assert orders["Customer Segments"].depth == 2  # the diamond: once, at its fewest hops
    assert check.exit_code == 1 and check.activity_source == "current usage"
    # One listing per end per level, both tables' levels together: every resource is asked
    # about once per end, in batches, never one request per resource.
    asked = [q.get("from_entity__in", q.get("from_entity")) for q in listings[0::2]]
    assert [q.get("to_entity__in", q.get("to_entity")) for q in listings[1::2]] == asked
    ids_asked = [i for batch in asked for i in batch.split(",")]
    walked = {t.entity.id for t in check.tables} | {row.resource_id for row in check.rows}
    assert sorted(ids_asked) == sorted(walked)
    assert len(listings) == 2 * len(asked) <= 2 * (max(row.depth for row in check.rows) + 1)
    assert set(asked[0].split(",")) == {t.entity.id for t in check.tables}


def test_an_older_dbt_versions_manifests_find_the_same_changes(sandbox, client):
    old = check_contract(
        client,
        manifest=read_manifest(TEST_MANIFESTS / "dbt-1.7" / "pull_request.json"),
        state=read_manifest(TEST_MANIFESTS / "dbt-1.7" / "production.json"),
        depth=0,
    )
    new = check_contract(client, manifest=PULL_REQUEST, state=PRODUCTION, depth=0)
    assert [(t.reference, t.change) for t in old.tables] == [
        (t.reference, t.change) for t in new.tables
    ]
    assert old.rows == new.rows and old.warnings == ()


def test_fail_on_active_blocks_only_on_what_someone_uses(sandbox, client):
    planning = dashboard_id(sandbox, "Q3 2024 Planning")  # stale: the only thing downstream

    for reference in ("orders_snapshot", "snapshot.shop.orders_snapshot"):
        check = check_contract(client, [reference], manifest=PRODUCTION, fail_on="active")
        (table,) = check.tables
        assert table.reference == "analytics.shop_snapshots.orders_snapshot"
        assert [(r.resource_id, r.active) for r in table.rows] == [(planning, False)]
        assert check.exit_code == 0
        assert check.verdict().startswith("PASS: 1 downstream of 1 checked table, none of")
    any_check = check_contract(client, ["orders_snapshot"], manifest=PRODUCTION)
    assert any_check.exit_code == 1 and any_check.verdict().startswith("FAIL: 1 resource is")


def test_stored_snapshots_say_who_uses_it_and_when_last(sandbox, client):
    legacy = dashboard_id(sandbox, "Legacy Revenue (v1)")  # 0 views now
    daily = dashboard_id(sandbox, "Daily Orders")  # 210 views now
    seen = TODAY - timedelta(days=3)
    history = pd.DataFrame(
        {
            "dashboard_id": [legacy, legacy, daily],
            "snapshot_date": pd.to_datetime([seen, TODAY, TODAY]).tz_localize("UTC"),
            "external_usage": [5, 0, 0],
            "internal_usage": [0, 0, 0],
        }
    )

    check = check_contract(
        client, ["orders"], manifest=PRODUCTION, history=history, today=TODAY, active_days=7
    )

    rows = {row.resource_id: row for row in check.rows}
    assert (rows[legacy].active, rows[legacy].last_viewed) == (True, seen)
    assert (rows[daily].active, rows[daily].last_viewed) == (False, None)  # snapshots win
    assert check.activity_source == "snapshots"


@pytest.mark.parametrize("version", ["dbt-1.7", "dbt-1.12"])
def test_a_new_model_is_unknown_to_secoda_and_a_deleted_one_is_still_checked(
    sandbox, client, version
):
    production = TEST_MANIFESTS / "dbt-1.7" / "production.json"
    state = read_manifest(production) if version == "dbt-1.7" else PRODUCTION
    manifest = read_manifest(TEST_MANIFESTS / version / "new_and_deleted.json")
    clv = table_ids(sandbox)["analytics.shop_marts.customer_lifetime_value"]

    check = check_contract(client, manifest=manifest, state=state, depth=0, fail_on="active")

    tables = {t.node.name: t for t in check.tables}
    assert {name: t.change for name, t in tables.items()} == {
        "customer_lifetime_value": "deleted",
        "order_status_daily": "new",
    }
    new = tables["order_status_daily"]
    assert (new.entity, new.rows, new.skipped) == (None, (), UNKNOWN_TO_SECODA)
    deleted = tables["customer_lifetime_value"]
    assert {r.resource_id: r.depth for r in deleted.rows} == downstream_of(sandbox, clv)
    assert check.failing == [deleted]  # Customer Segments is in use; the new model fails nothing
    only_new = check_contract(client, ["order_status_daily"], manifest=manifest)
    assert only_new.exit_code == 0 and only_new.tables[0].skipped == UNKNOWN_TO_SECODA


def test_an_ephemeral_model_builds_no_table_and_is_listed_as_such(sandbox, client, tmp_path):
    raw = json.loads((DEMO_DBT_MANIFESTS / "pull_request.json").read_text())
    raw["nodes"]["model.shop.int_order_payments"]["checksum"]["checksum"] = "changed"
    changed = tmp_path / "manifest.json"
    changed.write_text(json.dumps(raw))

    check = check_contract(client, manifest=read_manifest(changed), state=PRODUCTION)

    ephemeral = next(t for t in check.tables if t.node.name == "int_order_payments")
    assert (ephemeral.reference, ephemeral.skipped) == (
        "model.shop.int_order_payments",
        NO_RELATION,
    )
    assert ephemeral.entity is None and ephemeral.rows == ()


def test_nothing_changed_passes_without_asking_secoda(sandbox, client):
    sandbox.clear_log()
    check = check_contract(client, manifest=PRODUCTION, state=PRODUCTION)
    assert (check.tables, check.exit_code) == ((), 0)
    assert check.verdict() == "PASS: no model, snapshot or seed changed; nothing to check"
    assert sandbox.requests == []


def test_manifests_of_two_dbt_versions_are_compared_with_a_warning(sandbox, client):
    old = read_manifest(TEST_MANIFESTS / "dbt-1.7" / "production.json")
    check = check_contract(client, manifest=PULL_REQUEST, state=old)
    (warning,) = check.warnings
    assert "different dbt versions" in warning
    assert "1.12.6" in warning and "1.7.20" in warning
