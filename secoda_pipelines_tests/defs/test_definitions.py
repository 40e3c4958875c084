"""The code location loads, and its shape (keys, groups, kinds, deps, names) is what SPEC says."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import dagster as dg

from secoda_pipelines.definitions import defs


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)


def _partitions(partitions_def: dg.PartitionsDefinition | None) -> str | None:
    if partitions_def is None:
        return None
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return partitions_def.name
    window = partitions_def
    return (
        f"{window.cron_schedule} {window.timezone} from {window.start:%Y-%m-%d}+{window.end_offset}"
    )


def test_asset_graph_snapshot():
    graph = defs.resolve_asset_graph()
    snapshot = {
        key.to_user_string(): (
            graph.get(key).group_name,
            sorted(graph.get(key).kinds),
            sorted(p.to_user_string() for p in graph.get(key).parent_keys),
            _partitions(graph.get(key).partitions_def),
        )
        for key in graph.get_all_asset_keys()
    }
    catalog = ("secoda_catalog", ["duckdb", "pandas", "secoda"], [], None)
    partitioned = (*catalog[:3], "secoda_integrations")
    stored_catalog = sorted(
        f"secoda/{name}" for name in ("tables", "columns", "integrations", "users", "teams")
    )
    coverage = ("documentation_coverage", ["duckdb", "pandas", "sql"], stored_catalog, None)
    assert snapshot == {
        "secoda/integrations": catalog,
        "secoda/users": catalog,
        "secoda/teams": catalog,
        "secoda/dashboards": catalog,
        "secoda/questions": catalog,
        "secoda/question_replies": catalog,
        "secoda/tables": partitioned,
        "secoda/columns": partitioned,
        # A history of daily snapshots, not partitioned by day: a past day cannot be taken.
        "secoda/dashboard_usage": catalog,
        "reports/stale_dashboards": (
            "reports",
            ["duckdb", "pandas"],
            ["secoda/dashboard_usage", "secoda/dashboards", "secoda/integrations"],
            None,
        ),
        "reports/adoption": (
            "reports",
            ["duckdb", "pandas"],
            ["secoda/question_replies", "secoda/questions", "secoda/users"],
            None,
        ),
        "reports/adoption_monthly": (
            "reports",
            ["duckdb", "pandas"],
            ["secoda/question_replies", "secoda/questions", "secoda/users"],
            "0 0 1 * * UTC from 2024-01-01+1",
        ),
        # Computed in the warehouse's SQL from the stored catalog (not inputs: deps).
        "reports/documentation_coverage": coverage,
        "reports/documentation_coverage_by_owner": coverage,
        "reports/undocumented_popular": coverage,
        "reports/coverage_targets": (
            "documentation_coverage",
            ["duckdb", "pandas"],
            ["reports/documentation_coverage"],
            None,
        ),
    }


def test_api_reading_assets_share_the_pool_and_retry():
    for key in defs.resolve_asset_graph().get_all_asset_keys():
        assets_def = defs.resolve_assets_def(key)
        node = assets_def.node_def
        if key.path[0] == "secoda":
            assert node.pool == "secoda_api", key
            assert node.retry_policy is not None and node.retry_policy.max_retries == 3
        else:
            assert node.pool is None, key


def test_schedule_targets_todays_snapshot_the_unpartitioned_catalog_and_reports():
    schedule = defs.resolve_schedule_def("daily_secoda_refresh")
    assert schedule.execution_timezone == "UTC"
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 11, 26, 5, tzinfo=UTC),
            repository_def=defs.get_repository_def(),
        )
        result = schedule.evaluate_tick(context)
    [request] = result.run_requests
    assert request.partition_key is None, "no partition: the run takes the day it runs on"
    assert request.run_key == "catalog-refresh:2026-11-26"
    job = defs.resolve_job_def(schedule.job_name)
    assert job.partitions_def is None, "launchable from the launchpad without a partition"
    assert sorted(k.to_user_string() for k in job.asset_layer.executable_asset_keys) == [
        "reports/adoption",
        "reports/stale_dashboards",
        "secoda/dashboard_usage",
        "secoda/dashboards",
        "secoda/integrations",
        "secoda/question_replies",
        "secoda/questions",
        "secoda/teams",
        "secoda/users",
    ]


def test_sensor_and_jobs_are_named_as_the_spec_says():
    sensor = defs.resolve_sensor_def("new_integration_sensor")
    assert sorted(target.job_name for target in sensor.targets) == [
        "migrate_documentation",
        "secoda_integration_refresh",
    ]
    job = defs.resolve_job_def("secoda_integration_refresh")
    assert job.partitions_def.name == "secoda_integrations"


def test_the_usage_history_declares_its_snapshot_column():
    assets_def = defs.resolve_assets_def(dg.AssetKey(["secoda", "dashboard_usage"]))
    metadata = assets_def.metadata_by_key[assets_def.key]
    assert metadata["snapshot_column"] == "snapshot_date"
    assert assets_def.partitions_def is None


def test_ticks_get_a_client_that_gives_up_within_a_tick():
    """SPEC B: a tick ends within 45 s however long Secoda is down (Dagster's limit: 60 s).
    The tick client's per-call retry deadline and attempt timeouts make that so."""
    from secoda_pipelines.defs.resources import TICK_RETRY_SECONDS, TICK_TIMEOUT, SecodaResource

    client = SecodaResource(api_url="http://127.0.0.1:9/api/v1/", api_key="k").get_tick_client()
    assert client.max_retry_seconds == TICK_RETRY_SECONDS <= 30
    assert client.timeout == TICK_TIMEOUT and max(TICK_TIMEOUT) <= 15
    assert TICK_RETRY_SECONDS + max(TICK_TIMEOUT) <= 45


def test_loading_the_code_location_prints_no_warning():
    """Issue 25: the demo and every code-server start printed Dagster's BetaWarning for
    `backfill_policy` (once per partitioned asset) and for the sensor's `owners`."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-W",
            "default",
            "-c",
            "from secoda_pipelines.definitions import defs; defs.get_repository_def()",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stderr == ""


def test_every_asset_check_says_what_it_checks_and_what_a_failure_means():
    checks = list(defs.resolve_asset_graph().asset_check_keys)
    assert checks
    for key in checks:
        spec = defs.resolve_asset_graph().get_check_spec(key)
        assert spec.description and len(spec.description) > 80, key
        assert "WARN" in spec.description or "ERROR" in spec.description, key
