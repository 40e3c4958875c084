"""A real run killed while it rewrites a partition in the PostgreSQL warehouse: the
partition keeps its old rows, readers see them the whole time, and the next run rewrites it
whole.

The run is `dagster asset materialize` in its own process group, against a sandbox and a
fresh warehouse database. To kill it at a known point, a statement trigger on secoda.tables
makes its COPY wait for an advisory lock the test holds: once the run's backend waits there,
the partition's DELETE has run in its transaction and none of the new rows are written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import psycopg2
import pytest

from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines.store.postgres.connection import (
    APPLICATION_NAME,
    database_name,
    scrubbed,
)
from secoda_pipelines_tests.deployment.harness import (
    PARTITIONS,
    add_integration,
    add_table,
)
from secoda_pipelines_tests.deployment.processes import start_dagster, wait_until
from secoda_pipelines_tests.helpers import clean_environment
from secoda_pipelines_tests.postgres import pg_rows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

WAIT = 120.0  # seconds any one wait below may take before the test fails
HOLD_KEY = 733_104_211  # advisory lock the trigger waits on (below 2**31: pg_locks.objid)
HOLD_TRIGGER = f"""
CREATE FUNCTION public.hold_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared({HOLD_KEY});
    RETURN NULL;
END $$;
CREATE TRIGGER hold_copy BEFORE INSERT ON secoda.tables
    FOR EACH STATEMENT EXECUTE FUNCTION public.hold_copy();
"""
DROP_TRIGGER = """
DROP TRIGGER hold_copy ON secoda.tables;
DROP FUNCTION public.hold_copy();
"""


def run_environment(sandbox: Sandbox, warehouse_url: str, root: Path) -> dict[str, str]:
    """Returns the environment of a run process: this one's without any SECODA_ or DAGSTER_
    variable, plus the sandbox's URL and key, the warehouse URL, a DuckDB path under root
    (which must stay unused) and DAGSTER_HOME root/home (its dagster.yaml written here)."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        **clean_environment(),
        "SECODA_API_URL": sandbox.base_url,
        "SECODA_API_KEY": DEFAULT_API_KEY,
        "SECODA_WAREHOUSE_URL": warehouse_url,
        "SECODA_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "DAGSTER_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
    }


def add_partition(env: dict[str, str], key: str) -> None:
    """Adds `key` to the dynamic partitions of the instance in env's DAGSTER_HOME."""
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        instance.add_dynamic_partitions(PARTITIONS, [key])


def start_materialization(env: dict[str, str], partition: str, log: Path) -> subprocess.Popen:
    """Returns the started `dagster asset materialize` of secoda/tables for `partition`, in
    its own process group (its step processes too), output appended to `log`."""
    arguments = [
        *("asset", "materialize", "-m", "secoda_pipelines.definitions"),
        *("--select", "secoda/tables", "--partition", partition),
    ]
    return start_dagster(arguments, env, log)


def tail(log: Path, url: str, chars: int = 3000) -> str:
    """Returns the end of the log with the URL and its password masked (failure messages)."""
    return scrubbed(log.read_text(errors="replace")[-chars:] if log.exists() else "", url)


def materialize(env: dict[str, str], partition: str, log: Path) -> None:
    """Runs the materialization of the partition to its end.

    Raises:
        AssertionError: it did not exit 0 within WAIT seconds (with its output's end).
    """
    process = start_materialization(env, partition, log)
    url = env["SECODA_WAREHOUSE_URL"]
    try:
        code = process.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        kill_group(process)
        raise AssertionError(f"no end within {WAIT:.0f} s:\n{tail(log, url)}") from None
    assert code == 0, f"the materialization exited {code}:\n{tail(log, url)}"


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILLs the process's group (the run and its step processes); returns once the
    leader is reaped."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def partition_rows(url: str, partition: str) -> list[tuple[Any, ...]]:
    """Returns (id, title, description) of every row of secoda.tables in the partition,
    sorted (duplicates kept)."""
    return sorted(
        pg_rows(
            url,
            "SELECT id, title, description FROM secoda.tables WHERE integration_id = %s",
            [partition],
        )
    )


def run_backends(url: str) -> list[tuple[Any, ...]]:
    """Returns (pid, wait_event_type, wait_event, query) of each server backend the
    warehouse store opened on the database of `url` (its application_name)."""
    return pg_rows(
        url,
        "SELECT pid, wait_event_type, wait_event, query FROM pg_stat_activity "
        "WHERE datname = %s AND application_name = %s",
        [database_name(url), APPLICATION_NAME],
    )


def copy_waiting_on_hold(url: str) -> int | None:
    """Returns the pid of a store backend whose COPY waits for the held advisory lock
    (not granted in pg_locks), else None."""
    for pid, wait_type, wait_event, query in run_backends(url):
        if (wait_type, wait_event) != ("Lock", "advisory") or not query.lstrip().upper().startswith(
            "COPY"
        ):
            continue
        waiting = pg_rows(
            url,
            "SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'advisory' "
            "AND NOT granted AND classid = 0 AND objid = %s",
            [pid, HOLD_KEY],
        )
        if waiting[0][0]:
            return int(pid)
    return None


@contextlib.contextmanager
def held_lock(url: str) -> Iterator[Any]:
    """Yields an autocommit psycopg2 connection holding the session advisory lock HOLD_KEY;
    the lock is released (pg_advisory_unlock) when asked or when the block ends."""
    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [HOLD_KEY])
        yield connection
    finally:
        with contextlib.suppress(psycopg2.Error), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")
        connection.close()


def execute(url: str, statements: str) -> None:
    """Runs `statements` on the database at url in one transaction, committed."""
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statements)
    finally:
        connection.close()


def test_a_run_killed_while_it_writes_a_partition_leaves_the_old_rows_and_a_rerun_heals_it(
    sandbox: Sandbox, warehouse_url: str, tmp_path: Path
) -> None:
    """The partition is materialized once; the listing then gains a table; a second run is
    held inside its write (partition DELETE done, COPY waiting) and SIGKILLed there. While
    held, a reader sees the old rows (marked deleted by the run's open transaction); after
    the kill the partition holds exactly the old rows; a third run stores the new listing,
    whole and without duplicates. Nothing goes to the DuckDB file."""
    seeded = add_integration(sandbox, "Killed run warehouse", tables=4, columns_per_table=0)
    env = run_environment(sandbox, warehouse_url, tmp_path)
    add_partition(env, seeded.id)
    log = tmp_path / "runs.log"

    materialize(env, seeded.id, log)
    baseline = partition_rows(warehouse_url, seeded.id)
    assert sorted(r[0] for r in baseline) == sorted(seeded.table_ids), "the baseline run"

    added = add_table(sandbox, seeded.id, "killed_run_warehouse", "table_new", "Added later.")
    expected_ids = sorted([*seeded.table_ids, added["id"]])

    execute(warehouse_url, HOLD_TRIGGER)
    with held_lock(warehouse_url) as holder:
        process = start_materialization(env, seeded.id, log)
        try:
            pid = wait_until(
                lambda: copy_waiting_on_hold(warehouse_url),
                WAIT,
                "the run's COPY to wait on the held lock",
                check=lambda: _still_running(process, log, warehouse_url),
            )
            # The run's open transaction has deleted every old row (their xmax is its xid),
            # and a reader still sees them all, unchanged.
            deleted_by_run = pg_rows(
                warehouse_url,
                "SELECT count(*) FROM secoda.tables t, pg_stat_activity a "
                "WHERE a.pid = %s AND t.integration_id = %s AND t.xmax = a.backend_xid",
                [pid, seeded.id],
            )
            assert deleted_by_run == [(len(baseline),)], (
                "the run's open transaction deleted the old rows"
            )
            assert partition_rows(warehouse_url, seeded.id) == baseline
        finally:
            kill_group(process)
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [HOLD_KEY])
        wait_until(
            lambda: all(row[0] != pid for row in run_backends(warehouse_url)),
            WAIT,
            f"the killed run's backend {pid} to end",
        )
    execute(warehouse_url, DROP_TRIGGER)

    assert partition_rows(warehouse_url, seeded.id) == baseline, "the kill changed nothing"

    materialize(env, seeded.id, log)
    healed = partition_rows(warehouse_url, seeded.id)
    assert [r[0] for r in healed] == expected_ids, "the new listing, whole, no duplicates"
    assert pg_rows(warehouse_url, "SELECT count(*) - count(DISTINCT id) FROM secoda.tables") == [
        (0,)
    ]
    assert not Path(env["SECODA_DUCKDB_PATH"]).exists(), "nothing went to DuckDB"
    password = urlsplit(warehouse_url).password
    assert password and password not in log.read_text(errors="replace"), "password in output"


def _still_running(process: subprocess.Popen, log: Path, url: str) -> None:
    """Returns None while the run process runs.

    Raises:
        AssertionError: it exited before being held (with its output's end).
    """
    if process.poll() is not None:
        raise AssertionError(
            f"the run exited {process.returncode} before its COPY was held:\n{tail(log, url)}"
        )
