"""ReportStore.append_file: a report too large to hold, handed over as a Parquet file (here
written from a DuckDB query, as the migration writes its plan), gives the same rows in
DuckDB (copied in SQL) and PostgreSQL (a chunk at a time); bad columns are refused before
anything is written; a file that cannot be read writes nothing; the DuckDB file is left
free for others."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from secoda_pipelines.store import PLANNED, ReportStore, WarehouseResource
from secoda_pipelines.store import warehouse as warehouse_module
from secoda_pipelines_tests.helpers import comparable_rows, report_rows

ROWS = 40_000  # past two chunks of the chunked path (16,384 rows)


@pytest.fixture
def source():
    """An in-memory DuckDB connection holding `plan`: ROWS rows of what a plan reports,
    with the values a copy gets wrong when done carelessly."""
    connection = duckdb.connect(":memory:")
    connection.execute(
        f"""
        CREATE TABLE plan AS SELECT
            range AS item,
            CASE WHEN range % 2 = 0 THEN 'table' ELSE 'column' END AS kind,
            'db.s.t' || range AS key,
            range % 3 = 0 AS documented,
            CASE WHEN range % 5 = 0 THEN NULL ELSE 'target-' || range END AS target_id,
            CASE WHEN range % 7 = 0 THEN 'update' ELSE 'unchanged' END AS action,
            CASE WHEN range % 7 = 0 THEN '["description", "tags"]' ELSE '[]' END AS fields,
            CASE range WHEN 1 THEN 'tab' || chr(9) || 'new' || chr(10) || 'line "q" ü'
                 WHEN 2 THEN '' END AS detail
        FROM range({ROWS})
        """
    )
    yield connection
    connection.close()


QUERY = (
    "SELECT item, kind, key, documented, target_id, action, fields, detail, "
    f"CASE WHEN action = 'update' THEN '{PLANNED}' END AS write_status "
    "FROM memory.main.plan ORDER BY item"
)
VALUES = {"source_integration_id": "src", "target_integration_id": "tgt"}


def plan_file(connection: duckdb.DuckDBPyConnection, folder: Path, query: str = QUERY) -> Path:
    """Returns a Parquet file holding the rows `query` returns on `connection`."""
    path = folder / "plan.parquet"
    connection.execute(f"COPY ({query}) TO '{path}' (FORMAT parquet)")
    return path


def _append(store: ReportStore, path: Path, run_id: str = "run-1", **options) -> pd.DataFrame:
    return store.append_file(
        "migration_plan",
        path,
        run_id=run_id,
        dry_run=True,
        **{"values": VALUES, "head": 3, **options},
    )


def duckdb_store(folder: Path) -> ReportStore:
    return ReportStore(warehouse=WarehouseResource(database=str(folder / "warehouse.duckdb")))


def test_the_duckdb_warehouse_copies_every_row_typed_and_stamped(tmp_path, source):
    store = duckdb_store(tmp_path)
    head = _append(store, plan_file(source, tmp_path))
    stored = report_rows(store.warehouse.database, "migration_plan")
    assert stored["item"].tolist() == list(range(ROWS))
    assert set(stored["run_id"]) == {"run-1"} and stored["dry_run"].all()
    assert stored["reported_at"].nunique() == 1
    assert set(stored["source_integration_id"]) == {"src"}
    assert stored["detail"][1] == 'tab\tnew\nline "q" ü' and stored["detail"][2] == ""
    assert stored["target_id"].isna().sum() == ROWS // 5
    assert stored["write_status"].fillna("-").tolist() == [
        PLANNED if i % 7 == 0 else "-" for i in range(ROWS)
    ]
    assert stored["fields"][0] == '["description", "tags"]'
    assert stored["write_detail"].isna().all()
    assert head["item"].tolist() == [0, 1, 2]
    assert head["reported_at"].iloc[0] == stored["reported_at"].iloc[0]
    assert list(head.columns) == list(stored.columns)
    duckdb.connect(store.warehouse.database).close()  # the file is free again


@pytest.mark.postgres
def test_postgresql_gets_the_same_rows_a_chunk_at_a_time(
    tmp_path, source, warehouse_url, monkeypatch
):
    chunks = []
    original = warehouse_module.typed_rows

    def counting(spec, frame):
        chunks.append(len(frame))
        return original(spec, frame)

    stores = {
        "duckdb": duckdb_store(tmp_path),
        "postgres": ReportStore(warehouse=WarehouseResource(warehouse_url=warehouse_url)),
    }
    monkeypatch.setattr(warehouse_module, "typed_rows", counting)
    path = plan_file(source, tmp_path)
    for store in stores.values():
        _append(store, path, reported_at=pd.Timestamp("2026-12-01", tz="UTC"))
    assert chunks == [16_384, 16_384, ROWS - 2 * 16_384], "only PostgreSQL's rows, in chunks"
    tables = {
        kind: store.get_warehouse().read_table("reports", "migration_plan", {"run_id": "run-1"})
        for kind, store in stores.items()
    }
    assert len(tables["postgres"]) == ROWS
    times = ("reported_at",)
    assert comparable_rows(tables["postgres"], times) == comparable_rows(tables["duckdb"], times)


@pytest.mark.parametrize(
    ("query", "values", "message"),
    [
        (QUERY.replace("kind,", "kind AS colour,"), VALUES, r"no column\(s\) \['colour'\]"),
        (QUERY, {**VALUES, "run_id": "mine"}, r"no column\(s\) \['run_id'\]"),
        (QUERY.replace("SELECT item,", "SELECT"), VALUES, "has no `item` column"),
    ],
)
def test_bad_columns_are_refused_and_nothing_is_written(tmp_path, source, query, values, message):
    store = duckdb_store(tmp_path)
    with pytest.raises(ValueError, match=message):
        _append(store, plan_file(source, tmp_path, query), values=values)
    assert report_rows(store.warehouse.database, "migration_plan").empty


def test_a_file_that_cannot_be_read_writes_nothing_and_leaves_the_file_free(tmp_path, source):
    store = duckdb_store(tmp_path)
    path = plan_file(source, tmp_path)
    _append(store, path)
    torn = tmp_path / "torn.parquet"
    data = path.read_bytes()
    torn.write_bytes(data[: len(data) // 2] + data[-8:])  # the footer, not the pages it names
    with pytest.raises(duckdb.Error):
        _append(store, torn, run_id="run-2")
    stored = report_rows(store.warehouse.database, "migration_plan")
    assert set(stored["run_id"]) == {"run-1"} and len(stored) == ROWS
    duckdb.connect(store.warehouse.database).close()
    _append(store, path, run_id="run-3")  # the store takes the next file
    assert len(report_rows(store.warehouse.database, "migration_plan")) == 2 * ROWS
