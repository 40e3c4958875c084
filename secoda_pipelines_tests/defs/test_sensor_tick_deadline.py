"""A sensor tick evaluated by a real code server, as the daemon has it evaluated, ends with
the client's own message when Secoda is down, not with Dagster's tick timeout (SPEC B: a tick
ends within 45 s however long Secoda is down; Dagster gives a sensor 60 s).

The code server is `dagster code-server start -m secoda_pipelines.definitions` in its own
process, with the production retry settings (nothing here shortens a backoff): only
SECODA_API_URL and SECODA_API_KEY are set for it. The evaluation is asked for over gRPC
with Dagster's own 60 s sensor deadline: had the tick run past it, the gRPC client would
raise its timeout error instead of returning the sensor's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.sensor_definition import SensorExecutionData
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin, RemoteRepositoryOrigin
from dagster._core.remote_representation.external_data import SensorExecutionErrorSnap
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.types import SensorExecutionArgs
from dagster_shared.serdes import deserialize_value

from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines_tests.deployment.processes import ManagedProcess, executable, wait_until
from secoda_pipelines_tests.helpers import clean_environment, free_port
from secoda_pipelines_tests.sandbox.helpers import count_objects

pytestmark = pytest.mark.slow  # a code server in its own process

SENSOR = "new_integration_sensor"
MODULE = "secoda_pipelines.definitions"
REPOSITORY = "__repository__"  # the name Dagster gives a module's `defs`
DAGSTER_SENSOR_TIMEOUT = 60  # Dagster's default gRPC deadline for a sensor evaluation
STARTUP_TIMEOUT = 180.0


def _code_server_ready(client: DagsterGrpcClient) -> bool:
    try:
        answer = client.list_repositories()
    except Exception:  # not listening yet
        return False
    assert '"SerializableErrorInfo"' not in answer, answer[:2000]
    return REPOSITORY in answer


@pytest.fixture
def code_server(
    tmp_path: Path, sandbox: Sandbox
) -> Iterator[tuple[DagsterGrpcClient, RemoteRepositoryOrigin]]:
    """Returns (a gRPC client, the repository's origin) of a code server serving the code
    location, whose Secoda is the sandbox (SECODA_API_URL, SECODA_API_KEY: nothing else)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    port = free_port()
    env = {
        **clean_environment(),
        "DAGSTER_HOME": str(home),
        "SECODA_API_URL": sandbox.base_url,
        "SECODA_API_KEY": DEFAULT_API_KEY,
        "SECODA_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "PYTHONUNBUFFERED": "1",
    }
    command = [executable("dagster"), "code-server", "start"]
    command += ["-h", "127.0.0.1", "-p", str(port), "-m", MODULE]
    process = ManagedProcess.start("code-server", command, env, tmp_path, tmp_path)
    try:
        client = DagsterGrpcClient(port=port, host="127.0.0.1")
        wait_until(
            lambda: _code_server_ready(client),
            STARTUP_TIMEOUT,
            "the code server to load the code location",
            check=process.check,
        )
        location = GrpcServerCodeLocationOrigin(host="127.0.0.1", port=port)
        yield client, RemoteRepositoryOrigin(location, REPOSITORY)
    finally:
        process.stop()


def _evaluate(
    client: DagsterGrpcClient, origin: RemoteRepositoryOrigin, instance: dg.DagsterInstance
) -> SensorExecutionData | SensorExecutionErrorSnap:
    """Returns the sensor's evaluation as the code server answers it.

    Raises:
        DagsterUserCodeUnreachableError: the evaluation ran past Dagster's sensor deadline.
    """
    answer = client.external_sensor_execution(
        SensorExecutionArgs(
            repository_origin=origin,
            instance_ref=instance.get_ref(),
            sensor_name=SENSOR,
            cursor=None,
            timeout=DAGSTER_SENSOR_TIMEOUT,
        )
    )
    return deserialize_value(answer, (SensorExecutionData, SensorExecutionErrorSnap))


def test_a_tick_while_secoda_is_down_ends_with_the_clients_message_before_the_deadline(
    code_server: tuple[DagsterGrpcClient, RemoteRepositoryOrigin],
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    client, origin = code_server
    base_url = sandbox.base_url
    (tmp_path / "instance").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "instance")) as instance:
        # Up: the code server's tick lists the sandbox's integrations.
        up = _evaluate(client, origin, instance)
        assert isinstance(up, SensorExecutionData), up
        assert len(up.run_requests or []) == count_objects(sandbox, "integration/integrations/")

        # Down: nothing listens at SECODA_API_URL any more; every attempt is refused.
        sandbox.stop()
        down = _evaluate(client, origin, instance)

    assert isinstance(down, SensorExecutionErrorSnap), down
    message = down.error.to_string()
    assert f"GET integration/integrations/?page=1 could not reach Secoda at {base_url}" in message
    assert "the request was not sent" in message
    # The tick client's deadline stopped the retries, not Dagster's tick timeout.
    assert "would pass max_retry_seconds=30" in message
    assert "timed out" not in message
