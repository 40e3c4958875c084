"""`secoda-pipelines sandbox`: the console script in a subprocess, then plain HTTP to it.

Each flag is shown by what a user of the served API sees. `--latency-ms` is the exception:
the sandbox's only effect of it is a sleep before each answer, and tests do not time
things, so it is asserted as accepted and echoed back in the printed settings.
"""

from __future__ import annotations

import json
import re
import signal
import socket

import pytest
import requests

from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines_tests.cli.console_script import Running, port_is_free, run
from secoda_pipelines_tests.helpers import free_port

pytestmark = pytest.mark.slow  # each test starts the console script

FAULT_STATUSES = {429, 500, 503}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_integration(base_url: str, key: str, name: str) -> requests.Response:
    body = {"name": name, "type": "snowflake"}
    path = "integration/integrations/"
    return requests.post(base_url + path, json=body, headers=bearer(key), timeout=30)


def served_url(sandbox: Running) -> str:
    """Returns the base URL the sandbox printed, after checking it printed its key too."""
    return sandbox.wait_for(r"serving at (\S+)$", timeout=180).group(1)


def test_sandbox_honours_host_port_db_key_scale_latency_and_write_limit(tmp_path):
    host = "127.0.0.2"  # another loopback address (all of 127/8 is, on Linux): --host shows
    port = free_port(host)
    db = tmp_path / "nested" / "workspace.sqlite"
    key = "k-flags-3b9e"
    sandbox = Running(
        "sandbox",
        *("--host", host, "--port", str(port), "--db", str(db), "--api-key", key),
        *("--scale", "small", "--latency-ms", "5", "--fault-rate", "0"),
        *("--write-rate-limit", "1"),
        cwd=tmp_path,
    )
    try:
        url = served_url(sandbox)
        assert url == f"http://{host}:{port}/api/v1/"
        sandbox.wait_for(rf"^  export SECODA_API_URL={re.escape(url)}$", timeout=10)
        sandbox.wait_for(rf"^  export SECODA_API_KEY={key}$", timeout=10)
        assert f"Workspace: {db}" in sandbox.lines
        settings = "Latency 5 ms per request; fault rate 0 of GETs; 429 past 1 writes a minute."
        assert settings in sandbox.lines

        assert db.is_file()  # --db: the workspace is where asked, its folder made
        with pytest.raises(requests.ConnectionError):  # --host: not on 127.0.0.1
            requests.get(f"http://127.0.0.1:{port}/api/v1/user/", timeout=10)

        tables = requests.get(url + "table/tables/", headers=bearer(key), timeout=30)
        assert tables.status_code == 200
        assert tables.json()["count"] == 1_000  # --scale small: exactly 1,000 tables
        for other in (DEFAULT_API_KEY, "k-wrong"):  # --api-key: only that key
            assert requests.get(url + "user/", headers=bearer(other), timeout=30).status_code == 401

        assert new_integration(url, key, "flag-test-1").status_code == 201  # --write-rate-limit 1
        throttled = new_integration(url, key, "flag-test-2")
        assert throttled.status_code == 429, throttled.text
    finally:
        code = sandbox.stop()
    assert code == 0, sandbox.finish()
    assert port_is_free(host, port)


def test_sandbox_defaults_key_and_db_and_faults_every_get_at_rate_1(tmp_path):
    port = free_port()
    sandbox = Running("sandbox", "--port", str(port), "--fault-rate", "1", cwd=tmp_path)
    try:
        url = served_url(sandbox)
        assert url == f"http://127.0.0.1:{port}/api/v1/"  # --host defaults to loopback
        sandbox.wait_for(rf"^  export SECODA_API_KEY={DEFAULT_API_KEY}$", timeout=10)
        assert (tmp_path / ".sandbox" / "demo.sqlite").is_file()  # --db default

        failures = []
        for path in ["user/", "table/tables/", "auth/teams/", "dashboard/dashboards/"] * 5:
            try:
                answer = requests.get(url + path, headers=bearer(DEFAULT_API_KEY), timeout=30)
            except requests.ConnectionError:
                failures.append("reset")
                continue
            if answer.status_code in FAULT_STATUSES:
                failures.append(str(answer.status_code))
                continue
            assert answer.status_code == 200, answer.text
            with pytest.raises(json.JSONDecodeError):  # the one 2xx fault: half a body
                json.loads(answer.text)
            failures.append("truncated")
        assert len(failures) == 20  # every GET failed, whatever the fault

        # Faults are for GETs: a write goes through, with the default key only.
        assert new_integration(url, DEFAULT_API_KEY, "default-key").status_code == 201
        assert new_integration(url, "k-wrong", "wrong-key").status_code == 401
    finally:
        code = sandbox.stop()
    assert code == 0, sandbox.finish()
    assert port_is_free("127.0.0.1", port)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_sandbox_stops_cleanly_on_a_signal_and_frees_its_port(tmp_path, stop):
    port = free_port()
    sandbox = Running("sandbox", "--port", str(port), cwd=tmp_path, new_session=True)
    try:
        served_url(sandbox)
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass
        sandbox.process.send_signal(stop)
        code = sandbox.process.wait(timeout=60)
    finally:
        sandbox.stop()
    assert code == 0, sandbox.finish()
    assert port_is_free("127.0.0.1", port)


def test_sandbox_command_rejects_a_bad_scale(tmp_path):
    result = run("sandbox", "--scale", "huge", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "'huge' is not one of 'demo', 'small', 'large'" in result.stderr
    assert not (tmp_path / ".sandbox").exists()


def test_sandbox_fault_kinds_and_methods_choose_what_faults_and_how(tmp_path):
    port = free_port()
    sandbox = Running(
        "sandbox",
        *("--port", str(port), "--fault-rate", "1"),
        *("--fault-kinds", "applied_503,empty_page", "--fault-methods", "get,POST"),
        cwd=tmp_path,
    )
    key = bearer(DEFAULT_API_KEY)
    try:
        url = served_url(sandbox)
        settings = (
            "Latency 0 ms per request; fault rate 1 of GET, POST requests; "
            "429 past 30 writes a minute."
        )
        assert settings in sandbox.lines
        assert "Random fault kinds: applied_503, empty_page." in sandbox.lines

        # Page 1 of a listing: neither kind applies to it, so it is served whole.
        first = requests.get(url + "table/tables/", headers=key, timeout=30)
        assert first.status_code == 200 and len(first.json()["results"]) == 50
        # Page 2 of the 96 tables: empty, the envelope still counting 96.
        second = requests.get(url + "table/tables/", params={"page": 2}, headers=key, timeout=30)
        assert second.status_code == 200
        assert (second.json()["count"], second.json()["results"]) == (96, [])

        # A POST: applied, then answered by a proxy's 503 page.
        created = new_integration(url, DEFAULT_API_KEY, "behind-a-503")
        assert created.status_code == 503 and created.headers["Content-Type"].startswith(
            "text/html"
        )
        listed = requests.get(url + "integration/integrations/", headers=key, timeout=30)
        assert "behind-a-503" in [i["name"] for i in listed.json()["results"]]

        # PATCH is not one of --fault-methods: answered by the API.
        dashboard = requests.get(url + "dashboard/dashboards/", headers=key, timeout=30)
        path = f"dashboard/dashboards/{dashboard.json()['results'][0]['id']}/"
        patched = requests.patch(url + path, json={"description": "d"}, headers=key, timeout=30)
        assert patched.status_code == 200 and patched.json()["description"] == "d"
    finally:
        code = sandbox.stop()
    assert code == 0, sandbox.finish()


def test_sandbox_fault_kinds_all_is_every_kind_but_slow(tmp_path):
    port = free_port()
    sandbox = Running(
        "sandbox", "--port", str(port), "--fault-rate", "0.5", "--fault-kinds", "all", cwd=tmp_path
    )
    try:
        served_url(sandbox)
        every = (
            "429_retry_after, 429, 500, 503, reset, truncated, applied_500, applied_503, "
            "applied_reset, redirect, html_200, empty_page, page_404"
        )
        assert f"Random fault kinds: {every}." in sandbox.lines
    finally:
        code = sandbox.stop()
    assert code == 0, sandbox.finish()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "--fault-kinds",
            "500,teapot",
            "unknown fault kind 'teapot'; valid kinds: 429_retry_after, 429, 500, 503, reset, "
            "truncated, slow, applied_500, applied_503, applied_reset, redirect, html_200, "
            "empty_page, page_404 (or all)",
        ),
        (
            "--fault-methods",
            "GET,FETCH",
            "unknown method 'FETCH'; valid methods: GET, POST, PUT, PATCH, DELETE",
        ),
    ],
)
def test_sandbox_command_rejects_a_bad_fault_kind_or_method(tmp_path, option, value, message):
    result = run("sandbox", option, value, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert f"Invalid value for '{option}': {message}" in result.stderr
    assert not (tmp_path / ".sandbox").exists()
