"""One writer per Secoda workspace (`ReportStore.workspace_lock`), in the DuckDB file's
lock file and in the PostgreSQL warehouse: the holder is another process (a `python -c`
that takes the lock as run "run-A" and holds it until told or killed), the waiter this
one."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from secoda_pipelines.store import ReportStore, WarehouseResource
from secoda_pipelines.store.workspace_lock import (
    WorkspaceBusyError,
    normalized_workspace,
    workspace_key,
)
from secoda_pipelines_tests.helpers import clean_environment, drop_secoda_variables

pytestmark = pytest.mark.timeout(180)

WORKSPACE = "http://127.0.0.1:8765/api/v1/"
OTHER_WORKSPACE = "http://127.0.0.1:8766/api/v1/"
HOLD_SECONDS = 60.0  # the most any waiter below waits for a lock it expects to get

HOLDER = """
import sys
from secoda_pipelines.store import ReportStore

with ReportStore().workspace_lock(sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


def password_of(settings: dict[str, str]) -> str | None:
    url = settings.get("warehouse_url")
    return urlsplit(url).password if url else None


def store(settings: dict[str, str], wait: float) -> ReportStore:
    return ReportStore(warehouse=WarehouseResource(**settings), write_lock_wait_seconds=wait)


def holder_environment(settings: dict[str, str]) -> dict[str, str]:
    """Returns the holder's environment: this one's without SECODA_ variables, plus the
    warehouse (the URL in the environment, off the command line)."""
    env = clean_environment()
    if "warehouse_url" in settings:
        env["SECODA_WAREHOUSE_URL"] = settings["warehouse_url"]
    else:
        env["SECODA_DUCKDB_PATH"] = settings["database"]
    return env


@contextmanager
def holder(
    settings: dict[str, str], tmp_path: Path, workspace: str = WORKSPACE, run_id: str = "run-A"
) -> Iterator[subprocess.Popen]:
    """Yields a process that holds the workspace's lock as `run_id` (it printed "held");
    kills it afterwards if it still runs."""
    errors = tmp_path / f"holder-{run_id}.err"
    with errors.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, workspace, run_id],
            env=holder_environment(settings),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        line = process.stdout.readline().strip()
        if line != "held":
            process.wait(timeout=30)
            raise AssertionError(f"the holder did not take the lock: {errors.read_text()}")
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def release(process: subprocess.Popen) -> None:
    """Tells the holder to leave its block; returns once it has."""
    process.stdin.write("\n")
    process.stdin.flush()
    assert process.stdout.readline().strip() == "released"
    assert process.wait(timeout=30) == 0


def busy_error(settings: dict[str, str], workspace: str = WORKSPACE) -> WorkspaceBusyError:
    """Returns the error of taking the workspace as run-B with a 1 s wait."""
    with (
        pytest.raises(WorkspaceBusyError) as raised,
        store(settings, wait=1).workspace_lock(workspace, "run-B"),
    ):
        pass
    return raised.value


def takes(settings: dict[str, str], workspace: str = WORKSPACE, wait: float = 0) -> bool:
    """Returns True once run-B has held and released the workspace (within `wait`)."""
    with store(settings, wait).workspace_lock(workspace, "run-B"):
        return True


def test_a_second_run_waits_then_fails_naming_the_holders_run_id(
    settings, tmp_path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    with holder(settings, tmp_path) as process:
        # The same workspace as spelled by someone else, user and password included.
        error = busy_error(settings, "HTTP://reader:url-secret-pw@127.0.0.1:8765/api/v1")
    message = str(error)
    assert message.startswith(
        f"another write-back run, run-A, holds the Secoda workspace {WORKSPACE} for writing (since "
    )
    assert message.endswith("wait for it to finish or cancel it, then run this job again")
    assert (error.holder.run_id, error.workspace) == ("run-A", WORKSPACE)
    if "database" in settings:
        assert f"pid {process.pid} on host " in message
    else:
        assert "PostgreSQL backend pid " in message
    waiting = [r.getMessage() for r in caplog.records if "waiting for run" in r.getMessage()]
    assert waiting, "the waiter logs whom it waits for"
    assert waiting[0].startswith(
        f"waiting for run run-A ({error.holder.where}) which holds the Secoda workspace "
        f"{WORKSPACE} for writing since {error.holder.since}"
    )
    shown = [message, *(r.getMessage() for r in caplog.records)]
    for secret in ("url-secret-pw", "reader", password_of(settings)):
        if secret:
            assert not [text for text in shown if secret in text], secret


@pytest.mark.slow
def test_the_lock_file_beside_the_duckdb_file_names_the_holder(tmp_path, monkeypatch):
    drop_secoda_variables(monkeypatch)
    settings = {"database": str(tmp_path / "warehouse.duckdb")}
    _, tag = workspace_key("https://x.example/api/v1/")
    with holder(settings, tmp_path, "https://user:pw@X.example/api/v1") as process:
        [lock] = tmp_path.glob("warehouse.duckdb.writes-*.lock")
        assert lock.name == f"warehouse.duckdb.writes-{tag}.lock"
        held = json.loads(lock.read_text())
        assert (held["run_id"], held["pid"]) == ("run-A", process.pid)
        assert held["workspace"] == "https://x.example/api/v1/"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", held["since"])
        release(process)
    assert lock.read_text() == "", "a released lock file names no holder"
    assert not (tmp_path / "warehouse.duckdb").exists(), "the lock never opens the DuckDB file"


@pytest.mark.slow
def test_the_next_run_proceeds_once_the_holder_ends(settings, tmp_path):
    with holder(settings, tmp_path) as process:
        busy_error(settings)
        release(process)
        assert takes(settings)


@pytest.mark.slow
def test_a_killed_holder_leaves_no_stale_lock(settings, tmp_path):
    with holder(settings, tmp_path) as process:
        busy_error(settings)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
        # The server notices the closed socket a moment later: the wait covers that.
        assert takes(settings, wait=HOLD_SECONDS)


@pytest.mark.slow
def test_a_waiting_run_takes_the_workspace_when_the_holder_finishes(
    settings, tmp_path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    with holder(settings, tmp_path) as process:
        timer = threading.Timer(2.0, release, [process])
        timer.start()
        try:
            assert takes(settings, wait=HOLD_SECONDS)
        finally:
            timer.join()
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("waiting for run run-A (") for m in messages), messages
    assert any(
        m.startswith(f"run run-B holds the Secoda workspace {WORKSPACE} for writing after waiting")
        for m in messages
    ), messages


@pytest.mark.slow
def test_other_workspaces_are_not_blocked(settings, tmp_path):
    with holder(settings, tmp_path):
        assert takes(settings, OTHER_WORKSPACE)
        assert takes(settings, "http://127.0.0.1:8765/api/v2/")
        # Spelled otherwise, the same workspace is still held.
        assert busy_error(settings, " HTTP://127.0.0.1:8765/api/v1 ").holder.run_id == "run-A"


def test_a_second_run_in_the_same_process_waits_like_any_other(settings):
    with store(settings, wait=0).workspace_lock(WORKSPACE, "run-A"):
        error = busy_error(settings)
        assert error.holder.run_id == "run-A"
    assert takes(settings)


def test_the_lock_is_released_when_the_block_raises(settings):
    with (
        pytest.raises(ZeroDivisionError),
        store(settings, wait=0).workspace_lock(WORKSPACE, "run-A"),
    ):
        _ = 1 / 0
    assert takes(settings)


@pytest.mark.parametrize(
    ("spelling", "same"),
    [
        ("http://127.0.0.1:8765/api/v1", True),
        ("  HTTP://127.0.0.1:8765/api/v1//  ", True),
        ("http://someone:secret@127.0.0.1:8765/api/v1/", True),
        ("https://app.secoda.co:443/api/v1/", False),  # another host altogether
        ("http://127.0.0.1:8765/API/v1/", False),  # paths are case-sensitive
    ],
)
def test_a_workspace_is_keyed_by_its_normalized_base_url(spelling: str, same: bool):
    key = workspace_key(normalized_workspace(WORKSPACE))
    assert (workspace_key(normalized_workspace(spelling)) == key) is same
    assert "secret" not in normalized_workspace(spelling)


def test_default_ports_and_host_case_do_not_make_another_workspace():
    assert normalized_workspace("HTTPS://App.Secoda.CO:443/api/v1") == (
        "https://app.secoda.co/api/v1/"
    )
    assert normalized_workspace("http://[::1]:80/api/v1/") == "http://[::1]/api/v1/"
    assert normalized_workspace("http://[::1]:8765/api/v1/") == "http://[::1]:8765/api/v1/"


@pytest.mark.parametrize(
    "bad", ["", "app.secoda.co/api/v1/", "ftp://app.secoda.co/", "https://u:pw@host:port/"]
)
def test_a_workspace_that_is_not_an_http_url_is_refused_without_its_password(bad: str):
    with pytest.raises(ValueError, match="is not an http\\(s\\) URL with a host") as raised:
        ReportStore(warehouse=WarehouseResource(database="w.duckdb")).workspace_lock(bad, "run-A")
    assert "pw" not in str(raised.value)


def test_a_lock_file_whose_folder_is_missing_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("SECODA_WAREHOUSE_URL", raising=False)
    missing = tmp_path / "no-such-folder" / "warehouse.duckdb"
    lock = ReportStore(warehouse=WarehouseResource(database=str(missing))).workspace_lock(
        WORKSPACE, "run-A"
    )
    with pytest.raises(Exception, match="no-such-folder") as raised, lock:
        pass
    assert "must exist and be writable" in str(raised.value)
