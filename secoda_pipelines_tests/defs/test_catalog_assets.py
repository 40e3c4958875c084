"""Catalog and report assets materialized against the sandbox into DuckDB."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
import pytest

from secoda_pipelines.defs.assets.catalog import catalog_assets, columns, tables
from secoda_pipelines.defs.assets.reports import report_assets
from secoda_pipelines.defs.checks import IDS_CHECK
from secoda_pipelines.defs.checks import STALE_SHARE_CHECK as STALE_CHECK
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines_tests.helpers import api_rows, query

ALL_ASSETS = [*catalog_assets, *report_assets]
UNPARTITIONED = dg.AssetSelection.all() - dg.AssetSelection.assets(tables, columns)
SECRET = "sk-live-wrong-2b7c41"


def materialize(resources, instance, selection=UNPARTITIONED, **kwargs):
    return dg.materialize(
        ALL_ASSETS, selection=selection, resources=resources, instance=instance, **kwargs
    )


def _blank(value) -> bool:
    return value is None or value == "None"


def independent_stale(dashboards, now, days=90):
    """SPEC B's stale rule, applied to raw API rows in plain Python."""
    stale = {}
    for d in dashboards:
        unused = all(
            _blank(d.get(f)) or d.get(f) == 0 for f in ("external_usage", "internal_usage")
        )
        no_users = all(
            _blank(d.get(f)) or d.get(f) == [] for f in ("external_users", "internal_users")
        )
        updated = d.get("external_updated_at")
        age = None if _blank(updated) else now - datetime.fromisoformat(updated)
        if unused and no_users and (age is None or age > timedelta(days=days)):
            stale[d["id"]] = None if age is None else age.days
    return stale


def independent_adoption(replies, questions, users):
    """SPEC B's adoption rule, applied to raw API rows in plain Python."""
    answers = {q.get("answer") for q in questions if not _blank(q.get("answer"))}
    emails = {u["id"]: u["email"] for u in users}
    counts = defaultdict(lambda: [0, 0])
    for reply in replies:
        accepted = reply.get("accepted_answer") is True or reply["id"] in answers
        for owner in set(reply.get("owners") or []):
            counts[owner][0] += 1
            counts[owner][1] += accepted
    return {u: (emails.get(u), n, a) for u, (n, a) in counts.items()}


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
        stored = query(warehouse, f"SELECT id FROM secoda.{name}")
        assert sorted(stored["id"]) == sorted(r["id"] for r in api_rows(sandbox, path)), name
        event = instance.get_latest_materialization_event(dg.AssetKey(["secoda", name]))
        metadata = event.asset_materialization.metadata
        assert metadata["dagster/row_count"].value == len(stored)
        assert "| id |" in metadata["preview"].value or "| id" in metadata["preview"].value
        assert "id" in [c.name for c in metadata["dagster/column_schema"].value.columns]
    id_checks = [c for c in result.get_asset_check_evaluations() if c.check_name == IDS_CHECK]
    assert len(id_checks) == 5 and all(c.passed for c in id_checks)


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
    for d in api_rows(sandbox, "dashboard/dashboards/"):
        stored = dashboards.loc[d["id"]]
        assert stored["integration_id"] == d["integration"]
        if _blank(d["external_usage"]):
            assert stored.isna()["external_usage"]
        else:
            assert stored["external_usage"] == d["external_usage"]
        users_text = stored["external_users"]
        if d["external_users"] is None:
            assert pd.isna(users_text)  # null, not the text "None"
        else:
            assert json.loads(users_text) == d["external_users"]
    replies = query(warehouse, "SELECT * FROM secoda.question_replies").set_index("id")
    for r in api_rows(sandbox, "question/replies/"):
        flag = r.get("accepted_answer")
        stored = replies.loc[r["id"], "accepted_answer"]
        assert (stored is True or stored == True) if flag is True else flag is not True  # noqa: E712
        assert replies.loc[r["id"], "question_id"] == r["parent"]
        if flag is None or flag == "None":
            assert replies.isna().loc[r["id"], "accepted_answer"]


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
    assert "stale_share" in metadata["per_integration"].value


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
        sandbox.insert("dashboard/dashboards/", {"title": f"Scratch {n}", "integration": bi["id"]})
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


def test_backfill_over_three_partitions_keeps_each_partitions_rows(
    sandbox, resources, instance, warehouse
):
    # A third warehouse with tables of its own, so all three partitions hold rows.
    extra = sandbox.insert("integration/integrations/", {"name": "BigQuery", "type": "bigquery"})
    for n in range(3):
        table = sandbox.insert(
            "table/tables/",
            {
                "title": f"events_{n}",
                "integration": extra["id"],
                "schema": "raw",
                "database": "gcp",
            },
        )
        sandbox.insert(
            "table/columns/", {"title": "id", "parent": table["id"], "integration": extra["id"]}
        )
    warehouses = [
        i for i in api_rows(sandbox, "integration/integrations/") if i["type"] != "tableau"
    ]
    assert len(warehouses) == 3
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


def test_wrong_key_fails_with_the_clients_message_and_leaks_nothing(sandbox, warehouse, instance):
    from dagster_duckdb_pandas import DuckDBPandasIOManager

    resources = {
        "secoda": SecodaResource(api_url=sandbox.base_url, api_key=SECRET),
        "duckdb_io": DuckDBPandasIOManager(database=str(warehouse)),
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
