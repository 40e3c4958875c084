"""`secoda-pipelines demo` with the warehouse URL in SECODA_WAREHOUSE_URL, which keeps the
password off the command line (SPEC B): the demo reads it, names the warehouse by host,
port and database only, tells how to query it through the variable, and shows no secret
in its output or in anything it leaves in its working folder."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from secoda_pipelines_tests.cli.console_script import run
from secoda_pipelines_tests.helpers import api_rows, clean_environment, independent_stale
from secoda_pipelines_tests.store.secret_urls import (
    SecretUrl,
    files_text,
    secret_url,
    warehouse_name,
)

pytestmark = pytest.mark.slow  # each test starts the console script


def test_demo_reads_the_warehouse_from_the_environment_and_shows_no_secret(
    sandbox, warehouse_url, tmp_path
):
    # Both query forms at once: ?password= (percent-encoded, every reserved character) and
    # ?sslpassword= (ignored without a client key).
    password = secret_url(warehouse_url, "query_encoded")
    ssl = secret_url(warehouse_url, "sslpassword")
    both = SecretUrl(
        "query_encoded+sslpassword",
        f"{password.url}&{ssl.url.partition('?')[2]}",
        password.secrets + ssl.secrets,
    )
    expected_stale = independent_stale(
        api_rows(sandbox, "dashboard/dashboards/"), datetime.now(UTC)
    )

    result = run("demo", cwd=tmp_path, env=clean_environment(SECODA_WAREHOUSE_URL=both.url))

    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert both.shown_in([out, result.stderr, *files_text(tmp_path / ".demo")]) == []
    name = warehouse_name(warehouse_url)
    assert f"Warehouse: {name}\n" in out
    assert f"The tables are in {name}. Query them with psql:" in out
    assert "  export SECODA_WAREHOUSE_URL='postgresql://USER:PASSWORD@HOST:PORT/DB'" in out
    assert 'psql "$SECODA_WAREHOUSE_URL" -c "SELECT * FROM reports.stale_dashboards"' in out
    # The tables went where the variable points, not to the DuckDB file.
    with psycopg.connect(both.url) as connection:
        stored = connection.execute("SELECT count(*) FROM reports.stale_dashboards").fetchone()
    assert stored == (len(expected_stale),)
    assert not (tmp_path / ".demo" / "secoda_warehouse.duckdb").exists()


def test_demo_refuses_a_bad_url_from_the_environment_naming_the_variable(tmp_path):
    url = "mysql://app@db/secoda?password=hunter2&sslpassword=hunter3"

    result = run("demo", cwd=tmp_path, env=clean_environment(SECODA_WAREHOUSE_URL=url))

    assert result.returncode == 2
    assert "Invalid value for SECODA_WAREHOUSE_URL" in result.stderr
    assert "mysql://app@db/secoda?password=***&sslpassword=***" in result.stderr
    assert "hunter" not in result.stdout + result.stderr
    assert not (tmp_path / ".demo").exists()


def test_demo_help_offers_the_environment_variable():
    result = run("demo", "--help")

    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "export SECODA_WAREHOUSE_URL instead" in text
    assert "[env var: SECODA_WAREHOUSE_URL]" in text
