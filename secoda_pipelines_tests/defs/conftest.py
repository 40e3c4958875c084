"""Fixtures for the Dagster layer: resources on the sandbox, a DuckDB file, an instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pytest
import requests
from dagster_duckdb_pandas import DuckDBPandasIOManager

from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Returns the path of a fresh DuckDB file."""
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def resources(sandbox: Sandbox, warehouse: Path) -> dict[str, Any]:
    """Returns the code location's resources, pointed at the sandbox and the DuckDB file."""
    return {
        "secoda": SecodaResource(api_url=sandbox.base_url, api_key=DEFAULT_API_KEY),
        "duckdb_io": DuckDBPandasIOManager(database=str(warehouse)),
    }


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """Returns a real, temporary Dagster instance."""
    with dg.instance_for_test() as test_instance:
        yield test_instance


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    """Returns the result of `sql` on the DuckDB file (read-only)."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).df()


def api_rows(sandbox: Sandbox, path: str, **params: str) -> list[dict[str, Any]]:
    """Returns every row of a listing, read page by page with plain requests (not our client)."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        body = requests.get(
            sandbox.base_url + path,
            params={**params, "page": page},
            headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
            timeout=10,
        ).json()
        rows += body["results"]
        if page >= body["total_pages"]:
            return rows
        page += 1
