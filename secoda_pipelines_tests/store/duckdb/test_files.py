"""Writing the DuckDB file while another process holds it: the write waits, then lands."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from secoda_pipelines.store import ReportStore, WarehouseIOManager, WarehouseResource
from secoda_pipelines.store.duckdb.files import connect_duckdb
from secoda_pipelines_tests.helpers import query, report_rows

HOLDER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
print("holding", flush=True)
sys.stdin.readline()
connection.close()
print("released", flush=True)
"""


@contextmanager
def held(path: Path, read_only: bool = False) -> Iterator[subprocess.Popen]:
    """Yields a process holding the file open (read-only if asked) until it is released."""
    if not path.exists():
        connect_duckdb(str(path)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), "ro" if read_only else "rw"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield holder
    finally:
        if holder.poll() is None:
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(timeout=30)


def release(holder: subprocess.Popen) -> None:
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "released"


def in_thread(target) -> tuple[threading.Thread, list]:
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(target())
        except Exception as error:  # handed to the test thread
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
def test_a_report_write_waits_for_another_process_then_lands(tmp_path, read_only):
    path = tmp_path / "warehouse.duckdb"
    store = ReportStore(warehouse=WarehouseResource(database=str(path)))
    with held(path, read_only) as holder:
        thread, outcome = in_thread(
            lambda: store.append("downstream_impact", pd.DataFrame(), run_id="r1", dry_run=False)
        )
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the write waits while the file is held"
        release(holder)
        thread.join(timeout=60)
    assert not thread.is_alive() and not isinstance(outcome[0], Exception), outcome
    assert report_rows(path, "downstream_impact").empty  # the table exists, written


def test_a_file_held_past_the_wait_fails_naming_the_file_and_the_remedy(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    store = ReportStore(warehouse=WarehouseResource(database=str(path), lock_wait_seconds=0.3))
    with held(path, read_only=True), pytest.raises(TimeoutError) as waited:
        store.append("downstream_impact", pd.DataFrame(), run_id="r1", dry_run=False)
    message = str(waited.value)
    assert f"the DuckDB file {path} stayed locked by another process" in message
    assert "even read-only, blocks every writer" in message


@dg.asset(key=["secoda", "held_example"])
def held_example() -> pd.DataFrame:
    return pd.DataFrame({"id": ["a", "b"]})


@pytest.mark.slow
def test_an_asset_materialization_waits_for_the_file_then_stores(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with held(path) as holder, dg.instance_for_test() as instance:
        thread, outcome = in_thread(
            lambda: (
                dg.materialize(
                    [held_example],
                    resources={
                        "io_manager": WarehouseIOManager(
                            warehouse=WarehouseResource(database=str(path))
                        )
                    },
                    instance=instance,
                ).success
            )
        )
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the IO manager waits while the file is held"
        release(holder)
        thread.join(timeout=120)
    assert outcome == [True]
    assert query(path, "SELECT id FROM secoda.held_example ORDER BY id").id.tolist() == ["a", "b"]
