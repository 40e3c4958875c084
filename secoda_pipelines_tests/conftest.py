"""Shared fixtures: a sandbox on a free loopback port, a client pointed at it, and
PostgreSQL (SECODA_TEST_POSTGRES_URL, which .ci/run starts, else a throwaway cluster)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines.secoda import SecodaClient
from secoda_pipelines_tests.postgres import fresh_database, postgres_server, with_password

# Tests make their own clients with short backoffs so fault runs stay quick; production
# defaults (0.5 s factor) are exercised by the benchmarks.
FAST_RETRY: dict[str, Any] = {"backoff_factor": 0.01, "backoff_max": 0.2}


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[Callable[..., Sandbox]]:
    """Returns a factory starting sandboxes (demo scale by default) in tmp_path; stops them."""
    started: list[Sandbox] = []

    def make(**options: Any) -> Sandbox:
        options.setdefault("scale", "demo")
        db = tmp_path / f"sandbox-{len(started)}.sqlite"
        sandbox = Sandbox(db, port=0, **options).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """Returns a running demo-scale sandbox with the default key."""
    return make_sandbox()


@pytest.fixture
def make_client() -> Iterator[Callable[..., SecodaClient]]:
    """Returns a factory of clients (fast retries, default key) that are closed afterwards."""
    clients: list[SecodaClient] = []

    def make(sandbox: Sandbox, api_key: str | None = DEFAULT_API_KEY, **options: Any):
        client = SecodaClient(api_key, sandbox.base_url, **{**FAST_RETRY, **options})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(sandbox: Sandbox, make_client: Callable[..., SecodaClient]) -> SecodaClient:
    """Returns a client for the `sandbox` fixture."""
    return make_client(sandbox)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """Returns the URL of the test PostgreSQL server's maintenance database."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def make_warehouse_url(postgres_server_url: str) -> Iterator[Callable[[], str]]:
    """Returns a factory of SECODA_WAREHOUSE_URLs, each a fresh database dropped after the
    test. Each URL carries a random password, a secret no log or error may show (the test
    server trusts loopback, so it is sent and ignored)."""
    with contextlib.ExitStack() as databases:

        def make() -> str:
            url = databases.enter_context(fresh_database(postgres_server_url, "secoda_wh"))
            return with_password(url, "pw-" + secrets.token_hex(8))

        yield make


@pytest.fixture
def warehouse_url(make_warehouse_url: Callable[[], str]) -> str:
    """Returns the SECODA_WAREHOUSE_URL of a fresh PostgreSQL database (with a password)."""
    return make_warehouse_url()
