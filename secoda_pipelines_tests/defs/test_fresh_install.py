"""A fresh install: every asset of the code location materializes alone on an empty warehouse
once the assets it reads exist (SPEC B), as a new user materializes one asset from the UI.

The walk takes every asset of `secoda_pipelines.definitions.defs` (so an asset added later is
walked too), in topological order. For each, on a fresh warehouse and a fresh instance, it
materializes the asset's upstream assets one by one, each alone, then the asset alone. A
snapshot history (metadata `snapshot_column`) is never materialized as an upstream asset:
its readers are walked in the state a fresh install has before the first snapshot, where
the history holds nothing ("no history", never an error).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from secoda_pipelines.definitions import defs
from secoda_pipelines.defs.partitions import secoda_integrations
from secoda_pipelines.sandbox import Sandbox
from secoda_pipelines.store import SNAPSHOT_COLUMN, choose_warehouse
from secoda_pipelines_tests.helpers import api_rows, independent_stale, point_code_location_at

GRAPH = defs.resolve_asset_graph()
ORDER = list(GRAPH.toposorted_asset_keys)
STALE = dg.AssetKey(["reports", "stale_dashboards"])


def is_history(key: dg.AssetKey) -> bool:
    """Returns whether the asset is a snapshot history (its readers may find it empty)."""
    assets_def = defs.resolve_assets_def(key)
    return SNAPSHOT_COLUMN in (assets_def.metadata_by_key.get(key) or {})


HISTORIES = {key for key in ORDER if is_history(key)}
HISTORY_READERS = [k for k in ORDER if GRAPH.get(k).parent_keys & HISTORIES]


def upstream(key: dg.AssetKey) -> list[dg.AssetKey]:
    """Returns the assets `key` reads, directly or not, histories left out, in topological
    order."""
    return [k for k in ORDER if k in GRAPH.get_ancestor_asset_keys(key) and k not in HISTORIES]


def partition_of(key: dg.AssetKey, sandbox: Sandbox, instance: dg.DagsterInstance) -> str | None:
    """Returns the partition a user would pick for the asset (None when unpartitioned),
    registering a dynamic partition as the sensor would.

    Raises:
        AssertionError: a partitions definition the walk does not know: teach it here.
    """
    partitions_def = GRAPH.get(key).partitions_def
    if partitions_def is None:
        return None
    if partitions_def == secoda_integrations:
        integration = next(
            i["id"]
            for i in api_rows(sandbox, "integration/integrations/")
            if api_rows(sandbox, "table/tables/", integration_id=i["id"])
        )
        instance.add_dynamic_partitions(secoda_integrations.name, [integration])
        return integration
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return partitions_def.get_last_partition_key()
    raise AssertionError(f"the walk cannot pick a partition of {key.to_user_string()}")


def materialize_alone(
    key: dg.AssetKey, sandbox: Sandbox, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """Returns the run materializing `key` alone (one partition when partitioned), with the
    code location's own resources, as configured from the environment."""
    return dg.materialize(
        defs.assets,
        selection=[key],
        partition_key=partition_of(key, sandbox, instance),
        resources=defs.resources,
        instance=instance,
        raise_on_error=False,
    )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    return "\n".join(str(e.step_failure_data.error) for e in result.get_step_failure_events())


@pytest.fixture
def fresh(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str | None], dg.DagsterInstance]]:
    """Returns a factory pointing the code location at the sandbox and an empty warehouse
    (a new DuckDB file, or the PostgreSQL URL given), returning a fresh instance."""
    instances: list[dg.DagsterInstance] = []
    managers = []

    def make(warehouse_url: str | None = None) -> dg.DagsterInstance:
        n = len(instances)
        point_code_location_at(sandbox, tmp_path / f"warehouse-{n}.duckdb", monkeypatch)
        if warehouse_url:
            monkeypatch.setenv("SECODA_WAREHOUSE_URL", warehouse_url)
        manager = dg.instance_for_test()
        managers.append(manager)
        instances.append(manager.__enter__())
        return instances[-1]

    yield make
    for manager in managers:
        manager.__exit__(None, None, None)


def check_no_history_result(key: dg.AssetKey, sandbox: Sandbox, instance) -> None:
    """Asserts what a history reader stored before any snapshot: the rule without history."""
    if key != STALE:
        return  # a future history reader: materializing without error is checked above
    report = choose_warehouse().read_table("reports", "stale_dashboards")
    expected = independent_stale(api_rows(sandbox, "dashboard/dashboards/"), datetime.now(UTC))
    assert sorted(report["id"]) == sorted(expected)
    assert report["days_without_views"].isna().all(), "no snapshot: no streak to count"
    assert report["last_viewed_on"].isna().all()
    metadata = instance.get_latest_materialization_event(key).asset_materialization.metadata
    assert metadata["usage_snapshot_days"].value == 0


def test_the_walk_covers_every_asset_and_knows_the_usage_history():
    defined = {key for assets_def in defs.assets for key in assets_def.keys}
    assert set(ORDER) == defined
    assert dg.AssetKey(["secoda", "dashboard_usage"]) in HISTORIES
    assert STALE in HISTORY_READERS


@pytest.mark.slow  # one run per asset: the fast tier materializes them together elsewhere
@pytest.mark.parametrize("key", ORDER, ids=[k.to_user_string() for k in ORDER])
def test_every_asset_materializes_alone_on_an_empty_warehouse_after_what_it_reads(
    key: dg.AssetKey, sandbox: Sandbox, fresh
) -> None:
    instance = fresh(None)
    for parent in upstream(key):
        result = materialize_alone(parent, sandbox, instance)
        assert result.success, f"{parent.to_user_string()}: {failure_text(result)}"
    if key in HISTORY_READERS:
        for history in GRAPH.get(key).parent_keys & HISTORIES:
            schema, table = history.path
            assert choose_warehouse().read_table(schema, table).empty, "no snapshot yet"

    result = materialize_alone(key, sandbox, instance)

    assert result.success, f"{key.to_user_string()}: {failure_text(result)}"
    assert instance.get_latest_materialization_event(key) is not None
    if key in HISTORY_READERS:
        check_no_history_result(key, sandbox, instance)


@pytest.mark.parametrize("key", HISTORY_READERS, ids=[k.to_user_string() for k in HISTORY_READERS])
def test_history_readers_materialize_before_any_snapshot_in_postgresql(
    key: dg.AssetKey, sandbox: Sandbox, fresh, warehouse_url: str
) -> None:
    instance = fresh(warehouse_url)
    for parent in upstream(key):
        assert materialize_alone(parent, sandbox, instance).success, parent.to_user_string()

    result = materialize_alone(key, sandbox, instance)

    assert result.success, f"{key.to_user_string()}: {failure_text(result)}"
    assert choose_warehouse().location().startswith("postgresql://")
    check_no_history_result(key, sandbox, instance)
