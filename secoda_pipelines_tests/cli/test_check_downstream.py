"""`secoda-pipelines check-downstream`, run as CI runs it: the console script in a subprocess.

Exit 0: nothing downstream; 1: something is (listed); 2: any error, with one line on stderr.
The real sandbox answers only valid Secoda shapes, so the odd answers come from a small
stdlib server in this module.
"""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest

from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines_tests.cli.console_script import run
from secoda_pipelines_tests.helpers import (
    QuietHandler,
    api_rows,
    base_url,
    clean_environment,
    dashboard_id,
    serving,
    table_id,
)

SECRET = "sk-live-odd-server-7d2e"


def check(*args: str, url: str | None, key: str | None = DEFAULT_API_KEY):
    env = clean_environment()
    # No usage snapshots: never a warehouse file that happens to be in the working folder.
    env["SECODA_DUCKDB_PATH"] = "/nonexistent/secoda_warehouse.duckdb"
    if url is not None:
        env["SECODA_API_URL"] = url
    if key is not None:
        env["SECODA_API_KEY"] = key
    return run("check-downstream", *args, env=env, timeout=120)


def one_line_error(result) -> str:
    """Returns the error line after asserting exit 2, no output and one `error:` line only."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# --- against the sandbox -------------------------------------------------------------------


@pytest.mark.slow
def test_something_downstream_exits_1_with_a_readable_table(sandbox):
    result = check("product.events.page_views", "--depth", "0", url=sandbox.base_url)
    assert result.returncode == 1, result.stderr
    dashboard = dashboard_id(sandbox, "Product Engagement")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("FAIL: 4 resources are downstream of 1 of 1 checked table (")
    assert lines[1] == (
        f"product.events.page_views ({table_id(sandbox, 'product.events.page_views')}): "
        "4 downstream within all levels"
    )
    assert lines[2].split() == [
        "DEPTH",
        "KIND",
        "RESOURCE",
        "ID",
        "ACTIVE",
        "LAST",
        "VIEWED",
        "PATH",
    ]
    assert lines[6].split()[:3] == ["4", "dashboard", dashboard]
    assert lines[6].endswith("product.marts.daily_active_users > Product Engagement")
    assert lines[-1] == "4 downstream resource(s) found for 1 table(s)"
    assert result.stderr == ""


@pytest.mark.slow
def test_nothing_downstream_exits_0(sandbox):
    leaf = table_id(sandbox, "finance.reporting.arr_by_segment")
    result = check(leaf, url=sandbox.base_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "PASS: nothing is downstream of the 1 checked table (--fail-on any)",
        f"finance.reporting.arr_by_segment ({leaf}): nothing downstream within 1 level(s)",
        "Nothing downstream.",
    ]


@pytest.mark.slow
def test_json_output_for_tools(sandbox):
    journal = table_id(sandbox, "finance.ledger.journal_entries")
    balances = table_id(sandbox, "finance.ledger.gl_balances")
    stored = next(t for t in api_rows(sandbox, "table/tables/") if t["id"] == balances)
    in_use = any((stored.get(f) or 0) > 0 for f in ("external_usage", "internal_usage"))
    result = check(journal, "--json", url=sandbox.base_url)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout) == {
        "verdict": "FAIL: 1 resource is downstream of 1 of 1 checked table "
        f"(1 downstream in all, {int(in_use)} in use; --fail-on any)",
        "exit_code": 1,
        "fail_on": "any",
        "active_days": 30,
        "activity_source": "current usage",
        "depth": 1,
        "count": 1,
        "tables": [
            {
                "table": journal,
                "table_id": journal,
                "name": "finance.ledger.journal_entries",
                "downstream": 1,
                "blocking": 1,
                "change": None,
                "model": None,
                "original_file_path": None,
                "skipped": None,
            }
        ],
        "downstream": [
            {
                "table": journal,
                "table_id": journal,
                "resource_id": balances,
                "title": "gl_balances",
                "entity_type": "table",
                "depth": 1,
                "path": "finance.ledger.journal_entries > finance.ledger.gl_balances",
                "name": "finance.ledger.gl_balances",
                "active": in_use,
                "last_viewed": None,
            }
        ],
    }


@pytest.mark.slow
def test_json_output_when_nothing_is_downstream_exits_0(sandbox):
    leaf = table_id(sandbox, "finance.reporting.arr_by_segment")
    result = check(leaf, "--json", url=sandbox.base_url)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["count"], body["downstream"]) == (0, [])
    assert body["tables"][0]["table_id"] == leaf


@pytest.mark.slow
def test_unknown_and_ambiguous_tables_exit_2_naming_them(sandbox):
    line = one_line_error(
        check("nowhere.at.all", "raw.stripe.charges", "--json", url=sandbox.base_url)
    )
    assert "no table is named 'nowhere.at.all'" in line
    assert table_id(sandbox, "raw.stripe.charges") in line
    assert table_id(sandbox, "raw.stripe.charges", "Snowflake (legacy)") in line


@pytest.mark.slow
def test_an_unknown_id_exits_2_naming_it(sandbox):
    line = one_line_error(check("no-such-id-4f1c", url=sandbox.base_url))
    assert "'no-such-id-4f1c'" in line


@pytest.mark.slow
def test_authentication_errors_exit_2_without_the_key(sandbox):
    result = check("product.events.page_views", url=sandbox.base_url, key=SECRET)
    line = one_line_error(result)
    assert "401" in line and SECRET not in result.stdout + result.stderr
    line = one_line_error(check("product.events.page_views", url=sandbox.base_url, key=None))
    assert "SECODA_API_KEY is not set" in line


@pytest.mark.slow
def test_an_unreachable_server_exits_2():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = one_line_error(check("a.b.c", url=f"http://127.0.0.1:{port}/api/v1/"))
    assert "could not reach Secoda" in line


@pytest.mark.parametrize(
    "args",
    [
        pytest.param((), id="no table"),
        pytest.param(("a.b.c", "--depth", "-1"), id="negative depth"),
        pytest.param(("a.b.c", "--no-such-option"), id="unknown option"),
    ],
)
@pytest.mark.slow
def test_usage_errors_exit_2_with_one_line(args):
    line = one_line_error(check(*args, url="http://127.0.0.1:9/api/v1/"))
    assert "Usage:" not in line


# --- against a server answering what the client does not expect ------------------------------

Answer = tuple[int, str, bytes]  # status, content type, body


def _json(obj: Any, status: int = 200) -> Answer:
    return status, "application/json", json.dumps(obj).encode()


def _page(rows: list[Any]) -> Answer:
    return _json(
        {
            "links": {"next": None, "previous": None},
            "meta": {"page": 1, "previous_page": None, "next_page": None},
            "count": len(rows),
            "total_pages": 1,
            "results": rows,
        }
    )


NOT_FOUND = _json({"detail": "Not found."}, 404)
ORDERS = {"id": "t-1", "title": "orders", "database": "shop", "schema": "public"}


class _Handler(QuietHandler):
    def do_GET(self) -> None:
        path = urlsplit(self.path).path.removeprefix("/api/v1/")
        status, content_type, body = self.server.answer(path, self.headers["Authorization"])
        self.reply(body, status, content_type)


@contextmanager
def odd_server(answer: Callable[[str, str], Answer]) -> Iterator[str]:
    """Yields the base URL of a loopback server answering `answer(path, authorization)`."""
    with serving(_Handler) as server:
        server.answer = answer
        yield base_url(server)


def detail_is_a_list(path: str, authorization: str) -> Answer:
    # The body even carries the key back: nothing of it may reach the output.
    if path == "table/tables/t-1/":
        return _json([{"id": "t-1", "seen": authorization}])
    return NOT_FOUND


def detail_is_a_string(path: str, authorization: str) -> Answer:
    return _json("t-1") if path == "table/tables/t-1/" else NOT_FOUND


def lineage_rows_are_not_edges(path: str, authorization: str) -> Answer:
    if path == "table/tables/t-1/":
        return _json(ORDERS)
    if path == "lineage/manual/":
        return _page([{"id": "l-1", "note": "no ends, no direction"}])
    return NOT_FOUND


def lineage_results_are_not_a_list(path: str, authorization: str) -> Answer:
    if path == "table/tables/t-1/":
        return _json(ORDERS)
    if path == "lineage/manual/":
        return _json({"count": 1, "total_pages": 1, "results": "t-2"})
    return NOT_FOUND


def html_sign_in_page(path: str, authorization: str) -> Answer:
    return 200, "text/html", b"<!doctype html><html><body>Sign in</body></html>"


def table_rows_of_odd_types(path: str, authorization: str) -> Answer:
    if path == "table/tables/":
        return _page([{"id": ["x"], "title": {"a": 1}, "database": 3, "schema": None}, 7])
    return NOT_FOUND


@pytest.mark.parametrize(
    ("answer", "reference"),
    [
        pytest.param(detail_is_a_list, "t-1", id="detail GET answers a JSON list"),
        pytest.param(detail_is_a_string, "t-1", id="detail GET answers a JSON string"),
        pytest.param(lineage_rows_are_not_edges, "t-1", id="lineage rows are not edges"),
        pytest.param(lineage_results_are_not_a_list, "t-1", id="lineage results not a list"),
        pytest.param(html_sign_in_page, "t-1", id="200 with an HTML body"),
        pytest.param(table_rows_of_odd_types, "shop.public.orders", id="table rows odd types"),
    ],
)
@pytest.mark.slow
def test_an_unexpected_answer_exits_2_with_one_line_and_no_key(answer, reference):
    with odd_server(answer) as url:
        result = check(reference, "--depth", "0", url=url, key=SECRET)
    one_line_error(result)
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.slow
def test_lineage_results_that_are_not_objects_exit_2():
    def answer(path: str, authorization: str) -> Answer:
        if path == "table/tables/t-1/":
            return _json(ORDERS)
        return _page(["t-2", ["t-1", "t-3"]]) if path == "lineage/manual/" else NOT_FOUND

    with odd_server(answer) as url:
        one_line_error(check("t-1", url=url, key=SECRET))


def test_an_unexpected_exception_is_one_line_without_the_key(monkeypatch, tmp_path):
    import secoda_pipelines.lineage
    from secoda_pipelines.cli import check_downstream

    def explode(client, tables, **options):
        raise RuntimeError(f"boom with {SECRET}\nand a second line")

    monkeypatch.setattr(secoda_pipelines.lineage, "check_contract", explode)
    environ = {
        "SECODA_API_URL": "http://127.0.0.1:9/api/v1/",
        "SECODA_API_KEY": SECRET,
        "SECODA_DUCKDB_PATH": str(tmp_path / "none.duckdb"),
    }
    options = check_downstream.CheckOptions(tables=["t-1"])
    code, out, err = check_downstream.run_check(options, environ)
    assert (code, out) == (check_downstream.ERROR, "")
    assert err.startswith("error: ") and "\n" not in err and "boom" in err
    assert SECRET not in err


@pytest.mark.parametrize("kind", ["page_404", "empty_page"])
@pytest.mark.slow
def test_a_lineage_listing_cut_short_is_an_error_never_a_pass(make_sandbox, kind):
    # Every later page of every lineage listing comes back 404 (or empty): the listing is
    # read twice, comes up short of its count both times, and the check exits 2.
    sandbox = make_sandbox(page_size=1)
    sandbox.fail_next(kind, count=1000, path_contains="lineage/manual/")
    result = check("product.events.page_views", "--depth", "0", url=sandbox.base_url)
    error = one_line_error(result)
    assert "lineage/manual/" in error and "where its count says" in error
    assert "incomplete" in error


# --- a dbt pull request ----------------------------------------------------------------------


@pytest.mark.slow
def test_a_dbt_pull_request_exits_by_what_is_in_use_in_each_format(sandbox, tmp_path):
    from secoda_pipelines.sandbox import DEMO_DBT_MANIFESTS

    dbt = (
        "--dbt-manifest",
        str(DEMO_DBT_MANIFESTS / "pull_request.json"),
        "--dbt-state",
        str(DEMO_DBT_MANIFESTS / "production.json"),
        "--depth",
        "0",
    )
    # Daily Orders (210 views) is downstream of both changed models.
    markdown = check(*dbt, "--fail-on", "active", "--format", "markdown", url=sandbox.base_url)
    assert markdown.returncode == 1, markdown.stderr
    first = markdown.stdout.splitlines()[0]
    assert "FAIL" in first and "2 of 2 checked tables" in first
    assert "stg_orders" in markdown.stdout and "Daily Orders" in markdown.stdout

    report = tmp_path / "check.xml"
    junit = check(*dbt, "--format", "junit", "--output", str(report), url=sandbox.base_url)
    assert (junit.returncode, junit.stdout) == (1, "")
    suite = ET.parse(report).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "2")

    # Only the snapshot's stale dashboard is downstream of it: nothing in use, exit 0.
    snapshot = check(
        "orders_snapshot",
        "--dbt-manifest",
        str(DEMO_DBT_MANIFESTS / "production.json"),
        "--fail-on",
        "active",
        url=sandbox.base_url,
    )
    assert snapshot.returncode == 0, snapshot.stderr
    assert snapshot.stdout.startswith("PASS: 1 downstream of 1 checked table, none of them in use")


@pytest.mark.slow
def test_a_manifest_that_is_not_json_is_one_line_naming_it(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text("<html>proxy error</html>")
    line = one_line_error(check("--dbt-manifest", str(manifest), url="http://127.0.0.1:9/api/v1/"))
    assert f"dbt manifest {manifest}: not JSON" in line
    state_alone = one_line_error(check("--dbt-state", str(manifest), url=None))
    assert "--dbt-state needs --dbt-manifest" in state_alone
