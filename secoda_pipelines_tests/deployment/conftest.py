"""Fixtures of the deployment tests: one PostgreSQL server, one sandbox and one deployment
(code server, webserver, daemon) for the whole session, so the suite starts them once.

PostgreSQL: SECODA_TEST_POSTGRES_URL when set (.ci/run sets it), else a temporary cluster
started here from the PostgreSQL binaries on this machine; without either, every test
fails saying what to install. The deployment's DAGSTER_HOME holds a copy of
deploy/dagster.yaml, or of the file SECODA_DEPLOYMENT_DAGSTER_YAML names (to run the tests
on another instance configuration, e.g. one without the write-back limit, and see them
fail).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from secoda_pipelines.sandbox import Sandbox
from secoda_pipelines_tests.deployment.harness import (
    Deployment,
    SeededIntegration,
    add_integration,
    dagster_yaml,
    running_deployment,
    start_sandbox,
)
from secoda_pipelines_tests.deployment.processes import wait_until

WRITE_LIMIT = 600  # the client's pace and the sandbox's limit, writes a minute
SENSOR = "new_integration_sensor"
DAGSTER_YAML_VARIABLE = "SECODA_DEPLOYMENT_DAGSTER_YAML"


def instance_yaml() -> str:
    """Returns the dagster.yaml text the deployments of this session use."""
    override = os.environ.get(DAGSTER_YAML_VARIABLE)
    return Path(override).read_text() if override else dagster_yaml()


@pytest.fixture(scope="session")
def sandbox_key() -> str:
    """Returns the sandbox's API key: random, so that it is a secret no log should hold."""
    return secrets.token_urlsafe(18)


@pytest.fixture(scope="session")
def deployment_sandbox(
    tmp_path_factory: pytest.TempPathFactory, sandbox_key: str
) -> Iterator[Sandbox]:
    """Returns the demo-scale sandbox the session's deployment talks to (20 ms latency, 600
    writes a minute), served from the test process so tests can read and fault it."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("deployment-sandbox"), sandbox_key, WRITE_LIMIT)
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="session")
def deployment(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server_url: str,
    deployment_sandbox: Sandbox,
    sandbox_key: str,
) -> Iterator[Deployment]:
    """Returns the session's running deployment (client pace 600 writes a minute)."""
    with running_deployment(
        tmp_path_factory.mktemp("deployment"),
        postgres_server_url,
        deployment_sandbox,
        sandbox_key,
        WRITE_LIMIT,
        instance_yaml(),
    ) as running:
        yield running


@pytest.fixture(scope="session")
def warehouse(deployment: Deployment) -> Path:
    """Returns the DuckDB file every run writes (open it only when no run is active)."""
    return Path(deployment.env["SECODA_DUCKDB_PATH"])


@dataclass(frozen=True)
class SensorActivity:
    """What the sensor did once it was turned on."""

    seeded: tuple[SeededIntegration, ...]
    integration_ids: tuple[str, ...]  # every integration Secoda listed at the tick
    tick: dict[str, Any]  # the first SUCCESS tick, as GraphQL gives it
    runs: tuple[Any, ...]  # RunRecords of the runs it launched, all ended


@pytest.fixture(scope="session")
def sensor_activity(deployment: Deployment, deployment_sandbox: Sandbox) -> SensorActivity:
    """Returns what the sensor did after GraphQL startSensor: two new integrations are added
    to the sandbox first; the sensor is stopped again once its tick's runs have ended.

    Raises:
        TimeoutError: no successful tick within 90 s, or its runs did not end in 240 s.
    """
    seeded = tuple(
        add_integration(deployment_sandbox, f"Sensor warehouse {letter}") for letter in "ab"
    )
    listed = deployment_sandbox.open_store().find("integration/integrations/", [])
    deployment.set_sensor(SENSOR, running=True)
    try:
        tick = wait_until(
            lambda: next(
                (t for t in deployment.sensor_ticks(SENSOR) if t["status"] == "SUCCESS"), None
            ),
            90,
            "a successful tick of the sensor",
            check=deployment.check,
        )
        assert tick["runIds"], f"the tick launched no run: {tick}"
        runs = deployment.wait_for_runs(
            timeout=240, expected=len(tick["runIds"]), run_ids=tick["runIds"]
        )
    finally:
        deployment.set_sensor(SENSOR, running=False)
    return SensorActivity(seeded, tuple(str(i["id"]) for i in listed), tick, tuple(runs))
