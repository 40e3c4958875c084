"""ReportStore on a real DuckDB file: fixed types, one row per resource, evolution."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from secoda_pipelines.store import REPORT_TABLES, ReportStore, WarehouseResource
from secoda_pipelines_tests.helpers import report_rows


@pytest.fixture
def store(tmp_path):
    return ReportStore(warehouse=WarehouseResource(database=str(tmp_path / "warehouse.duckdb")))


def column_types(store, table):
    with duckdb.connect(store.warehouse.database, read_only=True) as connection:
        rows = connection.execute(f"DESCRIBE reports.{table}").fetchall()
    return {name: kind for name, kind, *_ in rows}


def plan_rows(details, statuses=None):
    return pd.DataFrame(
        {
            "kind": ["table"] * len(details),
            "source_id": [f"s{i}" for i in range(len(details))],
            "action": ["update" if d is None else "unmatched" for d in details],
            "fields": [["description"] if d is None else [] for d in details],
            "detail": details,
            "write_status": statuses or [None] * len(details),
        }
    )


def test_a_first_plan_with_no_detail_does_not_fix_the_column_type(store):
    store.append("migration_plan", plan_rows([None, None]), run_id="r1", dry_run=True)
    store.append(
        "migration_plan", plan_rows([None, "no table x in the target"]), run_id="r2", dry_run=True
    )
    stored = report_rows(store.warehouse.database, "migration_plan")
    assert stored["detail"].tolist()[2:] == [None, "no table x in the target"]
    assert column_types(store, "migration_plan")["detail"] == "VARCHAR"


def test_an_empty_first_report_creates_every_declared_type(store):
    store.append("downstream_impact", pd.DataFrame(), run_id="r1", dry_run=False)
    types = column_types(store, "downstream_impact")
    expected = {"run_id": "VARCHAR", "dry_run": "BOOLEAN", "item": "BIGINT", "depth": "BIGINT"}
    assert {k: types[k] for k in expected} == expected
    assert types["reported_at"] == "TIMESTAMP WITH TIME ZONE"
    assert list(types) == list(REPORT_TABLES["downstream_impact"].column_names)


def test_a_failure_recorded_after_clean_writes_keeps_its_text(store):
    store.append(
        "migration_plan", plan_rows([None] * 3, ["planned"] * 3), run_id="r1", dry_run=False
    )
    store.record_writes("migration_plan", "r1", [{"item": 0, "write_status": "written"}])
    store.record_writes(
        "migration_plan", "r1", [{"item": 1, "write_status": "failed", "write_detail": "(400) no"}]
    )
    stored = report_rows(store.warehouse.database, "migration_plan", "r1")
    assert stored["write_status"].tolist() == ["written", "failed", "planned"]
    assert stored["write_detail"].tolist() == [None, "(400) no", None]
    assert stored["written_at"].notna().tolist() == [True, True, False]


def test_writes_are_recorded_on_their_own_runs_rows_only(store):
    for run_id in ("r1", "r2"):
        store.append("migration_plan", plan_rows([None], ["planned"]), run_id=run_id, dry_run=False)
    store.record_writes("migration_plan", "r2", [{"item": 0, "write_status": "written"}])
    stored = report_rows(store.warehouse.database, "migration_plan")
    assert dict(zip(stored.run_id, stored.write_status, strict=True)) == {
        "r1": "planned",
        "r2": "written",
    }
    assert len(stored) == 2, "a write is recorded on its plan row, not as a second row"


def test_lists_are_stored_as_json_text(store):
    store.append("migration_plan", plan_rows([None]), run_id="r1", dry_run=True)
    assert report_rows(store.warehouse.database, "migration_plan")["fields"].tolist() == [
        '["description"]'
    ]


def test_a_file_from_an_earlier_release_is_brought_to_the_declared_types(store):
    # What the first release left: types taken from the first rows, and columns since added
    # missing (and a writes table the reports no longer use).
    with duckdb.connect(store.warehouse.database) as connection:
        connection.execute("CREATE SCHEMA reports")
        connection.execute(
            "CREATE TABLE reports.migration_plan AS SELECT 'old' AS run_id, true AS dry_run, "
            "now() AS reported_at, 'table' AS kind, 'update' AS action, "
            "NULL::DOUBLE AS detail, NULL AS fields, 'planned' AS status"
        )
    store.append(
        "migration_plan", plan_rows(["no table x in the target"]), run_id="new", dry_run=True
    )
    stored = report_rows(store.warehouse.database, "migration_plan")
    assert stored["run_id"].tolist() == ["old", "new"]
    assert stored["detail"].tolist() == [None, "no table x in the target"]
    types = column_types(store, "migration_plan")
    assert types["detail"] == "VARCHAR" and types["write_status"] == "VARCHAR"
    assert types["status"] == "VARCHAR", "a column no longer declared is left in place"


def test_a_column_the_table_does_not_declare_is_refused_before_writing(store):
    rows = plan_rows([None]).assign(colour="red")
    with pytest.raises(ValueError, match=r"no column\(s\) \['colour'\]"):
        store.append("migration_plan", rows, run_id="r1", dry_run=True)
    assert report_rows(store.warehouse.database, "migration_plan").empty


def test_an_unknown_report_table_is_named(store):
    with pytest.raises(KeyError, match="no report table 'plans'; known"):
        store.append("plans", pd.DataFrame(), run_id="r1", dry_run=True)


def test_a_report_appended_in_chunks_numbers_its_rows_on_across_them(store, monkeypatch):
    monkeypatch.setattr("secoda_pipelines.store.duckdb.warehouse.ROWS_PER_COMMIT", 3)
    chunks = [plan_rows([None, None]), plan_rows(["a", "b"]), plan_rows(["c"])]
    seen = []
    appended = store.append_chunks(
        "migration_plan", iter(chunks), run_id="r1", dry_run=True, on_chunk=seen.append
    )
    assert appended == 5
    stored = report_rows(store.warehouse.database, "migration_plan").sort_values("item")
    assert stored["item"].tolist() == [0, 1, 2, 3, 4]
    assert stored["detail"].tolist() == [None, None, "a", "b", "c"]
    assert stored["fields"].tolist()[0] == '["description"]'
    assert stored["reported_at"].nunique() == 1, "one report, one time"
    assert [frame["item"].tolist() for frame in seen] == [[0, 1], [2, 3], [4]]


def test_a_bad_chunk_stops_the_report_and_nothing_after_it_is_appended(store):
    def chunks():
        yield plan_rows([None])
        yield plan_rows(["x"]).assign(colour="red")
        yield plan_rows(["never"])

    with pytest.raises(ValueError, match=r"no column\(s\) \['colour'\]"):
        store.append_chunks("migration_plan", chunks(), run_id="r1", dry_run=True)
    assert report_rows(store.warehouse.database, "migration_plan").empty, (
        "under ROWS_PER_COMMIT: undone"
    )
