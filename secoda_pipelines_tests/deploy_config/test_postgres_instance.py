"""deploy/dagster.yaml on a real PostgreSQL, with the plain URL users pass.

The trap these tests guard: dagster-postgres 0.29 writes `NOTIFY run_events, %(id)s` with
psycopg2-style parameters after every stored event. SQLAlchemy 2.1 maps a plain
`postgresql://` URL to psycopg 3, which binds parameters on the server, and PostgreSQL
rejects `NOTIFY run_events, $1`: the daemon, the webserver and every run then fail at their
first event. The `postgres` extra pins SQLAlchemy below 2.1, where the plain URL means
psycopg2 whether or not psycopg 3 is installed too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy
from dagster import DagsterInstance
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._core.utils import make_new_run_id
from dagster._serdes import serialize_value

from secoda_pipelines_tests.deploy_config.paths import DEPLOY

pytestmark = [pytest.mark.deployment, pytest.mark.slow]  # the script runs the dagster CLI


def script_env(**overrides: str) -> dict[str, str]:
    """Returns this process's environment with `overrides`, and this Python's `dagster` first
    on PATH (the script calls the CLI of whatever environment runs the tests)."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **overrides}


def run_init_script(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Returns the finished `sh deploy/init_instance.sh` (output captured) run with env."""
    return subprocess.run(
        ["sh", str(DEPLOY / "init_instance.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_plain_postgresql_url_selects_psycopg2() -> None:
    dialect = sqlalchemy.engine.make_url("postgresql://user@localhost:5432/db").get_dialect()
    assert dialect.driver == "psycopg2", (
        f"SQLAlchemy {sqlalchemy.__version__} maps postgresql:// to {dialect.driver}; "
        "dagster-postgres 0.29 needs psycopg2 (install the package's `postgres` extra)"
    )


def test_instance_from_deploy_yaml_stores_a_run_and_its_events(deploy_instance_env: str) -> None:
    import psycopg2

    run_id = make_new_run_id()
    with DagsterInstance.get() as instance:
        instance.add_run(DagsterRun(job_name="deploy_probe", run_id=run_id))
        # Storing an event is where dagster-postgres sends its NOTIFY.
        instance.report_engine_event("first event", instance.get_run_by_id(run_id))
        instance.report_engine_event("second event", instance.get_run_by_id(run_id))
        instance.report_run_failed(instance.get_run_by_id(run_id))

    # A second instance (another process would do the same) reads them back.
    with DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.job_name == "deploy_probe"
        assert run.status == DagsterRunStatus.FAILURE
        messages = [entry.message for entry in instance.all_logs(run_id)]
        assert "first event" in messages and "second event" in messages

    # And they are rows in PostgreSQL itself.
    with closing(psycopg2.connect(deploy_instance_env)) as connection, connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE run_id = %s", (run_id,))
        assert cur.fetchone()[0] == 1
        cur.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))
        assert cur.fetchone()[0] >= 3


def test_instance_ref_handed_to_run_workers_carries_no_password(
    dagster_home: Path, make_database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg2

    # Trust authentication ignores the password; what matters is where it travels.
    secret = "pw-NEVER-LOGGED-7f3a"
    url = make_database()
    with closing(psycopg2.connect(url)) as connection:
        connection.autocommit = True
        with connection.cursor() as cur:
            cur.execute("SELECT current_user")
            user = cur.fetchone()[0]
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", url.replace(f"//{user}@", f"//{user}:{secret}@"))

    with DagsterInstance.get() as instance:
        assert secret not in serialize_value(instance.get_ref())
        assert secret not in repr(instance)
        # The ref names the variable, resolved in whichever process loads it.
        assert "DAGSTER_POSTGRES_URL" in serialize_value(instance.get_ref())


def test_init_script_sets_the_pool_limit_idempotently(deploy_instance_env: str) -> None:
    env = script_env(SECODA_API_POOL_LIMIT="3")
    for _ in range(2):
        done = run_init_script(env)
        assert done.returncode == 0, done.stderr
        assert "pool secoda_api limited to 3" in done.stdout

    with DagsterInstance.get() as instance:
        limits = {pool.name: pool for pool in instance.event_log_storage.get_pool_limits()}
        assert limits["secoda_api"].limit == 3
        assert not limits["secoda_api"].from_default
        # Every other pool falls back to concurrency.pools.default_limit.
        assert instance.global_op_concurrency_default_limit == 4


def test_init_script_masks_the_password_when_the_database_is_unreachable(
    deploy_instance_env: str,
) -> None:
    secret = "pw-NEVER-LOGGED-91c2"
    server = urlsplit(deploy_instance_env)
    bad_url = f"postgresql://nobody:{secret}@{server.hostname}:{server.port}/no_such_database"
    env = script_env(DAGSTER_POSTGRES_URL=bad_url, INIT_WAIT_SECONDS="0")
    done = run_init_script(env)
    assert done.returncode == 1
    assert "did not migrate" in done.stderr
    assert secret not in done.stdout + done.stderr
