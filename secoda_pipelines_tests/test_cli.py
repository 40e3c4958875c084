"""The `secoda-pipelines` command, run as a user runs it: in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from secoda_pipelines_tests.defs.test_catalog_assets import (
    independent_adoption,
    independent_stale,
)
from secoda_pipelines_tests.helpers import api_rows, query


def run_cli(*args: str, cwd, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECODA_", "DAGSTER_"))}
    return subprocess.run(
        [sys.executable, "-m", "secoda_pipelines.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


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

    result = run_cli("demo", cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert f"Stale dashboards: {len(expected_stale)}" in out
    assert f"Question-answering adoption: {len(expected_adoption)} users" in out
    titles = {d["id"]: d["title"] for d in api_rows(sandbox, "dashboard/dashboards/")}
    for dashboard_id in expected_stale:
        assert titles[dashboard_id] in out
    assert "secoda-pipelines demo --ui" in out and "duckdb.connect(" in out
    assert "in dry run (nothing was written to Secoda)" in out
    assert "migrate_documentation: Snowflake (legacy) -> Snowflake" in out
    assert "PATCHes would be written" in out
    assert "provision_users (2 users): create: 1, exists: 1" in out
    assert "create_manual_lineage (2 edges): create: 1, exists: 1" in out
    assert "check_downstream_impact (product.events.page_views, all levels): 4 downstream" in out
    # The data is where the printed commands say, and the Dagster instance has the runs.
    warehouse = tmp_path / ".demo" / "secoda_warehouse.duckdb"
    stored = query(warehouse, "SELECT count(*) AS n FROM reports.stale_dashboards")
    assert stored.n[0] == len(expected_stale)
    assert (tmp_path / ".demo" / "dagster_home" / "dagster.yaml").exists()
    assert any((tmp_path / ".demo" / "dagster_home").glob("history/runs/*"))


def test_sandbox_command_rejects_a_bad_scale(tmp_path):
    result = run_cli("sandbox", "--scale", "huge", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "'huge' is not one of 'demo', 'small', 'large'" in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(command)
    return found


def test_demo_ui_serves_the_dagster_ui_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECODA_", "DAGSTER_"))}
    demo = subprocess.Popen(
        [sys.executable, "-m", "secoda_pipelines.cli", "demo", "--ui", "--ui-port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        info = None
        while time.monotonic() < deadline and demo.poll() is None:
            try:
                info = requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).json()
                break
            except requests.RequestException:
                time.sleep(1)
        assert info and info["dagster_version"], "the Dagster UI answered"
        assert _processes_mentioning(f"--port {port}")
        demo.send_signal(signal.SIGTERM)
        output, _ = demo.communicate(timeout=90)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, output[-3000:]
    assert "Dagster services shut down" in output
    assert _processes_mentioning(f"--port {port}") == []
