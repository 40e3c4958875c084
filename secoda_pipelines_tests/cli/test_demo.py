"""`secoda-pipelines demo`: the console script in a subprocess, as a new user runs it."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime

import psycopg
import pytest
import requests

from secoda_pipelines_tests.cli.console_script import Running, port_is_free, run
from secoda_pipelines_tests.helpers import (
    api_rows,
    free_port,
    independent_adoption,
    independent_stale,
    query,
)
from secoda_pipelines_tests.store.secret_urls import files_text, secret_url, warehouse_name

pytestmark = pytest.mark.slow  # each test starts the console script


def test_demo_runs_end_to_end_and_prints_both_reports(sandbox, tmp_path):
    # `sandbox` holds the same deterministic demo workspace the demo serves.
    expected_stale = independent_stale(
        api_rows(sandbox, "dashboard/dashboards/"), datetime.now(UTC)
    )
    expected_adoption = independent_adoption(
        api_rows(sandbox, "question/replies/"),
        api_rows(sandbox, "question/questions/"),
        api_rows(sandbox, "user/"),
    )

    result = run("demo", cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    # Quiet where nothing is wrong: no Dagster warning (backfill_policy's BetaWarning was
    # printed once per partitioned asset) and nothing else on stderr.
    assert result.stderr == ""
    out = result.stdout
    assert f"Stale dashboards: {len(expected_stale)}" in out
    assert f"Question-answering adoption: {len(expected_adoption)} users" in out
    titles = {d["id"]: d["title"] for d in api_rows(sandbox, "dashboard/dashboards/")}
    for dashboard_id in expected_stale:
        assert titles[dashboard_id] in out
    assert "secoda-pipelines demo --ui" in out and "duckdb.connect(" in out
    # The ids a user gives migrate_documentation (or finds the partitions by) are printed.
    for integration in api_rows(sandbox, "integration/integrations/"):
        name, kind, key = integration["name"], integration["type"], integration["id"]
        assert f"tables and columns of {name} ({kind}, id {key}) loaded" in out
    assert f"The tables are in {(tmp_path / '.demo' / 'secoda_warehouse.duckdb').resolve()}" in out
    assert "in dry run (nothing was written to Secoda)" in out
    assert "migrate_documentation: Snowflake (legacy) -> Snowflake" in out
    assert "PATCHes would be written" in out
    # Today's snapshot is the only one: every stale dashboard has 1 day without views.
    stale_lines = out.split("Stale dashboards:")[1].split("Question-answering")[0]
    header, *rows = [line for line in stale_lines.splitlines()[1:] if line.strip()][:-1]
    assert header.split()[-1] == "days_without_views"
    assert len(rows) == len(expected_stale)
    assert all(row.split()[-1] == "1" for row in rows)
    # The renamed warehouse matches through its maps; the verdict is printed per migration.
    assert (
        "migrate_documentation: Redshift -> BigQuery database_map {'prod': 'acme-analytics'} "
        "schema_map {'public': 'core'}"
    ) in out
    assert "coverage, tables: 7 documented = 0 carried + 6 pending + 0 kept + 1 unmatched" in out
    assert out.count("safe to delete the source integration: no") == 2
    # The flag job's dry-run plan: the tag created once, every stale dashboard tagged.
    assert (
        f"flag_stale_dashboards (tag 'stale', 90 days): add: {len(expected_stale)}, create: 1"
    ) in out
    # A few months of the adoption trend, each month's replies counted per user.
    trend = out.split("Adoption by month (reports.adoption_monthly, 4 months):")[1]
    months = [line.split()[0] for line in trend.splitlines()[2:6]]
    assert months == ["2025-07", "2025-08", "2025-09", "2025-10"]
    assert "provision_users (2 users): create: 1, exists: 1" in out
    assert "create_manual_lineage (2 edges): create: 1, exists: 1" in out
    assert "check_downstream_impact (product.events.page_views, all levels): 4 downstream" in out
    # Documentation coverage: by integration, the work list and the shipped targets.
    assert "Documentation coverage by integration (reports.documentation_coverage, today):" in out
    assert "Where documenting pays first (top 10 of reports.undocumented_popular" in out
    targets = out[out.index("Coverage targets (demo_coverage_targets.yaml") :].splitlines()
    assert targets[1].split()[:3] == ["name", "status", "actual"]
    assert targets[2].split()[:4] == ["analytics", "tables", "described", targets[2].split()[3]]
    assert targets[2].split()[3] in ("met", "on_track", "behind", "missed")
    # The dbt pull request's check: two modified models, blocked by what is in use.
    check = out[out.index("Data-contract check of a dbt pull request") :].splitlines()
    assert check[1].endswith("--fail-on active --format markdown   # exit 1")
    assert check[3].startswith("❌ **FAIL**: ") and "of 2 checked tables" in check[3]
    assert "### `orders` (modified model)" in check and "### `stg_orders` (modified model)" in check
    assert any(line.startswith("| Daily Orders | dashboard | 1 | yes | ") for line in check)
    # The data is where the printed commands say, and the Dagster instance has the runs.
    warehouse = tmp_path / ".demo" / "secoda_warehouse.duckdb"
    stored = query(warehouse, "SELECT count(*) AS n FROM reports.stale_dashboards")
    assert stored.n[0] == len(expected_stale)
    assert (tmp_path / ".demo" / "dagster_home" / "dagster.yaml").exists()
    assert any((tmp_path / ".demo" / "dagster_home").glob("history/runs/*"))


def test_demo_with_a_warehouse_url_keeps_every_table_in_postgresql(
    sandbox, warehouse_url, tmp_path
):
    # A password with every reserved character, percent-encoded in user:password@.
    secret = secret_url(warehouse_url, "userinfo_encoded")
    expected_stale = independent_stale(
        api_rows(sandbox, "dashboard/dashboards/"), datetime.now(UTC)
    )

    result = run("demo", "--warehouse", secret.url, cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    # Quiet where nothing is wrong: no Dagster warning (backfill_policy's BetaWarning was
    # printed once per partitioned asset) and nothing else on stderr.
    assert result.stderr == ""
    out = result.stdout
    assert f"Stale dashboards: {len(expected_stale)}" in out
    assert "create_manual_lineage (2 edges): create: 1, exists: 1" in out
    name = warehouse_name(warehouse_url)
    assert f"The tables are in {name}. Query them with psql:" in out
    assert 'psql "$SECODA_WAREHOUSE_URL" -c "SELECT * FROM reports.stale_dashboards"' in out
    assert secret.shown_in([out, result.stderr, *files_text(tmp_path / ".demo")]) == []
    with psycopg.connect(secret.url) as connection:
        stored = connection.execute("SELECT count(*) FROM reports.stale_dashboards").fetchone()
        schemas = connection.execute(
            "SELECT DISTINCT table_schema FROM information_schema.tables "
            "WHERE table_schema IN ('secoda', 'reports')"
        ).fetchall()
    assert stored == (len(expected_stale),)
    assert sorted(schemas) == [("reports",), ("secoda",)]
    assert not (tmp_path / ".demo" / "secoda_warehouse.duckdb").exists()


def test_demo_refuses_a_warehouse_that_is_not_postgresql_before_starting(tmp_path):
    result = run("demo", "--warehouse", "mysql://app:hunter2@db/secoda", cwd=tmp_path)

    assert result.returncode == 2
    assert "Invalid value for --warehouse" in result.stderr
    assert "mysql://app:***@db/secoda" in result.stderr and "hunter2" not in result.stderr
    assert not (tmp_path / ".demo").exists()


def _graphql_version(port: int, timeout: float) -> str:
    """Returns Dagster's version as the UI's GraphQL API answers it, waiting up to `timeout`.

    Raises:
        AssertionError: it did not answer in time.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = requests.post(
                f"http://127.0.0.1:{port}/graphql", json={"query": "{ version }"}, timeout=5
            )
            if answer.status_code == 200:
                return answer.json()["data"]["version"]
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"the Dagster UI did not answer on port {port}"
        time.sleep(1)


def _group_is_gone(pgid: int, timeout: float) -> bool:
    """Returns whether no process is left in the process group, waiting up to `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_demo_ui_serves_the_dagster_ui_then_stops_with_everything_it_started(tmp_path, stop):
    port = free_port()
    # Its own session, as in a terminal: Ctrl-C signals the demo's whole process group.
    demo = Running("demo", "--ui", "--ui-port", str(port), cwd=tmp_path, new_session=True)
    ui_group = None
    try:
        started = demo.wait_for(r"Dagster UI starting at (\S+) \(process group (\d+);", 600)
        assert started.group(1) == f"http://127.0.0.1:{port}"
        # The Overview's timeline leaves out runs made in the demo's process: it says where
        # they are.
        runs = demo.wait_for(r"The demo's runs: (\S+) ", 60)
        assert runs.group(1) == f"http://127.0.0.1:{port}/runs"
        ui_group = int(started.group(2))
        assert _graphql_version(port, timeout=300)
        if stop == signal.SIGINT:
            os.killpg(demo.process.pid, signal.SIGINT)
        else:
            demo.process.send_signal(signal.SIGTERM)
        code = demo.process.wait(timeout=120)
    finally:
        for group in (ui_group, demo.process.pid):  # never leave a Dagster behind
            if group is not None and not _group_is_gone(group, 0):
                os.killpg(group, signal.SIGKILL)
        demo.stop()
    assert code == 0, demo.finish()
    demo.finish()
    # Quiet where nothing is wrong: neither the demo nor `dagster dev` (its "superseded by
    # dg dev" notice) nor the code location (Dagster's BetaWarnings) warns.
    assert [line for line in demo.lines if "Warning" in line] == []
    assert _group_is_gone(ui_group, timeout=60), "webserver, daemon or code server still runs"
    assert port_is_free("127.0.0.1", port)
