"""The schedules' run requests: partitions, run keys, and what a tick evaluated twice does."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from secoda_pipelines.definitions import defs
from secoda_pipelines.defs.partitions import secoda_integrations


def tick(instance: dg.DagsterInstance, name: str, when: datetime) -> list[dg.RunRequest]:
    """Returns the run requests of schedule `name` evaluated for `when`."""
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    result = defs.resolve_schedule_def(name).evaluate_tick(context)
    assert result.skip_message is None, result.skip_message
    return list(result.run_requests)


def test_integration_refresh_requests_one_run_per_partition_per_day():
    schedule = defs.resolve_schedule_def("daily_integration_refresh")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "UTC")
    assert schedule.job_name == "secoda_integration_refresh"
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(secoda_integrations.name, ["int-c", "int-a", "int-b"])
        monday = tick(instance, "daily_integration_refresh", datetime(2026, 11, 30, 6, tzinfo=UTC))
        again = tick(instance, "daily_integration_refresh", datetime(2026, 11, 30, 6, tzinfo=UTC))
        tuesday = tick(instance, "daily_integration_refresh", datetime(2026, 12, 1, 6, tzinfo=UTC))
    assert [(r.partition_key, r.run_key) for r in monday] == [
        ("int-a", "integration-refresh:int-a:2026-11-30"),
        ("int-b", "integration-refresh:int-b:2026-11-30"),
        ("int-c", "integration-refresh:int-c:2026-11-30"),
    ]
    # The same tick evaluated again (a daemon restart, a missed tick caught up) asks for the
    # same run keys, which Dagster launches once; the next day gets new ones.
    assert [r.run_key for r in again] == [r.run_key for r in monday]
    assert {r.run_key for r in tuesday}.isdisjoint(r.run_key for r in monday)
    assert [r.partition_key for r in tuesday] == ["int-a", "int-b", "int-c"]


def test_integration_refresh_skips_while_no_integration_is_registered():
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 11, 30, 6, tzinfo=UTC),
            repository_def=defs.get_repository_def(),
        )
        result = defs.resolve_schedule_def("daily_integration_refresh").evaluate_tick(context)
    assert result.run_requests == []
    assert "new_integration_sensor" in result.skip_message


def test_integration_refresh_launches_each_run_key_once_on_a_real_instance():
    """A tick whose runs were launched, evaluated again, launches nothing new: the instance
    already holds a run for each run key (what the daemon checks before launching)."""
    job = defs.resolve_job_def("secoda_integration_refresh")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(secoda_integrations.name, ["int-a", "int-b"])
        requests = tick(
            instance, "daily_integration_refresh", datetime(2026, 11, 30, 6, tzinfo=UTC)
        )
        for request in requests:
            tags = {**request.tags, "dagster/run_key": request.run_key}
            instance.create_run_for_job(job, tags=tags)
        again = tick(instance, "daily_integration_refresh", datetime(2026, 11, 30, 6, tzinfo=UTC))
        launched = {
            r.tags["dagster/run_key"]
            for r in instance.get_runs(dg.RunsFilter(job_name="secoda_integration_refresh"))
        }
    assert launched == {r.run_key for r in again}
    assert {r.tags["dagster/partition"] for r in requests} == {"int-a", "int-b"}


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
