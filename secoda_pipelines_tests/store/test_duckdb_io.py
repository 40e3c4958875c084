"""The DuckDB IO manager writes under a small memory limit and leaves the setting as it was."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb_pandas import DuckDBPandasTypeHandler

from secoda_pipelines.store import WarehouseIOManager
from secoda_pipelines.store.duckdb_files import memory_limited
from secoda_pipelines.store.duckdb_io import WRITE_MEMORY_LIMIT


def memory_limit(connection: duckdb.DuckDBPyConnection) -> str:
    return connection.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]


def limit_of(setting: str) -> str:
    """The memory limit DuckDB reports once `setting` is set, on a database of its own."""
    with duckdb.connect() as connection:
        connection.execute(f"SET memory_limit = '{setting}'")
        return memory_limit(connection)


def test_the_limit_holds_inside_the_block_and_is_reset_after(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        default = memory_limit(connection)
        with memory_limited(connection, "64MB"):
            assert memory_limit(connection) == limit_of("64MB") != default
        assert memory_limit(connection) == default
        with pytest.raises(RuntimeError), memory_limited(connection, "64MB"):
            raise RuntimeError("the write failed")
        assert memory_limit(connection) == default


def test_an_asset_is_written_under_the_limit_and_stored_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    write = DuckDBPandasTypeHandler.handle_output

    def spying(self, context, table_slice, obj, connection):  # type: ignore[no-untyped-def]
        seen.append(memory_limit(connection))
        return write(self, context, table_slice, obj, connection)

    monkeypatch.setattr(DuckDBPandasTypeHandler, "handle_output", spying)
    frame = pd.DataFrame(
        {
            "id": pd.array([f"id-{i}" for i in range(5_000)], dtype="string"),
            "n": pd.array(range(5_000), dtype="Int64"),
        }
    )

    @dg.asset(key=["secoda", "things"], io_manager_key="warehouse_io")
    def things() -> pd.DataFrame:
        return frame

    database = str(tmp_path / "warehouse.duckdb")
    result = dg.materialize(
        [things], resources={"warehouse_io": WarehouseIOManager(database=database)}
    )

    assert result.success
    assert seen == [limit_of(WRITE_MEMORY_LIMIT)]
    with duckdb.connect(database, read_only=True) as connection:
        stored = connection.execute("SELECT * FROM secoda.things ORDER BY n").df()
    assert stored["id"].tolist() == frame["id"].tolist()
