"""The same pipelines on the same sandbox give the same rows in PostgreSQL as in DuckDB,
table by table: every catalog asset (each integration's partition), the reports (the
documentation coverage computed in each warehouse's own SQL among them), every job's
report, and the write-back jobs applied (their outcomes recorded on the rows)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from secoda_pipelines import demo
from secoda_pipelines.sandbox import Sandbox
from secoda_pipelines.store import Warehouse, choose_warehouse
from secoda_pipelines_tests.helpers import materialize_demo

# Columns that differ between two runs of the same thing: when it ran, and ids the sandbox
# mints at random for what a write creates.
RUN_DEPENDENT = {
    "run_id",
    "reported_at",
    "written_at",
    "taken_at",
    "user_id",
    "lineage_id",
    "write_detail",
}
SCHEMAS = ("secoda", "reports")
APPLIED = {
    "provision_users": {
        "users": [{"email": "new.analyst@example.com", "role": "Viewer"}],
        "dry_run": False,
    },
    "create_manual_lineage": {
        "edges": [
            {
                "from_entity": "product.events.page_views",
                "to_entity": "product.marts.daily_active_users",
            }
        ],
        "dry_run": False,
    },
}


def _run_everything(
    sandbox: Sandbox, workdir: Path, monkeypatch: pytest.MonkeyPatch, warehouse_url: str | None
) -> Warehouse:
    """Runs what the demo runs (catalog refresh, every partition, every job in dry run),
    then the create jobs applied, with the code location's own resources configured from
    the environment; returns the warehouse they wrote."""
    paths = materialize_demo(sandbox, workdir, monkeypatch, warehouse_url)
    demo.run_write_jobs_dry(paths)
    from secoda_pipelines.definitions import defs

    with dg.DagsterInstance.get() as instance:
        for job, config in APPLIED.items():
            result = defs.resolve_job_def(job).execute_in_process(
                run_config=config, instance=instance, raise_on_error=False
            )
            assert result.success, job
    return choose_warehouse()


def _tables(warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    """Returns every table of the two schemas by `schema.table`."""
    names = [
        "integrations",
        "users",
        "teams",
        "dashboards",
        "questions",
        "question_replies",
        "tables",
        "columns",
        "dashboard_usage",
    ]
    reports = [
        "stale_dashboards",
        "adoption",
        "adoption_monthly",
        "migration_plan",
        "migration_coverage",
        "stale_dashboard_flags",
        "user_provisioning",
        "lineage_changes",
        "downstream_impact",
        "documentation_coverage",
        "documentation_coverage_by_owner",
        "coverage_targets",
        "undocumented_popular",
    ]
    found = {f"secoda.{n}": warehouse.read_table("secoda", n) for n in names}
    found |= {f"reports.{n}": warehouse.read_table("reports", n) for n in reports}
    return found


def _plain(value: Any) -> Any:
    """Returns the value as plain Python: nulls as None, timestamps as UTC ISO text, numbers
    as int or float."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        stamp = value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")
        return stamp.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def _rows(frame: pd.DataFrame) -> list[tuple]:
    """Returns the rows, run-dependent columns dropped, as sorted tuples of plain values."""
    kept = sorted(c for c in frame.columns if c not in RUN_DEPENDENT)
    rows = [tuple(_plain(v) for v in row) for row in frame[kept].itertuples(index=False)]
    return sorted(rows, key=repr)


def test_every_table_holds_the_same_rows_in_postgresql_as_in_duckdb(
    make_sandbox: Callable[..., Sandbox],
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    duckdb_side = _run_everything(make_sandbox(), tmp_path / "duckdb", monkeypatch, None)
    postgres_side = _run_everything(
        make_sandbox(), tmp_path / "postgres", monkeypatch, warehouse_url
    )
    assert (duckdb_side.kind, postgres_side.kind) == ("duckdb", "postgres")

    in_duckdb, in_postgres = _tables(duckdb_side), _tables(postgres_side)

    for name, frame in in_duckdb.items():
        assert not frame.empty, f"{name} is empty in DuckDB: the comparison would prove nothing"
        other = in_postgres[name]
        assert sorted(other.columns) == sorted(frame.columns), name
        assert _rows(other) == _rows(frame), name
    # The applied jobs recorded their writes in both.
    for name in ("reports.user_provisioning", "reports.lineage_changes"):
        for tables in (in_duckdb, in_postgres):
            applied = tables[name][~tables[name]["dry_run"].astype(bool)]
            assert applied["write_status"].tolist() == ["written"], name
    assert not (tmp_path / "postgres" / demo.DUCKDB_FILE).exists()
