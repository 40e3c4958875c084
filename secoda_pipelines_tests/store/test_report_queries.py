"""ReportStore.append_query: a report read from a DuckDB query, copied in SQL into the DuckDB
warehouse and a chunk at a time into PostgreSQL, gives the same rows in both; bad columns
are refused before anything is written; the DuckDB file is left free for others."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from secoda_pipelines.store import PLANNED, ReportStore
from secoda_pipelines.store import warehouse as warehouse_module
from secoda_pipelines_tests.helpers import report_rows

ROWS = 40_000  # past one chunk of the chunked path (16,384 rows)


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


def _append(store: ReportStore, connection: duckdb.DuckDBPyConnection, **options) -> pd.DataFrame:
    return store.append_query(
        "migration_plan",
        connection,
        QUERY,
        run_id="run-1",
        dry_run=True,
        values=VALUES,
        head=3,
        **options,
    )


def _comparable(frame: pd.DataFrame) -> list[dict]:
    rows = frame.drop(columns=["reported_at"]).sort_values("item").to_dict("records")
    return [
        {k: None if v is None or v is pd.NA or v != v else v for k, v in r.items()} for r in rows
    ]


def test_the_duckdb_warehouse_copies_every_row_typed_and_stamped(tmp_path, source):
    store = ReportStore(database=str(tmp_path / "warehouse.duckdb"))
    head = _append(store, source)
    stored = report_rows(store.database, "migration_plan")
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
    # The file is detached again: another connection may open it, and the source
    # connection's own database is the one in use.
    duckdb.connect(store.database).close()
    assert source.execute("SELECT current_database()").fetchone() == ("memory",)


def test_postgresql_gets_the_same_rows_a_chunk_at_a_time(
    tmp_path, source, warehouse_url, monkeypatch
):
    chunks = []
    original = warehouse_module.typed_rows

    def counting(spec, frame):
        chunks.append(len(frame))
        return original(spec, frame)

    monkeypatch.setattr(warehouse_module, "typed_rows", counting)
    stores = {
        "duckdb": ReportStore(database=str(tmp_path / "warehouse.duckdb")),
        "postgres": ReportStore(warehouse_url=warehouse_url),
    }
    for store in stores.values():
        _append(store, source, reported_at=pd.Timestamp("2026-12-01", tz="UTC"))
    assert chunks == [16_384, 16_384, ROWS - 2 * 16_384], "PostgreSQL's rows came in chunks"
    tables = {
        kind: store.warehouse().read_table("reports", "migration_plan", {"run_id": "run-1"})
        for kind, store in stores.items()
    }
    assert len(tables["postgres"]) == ROWS
    assert _comparable(tables["postgres"]) == _comparable(tables["duckdb"])


@pytest.mark.parametrize(
    ("query", "values", "message"),
    [
        (QUERY.replace("kind,", "kind AS colour,"), VALUES, r"no column\(s\) \['colour'\]"),
        (QUERY, {**VALUES, "run_id": "mine"}, r"no column\(s\) \['run_id'\]"),
        (QUERY.replace("SELECT item,", "SELECT"), VALUES, "has no `item` column"),
    ],
)
def test_bad_columns_are_refused_and_nothing_is_written(tmp_path, source, query, values, message):
    store = ReportStore(database=str(tmp_path / "warehouse.duckdb"))
    with pytest.raises(ValueError, match=message):
        store.append_query(
            "migration_plan", source, query, run_id="run-1", dry_run=True, values=values
        )
    assert report_rows(store.database, "migration_plan").empty


def test_a_failing_query_writes_nothing_and_leaves_the_file_free(tmp_path, source):
    store = ReportStore(database=str(tmp_path / "warehouse.duckdb"))
    _append(store, source)
    failing = QUERY.replace(
        "FROM memory.main.plan",
        "FROM memory.main.plan WHERE CASE WHEN item = 30000 THEN error('boom') ELSE true END",
    )
    with pytest.raises(duckdb.Error, match="boom"):
        store.append_query(
            "migration_plan", source, failing, run_id="run-2", dry_run=True, values=VALUES
        )
    stored = report_rows(store.database, "migration_plan")
    assert set(stored["run_id"]) == {"run-1"} and len(stored) == ROWS
    duckdb.connect(store.database).close()
    assert source.execute("SELECT current_database()").fetchone() == ("memory",)
    _append(store, source)  # the same connection attaches it again
