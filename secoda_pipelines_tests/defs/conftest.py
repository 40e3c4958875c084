"""Fixtures for the Dagster layer: resources on the sandbox, a DuckDB file, an instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines.store import WarehouseIOManager, WarehouseResource


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Returns the path of a fresh DuckDB file."""
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def resources(sandbox: Sandbox, warehouse: Path) -> dict[str, Any]:
    """Returns the code location's resources, pointed at the sandbox and the DuckDB file."""
    return {
        "secoda": SecodaResource(api_url=sandbox.base_url, api_key=DEFAULT_API_KEY),
        "warehouse_io": WarehouseIOManager(warehouse=WarehouseResource(database=str(warehouse))),
    }


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """Returns a real, temporary Dagster instance."""
    with dg.instance_for_test() as test_instance:
        yield test_instance
