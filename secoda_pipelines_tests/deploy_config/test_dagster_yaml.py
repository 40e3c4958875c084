"""deploy/dagster.yaml: valid for Dagster 1.13, and the limits it promises hold.

Loading parts of it needs no database (the run coordinator, the launcher, the queue's
config); the PostgreSQL storage itself is tested in test_postgres_instance.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.test_utils import instance_for_test
from dagster._core.utils import make_new_run_id
from dagster._utils.tags import TagConcurrencyLimitsCounter

from secoda_pipelines.instance import HeartbeatRunLauncher
from secoda_pipelines_tests.deploy_config.paths import DEPLOY, load_yaml

WRITES_TAG = "secoda/writes"
BACKFILL_TAG = "dagster/backfill"
# Every job that writes to Secoda. flag_stale_dashboards joins when it is defined.
WRITE_BACK_JOBS = (
    "migrate_documentation",
    "provision_users",
    "create_manual_lineage",
    "flag_stale_dashboards",
)


@pytest.fixture(scope="module")
def config() -> dict:
    """Returns deploy/dagster.yaml as written."""
    return load_yaml(DEPLOY / "dagster.yaml")


@pytest.fixture(scope="module")
def tag_limits(config: dict) -> list[dict]:
    """Returns the run queue's tag concurrency limits."""
    return config["concurrency"]["runs"]["tag_concurrency_limits"]


def run_with(tags: dict[str, str]) -> DagsterRun:
    """Returns a run (not stored anywhere) carrying `tags`."""
    return DagsterRun(job_name="probe", run_id=make_new_run_id(), tags=tags)


def test_the_file_passes_dagsters_own_schema(dagster_home: Path) -> None:
    validated, instance_class = dagster_instance_config(str(dagster_home))
    assert instance_class is None
    assert validated["telemetry"] == {"enabled": False}


def test_limits_use_the_concurrency_section_not_the_older_spellings(config: dict) -> None:
    # 1.13 refuses limits in both places; `run_queue` and run_coordinator.config limits are
    # the older ways of writing them.
    assert "run_queue" not in config
    coordinator_config = config["run_coordinator"].get("config", {})
    for older in ("max_concurrent_runs", "tag_concurrency_limits"):
        assert older not in coordinator_config
    assert "default_op_concurrency_limit" not in config["concurrency"]


def test_storage_is_postgres_from_the_environment(config: dict) -> None:
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_POSTGRES_URL"}}}


def test_queue_launcher_monitoring_and_telemetry(dagster_home: Path) -> None:
    ref = InstanceRef.from_dir(str(dagster_home))
    assert isinstance(ref.run_coordinator, QueuedRunCoordinator)
    # Dagster's default launcher (runs as the code server's subprocesses) plus a worker
    # health check, which run monitoring uses only when the launcher says it supports it.
    assert isinstance(ref.run_launcher, HeartbeatRunLauncher)
    assert ref.run_launcher.supports_check_run_worker_health

    config = load_yaml(dagster_home / "dagster.yaml")
    monitoring = config["run_monitoring"]
    assert monitoring["enabled"] is True
    assert monitoring["free_slots_after_run_end_seconds"] > 0
    assert config["telemetry"]["enabled"] is False
    assert config["run_retries"]["enabled"] is True


def test_the_queue_reads_its_limits_from_the_concurrency_section(config: dict) -> None:
    # The file's coordinator and concurrency settings on local (SQLite) storage: the same
    # merge of settings the daemon makes, without a database server.
    overrides = {key: config[key] for key in ("run_coordinator", "concurrency")}
    with instance_for_test(overrides=overrides) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        concurrency = instance.get_concurrency_config()
    queue = concurrency.run_queue_config
    assert queue is not None
    assert queue.max_concurrent_runs == config["concurrency"]["runs"]["max_concurrent_runs"]
    assert {limit["key"]: limit["limit"] for limit in queue.tag_concurrency_limits} == {
        BACKFILL_TAG: 8,
        WRITES_TAG: 1,
    }
    assert queue.max_user_code_failure_retries == 3
    assert concurrency.pool_config.default_pool_limit == 4


def test_write_limit_counts_every_value_of_the_tag(tag_limits: list[dict]) -> None:
    (writes,) = [limit for limit in tag_limits if limit["key"] == WRITES_TAG]
    # Without `value`, Dagster counts every run carrying the key, whatever its value.
    assert "value" not in writes and writes["limit"] == 1

    in_progress = [run_with({WRITES_TAG: "documentation"})]
    counter = TagConcurrencyLimitsCounter(tag_limits, in_progress)
    assert counter.is_blocked(run_with({WRITES_TAG: "documentation"}))
    assert counter.is_blocked(run_with({WRITES_TAG: "users"}))
    assert counter.is_blocked(run_with({WRITES_TAG: "lineage"}))
    assert not counter.is_blocked(run_with({}))

    idle = TagConcurrencyLimitsCounter(tag_limits, [run_with({})])
    assert not idle.is_blocked(run_with({WRITES_TAG: "users"}))


def test_backfills_leave_room_for_other_runs(config: dict, tag_limits: list[dict]) -> None:
    (backfill,) = [limit for limit in tag_limits if limit["key"] == BACKFILL_TAG]
    assert backfill["limit"] < config["concurrency"]["runs"]["max_concurrent_runs"]

    running = [run_with({BACKFILL_TAG: "b1"}) for _ in range(backfill["limit"])]
    assert TagConcurrencyLimitsCounter(tag_limits, running).is_blocked(
        run_with({BACKFILL_TAG: "b2"})
    )
    assert not TagConcurrencyLimitsCounter(tag_limits, running[1:]).is_blocked(
        run_with({BACKFILL_TAG: "b2"})
    )
    assert not TagConcurrencyLimitsCounter(tag_limits, running).is_blocked(run_with({}))


def test_every_write_back_job_carries_the_writes_tag() -> None:
    from secoda_pipelines.definitions import defs

    jobs = {job.name: job for job in defs.resolve_all_job_defs()}
    present = [name for name in WRITE_BACK_JOBS if name in jobs]
    assert {"migrate_documentation", "provision_users", "create_manual_lineage"} <= set(present)
    for name in present:
        assert WRITES_TAG in jobs[name].tags, f"{name} lacks the run tag {WRITES_TAG}"
