"""Fixtures of the store tests: the settings of each backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from secoda_pipelines_tests.helpers import drop_secoda_variables


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request, tmp_path: Path, monkeypatch) -> dict[str, str]:
    """Returns the store's settings for one backend: a DuckDB file, or a fresh PostgreSQL
    database whose URL carries a random password. The environment of this process holds
    no SECODA_ variable, so the settings alone choose."""
    drop_secoda_variables(monkeypatch)
    if request.param == "duckdb":
        return {"database": str(tmp_path / "warehouse.duckdb")}
    return {"warehouse_url": request.getfixturevalue("warehouse_url")}
