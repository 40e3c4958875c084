"""`HeartbeatRunLauncher`: Dagster's default run launcher (each run a subprocess of the code
server) that can also tell run monitoring when a run's worker is gone.

The default launcher cannot check a worker's health, so a run whose worker died together
with its code server stays STARTED for ever. This one judges the runs tagged
`HEARTBEAT_TAG` (every write-back job) by their heartbeat in the instance (see
`heartbeat`): silent for `STALE_AFTER_SECONDS`, the worker is reported FAILED and run
monitoring marks the run failed, which frees its place in the run queue's limits and lets
run retries start it again. Runs without the tag are reported RUNNING, as far as this check
goes: the default launcher's own behaviour (the code server fails a run whose worker
process dies while it lives).

Named in deploy/dagster.yaml; the webserver and the daemon import it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Self

from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes.config_class import ConfigurableClassData

from secoda_pipelines.instance.heartbeat import (
    HEARTBEAT_TAG,
    STALE_AFTER_SECONDS,
    last_sign_of_life,
)


class HeartbeatRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher whose worker health check fails a heartbeat-tagged run that has
    shown no sign of life for `stale_after_seconds` (default `STALE_AFTER_SECONDS`)."""

    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        stale_after_seconds: float = STALE_AFTER_SECONDS,
    ):
        """Raises:
        ValueError: stale_after_seconds is not positive."""
        if stale_after_seconds <= 0:
            raise ValueError(f"stale_after_seconds must be positive, got {stale_after_seconds!r}")
        super().__init__(inst_data=inst_data)
        self.stale_after_seconds = float(stale_after_seconds)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        """Returns the launcher's config schema: an optional `stale_after_seconds`."""
        from dagster import Field

        return {
            "stale_after_seconds": Field(
                float,
                is_required=False,
                default_value=STALE_AFTER_SECONDS,
                description="Seconds without a heartbeat after which a heartbeat-tagged "
                "run's worker is taken for dead.",
            )
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> Self:
        """Returns the launcher for its config in dagster.yaml."""
        return cls(
            inst_data=inst_data,
            stale_after_seconds=config_value.get("stale_after_seconds", STALE_AFTER_SECONDS),
        )

    @property
    def supports_check_run_worker_health(self) -> bool:
        """Returns True: run monitoring asks `check_run_worker_health` about started runs."""
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        """Returns FAILED for a heartbeat-tagged run silent for `stale_after_seconds`
        (started and never beaten counts from its start), RUNNING otherwise, and RUNNING
        for every run without the tag.

        Raises:
            Exception: the instance's storage could not be read (run monitoring logs it and
                asks again at its next poll).
        """
        if HEARTBEAT_TAG not in run.tags:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no heartbeat to check")
        last = last_sign_of_life(self._instance, run.run_id)
        if last is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not started yet")
        silent = time.time() - last
        if silent <= self.stale_after_seconds:
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"last heartbeat {silent:.0f} s ago")
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"no heartbeat from the run's worker for {silent:.0f} s (more than "
            f"{self.stale_after_seconds:g} s): its process is gone, most likely with the code "
            "server that started it, and it is failed so that its place in the run queue "
            "frees. Run retries start it again; the retry writes only once it holds the "
            "Secoda workspace's write lock, which a process still alive would keep.",
        )
