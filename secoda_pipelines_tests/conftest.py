"""Shared fixtures: a sandbox on a free loopback port, and a client pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines.secoda import SecodaClient

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
