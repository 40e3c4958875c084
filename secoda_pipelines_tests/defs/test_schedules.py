"""The schedules' run requests: partitions, run keys, what a tick evaluated twice does, and
integrations Secoda no longer lists."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from secoda_pipelines.definitions import defs
from secoda_pipelines.defs.assets.catalog import catalog_assets, columns, tables
from secoda_pipelines.defs.partitions import secoda_integrations
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines_tests.helpers import api_rows, free_port, query

MONDAY = datetime(2026, 11, 30, 6, tzinfo=UTC)
TUESDAY = datetime(2026, 12, 1, 6, tzinfo=UTC)


def secoda_at(sandbox: Sandbox, api_key: str = DEFAULT_API_KEY) -> SecodaResource:
    return SecodaResource(api_url=sandbox.base_url, api_key=api_key)


def evaluate(
    instance: dg.DagsterInstance, name: str, when: datetime, secoda: SecodaResource | None
) -> dg.ScheduleExecutionData:
    """Returns schedule `name` evaluated for `when` (with `secoda` as its Secoda resource)."""
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=when,
        repository_def=defs.get_repository_def(),
        resources={"secoda": secoda} if secoda is not None else None,
    ) as context:
        return defs.resolve_schedule_def(name).evaluate_tick(context)


def tick(
    instance: dg.DagsterInstance, name: str, when: datetime, secoda: SecodaResource | None = None
) -> list[dg.RunRequest]:
    """Returns the run requests of schedule `name` evaluated for `when`."""
    result = evaluate(instance, name, when, secoda)
    assert result.skip_message is None, result.skip_message
    return list(result.run_requests)


def integration_ids(sandbox: Sandbox) -> list[str]:
    return sorted(i["id"] for i in api_rows(sandbox, "integration/integrations/"))


def secoda_tags(request: dg.RunRequest) -> dict[str, str]:
    """Returns the request's own tags (Dagster adds its partition tags to a schedule's)."""
    return {k: v for k, v in request.tags.items() if k.startswith("secoda/")}


def delete_integration(sandbox: Sandbox, integration_id: str) -> None:
    store = sandbox.open_store()
    with store.transaction():
        assert store.delete("integration/integrations/", integration_id)


def test_integration_refresh_requests_one_run_per_partition_per_day(sandbox, instance):
    schedule = defs.resolve_schedule_def("daily_integration_refresh")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "UTC")
    assert schedule.job_name == "secoda_integration_refresh"
    ids = integration_ids(sandbox)
    instance.add_dynamic_partitions(secoda_integrations.name, list(reversed(ids)))
    secoda = secoda_at(sandbox)
    monday = tick(instance, "daily_integration_refresh", MONDAY, secoda)
    again = tick(instance, "daily_integration_refresh", MONDAY, secoda)
    tuesday = tick(instance, "daily_integration_refresh", TUESDAY, secoda)
    assert [(r.partition_key, r.run_key) for r in monday] == [
        (i, f"integration-refresh:{i}:2026-11-30") for i in ids
    ]
    # The same tick evaluated again (a daemon restart, a missed tick caught up) asks for the
    # same run keys, which Dagster launches once; the next day gets new ones.
    assert [r.run_key for r in again] == [r.run_key for r in monday]
    assert {r.run_key for r in tuesday}.isdisjoint(r.run_key for r in monday)
    assert [r.partition_key for r in tuesday] == ids


def test_integration_refresh_requests_carry_each_integrations_name_and_type(sandbox, instance):
    listed = api_rows(sandbox, "integration/integrations/")
    instance.add_dynamic_partitions(secoda_integrations.name, [i["id"] for i in listed])

    requests = tick(instance, "daily_integration_refresh", MONDAY, secoda_at(sandbox))

    assert {r.partition_key: secoda_tags(r) for r in requests} == {
        i["id"]: {"secoda/integration_name": i["name"], "secoda/integration_type": i["type"]}
        for i in listed
    }


def test_integration_refresh_skips_while_no_integration_is_registered(sandbox, instance):
    sandbox.clear_log()
    result = evaluate(instance, "daily_integration_refresh", MONDAY, secoda_at(sandbox))
    assert result.run_requests == []
    assert "new_integration_sensor" in result.skip_message
    assert sandbox.requests == [], "nothing to check: Secoda is not asked"


def test_integration_refresh_launches_each_run_key_once_on_a_real_instance(sandbox, instance):
    """A tick whose runs were launched, evaluated again, launches nothing new: the instance
    already holds a run for each run key (what the daemon checks before launching)."""
    job = defs.resolve_job_def("secoda_integration_refresh")
    ids = integration_ids(sandbox)[:2]
    instance.add_dynamic_partitions(secoda_integrations.name, ids)
    secoda = secoda_at(sandbox)
    requests = tick(instance, "daily_integration_refresh", MONDAY, secoda)
    for request in requests:
        tags = {**request.tags, "dagster/run_key": request.run_key}
        instance.create_run_for_job(job, tags=tags)
    again = tick(instance, "daily_integration_refresh", MONDAY, secoda)
    launched = {
        r.tags["dagster/run_key"]
        for r in instance.get_runs(dg.RunsFilter(job_name="secoda_integration_refresh"))
    }
    assert launched == {r.run_key for r in again}
    assert {r.tags["dagster/partition"] for r in requests} == set(ids)


def test_a_vanished_integration_is_skipped_named_and_its_rows_kept(
    sandbox, instance, resources, warehouse, capsys
):
    ids = integration_ids(sandbox)
    gone = next(i for i in ids if api_rows(sandbox, "table/tables/", integration_id=i))
    instance.add_dynamic_partitions(secoda_integrations.name, ids)
    assert dg.materialize(
        catalog_assets,
        selection=[tables.key, columns.key],
        partition_key=gone,
        resources=resources,
        instance=instance,
    ).success
    before = query(warehouse, f"SELECT id FROM secoda.tables WHERE integration_id = '{gone}'")
    assert len(before) > 0
    delete_integration(sandbox, gone)
    capsys.readouterr()

    requests = tick(instance, "daily_integration_refresh", MONDAY, secoda_at(sandbox))

    assert [r.partition_key for r in requests] == [i for i in ids if i != gone]
    log = capsys.readouterr().err  # the tick's log (the daemon keeps it with the tick)
    assert (
        "Skipped 1 secoda_integrations partition(s) whose integration Secoda no longer lists "
        f"(their stored tables and columns are kept): ['{gone}']"
    ) in log
    assert instance.get_dynamic_partitions(secoda_integrations.name) == ids, "partition kept"
    after = query(warehouse, f"SELECT id FROM secoda.tables WHERE integration_id = '{gone}'")
    assert sorted(after["id"]) == sorted(before["id"])


def test_every_partition_vanished_skips_the_tick_naming_them(sandbox, instance):
    instance.add_dynamic_partitions(secoda_integrations.name, ["gone-1", "gone-2"])
    result = evaluate(instance, "daily_integration_refresh", MONDAY, secoda_at(sandbox))
    assert result.run_requests == []
    assert "no longer lists the integration of any of the 2" in result.skip_message
    assert "gone-1" in result.skip_message and "gone-2" in result.skip_message


@pytest.mark.slow
def test_secoda_down_at_the_tick_requests_every_partition_with_a_warning(instance, capsys):
    """The runs check their integration themselves: a tick that cannot list Secoda still
    requests the day's refresh rather than skipping it."""
    instance.add_dynamic_partitions(secoda_integrations.name, ["int-a", "int-b"])
    down = SecodaResource(
        api_url=f"http://127.0.0.1:{free_port()}/api/v1/",
        api_key=DEFAULT_API_KEY,
        retry_backoff_seconds=0.01,
    )
    requests = tick(instance, "daily_integration_refresh", MONDAY, down)
    assert [r.partition_key for r in requests] == ["int-a", "int-b"]
    assert [secoda_tags(r) for r in requests] == [{}, {}], "no name is invented"
    log = capsys.readouterr().err
    assert "Could not list Secoda's integrations (GET integration/integrations/" in log
    assert "could not reach Secoda" in log
    assert "requesting every one of the 2 partitions" in log


def test_a_refused_key_fails_the_integration_refresh_tick(sandbox, instance):
    instance.add_dynamic_partitions(secoda_integrations.name, ["int-a"])
    with pytest.raises(dg.DagsterUserCodeExecutionError) as raised:
        evaluate(instance, "daily_integration_refresh", MONDAY, secoda_at(sandbox, "wrong"))
    message = str(raised.value.__cause__ or raised.value)
    assert "401" in message and "SECODA_API_KEY" in message


def test_adoption_refresh_takes_the_current_month_and_closes_the_last_one_on_the_first():
    with dg.instance_for_test() as instance:
        mid = tick(instance, "daily_adoption_refresh", datetime(2026, 11, 17, 5, 30, tzinfo=UTC))
        first = tick(instance, "daily_adoption_refresh", datetime(2026, 12, 1, 5, 30, tzinfo=UTC))
        january = tick(instance, "daily_adoption_refresh", datetime(2027, 1, 1, 5, 30, tzinfo=UTC))
    assert [(r.partition_key, r.run_key) for r in mid] == [
        ("2026-11-01", "adoption-refresh:2026-11:2026-11-17")
    ]
    assert [r.partition_key for r in first] == ["2026-11-01", "2026-12-01"]
    assert [r.partition_key for r in january] == ["2026-12-01", "2027-01-01"]
    assert defs.resolve_schedule_def("daily_adoption_refresh").job_name == (
        "secoda_adoption_refresh"
    )


def test_coverage_snapshot_runs_after_the_days_refreshes_once_per_day():
    schedules = {
        name: defs.resolve_schedule_def(name)
        for name in ("daily_secoda_refresh", "daily_integration_refresh", "daily_coverage_snapshot")
    }
    hours = {name: int(s.cron_schedule.split()[1]) for name, s in schedules.items()}
    assert hours["daily_coverage_snapshot"] > max(
        hours["daily_secoda_refresh"], hours["daily_integration_refresh"]
    )
    job = defs.resolve_job_def(schedules["daily_coverage_snapshot"].job_name)
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == {
        "reports/documentation_coverage",
        "reports/documentation_coverage_by_owner",
        "reports/coverage_targets",
        "reports/undocumented_popular",
    }
    with dg.instance_for_test() as instance:
        monday = tick(instance, "daily_coverage_snapshot", MONDAY.replace(hour=8))
        again = tick(instance, "daily_coverage_snapshot", MONDAY.replace(hour=8, minute=1))
        tuesday = tick(instance, "daily_coverage_snapshot", TUESDAY.replace(hour=8))
    assert [r.run_key for r in monday + again + tuesday] == [
        "coverage-snapshot:2026-11-30",
        "coverage-snapshot:2026-11-30",
        "coverage-snapshot:2026-12-01",
    ]
