"""`check-downstream`'s options, through `run_check` in this process (the console script's
own behaviour, one line and exit 2 on any error, is test_check_downstream.py's): --fail-on,
--active-days and the stored usage snapshots, --output, the GitHub step summary, and dbt
manifests that cannot be read."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from secoda_pipelines.cli.check_downstream import ERROR, CheckOptions, run_check
from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines_tests.helpers import dashboard_id, table_id
from secoda_pipelines_tests.sandbox.helpers import update_object

CHAIN = (
    "product.events.page_views",
    "product.events.stg_page_views",
    "product.marts.fct_sessions",
    "product.marts.daily_active_users",
)
TODAY = datetime.now(UTC).date()


def environ(sandbox, warehouse: Path, **extra: str) -> dict[str, str]:
    return {
        "SECODA_API_URL": sandbox.base_url,
        "SECODA_API_KEY": DEFAULT_API_KEY,
        "SECODA_DUCKDB_PATH": str(warehouse),
        **extra,
    }


def check(sandbox, warehouse: Path, *tables: str, env: dict | None = None, **options):
    """Returns (exit code, stdout text, stderr text) of the check of `tables`."""
    options.setdefault("depth", 0)
    return run_check(CheckOptions(tables=tables, **options), env or environ(sandbox, warehouse))


def store_snapshots(warehouse: Path, rows: list[tuple[str, date, int, int]]) -> None:
    """Writes ``secoda.dashboard_usage`` rows (dashboard_id, day, external, internal)."""
    frame = pd.DataFrame(
        [
            {
                "snapshot_date": pd.Timestamp(day, tz="UTC"),
                "dashboard_id": dashboard,
                "external_usage": external,
                "internal_usage": internal,
            }
            for dashboard, day, external, internal in rows
        ]
    )
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS secoda")
        connection.register("snapshots", frame)
        connection.execute("CREATE TABLE secoda.dashboard_usage AS SELECT * FROM snapshots")


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def unused_chain(sandbox):
    """The chain's tables and its dashboard, none of them viewed now (current usage 0)."""
    tables = [table_id(sandbox, name) for name in CHAIN]
    dashboard = dashboard_id(sandbox, "Product Engagement")
    for table in tables:
        update_object(sandbox, "table/tables/", table, external_usage=0, internal_usage=None)
    update_object(sandbox, "dashboard/dashboards/", dashboard, external_usage=0, internal_usage=0)
    return tables, dashboard


def test_fail_on_decides_the_exit_code_by_what_is_in_use(sandbox, warehouse, unused_chain):
    _, dashboard = unused_chain
    assert check(sandbox, warehouse, CHAIN[0], fail_on="any")[0] == 1
    assert check(sandbox, warehouse, CHAIN[0], fail_on="active")[0] == 0
    assert check(sandbox, warehouse, CHAIN[0], fail_on="none")[0] == 0
    assert not warehouse.exists()  # no warehouse is fine, and none is created

    update_object(sandbox, "dashboard/dashboards/", dashboard, internal_usage=4)
    code, out, err = check(sandbox, warehouse, CHAIN[0], fail_on="active", output_format="json")
    assert (code, err) == (1, "")
    rows = {row["resource_id"]: row for row in json.loads(out)["downstream"]}
    assert rows[dashboard]["active"] is True and rows[dashboard]["last_viewed"] is None
    assert [r["active"] for r in rows.values()].count(True) == 1
    assert check(sandbox, warehouse, CHAIN[0], fail_on="none")[0] == 0


def test_stored_snapshots_of_the_last_active_days_decide_and_are_only_read(
    sandbox, warehouse, unused_chain
):
    _, dashboard = unused_chain
    viewed_on = TODAY - timedelta(days=10)
    store_snapshots(warehouse, [(dashboard, viewed_on, 0, 2), (dashboard, TODAY, 0, 0)])
    before = warehouse.read_bytes()

    code, out, _ = check(
        sandbox, warehouse, CHAIN[0], fail_on="active", active_days=30, output_format="json"
    )
    assert code == 1
    body = json.loads(out)
    row = next(r for r in body["downstream"] if r["resource_id"] == dashboard)
    assert (row["active"], row["last_viewed"]) == (True, viewed_on.isoformat())
    assert body["activity_source"] == "snapshots"

    # Ten days ago is outside a week: nothing in use, though it was last viewed then.
    code, out, _ = check(
        sandbox, warehouse, CHAIN[0], fail_on="active", active_days=7, output_format="json"
    )
    assert code == 0
    row = next(r for r in json.loads(out)["downstream"] if r["resource_id"] == dashboard)
    assert (row["active"], row["last_viewed"]) == (False, viewed_on.isoformat())
    assert warehouse.read_bytes() == before


def test_output_writes_the_report_to_a_file_and_nothing_to_stdout(sandbox, warehouse, tmp_path):
    target = tmp_path / "check.json"
    code, out, err = check(sandbox, warehouse, CHAIN[0], output_format="json", output=str(target))
    assert (code, out, err) == (1, "", "")
    assert json.loads(target.read_text())["count"] == 4


def test_the_github_format_appends_the_markdown_to_the_step_summary(sandbox, warehouse, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("# Earlier step\n")
    env = environ(sandbox, warehouse, GITHUB_STEP_SUMMARY=str(summary))

    code, out, _ = check(sandbox, warehouse, CHAIN[0], output_format="github", env=env)

    assert code == 1
    assert out.startswith("::error")  # a table named by hand: an annotation without a file
    text = summary.read_text()
    assert text.startswith("# Earlier step\n")
    assert "Product Engagement" in text and "FAIL" in text.splitlines()[1]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "cannot be read"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not a dbt manifest"),
    ],
    ids=["missing", "not json", "not a manifest"],
)
def test_a_manifest_that_cannot_be_read_is_exit_2_naming_the_file(
    sandbox, warehouse, tmp_path, content, why
):
    manifest = tmp_path / "manifest.json"
    if content is not None:
        manifest.write_text(content)
    code, out, err = check(sandbox, warehouse, dbt_manifest=str(manifest))
    assert (code, out) == (ERROR, "")
    assert err.startswith("error: ") and "\n" not in err
    assert str(manifest) in err and why in err, err
