"""The structure of deploy/'s other files: workspace, image, compose, Helm values, scripts.

There is no Docker daemon, image registry or cluster here, so the Dockerfile, the compose
file and the Helm values are checked as files: they parse, they hold what the deployment
needs, every name they refer to exists, and no secret is written in them. The workspace and
the scripts are also run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.workspace.config_schema import ensure_workspace_config

from secoda_pipelines_tests.deploy_config.paths import DEPLOY, REPO, load_yaml

DAGSTER_SERVICES = ("dagster-init", "code-server", "webserver", "daemon")
SECRET_WORDS = re.compile(r"(api[_-]?key|password|secret|token)", re.IGNORECASE)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """Returns deploy/Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def exec_form(arguments: str) -> list[str]:
    """Returns the JSON (exec) form of a Dockerfile CMD/ENTRYPOINT/HEALTHCHECK CMD."""
    return json.loads(arguments)


# --- workspace.yaml --------------------------------------------------------------------------


def test_workspace_loads_from_a_grpc_server_named_by_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace = load_yaml(DEPLOY / "workspace.yaml")
    monkeypatch.delenv("DAGSTER_CODE_SERVER_HOST", raising=False)
    monkeypatch.setenv("DAGSTER_CODE_SERVER_PORT", "4000")
    with pytest.raises(DagsterInvalidConfigError, match="DAGSTER_CODE_SERVER_HOST"):
        ensure_workspace_config(workspace, str(DEPLOY / "workspace.yaml"))
    monkeypatch.setenv("DAGSTER_CODE_SERVER_HOST", "code-server")
    ensure_workspace_config(workspace, str(DEPLOY / "workspace.yaml"))
    (entry,) = workspace["load_from"]
    server = entry["grpc_server"]
    assert server["host"] == {"env": "DAGSTER_CODE_SERVER_HOST"}
    assert server["port"] == {"env": "DAGSTER_CODE_SERVER_PORT"}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert server["location_name"] == pyproject["tool"]["dagster"]["code_location_name"]


# --- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_builds_the_code_server_image() -> None:
    instructions = dockerfile_instructions()
    by_keyword: dict[str, list[str]] = {}
    for keyword, arguments in instructions:
        by_keyword.setdefault(keyword, []).append(arguments)

    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert any('pip install ".[postgres]"' in run for run in by_keyword["RUN"])
    assert by_keyword["EXPOSE"] == ["4000"]
    assert "USER" in by_keyword and by_keyword["USER"][-1] != "root"

    (cmd,) = by_keyword["CMD"]
    command = exec_form(cmd)
    assert command[:3] == ["dagster", "code-server", "start"]
    assert command[command.index("-h") + 1] == "0.0.0.0"
    assert command[command.index("-p") + 1] == "4000"
    assert command[command.index("-m") + 1] == "secoda_pipelines.definitions"

    (healthcheck,) = by_keyword["HEALTHCHECK"]
    probe = exec_form(healthcheck.split(" CMD ", 1)[1])
    assert probe == ["dagster", "api", "grpc-health-check", "-p", "4000"]


def test_dockerfile_copies_only_existing_files_that_the_ignore_file_lets_through() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "*" in ignore, "the ignore file should allow-list, starting from nothing"
    for keyword, arguments in dockerfile_instructions():
        if keyword != "COPY":
            continue
        *sources, _destination = shlex.split(arguments)
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: no such file"
            assert source.rstrip("/") in allowed, f"COPY {source} is excluded from the context"


def test_no_secret_is_baked_into_the_image() -> None:
    for keyword, arguments in dockerfile_instructions():
        if keyword in ("ENV", "ARG"):
            names = re.findall(r"([A-Z_][A-Z0-9_]*)=", arguments)
            leaked = [name for name in names if SECRET_WORDS.search(name)]
            assert not leaked, f"{keyword} sets {leaked} in the image"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "!deploy/secrets" not in ignore


# --- docker-compose.yaml ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    """Returns deploy/docker-compose.yaml, YAML anchors and merge keys resolved."""
    return load_yaml(DEPLOY / "docker-compose.yaml")


def test_compose_has_the_deployments_services(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"postgresql", *DAGSTER_SERVICES}
    for name in DAGSTER_SERVICES:
        service = services[name]
        assert service["image"] == "secoda-pipelines:latest"
        build = service["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (
            DEPLOY / "Dockerfile"
        ).resolve()
        environment = service["environment"]
        assert environment["DAGSTER_HOME"] == "/opt/dagster/dagster_home"
        assert environment["DAGSTER_POSTGRES_URL_FILE"].startswith("/run/secrets/")
        assert "dagster_postgres_url" in service["secrets"]

    assert services["dagster-init"]["command"] == ["init_instance.sh"]
    assert services["webserver"]["command"][0] == "dagster-webserver"
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    for name in ("webserver", "daemon"):
        command = services[name]["command"]
        assert command[command.index("-w") + 1] == "/opt/dagster/app/workspace.yaml"
        assert services[name]["environment"]["DAGSTER_CODE_SERVER_HOST"] == "code-server"
        assert services[name]["depends_on"]["code-server"]["condition"] == "service_healthy"
    # The code server is the image's default command.
    assert "command" not in services["code-server"]
    assert services["postgresql"]["healthcheck"]["test"][0] == "CMD-SHELL"


def test_compose_orders_start_up(compose: dict) -> None:
    services = compose["services"]
    assert services["dagster-init"]["depends_on"] == {
        "postgresql": {"condition": "service_healthy"}
    }
    for name in ("code-server", "webserver", "daemon"):
        assert services[name]["depends_on"]["dagster-init"] == {
            "condition": "service_completed_successfully"
        }


def test_compose_gives_the_code_server_the_secoda_settings(compose: dict) -> None:
    code_server = compose["services"]["code-server"]
    environment = code_server["environment"]
    assert environment["SECODA_API_URL"].startswith("https://")
    assert environment["SECODA_API_KEY_FILE"] == "/run/secrets/secoda_api_key"
    assert "SECODA_API_KEY" not in environment
    duckdb_folder = str(Path(environment["SECODA_DUCKDB_PATH"]).parent)
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in code_server["volumes"]}
    assert mounts[duckdb_folder] in compose["volumes"]
    # The webserver and daemon never need the Secoda key: sensors, schedules and runs are
    # evaluated in the code server and its subprocesses.
    for name in ("webserver", "daemon", "dagster-init"):
        assert "secoda_api_key" not in compose["services"][name].get("secrets", [])


def test_compose_refers_only_to_declared_secrets_volumes_and_networks(compose: dict) -> None:
    for name, service in compose["services"].items():
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"], f"{name}: undeclared secret {secret}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("/", ".")):
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"
        for network in service.get("networks", []):
            assert network in compose["networks"], f"{name}: undeclared network {network}"


def test_compose_writes_no_secret_and_keeps_the_secret_files_out_of_git(compose: dict) -> None:
    for name, service in compose["services"].items():
        for variable, value in service.get("environment", {}).items():
            if SECRET_WORDS.search(variable) and not variable.endswith("_FILE"):
                pytest.fail(f"{name} sets {variable} in the compose file")
            assert "://" not in str(value) or "@" not in str(value), f"{name}: {variable}"
    for secret in compose["secrets"].values():
        path = DEPLOY / secret["file"]
        assert path.parent == DEPLOY / "secrets"
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(path)], cwd=REPO, check=False
        ).returncode
        assert ignored == 0, f"{path} would not be ignored by git"


def test_compose_publishes_the_webserver_on_loopback_only(compose: dict) -> None:
    assert compose["services"]["webserver"]["ports"] == ["127.0.0.1:3000:3000"]
    for name in ("postgresql", "code-server", "daemon", "dagster-init"):
        assert "ports" not in compose["services"][name]


# --- Helm values -----------------------------------------------------------------------------

# Key names of Dagster's chart, from its schema (helm/dagster/schema/schema/charts/...:
# values.py, subschema/{global_,postgresql,run_launcher,daemon,concurrency,migrate,
# telemetry}.py, dagster_user_deployments/subschema/user_deployments.py) and the instance
# template that renders runMonitoring. A typo in our values would be ignored by Helm.
CHART_KEYS: dict[str, set[str]] = {
    "": {
        "dagsterWebserver", "dagster-user-deployments", "postgresql",
        "generatePostgresqlPasswordSecret", "generateCeleryConfigSecret", "rabbitmq", "redis",
        "flower", "ingress", "imagePullSecrets", "computeLogManager", "scheduler",
        "runLauncher", "pythonLogs", "dagsterDaemon", "busybox", "migrate", "telemetry",
        "serviceAccount", "global", "retention", "concurrency", "additionalInstanceConfig",
    },
    "global": {
        "postgresqlSecretName", "dagsterHome", "serviceAccountName", "celeryConfigSecretName",
        "dagsterInstanceConfigMap",
    },
    "postgresql": {
        "image", "enabled", "postgresqlHost", "postgresqlUsername", "postgresqlPassword",
        "postgresqlDatabase", "postgresqlParams", "postgresqlScheme", "service",
    },
    "dagster-user-deployments": {"enabled", "enableSubchart", "imagePullSecrets", "deployments"},
    "deployment": {
        "name", "image", "port", "dagsterApiGrpcArgs", "codeServerArgs",
        "includeConfigInLaunchedRuns", "env", "envConfigMaps", "envSecrets", "annotations",
        "nodeSelector", "affinity", "tolerations", "podSecurityContext", "securityContext",
        "resources", "livenessProbe", "readinessProbe", "startupProbe", "labels",
        "volumeMounts", "volumes", "schedulerName",
    },
    "runLauncher": {"type", "config"},
    "k8sRunLauncher": {
        "image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile",
        "envConfigMaps", "envSecrets", "envVars", "volumeMounts", "volumes", "labels",
        "failPodOnRunFailure",
    },
    "dagsterDaemon": {
        "enabled", "image", "runCoordinator", "heartbeatTolerance", "env", "envConfigMaps",
        "envSecrets", "deploymentLabels", "labels", "nodeSelector", "affinity", "tolerations",
        "podSecurityContext", "securityContext", "resources", "checkDbReadyInitContainer",
        "livenessProbe", "readinessProbe", "startupProbe", "annotations", "runMonitoring",
        "runRetries", "sensors", "schedules", "backfills", "schedulerName", "logFormat",
        "volumeMounts", "volumes", "initContainerResources", "extraContainers",
        "extraPrependedInitContainers",
    },
    "runCoordinator": {"enabled", "type", "config"},
    "runMonitoring": {
        "enabled", "startTimeoutSeconds", "cancelTimeoutSeconds", "maxResumeRunAttempts",
        "pollIntervalSeconds", "freeSlotsAfterRunEndSeconds",
    },
    "runRetries": {"enabled", "maxRetries", "retryOnAssetOrOpFailure"},
    "concurrency": {"enabled", "pools", "runs"},
    "pools": {"defaultLimit", "granularity", "opGranularityRunBuffer"},
    "runs": {"maxConcurrentRuns", "tagConcurrencyLimits"},
    "tagConcurrencyLimit": {"key", "value", "limit"},
    "migrate": {"enabled", "extraContainers", "initContainers"},
    "telemetry": {"enabled"},
}  # fmt: skip


@pytest.fixture(scope="module")
def helm() -> dict:
    """Returns deploy/helm/values.yaml."""
    return load_yaml(DEPLOY / "helm" / "values.yaml")


def assert_known(section: str, mapping: dict) -> None:
    """Fails naming the keys of `mapping` that the chart's `section` does not have."""
    unknown = set(mapping) - CHART_KEYS[section]
    assert not unknown, f"{section or 'top level'}: keys the chart does not know: {unknown}"


def test_helm_values_use_only_the_charts_keys(helm: dict) -> None:
    assert_known("", helm)
    for section in ("global", "postgresql", "runLauncher", "dagsterDaemon", "concurrency"):
        assert_known(section, helm[section])
    assert_known("migrate", helm["migrate"])
    assert_known("telemetry", helm["telemetry"])
    assert_known("dagster-user-deployments", helm["dagster-user-deployments"])
    for deployment in helm["dagster-user-deployments"]["deployments"]:
        assert_known("deployment", deployment)
    assert_known("k8sRunLauncher", helm["runLauncher"]["config"]["k8sRunLauncher"])
    daemon = helm["dagsterDaemon"]
    for section in ("runCoordinator", "runMonitoring", "runRetries"):
        assert_known(section, daemon[section])
    assert_known("pools", helm["concurrency"]["pools"])
    assert_known("runs", helm["concurrency"]["runs"])
    for limit in helm["concurrency"]["runs"]["tagConcurrencyLimits"]:
        assert_known("tagConcurrencyLimit", limit)


def test_helm_values_match_deploy_dagster_yaml(helm: dict) -> None:
    instance = load_yaml(DEPLOY / "dagster.yaml")
    runs = instance["concurrency"]["runs"]
    assert helm["concurrency"]["enabled"] is True
    assert helm["concurrency"]["runs"]["maxConcurrentRuns"] == runs["max_concurrent_runs"]
    assert helm["concurrency"]["runs"]["tagConcurrencyLimits"] == runs["tag_concurrency_limits"]
    assert (
        helm["concurrency"]["pools"]["defaultLimit"]
        == instance["concurrency"]["pools"]["default_limit"]
    )
    # Limits in both places make the chart refuse to render.
    coordinator = helm["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "QueuedRunCoordinator"
    assert not coordinator["config"]["queuedRunCoordinator"]
    monitoring = helm["dagsterDaemon"]["runMonitoring"]
    assert monitoring["enabled"] is True
    assert (
        monitoring["freeSlotsAfterRunEndSeconds"]
        == (instance["run_monitoring"]["free_slots_after_run_end_seconds"])
    )
    retries = helm["dagsterDaemon"]["runRetries"]
    assert retries == {
        "enabled": True,
        "maxRetries": instance["run_retries"]["max_retries"],
        "retryOnAssetOrOpFailure": instance["run_retries"]["retry_on_asset_or_op_failure"],
    }
    assert helm["telemetry"] == {"enabled": False}
    assert helm["runLauncher"]["type"] == "K8sRunLauncher"


def test_helm_values_run_this_image_with_secrets_from_kubernetes(helm: dict) -> None:
    (deployment,) = helm["dagster-user-deployments"]["deployments"]
    assert helm["dagster-user-deployments"]["enabled"] is True
    arguments = deployment["dagsterApiGrpcArgs"]
    assert arguments[arguments.index("-m") + 1] == "secoda_pipelines.definitions"
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert deployment["envSecrets"], "the Secoda key comes from a Kubernetes Secret"
    names = {variable["name"] for variable in deployment["env"]}
    assert {"SECODA_API_URL", "SECODA_DUCKDB_PATH"} <= names
    assert not any(SECRET_WORDS.search(name) for name in names)

    postgresql = helm["postgresql"]
    assert postgresql["enabled"] is False
    assert "postgresqlPassword" not in postgresql
    assert helm["generatePostgresqlPasswordSecret"] is False
    assert helm["global"]["postgresqlSecretName"]
    assert postgresql["postgresqlScheme"] == "postgresql+psycopg2"


# --- scripts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shell", "path"),
    [
        ("sh", DEPLOY / "init_instance.sh"),
        ("sh", DEPLOY / "entrypoint.sh"),
        ("bash", REPO / ".ci" / "run"),
    ],
)
def test_scripts_parse(shell: str, path: Path) -> None:
    done = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert os.access(path, os.X_OK) or path.name == "run", f"{path} is not executable"


def test_entrypoint_reads_secrets_from_files(tmp_path: Path) -> None:
    key_file = tmp_path / "secoda_api_key"
    key_file.write_text("key-from-file\n")
    env = {"PATH": os.environ["PATH"], "SECODA_API_KEY_FILE": str(key_file)}
    done = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "sh", "-c", 'printf %s "$SECODA_API_KEY"'],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "key-from-file"

    url_file = tmp_path / "secoda_warehouse_url"
    url_file.write_text("postgresql://u:pw@db:5432/w")
    done = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "sh", "-c", 'printf %s "$SECODA_WAREHOUSE_URL"'],
        env={**env, "SECODA_WAREHOUSE_URL_FILE": str(url_file)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "postgresql://u:pw@db:5432/w"), done.stderr

    env["SECODA_API_KEY_FILE"] = str(tmp_path / "missing")
    done = subprocess.run(
        ["sh", str(DEPLOY / "entrypoint.sh"), "true"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "SECODA_API_KEY_FILE" in done.stderr


def test_ci_starts_postgres_and_ends_with_plain_pytest() -> None:
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in script.splitlines() if line.strip()]
    assert lines[-1] == "pytest"
    assert '-e ".[test,postgres]"' in script
    assert "export SECODA_TEST_POSTGRES_URL=" in script
    assert re.search(r"^trap stop_postgres EXIT$", script, re.MULTILINE)
    assert "runuser -u postgres" in script and "apt-get install" in script
