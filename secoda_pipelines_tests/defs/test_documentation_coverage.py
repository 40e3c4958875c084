"""The documentation-coverage assets against the sandbox's demo workspace, on a real
instance and a DuckDB warehouse: what they count (against the API's own rows, worked out
here), the daily history, an empty warehouse, the chart, and the targets with their check.
PostgreSQL holds the same rows: test_warehouse_equality.py."""

from __future__ import annotations

import base64
import io
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from matplotlib import image

from secoda_pipelines.defs.assets.catalog import columns, integrations, tables, teams, users
from secoda_pipelines.defs.assets.coverage import (
    TARGETS_CHECK,
    coverage_assets,
    coverage_targets_report,
    documentation_coverage,
    documentation_coverage_by_owner,
    undocumented_popular,
)
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines.store import WarehouseIOManager, WarehouseResource
from secoda_pipelines_tests.catalog.planners.migration_oracle import empty
from secoda_pipelines_tests.helpers import api_rows, query

TODAY = datetime.now(UTC).date()


def code_resources(sandbox, warehouse: Path) -> dict:
    store = WarehouseResource(database=str(warehouse))
    return {
        "secoda": SecodaResource(api_url=sandbox.base_url, api_key=DEFAULT_API_KEY),
        "warehouse": store,
        "warehouse_io": WarehouseIOManager(warehouse=store),
    }


def materialize(assets, sandbox, warehouse, instance, **options):
    """Materializes `assets` alone; the coverage history they read is a source."""
    if coverage_targets_report in assets and documentation_coverage not in assets:
        assets = [*assets, documentation_coverage.to_source_asset()]
    result = dg.materialize(
        assets,
        resources=code_resources(sandbox, warehouse),
        instance=instance,
        raise_on_error=False,
        **options,
    )
    return result


@pytest.fixture
def catalog(sandbox, warehouse, instance):
    """Stores the demo workspace's catalog: integrations, users, teams, and every
    integration's tables and columns."""
    assert materialize([integrations, users, teams], sandbox, warehouse, instance).success
    ids = [i["id"] for i in api_rows(sandbox, "integration/integrations/")]
    instance.add_dynamic_partitions("secoda_integrations", ids)
    for partition in ids:
        result = materialize(
            [tables, columns], sandbox, warehouse, instance, partition_key=partition
        )
        assert result.success
    return ids


def expected_coverage(sandbox) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Returns (integration_id, kind) → (resources, described, with_owners), from the API."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for kind, path in (("table", "table/tables/"), ("column", "table/columns/")):
        for row in api_rows(sandbox, path):
            key = (row["integration"], kind)
            counts[key][0] += 1
            described = not (empty(row.get("description")) and empty(row.get("definition")))
            counts[key][1] += described
            counts[key][2] += not empty(row.get("owners"))
    return {key: tuple(value) for key, value in counts.items()}


def latest_event(instance, asset) -> dict:
    event = instance.get_latest_materialization_event(asset.key)
    return event.asset_materialization.metadata


def test_coverage_counts_every_stored_table_and_column_once(sandbox, warehouse, instance, catalog):
    assert materialize(coverage_assets, sandbox, warehouse, instance).success

    stored = query(warehouse, "SELECT * FROM reports.documentation_coverage")
    assert set(stored["snapshot_date"].dt.date) == {TODAY}
    found = stored.groupby(["integration_id", "kind"])[
        ["resources", "described", "with_owners"]
    ].sum()
    assert {key: tuple(int(v) for v in row) for key, row in found.iterrows()} == (
        expected_coverage(sandbox)
    )
    assert (stored["described_share"] == stored["described"] / stored["resources"]).all()
    names = {i["id"]: i["name"] for i in api_rows(sandbox, "integration/integrations/")}
    assert (stored["integration_name"] == stored["integration_id"].map(names)).all()

    owners = query(warehouse, "SELECT * FROM reports.documentation_coverage_by_owner")
    tables_owned = api_rows(sandbox, "table/tables/")
    unowned = sum(1 for t in tables_owned if empty(t.get("owners")))
    row = owners[(owners["kind"] == "table") & owners["owner_id"].isna()]
    assert int(row["resources"].sum()) == unowned

    work = query(warehouse, "SELECT * FROM reports.undocumented_popular")
    assert 0 < len(work) <= 500
    documented = {
        r["id"]
        for path in ("table/tables/", "table/columns/")
        for r in api_rows(sandbox, path)
        if not (empty(r.get("description")) and empty(r.get("definition")))
    }
    assert not set(work["id"]) & documented


def test_metadata_carries_the_shares_as_numbers_and_a_chart_png(
    sandbox, warehouse, instance, catalog
):
    assert materialize([documentation_coverage], sandbox, warehouse, instance).success
    metadata = latest_event(instance, documentation_coverage)

    expected = expected_coverage(sandbox)
    tables_total = sum(v[0] for (_, kind), v in expected.items() if kind == "table")
    tables_described = sum(v[1] for (_, kind), v in expected.items() if kind == "table")
    share = metadata["tables_described_share"].value
    assert isinstance(share, float) and share == round(tables_described / tables_total, 4)
    assert isinstance(metadata["columns_with_owners_share"].value, float)

    embedded = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", metadata["chart"].value)
    png = base64.b64decode(embedded.group(1))
    assert len(png) < 150_000
    pixels = image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (600, 900)


def test_a_second_snapshot_the_same_day_replaces_it_and_earlier_days_stay(
    sandbox, warehouse, instance, catalog
):
    assert materialize([documentation_coverage], sandbox, warehouse, instance).success
    today_rows = len(query(warehouse, "SELECT * FROM reports.documentation_coverage"))
    past = pd.Timestamp(TODAY - timedelta(days=3), tz="UTC")
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "INSERT INTO reports.documentation_coverage "
            "SELECT * REPLACE (CAST(? AS TIMESTAMPTZ) AS snapshot_date) "
            "FROM reports.documentation_coverage",
            [past.to_pydatetime()],
        )

    assert materialize([documentation_coverage], sandbox, warehouse, instance).success

    stored = query(warehouse, "SELECT * FROM reports.documentation_coverage")
    days = stored["snapshot_date"].dt.date.value_counts().to_dict()
    assert days == {TODAY: today_rows, past.date(): today_rows}
    assert latest_event(instance, documentation_coverage)["snapshots"].value == 2


def test_on_an_empty_warehouse_each_coverage_asset_materializes_alone(
    sandbox, warehouse, instance, tmp_path, monkeypatch
):
    monkeypatch.setenv("SECODA_COVERAGE_TARGETS", str(write_targets(tmp_path, [TARGET])))
    for asset in (documentation_coverage, documentation_coverage_by_owner, undocumented_popular):
        assert materialize([asset], sandbox, warehouse, instance).success, asset.key
    assert materialize([coverage_targets_report], sandbox, warehouse, instance).success

    for table in ("documentation_coverage", "documentation_coverage_by_owner"):
        assert len(query(warehouse, f"SELECT * FROM reports.{table}")) == 0
    targets = query(warehouse, "SELECT * FROM reports.coverage_targets")
    assert targets["name"].tolist() == ["tables described"]
    assert targets["actual"].isna().all()  # no resources stored yet: nothing measured


# --- targets -----------------------------------------------------------------------------

TARGET = {
    "name": "tables described",
    "metric": "described",
    "kind": "table",
    "target": 0.0,
    "start": TODAY - timedelta(days=30),
    "deadline": TODAY + timedelta(days=30),
}


def write_targets(tmp_path: Path, targets: list[dict]) -> Path:
    lines = ["targets:"]
    for target in targets:
        lines.append(f"  - name: {target['name']}")
        for field in ("metric", "kind", "target", "start", "deadline"):
            lines.append(f"    {field}: {target[field]}")
        if "scope" in target:
            lines.append(f"    scope: {target['scope']}")
    path = tmp_path / "targets.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def check_result(result) -> dg.AssetCheckEvaluation:
    (evaluation,) = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name == TARGETS_CHECK
    ]
    return evaluation


def test_targets_are_measured_and_the_check_warns_when_behind_and_errors_when_missed(
    sandbox, warehouse, instance, catalog, tmp_path, monkeypatch
):
    met = TARGET
    behind = {**TARGET, "name": "columns owned", "metric": "with_owners", "kind": "column"}
    behind |= {"target": 1.0, "start": TODAY - timedelta(days=10)}
    missed = {**TARGET, "name": "finance verified", "metric": "verified", "target": 1.0}
    missed |= {"scope": "{database: finance}", "deadline": TODAY - timedelta(days=1)}
    monkeypatch.setenv("SECODA_COVERAGE_TARGETS", str(write_targets(tmp_path, [met, behind])))
    assert materialize([documentation_coverage], sandbox, warehouse, instance).success

    result = materialize([coverage_targets_report], sandbox, warehouse, instance)

    assert result.success
    rows = query(warehouse, "SELECT * FROM reports.coverage_targets").set_index("name")
    assert rows.loc["tables described", "status"] == "met"
    assert rows.loc["columns owned", "status"] == "behind"
    owned = expected_coverage(sandbox)
    column_owned = sum(v[2] for (_, k), v in owned.items() if k == "column")
    column_total = sum(v[0] for (_, k), v in owned.items() if k == "column")
    assert rows.loc["columns owned", "actual"] == pytest.approx(column_owned / column_total)
    evaluation = check_result(result)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert "columns owned: behind" in evaluation.metadata["per_target"].value

    monkeypatch.setenv(
        "SECODA_COVERAGE_TARGETS", str(write_targets(tmp_path, [met, behind, missed]))
    )
    result = materialize([coverage_targets_report], sandbox, warehouse, instance)
    evaluation = check_result(result)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["targets_missed"].value == 1
    # Today's snapshot replaced the earlier one of the same day.
    rows = query(warehouse, "SELECT * FROM reports.coverage_targets")
    assert sorted(rows["name"]) == ["columns owned", "finance verified", "tables described"]


def test_a_bad_targets_file_fails_naming_the_entry_and_field_and_stores_nothing(
    sandbox, warehouse, instance, catalog, tmp_path, monkeypatch
):
    bad = {**TARGET, "metric": "colour", "target": 1.5}
    monkeypatch.setenv("SECODA_COVERAGE_TARGETS", str(write_targets(tmp_path, [bad])))

    result = materialize([documentation_coverage], sandbox, warehouse, instance)

    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert "SECODA_COVERAGE_TARGETS" in message and "nothing was stored" in message
    assert "targets[0] ('tables described')" in message
    assert "metric" in message and "target" in message and "colour" in message
    assert not query(
        warehouse,
        "SELECT * FROM information_schema.tables WHERE table_name = 'documentation_coverage'",
    ).shape[0]
