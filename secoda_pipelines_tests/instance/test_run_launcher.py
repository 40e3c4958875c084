"""The launcher of deploy/dagster.yaml: Dagster's default one plus a worker health check
that reads the heartbeat write-back runs beat into the instance."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.launcher import WorkerStatus
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.test_utils import create_run_for_test, instance_for_test

from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.instance import (
    HEARTBEAT_TAG,
    HeartbeatRunLauncher,
    RunHeartbeat,
    last_sign_of_life,
)
from secoda_pipelines.instance.heartbeat import heartbeat_key
from secoda_pipelines.sandbox import Sandbox
from secoda_pipelines_tests.helpers import job_resources

STALE = 0.5  # seconds: a short silence, so the tests wait little


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """Returns a temporary instance whose launcher is HeartbeatRunLauncher, as dagster.yaml
    names it, with a short `stale_after_seconds`."""
    launcher = {
        "module": "secoda_pipelines.instance.run_launcher",
        "class": "HeartbeatRunLauncher",
        "config": {"stale_after_seconds": STALE},
    }
    with instance_for_test(overrides={"run_launcher": launcher}) as instance:
        yield instance


def started_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> dg.DagsterRun:
    """Returns a run stored as STARTED, its start recorded (a RUN_START event) now."""
    run = create_run_for_test(instance, job_name="probe", tags=tags)
    instance.handle_run_event(
        run.run_id,
        dg.DagsterEvent(
            event_type_value=dg.DagsterEventType.RUN_START.value,
            job_name="probe",
            message="started",
        ),
    )
    stored = instance.get_run_by_id(run.run_id)
    assert stored is not None and stored.status == DagsterRunStatus.STARTED
    return stored


def test_dagster_yaml_names_a_launcher_that_checks_worker_health(
    instance: dg.DagsterInstance,
) -> None:
    launcher = instance.run_launcher
    assert isinstance(launcher, HeartbeatRunLauncher)
    assert isinstance(launcher, dg.DefaultRunLauncher)
    assert launcher.supports_check_run_worker_health
    assert launcher.stale_after_seconds == STALE


@pytest.mark.slow
def test_a_beating_run_is_running_and_a_silent_one_failed(instance: dg.DagsterInstance) -> None:
    run = started_run(instance, {HEARTBEAT_TAG: "10"})
    launcher = instance.run_launcher
    with RunHeartbeat(instance, run.run_id, interval=0.1):
        time.sleep(3 * STALE)  # silent for longer than STALE, were it not for the beats
        beating = launcher.check_run_worker_health(run)
    assert beating.status == WorkerStatus.RUNNING, beating
    time.sleep(2 * STALE)  # the beats stopped with the block, as with a killed process
    silent = launcher.check_run_worker_health(run)
    assert silent.status == WorkerStatus.FAILED
    assert "no heartbeat from the run's worker" in (silent.msg or "")


def test_a_run_that_never_beat_counts_from_its_start(instance: dg.DagsterInstance) -> None:
    run = started_run(instance, {HEARTBEAT_TAG: "10"})
    launcher = instance.run_launcher
    assert launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
    time.sleep(2 * STALE)
    assert launcher.check_run_worker_health(run).status == WorkerStatus.FAILED


def test_runs_without_the_tag_are_not_judged(instance: dg.DagsterInstance) -> None:
    run = started_run(instance, {"secoda/writes": "documentation"})
    time.sleep(2 * STALE)
    result = instance.run_launcher.check_run_worker_health(run)
    assert result.status == WorkerStatus.RUNNING


def test_a_heartbeat_that_cannot_be_stored_never_fails_the_block() -> None:
    class RestartingStorage:
        def set_cursor_values(self, values: dict[str, str]) -> None:
            raise ConnectionError("the instance's database is restarting")

    class Instance:
        run_storage = RestartingStorage()

    with RunHeartbeat(Instance(), "run-1", interval=0.05) as heartbeat:
        time.sleep(0.2)
        assert heartbeat.beat() is False


def test_the_launcher_refuses_a_silence_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="stale_after_seconds must be positive, got 0"):
        HeartbeatRunLauncher(stale_after_seconds=0)


def test_write_back_jobs_beat_and_run_their_op_in_the_run_process() -> None:
    """The job carries the tag the launcher judges and the in-process executor, so killing
    the run's worker kills its writer."""
    assert migrate_documentation.tags[HEARTBEAT_TAG] == "10"
    assert migrate_documentation.executor_def.name == dg.in_process_executor.name


def test_a_write_back_run_beats_into_the_instance_while_it_runs(
    instance: dg.DagsterInstance, make_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    """Even a run whose input is refused (unknown integrations, a dry run) beats."""
    sandbox = make_sandbox()
    before = time.time()
    result = migrate_documentation.execute_in_process(
        run_config={
            "source_integration_id": "missing-source",
            "target_integration_id": "missing-target",
        },
        resources=job_resources(sandbox, tmp_path / "warehouse.duckdb"),
        instance=instance,
        raise_on_error=False,
    )
    beats = instance.run_storage.get_cursor_values({heartbeat_key(result.run_id)})
    beat = float(beats[heartbeat_key(result.run_id)])
    assert before <= beat <= time.time()
    assert last_sign_of_life(instance, result.run_id) >= beat
