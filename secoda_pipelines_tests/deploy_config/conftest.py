"""Fixtures for the tests of deploy/: the files themselves, and instances loaded from them.

PostgreSQL comes from SECODA_TEST_POSTGRES_URL (`.ci/run` starts one on loopback and sets
it), else from a throwaway cluster started from PostgreSQL's binaries; without either the
tests fail saying what to install (see secoda_pipelines_tests/deployment/postgres.py). Each
test that needs it gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from secoda_pipelines_tests.deploy_config.paths import DEPLOY
from secoda_pipelines_tests.postgres import fresh_database


@pytest.fixture
def make_database(postgres_server_url: str) -> Iterator[Callable[[], str]]:
    """Returns a factory of fresh, empty databases (their plain postgresql:// URLs), each
    dropped after the test."""
    with contextlib.ExitStack() as databases:

        def make() -> str:
            return databases.enter_context(fresh_database(postgres_server_url, "secoda_cfg"))

        yield make


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    """Returns a DAGSTER_HOME folder holding a copy of deploy/dagster.yaml."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    return home


@pytest.fixture
def deploy_instance_env(
    dagster_home: Path, make_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> str:
    """Points DAGSTER_HOME and DAGSTER_POSTGRES_URL (a plain URL) at a fresh database.

    Returns the URL.
    """
    url = make_database()
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", url)
    return url
