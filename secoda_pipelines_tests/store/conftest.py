"""Fixtures of the store tests: the settings of each backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(params=["duckdb", "postgres"])
def settings(request, tmp_path: Path, monkeypatch) -> dict[str, str]:
    """Returns the store's settings for one backend: a DuckDB file, or a fresh PostgreSQL
    database whose URL carries a random password. The environment of this process holds
    no SECODA_ variable, so the settings alone choose."""
    for name in list(os.environ):
        if name.startswith("SECODA_"):
            monkeypatch.delenv(name)
    if request.param == "duckdb":
        return {"database": str(tmp_path / "warehouse.duckdb")}
    return {"warehouse_url": request.getfixturevalue("warehouse_url")}
