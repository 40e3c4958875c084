"""Catalog and report assets materialized against the sandbox into DuckDB."""

from __future__ import annotations

import http.server
import json
import threading
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pandas as pd
import pytest

from secoda_pipelines.defs.assets.catalog import catalog_assets, columns, tables
from secoda_pipelines.defs.assets.reports import adoption_monthly_report, report_assets
from secoda_pipelines.defs.assets.usage import dashboard_usage
from secoda_pipelines.defs.checks import IDS_CHECK
from secoda_pipelines.defs.checks import STALE_SHARE_CHECK as STALE_CHECK
from secoda_pipelines.defs.preview_columns import PREVIEW_COLUMNS
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.store import WarehouseIOManager, WarehouseResource
from secoda_pipelines_tests.helpers import (
    api_rows,
    independent_adoption,
    independent_stale,
    is_api_null,
    query,
)
from secoda_pipelines_tests.sandbox.helpers import insert_object

ALL_ASSETS = [*catalog_assets, dashboard_usage, *report_assets]
# What the daily refresh runs: today's usage snapshot with every unpartitioned asset.
UNPARTITIONED = dg.AssetSelection.all() - dg.AssetSelection.assets(
    tables, columns, adoption_monthly_report
)
SECRET = "sk-live-wrong-2b7c41"


def materialize(resources, instance, selection=UNPARTITIONED, **kwargs):
    return dg.materialize(
        ALL_ASSETS, selection=selection, resources=resources, instance=instance, **kwargs
    )


def test_catalog_assets_hold_every_api_row(sandbox, resources, instance, warehouse):
    result = materialize(resources, instance)
    assert result.success
    for name, path in [
        ("integrations", "integration/integrations/"),
        ("users", "user/"),
        ("dashboards", "dashboard/dashboards/"),
        ("questions", "question/questions/"),
        ("question_replies", "question/replies/"),
    ]:
        stored = query(warehouse, f"SELECT * FROM secoda.{name}")
        assert sorted(stored["id"]) == sorted(r["id"] for r in api_rows(sandbox, path)), name
        event = instance.get_latest_materialization_event(dg.AssetKey(["secoda", name]))
        metadata = event.asset_materialization.metadata
        assert metadata["dagster/row_count"].value == len(stored)
        columns = list(stored.columns)
        # The columns a person reads first, as many of the first 10 rows as Dagster's UI
        # shows inline (under 1,000 characters), in the stored order.
        preview = metadata["preview"].value
        lines = preview.splitlines()
        assert len(preview) < 1000, name
        assert lines[0] == "| " + " | ".join(PREVIEW_COLUMNS[f"secoda/{name}"]) + " |", name
        assert 2 < len(lines) <= 2 + min(10, len(stored)), name
        first = stored.iloc[0][PREVIEW_COLUMNS[f"secoda/{name}"][0]]
        assert lines[2].startswith(f"| {first}"[:30]), name
        assert [c.name for c in metadata["dagster/column_schema"].value.columns] == columns
    id_checks = [c for c in result.get_asset_check_evaluations() if c.check_name == IDS_CHECK]
    assert len(id_checks) == 6 and all(c.passed for c in id_checks)


def test_values_lists_and_nulls_are_stored_as_the_spec_says(
    sandbox, resources, instance, warehouse
):
    assert materialize(resources, instance).success
    users = query(warehouse, "SELECT * FROM secoda.users")
    assert set(users["role"]) <= {"admin", "editor", "viewer", "guest"}
    api_users = {u["id"]: u for u in api_rows(sandbox, "user/")}
    for row in users.itertuples():
        assert json.loads(row.teams) == api_users[row.id]["teams"]
    dashboards = query(warehouse, "SELECT * FROM secoda.dashboards").set_index("id")
    api_dashboards = api_rows(sandbox, "dashboard/dashboards/")
    for d in api_dashboards:
        stored = dashboards.loc[d["id"]]
        assert stored["integration_id"] == d["integration"]
        users_text = stored["external_users"]
        if d["external_users"] is None:
            assert pd.isna(users_text)  # null, not the text "None"
        else:
            assert json.loads(users_text) == d["external_users"]
    for field in ("external_usage", "internal_usage"):
        sent = {d["id"]: d[field] for d in api_dashboards}
        assert "None" in sent.values(), f"the sandbox sends some {field} as the string None"
        expected = {i: None if is_api_null(value) else value for i, value in sent.items()}
        got = {i: None if pd.isna(v) else int(v) for i, v in dashboards[field].items()}
        assert got == expected, field

    # SPEC B: accepted_answer is the API's own flag, true, false or null ("None" is null).
    replies = query(warehouse, "SELECT * FROM secoda.question_replies").set_index("id")
    api_replies = api_rows(sandbox, "question/replies/")
    sent = [r.get("accepted_answer", "absent") for r in api_replies]
    for form in (True, False, None, "None", "absent"):
        assert form in sent, f"no reply sends {form!r}"
    expected = {r["id"]: r.get("accepted_answer") for r in api_replies}
    expected = {i: flag if isinstance(flag, bool) else None for i, flag in expected.items()}
    assert str(replies["accepted_answer"].dtype) == "boolean"
    got = {i: None if pd.isna(v) else bool(v) for i, v in replies["accepted_answer"].items()}
    assert got == expected
    assert replies["question_id"].to_dict() == {r["id"]: r["parent"] for r in api_replies}


@pytest.mark.slow
def test_a_none_string_the_api_sends_is_stored_as_null_once_decoded_by_the_client(
    sandbox, resources, instance, warehouse
):
    # Text columns keep any text, so only the client's decoding stands between the API's
    # "None" and a description reading "None" (to_int and to_bool would null it anyway).
    partitions = [i["id"] for i in api_rows(sandbox, "integration/integrations/")]
    instance.add_dynamic_partitions("secoda_integrations", partitions)
    selection = dg.AssetSelection.assets(tables, columns)
    for partition in partitions:
        assert materialize(resources, instance, selection, partition_key=partition).success
    for name, path in (("tables", "table/tables/"), ("columns", "table/columns/")):
        stored = query(warehouse, f"SELECT * FROM secoda.{name}").set_index("id")
        api = [row for p in partitions for row in api_rows(sandbox, path, integration_id=p)]
        for field in ("description", "definition"):
            sent = {row["id"]: row.get(field) for row in api}
            assert {"None", ""} <= set(sent.values()), f"the sandbox sends {field} 'None' and ''"
            expected = {i: None if is_api_null(value) else value for i, value in sent.items()}
            got = {i: None if pd.isna(v) else v for i, v in stored[field].items()}
            assert got == expected, f"{name}.{field}"


def test_stale_report_is_the_rule_applied_to_the_api_rows(sandbox, resources, instance, warehouse):
    before = datetime.now(UTC)
    assert materialize(resources, instance).success
    expected = independent_stale(api_rows(sandbox, "dashboard/dashboards/"), before)
    stale = query(warehouse, "SELECT * FROM reports.stale_dashboards")
    assert sorted(stale["id"]) == sorted(expected)
    for row in stale.itertuples():
        days = row.days_since_external_update
        if expected[row.id] is None:
            assert pd.isna(days)
        else:
            assert days in (expected[row.id], expected[row.id] + 1)  # a day may turn mid-test
    event = instance.get_latest_materialization_event(dg.AssetKey(["reports", "stale_dashboards"]))
    metadata = event.asset_materialization.metadata
    assert metadata["stale_dashboards"].value == len(expected)
    assert metadata["dashboards"].value == len(api_rows(sandbox, "dashboard/dashboards/"))
    # Per integration, by name (issue 25): the BI integration's name heads its line.
    per_integration = metadata["per_integration"].value.splitlines()
    assert per_integration[0].startswith("| integration_name | integration_id |")
    bi = {i["id"]: i["name"] for i in api_rows(sandbox, "integration/integrations/")}
    for line in per_integration[2:]:
        name, integration_id = line.split(" | ")[:2]
        assert name == f"| {bi[integration_id]}"


def test_stale_after_days_is_run_config(sandbox, resources, instance, warehouse):
    config = {"ops": {"reports__stale_dashboards": {"config": {"stale_after_days": 100000}}}}
    assert materialize(resources, instance, run_config=config).success
    never_updated = independent_stale(
        api_rows(sandbox, "dashboard/dashboards/"), datetime.now(UTC), days=100000
    )
    stale = query(warehouse, "SELECT id, external_updated_at FROM reports.stale_dashboards")
    assert sorted(stale["id"]) == sorted(never_updated)
    assert stale["external_updated_at"].isna().all()


def test_more_than_half_stale_warns_without_failing(sandbox, resources, instance):
    bi = next(i for i in api_rows(sandbox, "integration/integrations/") if i["type"] == "tableau")
    for n in range(30):  # unused and never updated: stale whatever the date
        insert_object(
            sandbox, "dashboard/dashboards/", {"title": f"Scratch {n}", "integration": bi["id"]}
        )
    result = materialize(resources, instance)
    assert result.success
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == STALE_CHECK)
    stale, total = check.metadata["stale"].value, check.metadata["dashboards"].value
    assert total == 70 and stale > 35
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN


def test_adoption_report_counts_replies_and_acceptances(sandbox, resources, instance, warehouse):
    assert materialize(resources, instance).success
    expected = independent_adoption(
        api_rows(sandbox, "question/replies/"),
        api_rows(sandbox, "question/questions/"),
        api_rows(sandbox, "user/"),
    )
    report = query(warehouse, "SELECT * FROM reports.adoption")
    assert sorted(report["user_id"]) == sorted(expected)
    for row in report.itertuples():
        email, replies, accepted = expected[row.user_id]
        assert (row.email, row.replies, row.accepted_answers) == (email, replies, accepted)
        assert row.acceptance_rate == pytest.approx(accepted / replies)
    keys = list(zip(-report["replies"], -report["accepted_answers"], strict=True))
    assert keys == sorted(keys)


@pytest.mark.slow
def test_backfill_over_three_partitions_keeps_each_partitions_rows(
    sandbox, resources, instance, warehouse
):
    # A third warehouse with tables of its own, so all three partitions hold rows.
    extra = insert_object(
        sandbox, "integration/integrations/", {"name": "BigQuery", "type": "bigquery"}
    )
    for n in range(3):
        table = insert_object(
            sandbox,
            "table/tables/",
            {
                "title": f"events_{n}",
                "integration": extra["id"],
                "schema": "raw",
                "database": "gcp",
            },
        )
        insert_object(
            sandbox,
            "table/columns/",
            {"title": "id", "parent": table["id"], "integration": extra["id"]},
        )
    warehouses = [
        i for i in api_rows(sandbox, "integration/integrations/") if i["type"] != "tableau"
    ]
    assert len(warehouses) == 5
    ids = [w["id"] for w in warehouses]
    instance.add_dynamic_partitions("secoda_integrations", ids)
    for partition in ids:
        selection = dg.AssetSelection.assets(tables, columns)
        assert materialize(resources, instance, selection, partition_key=partition).success

    def stored_counts():
        tables_by = query(
            warehouse, "SELECT integration_id, count(*) n FROM secoda.tables GROUP BY 1"
        )
        columns_by = query(
            warehouse, "SELECT integration_id, count(*) n FROM secoda.columns GROUP BY 1"
        )
        return dict(zip(tables_by.integration_id, tables_by.n, strict=True)), dict(
            zip(columns_by.integration_id, columns_by.n, strict=True)
        )

    table_counts, column_counts = stored_counts()
    for partition in ids:
        assert table_counts[partition] == len(
            api_rows(sandbox, "table/tables/", integration_id=partition)
        )
        assert column_counts[partition] == len(
            api_rows(sandbox, "table/columns/", integration_id=partition)
        )
    assert table_counts[extra["id"]] == 3
    # Refreshing one partition rewrites its rows only.
    selection = dg.AssetSelection.assets(tables, columns)
    assert materialize(resources, instance, selection, partition_key=ids[0]).success
    assert stored_counts() == (table_counts, column_counts)
    requested = {
        r.query.get("integration_id") for r in sandbox.requests if r.path == "table/tables/"
    }
    assert requested == set(ids), "tables are filtered server-side by integration_id"


def test_one_run_over_a_range_of_partitions_stores_each_partitions_rows(
    sandbox, resources, instance, warehouse
):
    """What a backfill run under the backfill policy does: several partitions in one run,
    each listed with its own filter, stored together, each under its own key; a partition
    outside the range keeps its rows."""
    integrations = [i["id"] for i in api_rows(sandbox, "integration/integrations/")]
    instance.add_dynamic_partitions("secoda_integrations", integrations)
    selection = dg.AssetSelection.assets(tables, columns)
    outside = integrations[-1]
    assert materialize(resources, instance, selection, partition_key=outside).success
    before = query(warehouse, f"SELECT id FROM secoda.tables WHERE integration_id = '{outside}'")
    sandbox.clear_log()
    in_range = integrations[:-1]
    range_tags = {
        "dagster/asset_partition_range_start": in_range[0],
        "dagster/asset_partition_range_end": in_range[-1],
    }
    result = materialize(resources, instance, selection, tags=range_tags)
    assert result.success
    listed = sorted(
        r.query["integration_id"] for r in sandbox.requests if r.path == "table/tables/"
    )
    assert sorted(set(listed)) == sorted(in_range), "one filtered listing per partition"
    for name, path in (("tables", "table/tables/"), ("columns", "table/columns/")):
        stored = query(warehouse, f"SELECT id, integration_id FROM secoda.{name}")
        for partition in integrations:
            ids = sorted(stored[stored["integration_id"] == partition]["id"])
            assert ids == sorted(r["id"] for r in api_rows(sandbox, path, integration_id=partition))
    after = query(warehouse, f"SELECT id FROM secoda.tables WHERE integration_id = '{outside}'")
    assert sorted(after["id"]) == sorted(before["id"])
    # Dagster records a materialization of every partition of the range, by that one run.
    for partition in in_range:
        [record] = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=tables.key, asset_partitions=[partition]), limit=1
        ).records
        assert record.run_id == result.run_id, partition
        # Named as a person knows them (issue 25): every integration of the run, by name.
        named = record.asset_materialization.metadata["integrations"].value
        by_id = {i["id"]: i for i in api_rows(sandbox, "integration/integrations/")}
        assert named.splitlines() == [
            f"- {by_id[i]['name']} ({by_id[i]['type']}), id {i}" for i in in_range
        ]
    # A run of one partition names its integration in entries of their own.
    [record] = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=columns.key, asset_partitions=[outside]), limit=1
    ).records
    metadata = record.asset_materialization.metadata
    assert metadata["integration_name"].value == by_id[outside]["name"]
    assert metadata["integration_type"].value == by_id[outside]["type"]


def test_wrong_key_fails_with_the_clients_message_and_leaks_nothing(sandbox, warehouse, instance):
    resources = {
        "secoda": SecodaResource(api_url=sandbox.base_url, api_key=SECRET),
        "warehouse_io": WarehouseIOManager(warehouse=WarehouseResource(database=str(warehouse))),
    }
    result = materialize(
        resources, instance, dg.AssetSelection.assets(["secoda", "users"]), raise_on_error=False
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error.to_string()
    assert "401" in failure and "SECODA_API_KEY" in failure
    assert [r.status for r in sandbox.requests] == [401], "a wrong key is not retried"
    logs = instance.all_logs(result.run_id)
    assert logs
    everything = "\n".join(str(record) for record in logs)
    run = instance.get_run_by_id(result.run_id)
    everything += str(run.run_config) + str(run.tags)
    assert SECRET not in everything


class _FilterIgnoringHandler(http.server.BaseHTTPRequestHandler):
    """Answers every listing with the rows the test put on the server, whatever the query."""

    server: _FilterIgnoringServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.queries.append((url.path, parse_qs(url.query)))
        rows = self.server.rows
        page = {  # SPEC A's paged shape, one page
            "links": {"next": None, "previous": None},
            "meta": {"page": 1, "previous_page": None, "next_page": None},
            "count": len(rows),
            "total_pages": 1,
            "results": rows,
        }
        body = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _FilterIgnoringServer(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FilterIgnoringHandler)
        self.rows: list[dict] = []
        self.queries: list[tuple[str, dict[str, list[str]]]] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/v1/"


@pytest.fixture
def filter_ignoring_server():
    """Returns a loopback Secoda API that ignores `?integration_id=` (and every filter)."""
    server = _FilterIgnoringServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("asset", "path"),
    [(tables, "table/tables/"), (columns, "table/columns/")],
    ids=["tables", "columns"],
)
def test_rows_of_another_integration_fail_the_partition_and_store_nothing(
    asset, path, filter_ignoring_server, warehouse, instance
):
    server = filter_ignoring_server
    name = asset.key.path[-1]
    resources = {
        "secoda": SecodaResource(api_url=server.base_url, api_key="any-key"),
        "warehouse_io": WarehouseIOManager(warehouse=WarehouseResource(database=str(warehouse))),
    }
    instance.add_dynamic_partitions("secoda_integrations", ["int-a", "int-b"])
    selection = dg.AssetSelection.assets(asset)

    def row(row_id: str, integration: str | None) -> dict:
        return {"id": row_id, "title": row_id, "integration": integration}

    # An honest answer first: a row without an integration is taken as the partition's.
    server.rows = [row("b0", "int-b"), row("x0", None)]
    assert materialize(resources, instance, selection, partition_key="int-b").success
    stored_b = query(warehouse, f"SELECT id, integration_id FROM secoda.{name} ORDER BY id")
    assert stored_b.values.tolist() == [["b0", "int-b"], ["x0", "int-b"]]

    # Then the server ignores ?integration_id=int-a and answers other integrations' rows too.
    server.rows = [
        row("a1", "int-a"),
        row("x1", None),
        *(row(f"b{n}", "int-b") for n in range(1, 8)),
        row("c1", "int-c"),
    ]
    server.queries.clear()
    result = materialize(
        resources, instance, selection, partition_key="int-a", raise_on_error=False
    )
    assert not result.success
    [failure] = result.get_step_failure_events()
    message = failure.step_failure_data.user_failure_data.description
    assert "partition int-a" in message
    assert "7 rows name integration int-b (b1, b2, b3, ...)" in message
    assert "1 row names integration int-c (c1)" in message
    assert "nothing was stored" in message
    # allow_retries=False: the asset's retry policy does not list the same rows again.
    assert server.queries == [
        ("/api/v1/integration/integrations/int-a/", {}),  # it still exists
        (f"/api/v1/{path}", {"integration_id": ["int-a"], "page": ["1"]}),
    ]
    stored = query(warehouse, f"SELECT id, integration_id FROM secoda.{name} ORDER BY id")
    assert stored.values.tolist() == stored_b.values.tolist(), "int-b's rows stay as they were"
    assert "int-a" not in set(stored["integration_id"])


# ---- integrations that vanish -------------------------------------------------------------


def delete_integration(sandbox, integration_id: str) -> None:
    """Deletes the integration from the sandbox's store, as Secoda would when a user removes
    it (its tables and columns are left: a listing filtered by it may still answer them)."""
    store = sandbox.open_store()
    with store.transaction():
        assert store.delete("integration/integrations/", integration_id)


def stored_rows(warehouse, name: str) -> list[tuple[str, str]]:
    frame = query(warehouse, f"SELECT integration_id, id FROM secoda.{name} ORDER BY 1, 2")
    return [tuple(row) for row in frame.values.tolist()]


@pytest.mark.parametrize("asset", [tables, columns], ids=["tables", "columns"])
def test_a_vanished_integrations_partition_fails_and_keeps_its_stored_rows(
    asset, sandbox, resources, instance, warehouse
):
    name = asset.key.path[-1]
    warehouses = [
        i["id"]
        for i in api_rows(sandbox, "integration/integrations/")
        if api_rows(sandbox, "table/tables/", integration_id=i["id"])
    ]
    gone, kept = warehouses[:2]
    instance.add_dynamic_partitions("secoda_integrations", [gone, kept])
    selection = dg.AssetSelection.assets(asset)
    for partition in (gone, kept):
        assert materialize(resources, instance, selection, partition_key=partition).success
    before = stored_rows(warehouse, name)
    assert {integration for integration, _ in before} == {gone, kept}
    # Its tables and columns go too: a listing filtered by it now answers nothing at all.
    doomed = [
        (path, row["id"])
        for path in ("table/columns/", "table/tables/")
        for row in api_rows(sandbox, path, integration_id=gone)
    ]
    delete_integration(sandbox, gone)
    store = sandbox.open_store()
    with store.transaction():
        for path, row_id in doomed:
            store.delete(path, row_id)
    sandbox.clear_log()

    result = materialize(resources, instance, selection, partition_key=gone, raise_on_error=False)

    assert not result.success
    [failure] = result.get_step_failure_events()
    message = failure.step_failure_data.user_failure_data.description
    assert f"Secoda no longer has integration(s) {gone}" in message
    assert "GET integration/integrations/<id>/ answered 404" in message
    assert "Nothing was stored: the stored rows stay as they were" in message
    assert stored_rows(warehouse, name) == before, "the vanished integration's rows stay"
    paths = [r.path for r in sandbox.requests]
    assert paths == [f"integration/integrations/{gone}/"], "nothing listed, not retried"
    # A backfill run over both partitions stores nothing either, naming the vanished one.
    result = materialize(
        resources,
        instance,
        selection,
        tags={
            "dagster/asset_partition_range_start": gone,
            "dagster/asset_partition_range_end": kept,
        },
        raise_on_error=False,
    )
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert f"integration(s) {gone} " in message and "nor of this run's 1 other partition" in message
    assert stored_rows(warehouse, name) == before


def test_an_integration_id_secoda_never_had_stores_nothing(sandbox, resources, instance, warehouse):
    instance.add_dynamic_partitions("secoda_integrations", ["no-such-integration"])
    result = materialize(
        resources,
        instance,
        dg.AssetSelection.assets(tables),
        partition_key="no-such-integration",
        raise_on_error=False,
    )
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert "Secoda no longer has integration(s) no-such-integration" in message
    assert not any(r.path == "table/tables/" for r in sandbox.requests)
    assert not warehouse.exists(), "nothing was written anywhere"


def test_an_integration_deleted_while_it_is_listed_never_stores_an_empty_listing(
    sandbox, resources, instance, warehouse
):
    """Deleted between the check and the listing, its listing answers nothing: the check
    made again after an empty listing refuses it, and the stored rows stay."""
    integration = insert_object(
        sandbox, "integration/integrations/", {"name": "Short-lived", "type": "postgres"}
    )
    insert_object(
        sandbox,
        "table/tables/",
        {"title": "t", "integration": integration["id"], "schema": "s", "database": "d"},
    )
    instance.add_dynamic_partitions("secoda_integrations", [integration["id"]])
    selection = dg.AssetSelection.assets(tables)
    assert materialize(resources, instance, selection, partition_key=integration["id"]).success
    before = stored_rows(warehouse, "tables")
    assert len(before) == 1

    def delete_as_it_is_listed(request) -> None:
        # Called as each request arrives, before it is answered.
        if request.path == "table/tables/":
            sandbox.settings.on_request = None
            store = sandbox.open_store()
            with store.transaction():
                store.delete("integration/integrations/", integration["id"])
                for row in store.find("table/tables/", []):
                    if row.get("integration") == integration["id"]:
                        store.delete("table/tables/", row["id"])

    sandbox.settings.on_request = delete_as_it_is_listed
    sandbox.clear_log()
    result = materialize(
        resources, instance, selection, partition_key=integration["id"], raise_on_error=False
    )
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert f"Secoda no longer has integration(s) {integration['id']}" in message
    assert [(r.path, r.status) for r in sandbox.requests] == [
        (f"integration/integrations/{integration['id']}/", 200),
        ("table/tables/", 200),  # answered with no rows
        (f"integration/integrations/{integration['id']}/", 404),
    ]
    assert stored_rows(warehouse, "tables") == before


@pytest.mark.slow
def test_a_listing_cut_short_fails_the_step_and_keeps_what_was_stored(
    sandbox, resources, instance, warehouse
):
    integration = next(
        i["id"]
        for i in api_rows(sandbox, "integration/integrations/")
        if len(api_rows(sandbox, "table/columns/", integration_id=i["id"])) > 100
    )
    instance.add_dynamic_partitions("secoda_integrations", [integration])
    selection = dg.AssetSelection.assets(columns)
    assert materialize(resources, instance, selection, partition_key=integration).success
    before = stored_rows(warehouse, "columns")
    # Every later page of the columns listing is cut, in this run and its step retries.
    sandbox.fail_next("page_404", count=10_000, path_contains="table/columns/")

    result = materialize(
        resources, instance, selection, partition_key=integration, raise_on_error=False
    )

    assert not result.success
    retried = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retried, "a short listing may be a passing fault: the step is tried again"
    message = retried[0].event_specific_data.error.to_string()
    assert "where its count says" in message and "table/columns/" in message
    assert stored_rows(warehouse, "columns") == before
