"""A write-back run killed with writes in flight (a real child process, SIGKILLed) leaves
them in the workspace's journal of writes; the next run, `provision_users` through
`execute_in_process` on the sandbox, continues their pace from the journal, so Secoda
(the sandbox, which counted them) answers it no 429. Without the journal it would.

The sandbox holds the killed writer's writes unanswered until it is dead, then lets them
through, counting and applying them with no one left to read the answers: as Secoda may
count a write as late as the death of the process that sent it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from secoda_pipelines.defs.jobs.provision_users import provision_users
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines.sandbox.records import RequestRecord
from secoda_pipelines.secoda import SecodaClient
from secoda_pipelines.store import ReportStore, WarehouseResource
from secoda_pipelines.store.duckdb.lock import write_journal_path
from secoda_pipelines.store.workspace_lock import normalized_workspace, workspace_key
from secoda_pipelines_tests.helpers import api_rows, clean_environment

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

LIMIT = 2  # Secoda's writes per window; the killed run had this many in flight
WINDOW = 10.0  # seconds, the sandbox's window and the clients' (instead of a minute)
WAIT = 30.0  # the most any one step below waits

# Holds the workspace as run "run-killed", its client's writes journaled, and sends a
# description to each table named after argv[4], each from its own thread (the sandbox
# holds them); waits to be killed.
KILLED_WRITER = """
import sys, threading
from secoda_pipelines.secoda import SecodaClient
from secoda_pipelines.store import ReportStore, WarehouseResource

base_url, warehouse, window, *tables = sys.argv[1:]
key = sys.stdin.readline().strip()
client = SecodaClient(
    key, base_url, write_limit_per_minute=len(tables), write_window_seconds=float(window)
)
reports = ReportStore(warehouse=WarehouseResource(database=warehouse))
with reports.workspace_lock(base_url, "run-killed") as journal:
    with client.limiter.journaled(journal):
        for table in tables:
            threading.Thread(
                target=client.patch,
                args=(f"table/tables/{table}/", {"description": "by the killed run"}),
                daemon=True,
            ).start()
        threading.Event().wait()
"""


class HoldWrites:
    """The sandbox's `on_request` hook: holds every PATCH until `release` is set, and
    sets `arrived` once `count` of them are held."""

    def __init__(self, count: int):
        self.count = count
        self.arrived = threading.Event()
        self.release = threading.Event()
        self._held = 0
        self._lock = threading.Lock()

    def __call__(self, record: RequestRecord) -> None:
        if record.method != "PATCH":
            return
        with self._lock:
            self._held += 1
            if self._held == self.count:
                self.arrived.set()
        self.release.wait(WAIT)


class SecodaInWindow(SecodaResource):
    """The Secoda resource, its client's write pace over WINDOW seconds (the sandbox's)
    instead of a minute."""

    def _new_client(self, **options: Any) -> SecodaClient:
        return super()._new_client(write_window_seconds=WINDOW, **options)


def kill_a_run_with_writes_in_flight(sandbox: Sandbox, warehouse: Path) -> None:
    """Runs KILLED_WRITER until LIMIT of its writes are held by the sandbox, kills it with
    SIGKILL, then lets the sandbox count and apply them; returns once it has."""
    tables = [t["id"] for t in api_rows(sandbox, "table/tables/")[:LIMIT]]
    hold = HoldWrites(LIMIT)
    sandbox.settings.on_request = hold
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_WRITER,
            sandbox.base_url,
            str(warehouse),
            str(WINDOW),
            *tables,
        ],
        env=clean_environment(),
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        child.stdin.write(DEFAULT_API_KEY + "\n")  # the key off the command line
        child.stdin.flush()
        if not hold.arrived.wait(WAIT):
            child.kill()
            raise AssertionError(f"the writes never arrived: {child.communicate()[1]}")
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=WAIT) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=WAIT)
        hold.release.set()
    deadline = time.monotonic() + WAIT
    while len(sandbox.writes()) < LIMIT:
        assert time.monotonic() < deadline, "the sandbox never applied the held writes"
        time.sleep(0.05)
    sandbox.settings.on_request = None
    applied = [(w.path, w.body) for w in sandbox.writes()]
    assert sorted(applied) == sorted(
        (f"table/tables/{t}/", {"description": "by the killed run"}) for t in tables
    )


@pytest.mark.parametrize("journal", ["kept", "lost"])
def test_a_killed_runs_writes_in_flight_pace_the_next_run(
    journal, make_sandbox, warehouse, instance
):
    sandbox = make_sandbox(write_rate_limit=LIMIT, write_window_s=WINDOW)
    kill_a_run_with_writes_in_flight(sandbox, warehouse)
    _, tag = workspace_key(normalized_workspace(sandbox.base_url))
    journal_file = write_journal_path(str(warehouse), tag)
    sent = [line for line in journal_file.read_text().splitlines() if " sent " in line]
    answered = [line for line in journal_file.read_text().splitlines() if " answered " in line]
    assert (len(sent), answered) == (LIMIT, []), "on record as sent, never answered"
    if journal == "lost":
        journal_file.unlink()
    sandbox.clear_log()

    result = provision_users.execute_in_process(
        run_config={
            "users": [{"email": "after-the-kill@example.com", "role": "viewer"}],
            "dry_run": False,
        },
        resources={
            "secoda": SecodaInWindow(
                api_url=sandbox.base_url,
                api_key=DEFAULT_API_KEY,
                write_limit_per_minute=LIMIT,
                retry_backoff_seconds=0.1,
            ),
            "reports": ReportStore(warehouse=WarehouseResource(database=str(warehouse))),
        },
        instance=instance,
        raise_on_error=False,
    )

    posts = [r for r in sandbox.requests if (r.method, r.path) == ("POST", "user/")]
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    if journal == "kept":
        assert result.success
        assert [r.status for r in posts] == [201], "no 429: the pace went on from the journal"
        assert [w.body["email"] for w in sandbox.writes()] == ["after-the-kill@example.com"]
        assert (
            f"{LIMIT} write(s) of the last {WINDOW:g} s, by earlier runs, count toward this "
            f"run's pace of {LIMIT} a minute"
        ) in logs
    else:
        assert posts[0].status == 429, "without the journal, Secoda throttles it"
