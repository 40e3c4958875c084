"""PostgreSQL for the test deployment: SECODA_TEST_POSTGRES_URL when set, else a throwaway
cluster on loopback; a fresh database per deployment, dropped afterwards."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from secoda_pipelines_tests.deployment.processes import DeploymentError
from secoda_pipelines_tests.helpers import free_port

POSTGRES_URL_VARIABLE = "SECODA_TEST_POSTGRES_URL"
DEBIAN_POSTGRES = Path("/usr/lib/postgresql")  # Debian's versioned folders: <version>/bin
POSTGRES_MISSING = (
    "PostgreSQL is needed for the deployment tests and none was found (no initdb/pg_ctl on "
    "PATH or under /usr/lib/postgresql/*/bin): install postgresql, e.g. apt-get install "
    f"postgresql, or set {POSTGRES_URL_VARIABLE}=postgresql://user@host:port/postgres"
)


def find_postgres_bin() -> Path:
    """Returns the folder holding initdb and pg_ctl (PATH first, then Debian's folders).

    Raises:
        DeploymentError: neither place has them (POSTGRES_MISSING says what to do).
    """
    on_path = shutil.which("initdb"), shutil.which("pg_ctl")
    if all(on_path):
        return Path(os.path.realpath(on_path[0])).parent  # type: ignore[arg-type]
    candidates = sorted(
        DEBIAN_POSTGRES.glob("*/bin"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)] or [0],
    )
    for folder in reversed(candidates):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    raise DeploymentError(POSTGRES_MISSING)


@dataclass
class TemporaryPostgres:
    """A throwaway PostgreSQL cluster on a free loopback port (trust auth, fsync off).

    As root, initdb and the server run as the unprivileged `postgres` user (initdb refuses
    root), falling back to `nobody`.
    """

    bin_dir: Path
    root: Path = field(init=False)
    port: int = field(init=False, default=0)
    user: str = field(init=False, default="postgres")
    _account: pwd.struct_passwd | None = field(init=False, default=None)

    def start(self) -> str:
        """Creates and starts the cluster; returns its URL (database `postgres`).

        Raises:
            DeploymentError: initdb or pg_ctl failed (with the server log's tail).
        """
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    self._account = pwd.getpwnam(name)
                    break
            if self._account is None:
                raise DeploymentError("running as root and neither user postgres nor nobody")
        self.root = Path(tempfile.mkdtemp(prefix="secoda-test-pg-"))
        if self._account is not None:
            os.chown(self.root, self._account.pw_uid, self._account.pw_gid)
        self.port = free_port()
        data, log = self.root / "data", self.root / "postgres.log"
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        try:
            self._run(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                ]
            )
        except DeploymentError as error:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise DeploymentError(f"{error}\n{tail}") from None
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Stops the server (fast shutdown, bounded) and deletes its folder; idempotent."""
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(DeploymentError, subprocess.TimeoutExpired):
                self._run(
                    [
                        str(self.bin_dir / "pg_ctl"),
                        "-D",
                        str(data),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        "30",
                        "stop",
                    ]
                )
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, command: list[str]) -> None:
        account = self._account
        result = subprocess.run(
            command,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
            env={**os.environ, "LC_ALL": "C"},
        )
        if result.returncode != 0:
            raise DeploymentError(
                f"{Path(command[0]).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-1500:]}"
            )


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yields the URL of a PostgreSQL server to create databases in.

    SECODA_TEST_POSTGRES_URL when set (CI's server); else a TemporaryPostgres started here
    and stopped afterwards.

    Raises:
        DeploymentError: no URL is set and no PostgreSQL binaries exist (POSTGRES_MISSING),
            or the temporary server failed to start.
    """
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if url:
        yield url
        return
    server = TemporaryPostgres(find_postgres_bin())
    try:
        yield server.start()
    finally:
        server.stop()


def database_url(server_url: str, database: str) -> str:
    """Returns server_url with its path replaced by /database."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@contextlib.contextmanager
def fresh_database(server_url: str, prefix: str = "secoda_deploy") -> Iterator[str]:
    """Yields the URL of a new, empty database on the server; drops it afterwards (closing
    whatever sessions are still open on it)."""
    import psycopg2  # comes with dagster-postgres

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield database_url(server_url, name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def pg_rows(url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    """Returns the rows of `sql` run on the database at url."""
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, tuple(params))
            return list(cursor.fetchall())
    finally:
        connection.close()


def with_password(url: str, password: str) -> str:
    """Returns url with `password` set as its user's password."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))
