"""The journal of a workspace's writes, kept beside its write lock (`write_journal`), in
the DuckDB file's folder and in the PostgreSQL warehouse: what a holder killed with
SIGKILL (a real child process) recorded is read by the next holder of the workspace."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from secoda_pipelines.store import ReportStore, WarehouseError, WarehouseResource
from secoda_pipelines.store.duckdb.lock import write_journal_path
from secoda_pipelines.store.postgres.lock import AdvisoryLock
from secoda_pipelines.store.workspace_lock import WorkspaceLock, workspace_key
from secoda_pipelines.store.write_journal import recent_ages
from secoda_pipelines_tests.helpers import clean_environment, drop_secoda_variables
from secoda_pipelines_tests.postgres import pg_rows

pytestmark = pytest.mark.timeout(120)

WORKSPACE = "http://127.0.0.1:8765/api/v1/"
WINDOW = 60.25  # a minute's pace and its margin

# Takes the workspace as run "run-killed" and records, at times before argv[2] (a Unix
# time): a write answered two hours ago, one answered 100 s ago, one answered 8 s ago,
# one sent 300 s ago and never answered, one sent 1 s ago and never answered (in flight);
# then waits to be killed.
KILLED = """
import sys
from secoda_pipelines.store import ReportStore, WarehouseError

base = float(sys.argv[2])
with ReportStore().workspace_lock(sys.argv[1], "run-killed") as journal:
    journal.answered(journal.sent(base - 7200), base - 7190)
    journal.answered(journal.sent(base - 400), base - 100)
    journal.answered(journal.sent(base - 10), base - 8)
    journal.sent(base - 300)
    journal.sent(base - 1)
    print("recorded", flush=True)
    sys.stdin.readline()
"""


def kill_after_recording(settings: dict[str, str], base: float) -> None:
    """Runs KILLED in a child process and kills it with SIGKILL once it has recorded."""
    env = clean_environment()
    if "warehouse_url" in settings:
        env["SECODA_WAREHOUSE_URL"] = settings["warehouse_url"]
    else:
        env["SECODA_DUCKDB_PATH"] = settings["database"]
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED, WORKSPACE, repr(base)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline().strip()
        assert line == "recorded", child.stderr.read() if child.poll() is not None else line
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)


def next_holder(settings: dict[str, str], run_id: str, now: float) -> WorkspaceLock:
    """Returns the workspace's lock for `run_id`, its journal dated by a clock stopped at
    `now` (waiting up to 30 s: the server ends a killed holder's session in a moment)."""
    return WorkspaceLock(
        WORKSPACE,
        run_id,
        warehouse=WarehouseResource(**settings).get_warehouse(),
        wait_seconds=30,
        clock=lambda: now,
    )


def journal_rows(settings: dict[str, str]) -> list[tuple[str, float, float | None]]:
    """Returns the workspace's journal as (token, sent at, answered at), in token order:
    the DuckDB warehouse's journal file read line by line, or the PostgreSQL table."""
    if "database" in settings:
        _, tag = workspace_key(WORKSPACE)
        entries: dict[str, list] = {}
        for line in write_journal_path(settings["database"], tag).read_text().splitlines():
            token, event, at = line.split()
            entries.setdefault(token, [None, None])[event == "answered"] = float(at)
        return sorted((token, sent, answered) for token, (sent, answered) in entries.items())
    key, _ = workspace_key(WORKSPACE)
    rows = pg_rows(
        settings["warehouse_url"],
        "SELECT token, extract(epoch FROM sent_at)::float8, "
        "extract(epoch FROM answered_at)::float8 FROM reports.write_journal "
        "WHERE workspace = %s",
        [key],
    )
    return sorted(rows)


def test_the_next_holder_reads_what_a_killed_holder_recorded(settings):
    base = float(int(time.time()))
    kill_after_recording(settings, base)

    with next_holder(settings, "run-next", base) as journal:
        ages = journal.recent_ages(WINDOW)
        token = journal.sent(base + 1)
        journal.answered(token, base + 2)

    # In flight when its process died: counted as made now. Answered 8 s ago: 8 s old.
    # Answered 100 s ago, or sent 300 s ago without answer: out of the pace's window.
    assert ages == [0.0, 8.0]
    assert token == "run-next/1"
    assert journal_rows(settings) == [
        # Answered two hours ago: dropped when run-next opened the journal.
        ("run-killed/2", base - 400, base - 100),
        ("run-killed/3", base - 10, base - 8),
        ("run-killed/4", base - 300, None),
        ("run-killed/5", base - 1, None),
        ("run-next/1", base + 1, base + 2),
    ]


def test_a_line_cut_off_by_a_kill_is_ignored_and_dropped(tmp_path, monkeypatch):
    settings = {"database": str(tmp_path / "warehouse.duckdb")}
    drop_secoda_variables(monkeypatch)
    base = float(int(time.time()))
    kill_after_recording(settings, base)
    _, tag = workspace_key(WORKSPACE)
    path = write_journal_path(settings["database"], tag)
    assert path.name == f"warehouse.duckdb.writes-{tag}.journal"
    assert path.parent == tmp_path, "beside the DuckDB file and its lock file"
    with path.open("a") as journal_file:
        journal_file.write("run-killed/6 sent 17")  # killed in the middle of the line

    with next_holder(settings, "run-next", base) as journal:
        assert journal.recent_ages(WINDOW) == [0.0, 8.0]
        journal.answered(journal.sent(base + 1), base + 2)

    lines = path.read_text().splitlines(keepends=True)
    assert all(line.endswith("\n") and len(line.split()) == 3 for line in lines), lines
    assert lines[-2:] == [
        f"run-next/1 sent {base + 1:.6f}\n",
        f"run-next/1 answered {base + 2:.6f}\n",
    ]
    assert ("run-killed/6" in path.read_text()) is False


def test_an_empty_journal_counts_nothing_and_tokens_are_unique_per_run(settings):
    store = ReportStore(warehouse=WarehouseResource(**settings), write_lock_wait_seconds=5)
    with store.workspace_lock(WORKSPACE, "run one") as journal:
        assert journal.recent_ages(WINDOW) == []
        tokens = [journal.sent(time.time()) for _ in range(3)]
    with store.workspace_lock(WORKSPACE, "run-two") as journal:
        assert journal.recent_ages(WINDOW) == [0.0, 0.0, 0.0], "none of them answered"
        tokens.append(journal.sent(time.time()))
    assert tokens == ["run%20one/1", "run%20one/2", "run%20one/3", "run-two/1"]


def test_a_journal_whose_lock_was_released_refuses_to_record(settings):
    with ReportStore(warehouse=WarehouseResource(**settings)).workspace_lock(
        WORKSPACE, "run-over"
    ) as journal:
        token = journal.sent(time.time())
    with pytest.raises(WarehouseError, match="run run-over no longer holds the workspace"):
        journal.sent(time.time())
    with pytest.raises(WarehouseError, match="run run-over no longer holds the workspace"):
        journal.answered(token, time.time())


def test_the_lock_session_frees_the_lock_within_a_minute_of_a_vanished_host(warehouse_url):
    key, _ = workspace_key(WORKSPACE)
    lock = AdvisoryLock(warehouse_url, key)
    try:
        assert lock.try_lock("secoda-pipelines writer run-keepalive")
        with lock.session("reading the keepalives") as cursor:
            settings = {}
            for name in ("idle", "interval", "count"):
                cursor.execute(f"SHOW tcp_keepalives_{name}")
                settings[name] = cursor.fetchone()[0]
    finally:
        lock.unlock()
    assert settings == {"idle": "30", "interval": "10", "count": "3"}


def test_ages_count_answers_and_writes_in_flight():
    now = 1_000.0
    entries = [
        (900.0, 990.0),  # answered 10 s ago
        (900.0, 1_003.0),  # answered "later" by another machine's clock: now
        (930.0, None),  # sent 70 s ago, never answered: may be counted just now
        (800.0, None),  # sent 200 s ago: out of window + IN_FLIGHT_SECONDS
        (900.0, 930.0),  # answered 70 s ago: out of the window
    ]
    assert recent_ages(entries, 60.0, now) == [0.0, 0.0, 10.0]
