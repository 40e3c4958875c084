"""Shared fixtures: a sandbox on a free loopback port, a client pointed at it, and
PostgreSQL (SECODA_TEST_POSTGRES_URL, which .ci/run starts, else a throwaway cluster).

Also the test tiers (README.md): at collection every test that starts PostgreSQL is marked
`postgres`, every test under deployment/ `deployment`, and a test that starts the console
script or a Dagster process without the `slow` mark stops the collection.
"""

from __future__ import annotations

import contextlib
import inspect
import secrets
import subprocess
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from secoda_pipelines.sandbox import DEFAULT_API_KEY, SETTING_NAMES, Sandbox, SandboxSettings
from secoda_pipelines.secoda import SecodaClient
from secoda_pipelines_tests.cli import console_script
from secoda_pipelines_tests.deployment import processes
from secoda_pipelines_tests.postgres import fresh_database, postgres_server, with_password

# Tests make their own clients with short backoffs so fault runs stay quick; production
# defaults (0.5 s factor) are exercised by the benchmarks.
FAST_RETRY: dict[str, Any] = {"backoff_factor": 0.01, "backoff_max": 0.2}

DEPLOYMENT_TESTS = Path(__file__).parent / "deployment"
# What starts a process that imports the code location (seconds each): the console script,
# and a Dagster process of the deployment harness. `subprocess` with a "dagster" argument
# (`python -m dagster job execute ...`) counts too.
SLOW_HELPERS: tuple[object, ...] = (
    console_script.run,
    console_script.Running,
    processes.ManagedProcess,
)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by these marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks `postgres` each test whose fixtures include the PostgreSQL server and
    `deployment` each test under deployment/; fails the collection naming each test that
    starts a slow process (SLOW_HELPERS) without the `slow` or `deployment` mark.

    A test that asks for `warehouse_url` through request.getfixturevalue is not seen here:
    mark its parameter (`pytest.param("postgres", marks=pytest.mark.postgres)`);
    `make_warehouse_url` fails such a test when it is not marked.
    """
    unmarked: list[str] = []
    for item in items:
        if "postgres_server_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if DEPLOYMENT_TESTS in Path(item.path).parents:
            item.add_marker(pytest.mark.deployment)
        marked = item.get_closest_marker("slow") or item.get_closest_marker("deployment")
        if not marked and _starts_slow_process(item):
            unmarked.append(item.nodeid)
    if unmarked:
        raise pytest.UsageError(
            "these tests start the console script or a Dagster process but are not marked "
            "slow (add `pytestmark = pytest.mark.slow` or @pytest.mark.slow, see "
            "secoda_pipelines_tests/README.md):\n  " + "\n  ".join(unmarked)
        )


def _starts_slow_process(item: pytest.Item) -> bool:
    """Returns whether the test function or one of its fixtures uses a SLOW_HELPERS entry,
    directly or through functions of the test package."""
    functions = [getattr(item, "function", None)]
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is not None:
        for definitions in fixture_info.name2fixturedefs.values():
            functions += [definition.func for definition in definitions]
    seen: set[types.CodeType] = set()
    return any(_uses_slow_helper(f, seen) for f in functions if inspect.isfunction(f))


def _uses_slow_helper(function: types.FunctionType, seen: set[types.CodeType]) -> bool:
    function = inspect.unwrap(function)
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        if code in seen:
            continue
        seen.add(code)
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
        strings = {c for c in code.co_consts if isinstance(c, str)}
        for name in code.co_names:
            value = function.__globals__.get(name)
            if any(value is helper for helper in SLOW_HELPERS):
                return True
            if value is subprocess and "dagster" in strings:
                return True
            ours = inspect.isfunction(value) and (
                value.__module__ == function.__module__
                or value.__module__.startswith("secoda_pipelines_tests.")
            )
            if ours and _uses_slow_helper(value, seen):
                return True
    return False


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[Callable[..., Sandbox]]:
    """Returns a factory starting sandboxes (demo scale by default) in tmp_path; stops them.
    Its keyword options are Sandbox's and SandboxSettings' (e.g. page_size=5)."""
    started: list[Sandbox] = []

    def make(**options: Any) -> Sandbox:
        settings = SandboxSettings(**{k: options.pop(k) for k in SETTING_NAMES & set(options)})
        options.setdefault("scale", "demo")
        db = tmp_path / f"sandbox-{len(started)}.sqlite"
        sandbox = Sandbox(db, port=0, settings=settings, **options).start()
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
def sb(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """Returns a running demo-scale sandbox without the write rate limit (the sandbox's own
    tests write as fast as they like)."""
    return make_sandbox(write_rate_limit=None)


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
def make_warehouse_url(
    request: pytest.FixtureRequest, postgres_server_url: str
) -> Iterator[Callable[[], str]]:
    """Returns a factory of SECODA_WAREHOUSE_URLs, each a fresh database dropped after the
    test. Each URL carries a random password, a secret no log or error may show (the test
    server trusts loopback, so it is sent and ignored).

    Fails a test not marked `postgres` (one that reached this through getfixturevalue), so
    that `-m "not postgres"` never starts a server."""
    if request.node.get_closest_marker("postgres") is None:
        pytest.fail(
            f"{request.node.nodeid} starts PostgreSQL but is not marked postgres: mark the "
            'parameter that asks for it, pytest.param("postgres", marks=pytest.mark.postgres)'
        )
    with contextlib.ExitStack() as databases:

        def make() -> str:
            url = databases.enter_context(fresh_database(postgres_server_url, "secoda_wh"))
            return with_password(url, "pw-" + secrets.token_hex(8))

        yield make


@pytest.fixture
def warehouse_url(make_warehouse_url: Callable[[], str]) -> str:
    """Returns the SECODA_WAREHOUSE_URL of a fresh PostgreSQL database (with a password)."""
    return make_warehouse_url()
