"""`secoda-pipelines check-downstream`, run as CI runs it: in a subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines_tests.helpers import dashboard_id, table_id


def check(*args: str, url: str | None, key: str | None = DEFAULT_API_KEY):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECODA_", "DAGSTER_"))}
    if url is not None:
        env["SECODA_API_URL"] = url
    if key is not None:
        env["SECODA_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "secoda_pipelines.cli", "check-downstream", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_something_downstream_exits_1_with_a_readable_table(sandbox):
    result = check("product.events.page_views", "--depth", "0", url=sandbox.base_url)
    assert result.returncode == 1, result.stderr
    dashboard = dashboard_id(sandbox, "Product Engagement")
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"product.events.page_views ({table_id(sandbox, 'product.events.page_views')}): "
        "4 downstream within all levels"
    )
    assert lines[1].split() == ["DEPTH", "KIND", "RESOURCE", "ID", "PATH"]
    assert lines[5].split()[:3] == ["4", "dashboard", dashboard]
    assert lines[5].endswith("product.marts.daily_active_users > Product Engagement")
    assert lines[-1] == "4 downstream resource(s) found for 1 table(s)"


def test_nothing_downstream_exits_0(sandbox):
    leaf = table_id(sandbox, "finance.reporting.arr_by_segment")
    result = check(leaf, url=sandbox.base_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"finance.reporting.arr_by_segment ({leaf}): nothing downstream within 1 level(s)",
        "Nothing downstream.",
    ]


def test_json_output_for_tools(sandbox):
    journal = table_id(sandbox, "finance.ledger.journal_entries")
    balances = table_id(sandbox, "finance.ledger.gl_balances")
    result = check(journal, "--json", url=sandbox.base_url)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout) == {
        "depth": 1,
        "count": 1,
        "tables": [
            {
                "table": journal,
                "table_id": journal,
                "name": "finance.ledger.journal_entries",
                "downstream": 1,
            }
        ],
        "downstream": [
            {
                "table": journal,
                "table_id": journal,
                "resource_id": balances,
                "title": "gl_balances",
                "kind": "table",
                "depth": 1,
                "path": "finance.ledger.journal_entries > finance.ledger.gl_balances",
                "name": "finance.ledger.gl_balances",
            }
        ],
    }


def test_unknown_and_ambiguous_tables_exit_2_naming_them(sandbox):
    line = one_line_error(
        check("nowhere.at.all", "raw.stripe.charges", "--json", url=sandbox.base_url)
    )
    assert "no table is named 'nowhere.at.all'" in line
    assert table_id(sandbox, "raw.stripe.charges") in line
    assert table_id(sandbox, "raw.stripe.charges", "Snowflake (legacy)") in line


def test_authentication_errors_exit_2_without_the_key(sandbox):
    secret = "sk-live-not-the-key-9f3a"
    line = one_line_error(check("product.events.page_views", url=sandbox.base_url, key=secret))
    assert "401" in line and secret not in line
    line = one_line_error(check("product.events.page_views", url=sandbox.base_url, key=None))
    assert "SECODA_API_KEY is not set" in line


def test_an_unreachable_server_exits_2():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = one_line_error(check("a.b.c", url=f"http://127.0.0.1:{port}/api/v1/"))
    assert "could not reach Secoda" in line
