"""A real Dagster deployment for tests and benchmarks: PostgreSQL, a gRPC code server, the
webserver and the daemon as separate processes on a copy of deploy/dagster.yaml.

Everything here is driven the way an operator drives a deployment: through the webserver's
GraphQL API and the instance (DagsterInstance over the same PostgreSQL database). Nothing
imports the code location into the test process to run it.

PostgreSQL comes from postgres.py, process handling from processes.py. Used by the
fixtures in conftest.py and by benchmarks/bench_backfill.py.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from secoda_pipelines.sandbox.routes import collection_path
from secoda_pipelines_tests.deployment.processes import (
    DeploymentError,
    ManagedProcess,
    executable,
    patched_environ,
    wait_until,
)
from secoda_pipelines_tests.helpers import clean_environment, free_port
from secoda_pipelines_tests.postgres import fresh_database
from secoda_pipelines_tests.sandbox.helpers import insert_object

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
LOCATION = "secoda_pipelines"
REPOSITORY = "__repository__"
TERMINAL_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
PARTITIONS = "secoda_integrations"
PARTITIONED_ASSETS = ("secoda/tables", "secoda/columns")


class GraphQLError(RuntimeError):
    """The webserver answered a GraphQL request with errors, or with an error result."""


def dagster_yaml(edit: Callable[[dict[str, Any]], None] | None = None) -> str:
    """Returns the text of deploy/dagster.yaml, changed by `edit` (on the parsed file) when
    given; verbatim, comments included, otherwise.

    Raises:
        FileNotFoundError: deploy/dagster.yaml does not exist.
    """
    text = (DEPLOY / "dagster.yaml").read_text()
    if edit is None:
        return text
    config = yaml.safe_load(text)
    edit(config)
    return yaml.safe_dump(config, sort_keys=False)


def set_run_limits(
    max_concurrent_runs: int | None = None, tag_limits: Mapping[str, int | None] | None = None
) -> Callable[[dict[str, Any]], None]:
    """Returns an edit for dagster_yaml setting concurrency.runs.max_concurrent_runs (when
    given) and the limit of each run tag key in tag_limits; a limit of None removes that
    key's limit."""

    def edit(config: dict[str, Any]) -> None:
        runs = config.setdefault("concurrency", {}).setdefault("runs", {})
        if max_concurrent_runs is not None:
            runs["max_concurrent_runs"] = max_concurrent_runs
        limits = runs.setdefault("tag_concurrency_limits", [])
        for key, limit in (tag_limits or {}).items():
            limits[:] = [entry for entry in limits if entry.get("key") != key]
            if limit is not None:
                limits.append({"key": key, "limit": limit})

    return edit


@dataclass
class Deployment:
    """The code server, webserver and daemon over one PostgreSQL database.

    `env` is the Secoda side of the processes' environment (SECODA_API_URL, ...); DAGSTER_HOME
    (holding the dagster.yaml text given), DAGSTER_POSTGRES_URL and the code server's host
    and port are added here. Use as a context manager, or start() and stop().
    """

    root: Path
    postgres_url: str = field(repr=False)  # may hold a password
    env: Mapping[str, str] = field(repr=False)  # holds the API key: never in a repr
    dagster_yaml_text: str = field(default_factory=dagster_yaml, repr=False)
    redact: tuple[str, ...] = field(default=(), repr=False)
    startup_timeout: float = 180.0
    module: str = "secoda_pipelines.definitions"
    processes: list[ManagedProcess] = field(default_factory=list)
    webserver_port: int = 0
    code_server_port: int = 0
    _instance: Any = field(default=None, repr=False)

    @property
    def home(self) -> Path:
        """Returns DAGSTER_HOME of every process."""
        return self.root / "dagster_home"

    @property
    def logs(self) -> Path:
        """Returns the folder of the processes' log files."""
        return self.root / "logs"

    @property
    def url(self) -> str:
        """Returns the webserver's base URL."""
        return f"http://127.0.0.1:{self.webserver_port}"

    @property
    def code_server_pid(self) -> int:
        """Returns the code server's pid, which is also its session's id (runs included).

        Raises:
            StopIteration: the code server was not started.
        """
        return next(p.popen.pid for p in self.processes if p.name == "code-server")

    def process_env(self) -> dict[str, str]:
        """Returns the environment of the deployment's processes."""
        return {
            **clean_environment(),
            **self.env,
            "DAGSTER_HOME": str(self.home),
            "DAGSTER_POSTGRES_URL": self.postgres_url,
            "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
            "DAGSTER_CODE_SERVER_PORT": str(self.code_server_port),
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> Deployment:
        """Writes DAGSTER_HOME, starts the code server, then the webserver and the daemon;
        returns self once GraphQL answers with the location loaded and the daemon is healthy.

        Raises:
            DeploymentError: a process exited early (with its log tail).
            TimeoutError: not ready within startup_timeout seconds.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.home / "dagster.yaml").write_text(self.dagster_yaml_text)
        shutil.copy(DEPLOY / "workspace.yaml", self.home / "workspace.yaml")
        self.code_server_port, self.webserver_port = free_port(), free_port()
        self._init_instance()
        env = self.process_env()
        workspace = str(self.home / "workspace.yaml")
        code_server = self._spawn("code-server", self._code_server_command(), env)
        # The webserver and daemon load the location once at start; a daemon that found the
        # code server down only retries a minute later, so wait for it first.
        wait_until(
            self._code_server_ready,
            self.startup_timeout,
            "the code server to load the code location",
            check=code_server.check,
        )
        self._spawn(
            "webserver",
            [
                executable("dagster-webserver"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.webserver_port),
                "-w",
                workspace,
            ],
            env,
        )
        self._spawn("daemon", [executable("dagster-daemon"), "run", "-w", workspace], env)
        wait_until(
            self._location_loaded,
            self.startup_timeout,
            "the webserver to load the code location",
            check=self.check,
        )
        wait_until(
            self._daemon_healthy,
            self.startup_timeout,
            "the daemon's heartbeats",
            check=self.check,
        )
        return self

    def _code_server_command(self) -> list[str]:
        return [
            executable("dagster"),
            "code-server",
            "start",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.code_server_port),
            "-m",
            self.module,
        ]

    def kill_code_server(self) -> None:
        """SIGKILLs the code server's whole process group, its runs included, as a killed
        container does: nothing is told, nothing cleans up. Returns once all are gone."""
        process = next(p for p in self.processes if p.name == "code-server")
        process.kill_group()
        self.processes.remove(process)

    def restart_code_server(self) -> None:
        """Starts the code server again on the same port (as a container's restart policy
        does); returns once it serves the code location.

        Raises:
            DeploymentError: it exited early. TimeoutError: not ready in time.
        """
        code_server = ManagedProcess.start(
            "code-server",
            self._code_server_command(),
            self.process_env(),
            self.root,
            self.logs,
            self.redact,
        )
        self.processes.insert(0, code_server)
        wait_until(
            self._code_server_ready,
            self.startup_timeout,
            "the restarted code server to load the code location",
            check=code_server.check,
        )

    def run_worker_pid(self, run_id: str, timeout: float = 60.0) -> int:
        """Returns the pid of the run's worker process, as the code server reported it
        ("Started process for run (pid: N)." in the run's events).

        Raises:
            TimeoutError: no such event within `timeout` seconds.
        """
        from dagster import DagsterEventType

        def reported() -> int | None:
            for entry in self.instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
                found = re.search(r"Started process for run \(pid: (\d+)\)", entry.message)
                if found:
                    return int(found.group(1))
            return None

        return wait_until(reported, timeout, f"the worker pid of run {run_id}", 0.2, self.check)

    def stop(self) -> None:
        """Stops the daemon, the webserver and the code server (with its runs), in that
        order, and closes the instance; idempotent."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        if self._instance is not None:
            with contextlib.suppress(Exception):
                self._instance.dispose()
            self._instance = None

    def __enter__(self) -> Deployment:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def check(self) -> None:
        """Returns None while every process runs.

        Raises:
            DeploymentError: one exited (its log tail in the message).
        """
        for process in self.processes:
            process.check()

    def log_tails(self) -> str:
        """Returns the end of every process's log (secrets redacted), for failure reports."""
        return "\n".join(f"--- {p.name} ---\n{p.tail(2000)}" for p in self.processes)

    def _spawn(self, name: str, command: list[str], env: Mapping[str, str]) -> ManagedProcess:
        process = ManagedProcess.start(name, command, env, self.root, self.logs, self.redact)
        self.processes.append(process)
        return process

    def _init_instance(self) -> None:
        # deploy/init_instance.sh is the deployment's documented, idempotent set-up step:
        # `dagster instance migrate`, then the `secoda_api` pool limit, which dagster.yaml
        # cannot hold per pool in 1.13. Run it as a deployment would, before the processes.
        script = DEPLOY / "init_instance.sh"
        if not script.exists():
            return
        bin_dir = str(Path(sys.executable).parent)
        result = subprocess.run(
            ["sh", str(script)],
            cwd=self.root,
            env={**self.process_env(), "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()[-1500:]
            for secret in self.redact:
                output = output.replace(secret, "***")
            raise DeploymentError(f"{script.name} failed ({result.returncode}): {output}")

    def _code_server_ready(self) -> bool:
        from dagster._grpc.client import DagsterGrpcClient

        try:
            client = DagsterGrpcClient(port=self.code_server_port, host="127.0.0.1")
            answer = client.list_repositories()  # serialized: the repositories, or an error
        except Exception:  # not listening yet
            return False
        if '"SerializableErrorInfo"' in answer:
            from dagster_shared.serdes import deserialize_value

            error = deserialize_value(answer)
            raise DeploymentError(f"the code server cannot load {self.module}: {error.message}")
        return '"ListRepositoriesResponse"' in answer

    def _location_loaded(self) -> bool:
        try:
            data = self.graphql(
                """{ workspaceOrError { __typename ... on Workspace { locationEntries {
                     name loadStatus locationOrLoadError { __typename
                       ... on PythonError { message } } } } } }"""
            )
        except (requests.RequestException, GraphQLError):
            return False
        entries = data["workspaceOrError"].get("locationEntries") or []
        for entry in entries:
            if entry["name"] != LOCATION or entry["loadStatus"] != "LOADED":
                continue
            loaded = entry["locationOrLoadError"] or {}
            if loaded.get("__typename") == "PythonError":
                raise DeploymentError(f"the code location failed to load: {loaded['message']}")
            return loaded.get("__typename") == "RepositoryLocation"
        return False

    def _daemon_healthy(self) -> bool:
        data = self.graphql(
            "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"
        )
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        return bool(statuses) and all(s["healthy"] for s in statuses if s["required"])

    # ---- driving it ----------------------------------------------------------------------

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Returns the `data` of a GraphQL request to the webserver.

        Raises:
            GraphQLError: the answer carries `errors` (quoted) or is not JSON.
            requests.RequestException: the webserver did not answer.
        """
        response = requests.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": dict(variables or {})},
            timeout=60,
        )
        try:
            body = response.json()
        except ValueError:
            raise GraphQLError(
                f"GraphQL answered {response.status_code}, not JSON: {response.text[:500]}"
            ) from None
        if body.get("errors"):
            raise GraphQLError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def mutate(
        self, query: str, field_name: str, success: str, variables: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Returns the result of mutation `field_name` when its __typename is `success`.

        Raises:
            GraphQLError: another result type (its message, or the whole result).
        """
        result = self.graphql(query, variables)[field_name]
        if result.get("__typename") != success:
            raise GraphQLError(f"{field_name} answered {result}")
        return result

    @property
    def instance(self) -> Any:
        """Returns a DagsterInstance over the deployment's storage (created on first use)."""
        if self._instance is None:
            from dagster import DagsterInstance

            # The storage reads DAGSTER_POSTGRES_URL while it is built.
            with patched_environ({"DAGSTER_POSTGRES_URL": self.postgres_url}):
                self._instance = DagsterInstance.from_config(str(self.home))
        return self._instance

    def graphql_client(self) -> Any:
        """Returns a dagster_graphql.DagsterGraphQLClient for the webserver."""
        from dagster_graphql import DagsterGraphQLClient

        return DagsterGraphQLClient("127.0.0.1", port_number=self.webserver_port, timeout=60)

    def repository_selector(self) -> dict[str, str]:
        """Returns the GraphQL RepositorySelector of the code location."""
        return {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}

    def launch_run(
        self,
        job_name: str,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Returns the id of a run of `job_name` launched with GraphQL launchRun (queued by
        the daemon's run coordinator).

        Raises:
            GraphQLError: the launch was refused.
        """
        result = self.mutate(
            """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
                 __typename ... on LaunchRunSuccess { run { runId } }
                 ... on PythonError { message }
                 ... on RunConfigValidationInvalid { errors { message } }
                 ... on Error { message } } }""",
            "launchRun",
            "LaunchRunSuccess",
            {
                "params": {
                    "selector": {**self.repository_selector(), "jobName": job_name},
                    "runConfigData": dict(run_config or {}),
                    "executionMetadata": {
                        "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]
                    },
                }
            },
        )
        return result["run"]["runId"]

    def reexecute_from_failure(self, parent_run_id: str) -> str:
        """Returns the id of the run GraphQL launchRunReexecution (strategy FROM_FAILURE)
        launched for parent_run_id.

        Raises:
            GraphQLError: the re-execution was refused.
        """
        result = self.mutate(
            """mutation($params: ReexecutionParams!) {
                 launchRunReexecution(reexecutionParams: $params) {
                   __typename ... on LaunchRunSuccess { run { runId } }
                   ... on PythonError { message } ... on Error { message } } }""",
            "launchRunReexecution",
            "LaunchRunSuccess",
            {"params": {"parentRunId": parent_run_id, "strategy": "FROM_FAILURE"}},
        )
        return result["run"]["runId"]

    def launch_asset_backfill(self, asset_keys: Iterable[str], partitions: Iterable[str]) -> str:
        """Returns the id of an asset backfill over `partitions` of the assets (keys like
        "secoda/tables"), launched with GraphQL launchPartitionBackfill.

        Raises:
            GraphQLError: the backfill was refused.
        """
        result = self.mutate(
            """mutation($params: LaunchBackfillParams!) {
                 launchPartitionBackfill(backfillParams: $params) {
                   __typename ... on LaunchBackfillSuccess { backfillId }
                   ... on PythonError { message } ... on Error { message } } }""",
            "launchPartitionBackfill",
            "LaunchBackfillSuccess",
            {
                "params": {
                    "assetSelection": [{"path": key.split("/")} for key in asset_keys],
                    "partitionNames": list(partitions),
                }
            },
        )
        return result["backfillId"]

    def add_dynamic_partition(self, partitions_def: str, key: str) -> None:
        """Adds `key` to the dynamic partitions with GraphQL addDynamicPartition.

        Raises:
            GraphQLError: refused (e.g. a duplicate).
        """
        self.mutate(
            """mutation($key: String!, $name: String!, $repo: RepositorySelector!) {
                 addDynamicPartition(partitionKey: $key, partitionsDefName: $name,
                                     repositorySelector: $repo) {
                   __typename ... on PythonError { message } ... on Error { message } } }""",
            "addDynamicPartition",
            "AddDynamicPartitionSuccess",
            {"key": key, "name": partitions_def, "repo": self.repository_selector()},
        )

    def set_sensor(self, sensor_name: str, running: bool) -> None:
        """Starts (running=True) or stops the sensor through GraphQL startSensor/stopSensor.

        Raises:
            GraphQLError: refused.
        """
        selector = {**self.repository_selector(), "sensorName": sensor_name}
        if running:
            self.mutate(
                """mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) {
                     __typename ... on PythonError { message } ... on Error { message } } }""",
                "startSensor",
                "Sensor",
                {"s": selector},
            )
            return
        data = self.graphql(
            """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
                 __typename ... on Sensor { sensorState { id selectorId } } } }""",
            {"s": selector},
        )
        state = data["sensorOrError"]["sensorState"]
        self.mutate(
            """mutation($id: String!, $sel: String!) {
                 stopSensor(id: $id, jobSelectorId: $sel) {
                   __typename ... on PythonError { message } ... on Error { message } } }""",
            "stopSensor",
            "StopSensorMutationResult",
            {"id": state["id"], "sel": state["selectorId"]},
        )

    def sensor_ticks(self, sensor_name: str) -> list[dict[str, Any]]:
        """Returns the sensor's ticks as GraphQL gives them (status, runIds, timestamps,
        added partitions), newest first."""
        data = self.graphql(
            """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
                 __typename ... on Sensor { sensorState { ticks(limit: 20) {
                   tickId status timestamp endTimestamp runIds skipReason
                   error { message }
                   dynamicPartitionsRequestResults { partitionsDefName partitionKeys
                     type } } } } } }""",
            {"s": {**self.repository_selector(), "sensorName": sensor_name}},
        )
        return data["sensorOrError"]["sensorState"]["ticks"]

    def runs(self, **filters: Any) -> list[Any]:
        """Returns the instance's RunRecords matching RunsFilter(**filters), oldest first."""
        from dagster import RunsFilter

        records = self.instance.get_run_records(RunsFilter(**filters))
        return sorted(records, key=lambda r: r.create_timestamp)

    def wait_for_runs(
        self, timeout: float = 240.0, expected: int | None = None, **filters: Any
    ) -> list[Any]:
        """Returns the RunRecords matching the filters once every one has ended (and, with
        `expected`, at least that many exist), oldest first.

        Raises:
            TimeoutError: runs still queued or in progress after `timeout` seconds (their
                statuses in the message).
            DeploymentError: a process of the deployment died meanwhile.
        """

        def ended() -> list[Any] | None:
            records = self.runs(**filters)
            if expected is not None and len(records) < expected:
                return None
            if all(r.dagster_run.status.value in TERMINAL_STATUSES for r in records):
                return records or None
            return None

        try:
            return wait_until(ended, timeout, f"runs {filters} to end", 1.0, self.check)
        except TimeoutError:
            statuses = [
                (r.dagster_run.run_id, r.dagster_run.status.value) for r in self.runs(**filters)
            ]
            raise TimeoutError(
                f"runs {filters} did not all end within {timeout:.0f} s: {statuses}"
            ) from None

    def wait_until_idle(self, timeout: float = 240.0) -> list[Any]:
        """Returns every run once none is queued, starting or in progress.

        Raises:
            TimeoutError: some run did not end within `timeout` seconds.
        """
        return self.wait_for_runs(timeout=timeout) if self.runs() else []

    def wait_for_backfill(self, backfill_id: str, timeout: float = 300.0) -> Any:
        """Returns the PartitionBackfill once the daemon has finished it (any end status)
        and every run it launched has ended.

        Raises:
            TimeoutError: still in progress after `timeout` seconds.
            DeploymentError: a process of the deployment died meanwhile.
        """
        from dagster._core.execution.backfill import BulkActionStatus

        in_progress = {
            BulkActionStatus.REQUESTED,
            BulkActionStatus.CANCELING,
            BulkActionStatus.FAILING,
        }
        started = time.monotonic()

        def finished() -> Any:
            backfill = self.instance.get_backfill(backfill_id)
            return backfill if backfill is not None and backfill.status not in in_progress else None

        wait_until(finished, timeout, f"backfill {backfill_id}", 1.0, self.check)
        remaining = max(10.0, timeout - (time.monotonic() - started))
        self.wait_for_runs(timeout=remaining, tags={"dagster/backfill": backfill_id})
        return self.instance.get_backfill(backfill_id)

    def failure_messages(self, run_id: str) -> list[str]:
        """Returns the text (message, then each error's message and causes, no stacks) of
        the run's step failures, step retries, run failure, engine events that carry an
        error, and error-level log records."""
        from dagster import DagsterEventType

        failures = {
            DagsterEventType.STEP_FAILURE,
            DagsterEventType.STEP_UP_FOR_RETRY,
            DagsterEventType.RUN_FAILURE,
        }
        messages = []
        for entry in self.instance.all_logs(run_id):
            event = entry.dagster_event
            data = event.event_specific_data if event is not None else None
            error = getattr(data, "error", None)
            failed = event is not None and (event.event_type in failures or error is not None)
            if not failed and entry.level < logging.ERROR:
                continue
            # A run failed from outside its worker (run monitoring) has its reason as the
            # event's message, not the entry's.
            parts = [entry.user_message or (event.message if event is not None else "") or ""]
            described = getattr(getattr(data, "user_failure_data", None), "description", None)
            if described:
                parts.append(described)
            while error is not None:
                parts.append(error.message)
                error = error.cause
            messages.append("\n".join(p for p in parts if p))
        return messages


def start_sandbox(folder: Path, api_key: str, write_limit: int, latency_ms: float = 20) -> Any:
    """Returns a started demo-scale Sandbox with its database in `folder` (created when
    missing), the given key, `latency_ms` per request and `write_limit` writes a minute."""
    from secoda_pipelines.sandbox import Sandbox, SandboxSettings

    folder.mkdir(parents=True, exist_ok=True)
    settings = SandboxSettings(api_key=api_key, latency_ms=latency_ms, write_rate_limit=write_limit)
    return Sandbox(folder / "sandbox.sqlite", scale="demo", settings=settings).start()


@contextlib.contextmanager
def running_deployment(
    root: Path,
    server_url: str,
    sandbox: Any,
    api_key: str,
    write_limit: int,
    dagster_yaml_text: str | None = None,
    pool_limit: int | None = None,
    extra_env: Mapping[str, str] | None = None,
    redact: Iterable[str] = (),
) -> Iterator[Deployment]:
    """Yields a started Deployment on a fresh database of the PostgreSQL server at
    server_url, talking to `sandbox` with the client's pace `write_limit` writes a minute,
    DuckDB file root/warehouse.duckdb, DAGSTER_HOME holding dagster_yaml_text (default:
    deploy/dagster.yaml). pool_limit, when given, is the `secoda_api` pool limit that
    deploy/init_instance.sh sets (SECODA_API_POOL_LIMIT; its default otherwise). extra_env is
    merged into the processes' environment last (e.g. SECODA_WAREHOUSE_URL); `redact` holds
    secrets besides the API key to mask in log tails and errors. At the end
    it lets runs still going end (bounded, so no worker is killed mid-write), stops the
    processes and drops the database.

    Raises:
        DeploymentError: a process died before it was ready.
        TimeoutError: the deployment was not ready in time.
    """
    env = {
        "SECODA_API_URL": sandbox.base_url,
        "SECODA_API_KEY": api_key,
        "SECODA_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "SECODA_WRITE_LIMIT_PER_MINUTE": str(write_limit),
    }
    if pool_limit is not None:
        env["SECODA_API_POOL_LIMIT"] = str(pool_limit)
    env.update(extra_env or {})
    text = dagster_yaml_text if dagster_yaml_text is not None else dagster_yaml()
    with (
        fresh_database(server_url) as database_url,
        Deployment(root, database_url, env, text, redact=(api_key, *redact)) as running,
    ):
        yield running
        with contextlib.suppress(TimeoutError):
            running.wait_until_idle(timeout=120)


def over_limit_windows(
    times: Sequence[float], limit: int, window: float = 60.0
) -> list[tuple[float, int]]:
    """Returns (window start, writes in it) for each window of `window` seconds, starting at
    a write, that holds more than `limit` writes (times in seconds, any clock)."""
    ordered = sorted(times)
    over = []
    end = 0
    for start_index, start in enumerate(ordered):
        while end < len(ordered) and ordered[end] < start + window:
            end += 1
        if end - start_index > limit:
            over.append((start, end - start_index))
    return over


@dataclass(frozen=True)
class SeededIntegration:
    """An integration added to a sandbox, with the ids of its tables and columns."""

    id: str
    name: str
    table_ids: tuple[str, ...]
    column_ids: tuple[str, ...]


def add_integration(
    sandbox: Any, name: str, tables: int = 3, columns_per_table: int = 2
) -> SeededIntegration:
    """Returns a new warehouse integration stored directly in the sandbox (no request
    logged), with `tables` documented tables of `columns_per_table` columns each."""
    integration = insert_object(
        sandbox, "integration/integrations/", {"name": name, "type": "postgres", "status": "active"}
    )
    database = re.sub(r"\W+", "_", name.lower())
    table_ids: list[str] = []
    column_ids: list[str] = []
    for t in range(tables):
        table = add_table(
            sandbox, integration["id"], database, f"table_{t}", f"Table {t} of {name}."
        )
        table_ids.append(table["id"])
        for c in range(columns_per_table):
            column = insert_object(
                sandbox,
                "table/columns/",
                {
                    "title": f"column_{c}",
                    "entity_type": "column",
                    "parent": table["id"],
                    "table_title": table["title"],
                    "table_schema": "public",
                    "table_database": database,
                    "integration": integration["id"],
                    "type": "varchar",
                    "sort_order": c + 1,
                    "description": f"Column {c} of table {t}.",
                    "definition": "",
                    "tags": [],
                    "pii": False,
                    "owners": [],
                    "verified": False,
                },
            )
            column_ids.append(column["id"])
    return SeededIntegration(integration["id"], name, tuple(table_ids), tuple(column_ids))


def add_table(
    sandbox: Any,
    integration_id: str,
    database: str,
    title: str,
    description: str = "",
    definition: str = "",
) -> dict[str, Any]:
    """Returns a new table of the integration with the description and definition given,
    stored directly in the sandbox (no request logged), in schema `public` of `database`,
    with no columns."""
    return insert_object(
        sandbox,
        "table/tables/",
        {
            "title": title,
            "entity_type": "table",
            "integration": integration_id,
            "parent": None,
            "database": database,
            "schema": "public",
            "description": description,
            "definition": definition,
            "tags": [],
            "pii": False,
            "owners": [],
            "verified": False,
        },
    )


def stored(sandbox: Any, path: str) -> list[dict[str, Any]]:
    """Returns every object of the sandbox collection at path, read from its store (no
    request, so nothing in the sandbox's request record)."""
    return sandbox.open_store().find(collection_path(path), [])


def statuses(records: Iterable[Any]) -> dict[str, str]:
    """Returns run id → status name of the RunRecords."""
    return {r.dagster_run.run_id: r.dagster_run.status.value for r in records}


def run_partitions(deployment: Deployment, record: Any) -> list[str]:
    """Returns the `secoda_integrations` partitions a RunRecord's run covers: its
    `dagster/partition`, or every key of its partition range (a backfill run of several),
    in the instance's order."""
    tags = record.dagster_run.tags
    if "dagster/partition" in tags:
        return [tags["dagster/partition"]]
    start = tags["dagster/asset_partition_range_start"]
    end = tags["dagster/asset_partition_range_end"]
    keys = list(deployment.instance.get_dynamic_partitions(PARTITIONS))
    return keys[keys.index(start) : keys.index(end) + 1]


def lock_failures(deployment: Deployment, run_ids: Iterable[str]) -> dict[str, list[str]]:
    """Returns run id → its failure messages that mention a lock (only runs with some)."""
    found = {}
    for run_id in run_ids:
        messages = [m for m in deployment.failure_messages(run_id) if "lock" in m.lower()]
        if messages:
            found[run_id] = messages
    return found
