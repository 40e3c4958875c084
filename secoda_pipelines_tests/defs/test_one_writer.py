"""One writer per Secoda workspace, however the runs are started (SPEC B): two
`dagster job execute` processes of `create_manual_lineage` started together never write
side by side, never write one edge twice and together keep the write pace; a run whose
wait runs out fails naming the run that holds the workspace.

The sandbox holds the first write it receives until a second write arrives (or
GATE_SECONDS pass) and slows every write a little: two runs that write at the same time
are then seen to interleave, whatever the start-up times of their processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from secoda_pipelines.defs.jobs.create_manual_lineage import create_manual_lineage
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines.sandbox.records import RequestRecord
from secoda_pipelines.store import ReportStore, WarehouseResource
from secoda_pipelines_tests.deployment.processes import start_dagster
from secoda_pipelines_tests.helpers import api_rows, clean_environment, report_rows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

LINEAGE = "lineage/manual/"
WRITE_LIMIT = 2  # writes a minute: three edges in all make the second run keep the pace
GATE_SECONDS = 15.0  # the first write waits this long at most for a second one
WRITE_DELAY = 0.3  # seconds each write is held by the sandbox once the gate is open
RUN_SECONDS = 300.0  # the most one `dagster job execute` may take

HOLDER = """
import sys
from secoda_pipelines.store import ReportStore, WarehouseResource

reports = ReportStore(warehouse=WarehouseResource(database=sys.argv[3]))
with reports.workspace_lock(sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    sys.stdin.readline()
"""


class FirstWriteGate:
    """The sandbox's `on_request` hook: holds the first write until a second write
    arrives or `hold` seconds pass, then holds each write `delay` seconds."""

    def __init__(self, hold: float, delay: float):
        self.hold = hold
        self.delay = delay
        self._writes = 0
        self._second = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, record: RequestRecord) -> None:
        if record.method == "GET":
            return
        with self._lock:
            self._writes += 1
            first = self._writes == 1
        if first:
            self._second.wait(self.hold)
        else:
            self._second.set()
        time.sleep(self.delay)


@dataclass(frozen=True)
class Edge:
    from_entity: str
    to_entity: str

    def config(self) -> dict[str, str]:
        return {"from_entity": self.from_entity, "to_entity": self.to_entity}


def unlinked_tables(sandbox: Sandbox, count: int) -> list[str]:
    """Returns the ids of `count` tables no manual lineage edge touches."""
    linked = set()
    for edge in api_rows(sandbox, LINEAGE):
        linked |= {edge.get("from_entity"), edge.get("to_entity")}
    free = [t["id"] for t in api_rows(sandbox, "table/tables/") if t["id"] not in linked]
    assert len(free) >= count, "the demo workspace has tables without lineage"
    return free[:count]


def run_environment(sandbox: Sandbox, warehouse: Path, home: Path) -> dict[str, str]:
    """Returns a run process's environment: this one's without SECODA_ or DAGSTER_
    variables, plus the sandbox, the DuckDB file, the write pace and a DAGSTER_HOME of its
    own (the lock must hold across Dagster instances too)."""
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        **clean_environment(),
        "SECODA_API_URL": sandbox.base_url,
        "SECODA_API_KEY": DEFAULT_API_KEY,
        "SECODA_DUCKDB_PATH": str(warehouse),
        "SECODA_WRITE_LIMIT_PER_MINUTE": str(WRITE_LIMIT),
        "DAGSTER_HOME": str(home),
        "PYTHONUNBUFFERED": "1",
    }


def start_run(env: dict[str, str], config: dict, folder: Path) -> tuple[subprocess.Popen, Path]:
    """Returns (the started `dagster job execute` of create_manual_lineage, its log)."""
    folder.mkdir(parents=True, exist_ok=True)
    config_file, log = folder / "config.yaml", folder / "run.log"
    config_file.write_text(yaml.safe_dump(config))
    arguments = [
        *("job", "execute", "-m", "secoda_pipelines.definitions"),
        *("-j", "create_manual_lineage", "-c", str(config_file)),
    ]
    return start_dagster(arguments, env, log), log


def finish(process: subprocess.Popen, log: Path) -> int:
    """Returns the run's exit code once it ends (killed after RUN_SECONDS)."""
    try:
        return process.wait(timeout=RUN_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        raise AssertionError(f"no end within {RUN_SECONDS:.0f} s:\n{tail(log)}") from None


def tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""


def writer_of_each_write(
    warehouse: Path, writes: list[RequestRecord], plans: dict[str, list[Edge]]
) -> list[str]:
    """Returns, for each applied write, the name (a key of `plans`) of the run whose report
    says it wrote that edge; a run is known by the edges its report planned."""
    report = report_rows(warehouse, "lineage_changes")
    names = {}
    for run_id, rows in report.groupby("run_id"):
        planned = set(zip(rows["from_id"], rows["to_id"], strict=True))
        for name, edges in plans.items():
            if planned == {(e.from_entity, e.to_entity) for e in edges}:
                names[run_id] = name
    written = report[report["write_status"] == "written"]
    runs: dict[tuple[str, str], list[str]] = {}
    for row in written.itertuples():
        runs.setdefault((row.from_id, row.to_id), []).append(names.get(row.run_id, row.run_id))
    return [
        "+".join(runs.get((w.body["from_entity"], w.body["to_entity"]), ["no run"])) for w in writes
    ]


def test_two_dagster_job_execute_runs_write_one_after_the_other(make_sandbox, tmp_path):
    sandbox = make_sandbox(write_rate_limit=WRITE_LIMIT, write_window_s=60.0)
    a, b, c, d = unlinked_tables(sandbox, 4)
    first, shared, last = Edge(a, b), Edge(b, c), Edge(c, d)
    plans = {"R1": [first, shared], "R2": [shared, last]}
    warehouse = tmp_path / "warehouse.duckdb"
    sandbox.settings.on_request = FirstWriteGate(GATE_SECONDS, WRITE_DELAY)
    sandbox.clear_log()

    started = {
        name: start_run(
            run_environment(sandbox, warehouse, tmp_path / name / "home"),
            {"edges": [e.config() for e in edges], "dry_run": False},
            tmp_path / name,
        )
        for name, edges in plans.items()
    }
    codes = {name: finish(*run) for name, run in started.items()}

    writes = sorted(
        (w for w in sandbox.writes() if (w.method, w.path) == ("POST", LINEAGE)),
        key=lambda w: w.started_at,
    )
    writers = writer_of_each_write(warehouse, writes, plans)
    order = [w for i, w in enumerate(writers) if i == 0 or writers[i - 1] != w]
    assert len(order) == len(set(order)), f"the runs' writes interleave: {writers}"
    if len(order) == 2:
        one = [w for w, run in zip(writes, writers, strict=True) if run == order[0]]
        two = [w for w, run in zip(writes, writers, strict=True) if run == order[1]]
        assert max(w.finished_at for w in one) <= min(w.started_at for w in two)
    for name, code in codes.items():
        assert code == 0, f"{name} exited {code}:\n{tail(started[name][1])}"

    sent = [(w.body["from_entity"], w.body["to_entity"]) for w in writes]
    assert sorted(sent) == sorted((e.from_entity, e.to_entity) for e in (first, shared, last))
    assert [r for r in sandbox.requests if r.status == 429] == [], "the pace was exceeded"
    arrivals = [w.started_at for w in writes]
    assert all(
        later - earlier >= 60.0
        for earlier, later in zip(arrivals, arrivals[WRITE_LIMIT:], strict=False)
    ), f"more than {WRITE_LIMIT} writes within a minute: {arrivals}"


@contextlib.contextmanager
def workspace_held(sandbox: Sandbox, warehouse: Path, run_id: str) -> Iterator[None]:
    """Holds the sandbox's workspace as `run_id` from another process for the block."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, sandbox.base_url, run_id, str(warehouse)],
        env=clean_environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait(timeout=30)


def step_failure_text(result) -> str:
    """Returns what the run's one failed step says: a Failure's description, else the
    error with its causes."""
    [failure] = [e for e in result.all_events if e.is_step_failure]
    data = failure.step_failure_data
    described = data.user_failure_data.description if data.user_failure_data else None
    return described or (data.error.to_string() if data.error else "")


def run_lineage(sandbox: Sandbox, warehouse: Path, instance, edges: list[Edge], **config):
    return create_manual_lineage.execute_in_process(
        run_config={"edges": [e.config() for e in edges], **config},
        resources={
            "secoda": SecodaResource(api_url=sandbox.base_url, api_key=DEFAULT_API_KEY),
            "reports": ReportStore(
                warehouse=WarehouseResource(database=str(warehouse)),
                write_lock_wait_seconds=1,
            ),
        },
        instance=instance,
        raise_on_error=False,
    )


def test_a_run_whose_wait_runs_out_fails_naming_the_holder_and_writes_nothing(
    sandbox, warehouse, instance, monkeypatch
):
    monkeypatch.delenv("SECODA_WAREHOUSE_URL", raising=False)
    a, b = unlinked_tables(sandbox, 2)
    sandbox.clear_log()
    with workspace_held(sandbox, warehouse, "run-holding-the-workspace"):
        result = run_lineage(sandbox, warehouse, instance, [Edge(a, b)], dry_run=False)
    assert not result.success
    assert (
        f"another write-back run, run-holding-the-workspace, holds the Secoda workspace "
        f"{sandbox.base_url} for writing"
    ) in step_failure_text(result)
    assert sandbox.writes() == []


def test_a_dry_run_does_not_wait_for_the_workspace(sandbox, warehouse, instance, monkeypatch):
    monkeypatch.delenv("SECODA_WAREHOUSE_URL", raising=False)
    a, b = unlinked_tables(sandbox, 2)
    with workspace_held(sandbox, warehouse, "run-holding-the-workspace"):
        result = run_lineage(sandbox, warehouse, instance, [Edge(a, b)])
    assert result.success
    assert report_rows(warehouse, "lineage_changes", result.run_id)["action"].tolist() == ["create"]
