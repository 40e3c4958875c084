"""The DuckDB IO manager: writes under a small memory limit and leaves the setting as it was;
creates a table without rows; adds new columns; keeps a snapshot history's other days; and
reads a history not taken yet as no rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from secoda_pipelines.store import SNAPSHOT_COLUMN, WarehouseIOManager, WarehouseResource
from secoda_pipelines.store.duckdb import io as duckdb_io
from secoda_pipelines.store.duckdb.files import memory_limited
from secoda_pipelines.store.duckdb.io import WRITE_MEMORY_LIMIT


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
    write = duckdb_io._write

    def spying(connection, table_slice, replaced):  # type: ignore[no-untyped-def]
        seen.append(memory_limit(connection))
        return write(connection, table_slice, replaced)

    monkeypatch.setattr(duckdb_io, "_write", spying)
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
        [things],
        resources={
            "warehouse_io": WarehouseIOManager(warehouse=WarehouseResource(database=database))
        },
    )

    assert result.success
    assert seen == [limit_of(WRITE_MEMORY_LIMIT)]
    with duckdb.connect(database, read_only=True) as connection:
        stored = connection.execute("SELECT * FROM secoda.things ORDER BY n").df()
    assert stored["id"].tolist() == frame["id"].tolist()


# ---- tables as readers find them -------------------------------------------------------


def _materialize(assets: list, database: Path, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        resources={
            "warehouse_io": WarehouseIOManager(warehouse=WarehouseResource(database=str(database)))
        },
        raise_on_error=False,
        **kwargs,
    )


def _rows(database: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).df()


def _columns(database: Path, table: str) -> dict[str, str]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return dict(
            connection.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'secoda' AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
        )


def test_an_output_without_rows_creates_its_table_with_its_columns(tmp_path: Path) -> None:
    @dg.asset(key=["secoda", "nothing_yet"], io_manager_key="warehouse_io")
    def nothing_yet() -> pd.DataFrame:
        return pd.DataFrame({"id": pd.Series(dtype="string"), "n": pd.Series(dtype="Int64")})

    @dg.asset(key=["reports", "reader"], io_manager_key="warehouse_io")
    def reader(nothing_yet: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"rows": [len(nothing_yet)]})

    database = tmp_path / "w.duckdb"
    assert _materialize([nothing_yet, reader], database).success
    assert _columns(database, "nothing_yet") == {"id": "VARCHAR", "n": "BIGINT"}
    assert _rows(database, "SELECT * FROM reports.reader")["rows"].tolist() == [0]


def test_a_column_an_asset_gains_is_added_and_older_rows_hold_null(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    frames = [
        pd.DataFrame({"id": pd.array(["a", "b"], dtype="string"), "day": ["d1", "d1"]}),
        pd.DataFrame(
            {
                "extra": pd.array([True], dtype="boolean"),
                "day": ["d2"],
                "id": pd.array(["c"], dtype="string"),
            }
        ),
    ]

    for frame in frames:

        @dg.asset(
            key=["secoda", "growing"],
            io_manager_key="warehouse_io",
            metadata={SNAPSHOT_COLUMN: "day"},
        )
        def growing() -> pd.DataFrame:
            return frame  # noqa: B023 (materialized before the loop moves on)

        assert _materialize([growing], database).success

    assert _columns(database, "growing") == {"id": "VARCHAR", "day": "VARCHAR", "extra": "BOOLEAN"}
    stored = _rows(database, "SELECT id, day, extra FROM secoda.growing ORDER BY id")
    assert stored.astype(object).where(stored.notna(), None).values.tolist() == [
        ["a", "d1", None],
        ["b", "d1", None],
        ["c", "d2", True],
    ]


def _history_assets(
    snapshot: Callable[[], pd.DataFrame], seen: list[pd.DataFrame]
) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=["secoda", "history"],
        io_manager_key="warehouse_io",
        metadata={SNAPSHOT_COLUMN: "snapshot_date"},
    )
    def history() -> pd.DataFrame:
        return snapshot()

    @dg.asset(
        key=["reports", "from_history"],
        io_manager_key="warehouse_io",
        ins={
            "history": dg.AssetIn(
                key=["secoda", "history"], metadata={"columns": ["snapshot_date", "n"]}
            )
        },
    )
    def from_history(history: pd.DataFrame) -> pd.DataFrame:
        seen.append(history)
        return pd.DataFrame({"snapshots": [history["snapshot_date"].nunique()]})

    return [history, from_history]


def _day(day: str, ids: list[str], n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "snapshot_date": pd.Series([pd.Timestamp(day, tz="UTC")] * len(ids)),
            "id": pd.array(ids, dtype="string"),
            "n": pd.array([n] * len(ids), dtype="Int64"),
        }
    )


def test_a_snapshot_replaces_its_own_day_and_keeps_every_other(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    snapshots = iter(
        [
            _day("2026-03-01", ["a", "b"], 1),
            _day("2026-03-02", ["a", "b", "c"], 2),
            _day("2026-03-02", ["a"], 3),  # the same day taken again: replaces it
            _day("2026-03-03", [], 4),  # no rows: replaces nothing, still stored fine
        ]
    )
    seen: list[pd.DataFrame] = []
    history, reader = _history_assets(lambda: next(snapshots), seen)
    for _ in range(4):
        assert _materialize([history, reader], database).success
    stored = _rows(database, "SELECT snapshot_date, id, n FROM secoda.history ORDER BY 1, 2")
    assert [(str(d.date()), i, n) for d, i, n in stored.values.tolist()] == [
        ("2026-03-01", "a", 1),
        ("2026-03-01", "b", 1),
        ("2026-03-02", "a", 3),
    ]
    assert [len(frame) for frame in seen] == [2, 5, 3, 3]


def test_a_history_not_taken_yet_reads_as_no_rows_and_any_other_table_is_named(
    tmp_path: Path,
) -> None:
    database = tmp_path / "w.duckdb"
    seen: list[pd.DataFrame] = []
    history, reader = _history_assets(lambda: _day("2026-03-01", ["a"], 1), seen)
    result = _materialize([history, reader], database, selection=[reader.key])
    assert result.success
    [empty] = seen
    assert (len(empty), empty.columns.tolist()) == (0, ["snapshot_date", "n"])
    assert _rows(database, "SELECT snapshots FROM reports.from_history")["snapshots"].tolist() == [
        0
    ]

    @dg.asset(key=["secoda", "plain"], io_manager_key="warehouse_io")
    def plain() -> pd.DataFrame:
        return pd.DataFrame({"id": ["a"]})

    @dg.asset(key=["reports", "from_plain"], io_manager_key="warehouse_io")
    def from_plain(plain: pd.DataFrame) -> pd.DataFrame:
        return plain

    result = _materialize([plain, from_plain], database, selection=[from_plain.key])
    assert not result.success
    [failure] = result.get_step_failure_events()
    message = str(failure.step_failure_data.error)
    assert "secoda.plain does not exist yet: materialize secoda/plain first" in message
