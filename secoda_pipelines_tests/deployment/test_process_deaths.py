"""A deployment that survives its own processes dying (issue 21), on the real processes of
deploy/dagster.yaml: a write-back run is killed as its k-th PATCH reaches Secoda, three
ways, with a provisioning run queued behind it, and each time the promises hold:

- the run worker SIGKILLed (its code server lives and fails the run at once; run retries
  start it again): nothing of the run lives on, so nothing writes beside the retry;
- the process that writes SIGKILLed, found the way an operator would, as the holder of the
  workspace's write lock: it is the run worker itself (write-back jobs run their op in
  the run's own process), so this too leaves no orphan;
- the code server's whole process group SIGKILLed (a killed container) with another
  write-back run queued, then started again: the dead run is failed by the launcher's
  heartbeat check within STALE_AFTER + POLL seconds, its `secoda/writes` slot frees, the
  queued run runs, and run retries finish the dead one.

Each time every planned target is PATCHed exactly once and every queued user created once,
Secoda never answers 429, the targets end as a fault-free run leaves them, and the killed
run's `secoda/writes` slot is free within FREE_WITHIN seconds (the queued run starts).

The sandbox allows LIMIT writes a minute. The writer's kill is the one that tests the pace
(the out-of-memory kill of the issue): its migration needs more than a minute's budget and
dies with its 10th PATCH in flight, so a retry that forgot any of the dead run's writes,
the one in flight included, would be answered 429. The other two kill small migrations
(the pace would only make them wait), first the run worker, then the code server, whose
minute of detection lets the window drain before the writer's kill. The tests share one
deployment and run in file order.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.sandbox import Sandbox, SandboxSettings
from secoda_pipelines.store.duckdb.lock import write_lock_path
from secoda_pipelines.store.workspace_lock import normalized_workspace, workspace_key
from secoda_pipelines_tests.deployment.conftest import instance_yaml
from secoda_pipelines_tests.deployment.harness import (
    Deployment,
    add_table,
    over_limit_windows,
    running_deployment,
    start_sandbox,
    stored,
)
from secoda_pipelines_tests.deployment.processes import alive, process_tree, wait_until
from secoda_pipelines_tests.helpers import job_resources
from secoda_pipelines_tests.sandbox.helpers import insert_object

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(600)]

LIMIT = 30  # writes a minute: the client's pace and the sandbox's limit
SMALL = 4  # tables (PATCHes) of a migration that fits the pace, killed at its 3rd PATCH
LARGE = 34  # tables of the migration that needs more than a minute's budget
DOC_FIELDS = ("description", "definition", "tags", "pii")


def instance_setting(*path: str) -> float:
    """Returns a number from the dagster.yaml the deployment runs on."""
    value: Any = yaml.safe_load(instance_yaml())
    for key in path:
        value = value[key]
    return float(value)


STALE_AFTER = instance_setting("run_launcher", "config", "stale_after_seconds")
POLL = instance_setting("run_monitoring", "poll_interval_seconds")
# The bound a dead run's slot is freed within: the launcher's silence, a monitoring poll,
# and slack for the poll's own work and a busy machine.
FREE_WITHIN = STALE_AFTER + POLL + 20


@dataclass(frozen=True)
class MigrationPair:
    """A source integration of documented tables and a target of the same tables, empty."""

    source: str
    target: str
    target_tables: tuple[str, ...]  # ids
    titles: dict[str, str]  # target table id -> title


def add_migration_pair(sandbox: Sandbox, name: str, tables: int) -> MigrationPair:
    """Returns a new pair stored directly in the sandbox: `tables` tables in schema public of
    database `name`, documented in the source only (each its own description and
    definition, so each PATCH carries two fields)."""
    database = re.sub(r"\W+", "_", name.lower())
    ids = []
    for role in ("source", "target"):
        integration = insert_object(
            sandbox,
            "integration/integrations/",
            {"name": f"{name} {role}", "type": "snowflake", "status": "active"},
        )
        ids.append(integration["id"])
    source, target = ids
    titles = {}
    for t in range(tables):
        title = f"table_{t:02d}"
        add_table(
            sandbox,
            source,
            database,
            title,
            description=f"What {title} of {name} holds.",
            definition=f"select * from {title}",
        )
        titles[add_table(sandbox, target, database, title)["id"]] = title
    return MigrationPair(source, target, tuple(titles), titles)


def docs_by_title(sandbox: Sandbox, integration_id: str) -> dict[str, dict[str, Any]]:
    """Returns table title -> its documentation fields, for the integration's tables."""
    return {
        row["title"]: {f: row.get(f) for f in DOC_FIELDS}
        for row in stored(sandbox, "table/tables/")
        if row.get("integration") == integration_id
    }


def config_for(pair: MigrationPair) -> dict[str, Any]:
    """Returns the migration's run config (written, not a dry run)."""
    return {
        "source_integration_id": pair.source,
        "target_integration_id": pair.target,
        "include_columns": False,
        "dry_run": False,
    }


def fault_free_end_state(tmp_path: Path, name: str, tables: int) -> dict[str, dict[str, Any]]:
    """Returns the target's documentation by title after a fault-free migration of a pair
    seeded alike, run in one go on a sandbox of its own with no write limit."""
    no_limit = SandboxSettings(write_rate_limit=0)
    with Sandbox(tmp_path / f"{name}.sqlite", scale="demo", settings=no_limit) as reference:
        pair = add_migration_pair(reference, name, tables)
        result = migrate_documentation.execute_in_process(
            run_config=config_for(pair),
            resources=job_resources(
                reference, tmp_path / f"{name}.duckdb", write_limit_per_minute=100_000
            ),
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
        assert result.success
        return docs_by_title(reference, pair.target)


@dataclass
class KillAtPatch:
    """Kills something when the `kill_at`-th PATCH of the given targets reaches the
    sandbox, before the sandbox applies it (so the write is applied with its sender dead).
    Until `arm` names the kill, that request is held, so the kill never comes late."""

    targets: frozenset[str]
    kill_at: int
    patches: int = 0
    kill: Callable[[], None] | None = None
    killed_at: float | None = None  # time.time()
    armed: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def __call__(self, record: Any) -> None:
        if record.method != "PATCH" or record.path.split("/")[-2] not in self.targets:
            return
        self.patches += 1
        if self.patches != self.kill_at:
            return
        if self.armed.wait(30) and self.kill is not None:
            self.kill()
            self.killed_at = time.time()
        self.done.set()

    def arm(self, kill: Callable[[], None]) -> None:
        """Sets what to do at the `kill_at`-th PATCH."""
        self.kill = kill
        self.armed.set()


@dataclass(frozen=True)
class Outcome:
    """What one killed migration left, once every run it led to had ended."""

    killed: Any  # the RunRecord of the killed run
    killed_at: float
    queued: Any  # the RunRecord of the provisioning run queued behind it
    emails: tuple[str, ...]  # the users that run creates
    runs: list[Any]  # every run of the test since the launch, ended
    writes: list[Any]  # the sandbox's RequestRecords of writes since the launch
    requests: list[Any]


@pytest.fixture(scope="module")
def deaths_sandbox(tmp_path_factory: pytest.TempPathFactory, sandbox_key: str) -> Iterator[Sandbox]:
    """Returns the sandbox of this module's deployment: LIMIT writes a minute."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("deaths-sandbox"), sandbox_key, LIMIT)
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def deaths_deployment(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server_url: str,
    deaths_sandbox: Sandbox,
    sandbox_key: str,
) -> Iterator[Deployment]:
    """Returns a deployment of deploy/dagster.yaml whose client paces LIMIT writes a minute."""
    with running_deployment(
        tmp_path_factory.mktemp("deaths"),
        postgres_server_url,
        deaths_sandbox,
        sandbox_key,
        LIMIT,
        instance_yaml(),
    ) as running:
        yield running


def killed_migration(
    deployment: Deployment,
    sandbox: Sandbox,
    pair: MigrationPair,
    kill_at: int,
    kill_for: Callable[[str], Callable[[], None]],
    after_kill: Callable[[], None] = lambda: None,
) -> Outcome:
    """Launches the pair's migration through GraphQL and, right after it, a provisioning
    run of two users (queued behind it by the `secoda/writes` limit); `kill_for(run_id)`
    returns the kill, done at the `kill_at`-th PATCH; `after_kill` runs once it is done.
    Returns once the killed run and every run since (its retry, the queued one) ended."""
    trigger = KillAtPatch(frozenset(pair.target_tables), kill_at)
    emails = tuple(f"queued-{uuid.uuid4().hex[:8]}@example.com" for _ in range(2))
    users = [{"email": e, "role": "viewer"} for e in emails]
    mark = len(sandbox.requests)
    since = time.time()
    sandbox.settings.on_request = trigger
    try:
        run_id = deployment.launch_run("migrate_documentation", config_for(pair))
        queued_id = deployment.launch_run("provision_users", {"users": users, "dry_run": False})
        trigger.arm(kill_for(run_id))
        assert trigger.done.wait(180), f"the run never reached its PATCH {kill_at}"
    finally:
        sandbox.settings.on_request = None
    assert trigger.killed_at is not None
    after_kill()
    wait_until(
        lambda: deployment.runs(run_ids=[run_id])[0].dagster_run.status.value == "FAILURE",
        FREE_WITHIN + 60,
        f"the killed run {run_id} to be marked failed",
        1.0,
        deployment.check,
    )
    retry_of = {"dagster/parent_run_id": run_id}
    wait_until(lambda: deployment.runs(tags=retry_of), 120, "run retries to retry it", 1.0)
    deployment.wait_for_runs(timeout=300, tags=retry_of)
    runs = [r for r in deployment.wait_until_idle(300) if r.create_timestamp.timestamp() >= since]
    requests = sandbox.requests[mark:]
    writes = [r for r in requests if r.method != "GET"]
    [killed] = deployment.runs(run_ids=[run_id])
    [queued] = deployment.runs(run_ids=[queued_id])
    return Outcome(killed, trigger.killed_at, queued, emails, runs, writes, requests)


def assert_every_promise(
    deployment: Deployment,
    outcome: Outcome,
    sandbox: Sandbox,
    pair: MigrationPair,
    expected: dict[str, Any],
) -> dict[str, float]:
    """Asserts what every kill must leave: the killed run failed and its slot freed within
    FREE_WITHIN, the queued run done, every target PATCHed exactly once and every user
    created once, no 429, no minute over the limit, the retry succeeded, and the target as
    the fault-free run left its twin (`expected`). Returns the figures for the report."""
    detected = seconds_to_failure(deployment, outcome)
    assert detected <= FREE_WITHIN, f"the dead run was failed {detected:.0f} s after the kill"
    assert outcome.queued.dagster_run.status.value == "SUCCESS"
    waited = outcome.queued.start_time - outcome.killed_at
    assert waited <= FREE_WITHIN + 30, f"the queued run started {waited:.0f} s after the kill"

    patched = Counter(
        w.path.split("/")[-2] for w in outcome.writes if w.method == "PATCH" and w.applied
    )
    per_target = {pair.titles[t]: patched[t] for t in pair.target_tables}
    assert per_target == {title: 1 for title in pair.titles.values()}, per_target
    created = Counter(
        w.body.get("email") for w in outcome.writes if w.path == "user/" and w.applied
    )
    assert {e: created[e] for e in outcome.emails} == {e: 1 for e in outcome.emails}
    assert [r.status for r in outcome.requests if r.status == 429] == []
    assert over_limit_windows([w.started_at for w in outcome.writes], LIMIT) == []
    retries = [
        r
        for r in outcome.runs
        if r.dagster_run.tags.get("dagster/parent_run_id") == outcome.killed.dagster_run.run_id
    ]
    assert [r.dagster_run.status.value for r in retries] == ["SUCCESS"]
    assert docs_by_title(sandbox, pair.target) == expected
    return {
        "seconds_to_failure": round(detected, 1),
        "queued_run_started_after": round(waited, 1),
        "writes_per_target": max(per_target.values()),
        "patches": sum(per_target.values()),
    }


def seconds_to_failure(deployment: Deployment, outcome: Outcome) -> float:
    """Returns the seconds from the kill to the run's failure event."""
    [failure] = deployment.instance.all_logs(
        outcome.killed.dagster_run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
    )
    return failure.timestamp - outcome.killed_at


def report(name: str, **figures: Any) -> None:
    """Prints the figures of a scenario (pytest -s shows them; the closing note quotes
    them)."""
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in figures.items()))


# ---- 1. the run worker ------------------------------------------------------------------


def test_a_killed_run_worker_leaves_no_writer_and_its_retry_finishes_the_work(
    deaths_deployment: Deployment, deaths_sandbox: Sandbox, tmp_path: Path
) -> None:
    deployment, sandbox = deaths_deployment, deaths_sandbox
    pair = add_migration_pair(sandbox, "Worker kill", SMALL)
    expected = fault_free_end_state(tmp_path, "Worker kill", SMALL)
    tree: set[int] = set()

    def kill_for(run_id: str) -> Callable[[], None]:
        pid = deployment.run_worker_pid(run_id)

        def kill() -> None:
            tree.update(process_tree(pid))  # the run's processes as the write arrives
            os.kill(pid, signal.SIGKILL)

        return kill

    outcome = killed_migration(deployment, sandbox, pair, 3, kill_for)
    figures = assert_every_promise(deployment, outcome, sandbox, pair, expected)
    # The worker's helpers (Dagster's compute-log tails) go with it; a step process that
    # went on writing would still be alive here.
    wait_until(lambda: not any(alive(p) for p in tree), 10, "every process of the run to die")
    report("run worker", **figures)


# ---- 2. the code server with its runs ----------------------------------------------------


def test_a_run_dead_with_its_code_server_frees_the_write_slot_and_the_queued_run_runs(
    deaths_deployment: Deployment, deaths_sandbox: Sandbox, tmp_path: Path
) -> None:
    deployment, sandbox = deaths_deployment, deaths_sandbox
    pair = add_migration_pair(sandbox, "Code server kill", SMALL)
    expected = fault_free_end_state(tmp_path, "Code server kill", SMALL)

    def kill_for(run_id: str) -> Callable[[], None]:
        deployment.run_worker_pid(run_id)  # started: the code server runs it
        return lambda: deployment.kill_code_server()

    outcome = killed_migration(
        deployment, sandbox, pair, 3, kill_for, after_kill=deployment.restart_code_server
    )
    figures = assert_every_promise(deployment, outcome, sandbox, pair, expected)
    messages = " ".join(deployment.failure_messages(outcome.killed.dagster_run.run_id))
    assert "no heartbeat from the run's worker" in messages, messages
    report("code server group", **figures)


# ---- 3. the process that writes, and the pace --------------------------------------------


def lock_holder(deployment: Deployment, sandbox: Sandbox, run_id: str) -> int:
    """Returns the pid written in the workspace's write lock file by run `run_id`, once
    that run holds it."""
    _, tag = workspace_key(normalized_workspace(sandbox.base_url))
    path = write_lock_path(deployment.env["SECODA_DUCKDB_PATH"], tag)

    def holder() -> int | None:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return int(record["pid"]) if record.get("run_id") == run_id else None

    return wait_until(holder, 60, f"run {run_id} to hold the write lock", 0.1)


def test_the_killed_writer_is_the_run_worker_itself_and_the_retry_finishes_the_work(
    deaths_deployment: Deployment, deaths_sandbox: Sandbox, tmp_path: Path
) -> None:
    deployment, sandbox = deaths_deployment, deaths_sandbox
    pair = add_migration_pair(sandbox, "Writer kill", LARGE)
    expected = fault_free_end_state(tmp_path, "Writer kill", LARGE)
    pids: dict[str, int] = {}

    def kill_for(run_id: str) -> Callable[[], None]:
        pids["worker"] = deployment.run_worker_pid(run_id)
        pids["writer"] = lock_holder(deployment, sandbox, run_id)

        def kill() -> None:
            os.kill(pids["writer"], signal.SIGKILL)

        return kill

    outcome = killed_migration(deployment, sandbox, pair, 10, kill_for)
    assert pids["writer"] == pids["worker"], "the op runs in the run worker's own process"
    assert not alive(pids["worker"])
    report("writing process", **assert_every_promise(deployment, outcome, sandbox, pair, expected))
