"""new_integration_sensor, evaluated tick by tick against the sandbox."""

from __future__ import annotations

import json

import dagster as dg

from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.defs.sensors import new_integration_sensor
from secoda_pipelines_tests.helpers import api_rows


def tick(instance, resources, cursor=None):
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"secoda": resources["secoda"]}
    ) as context:
        result = new_integration_sensor(context)
    for request in result.dynamic_partitions_requests:  # what the daemon would apply
        instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
    return result


def test_first_tick_adds_and_requests_every_integration(sandbox, resources, instance):
    ids = sorted(i["id"] for i in api_rows(sandbox, "integration/integrations/"))
    result = tick(instance, resources)
    assert sorted(r.run_key for r in result.run_requests) == ids
    assert all(r.partition_key == r.run_key for r in result.run_requests)
    assert sorted(instance.get_dynamic_partitions("secoda_integrations")) == ids
    assert json.loads(result.cursor) == {"seen": ids}


def test_second_tick_with_the_cursor_requests_nothing(sandbox, resources, instance):
    first = tick(instance, resources)
    second = tick(instance, resources, first.cursor)
    assert second.run_requests == []
    assert second.dynamic_partitions_requests == []
    assert second.cursor == first.cursor
    assert [r.path for r in sandbox.requests] == ["integration/integrations/"] * 2


def test_one_new_integration_gives_exactly_one_run(sandbox, resources, instance):
    first = tick(instance, resources)
    new = sandbox.insert("integration/integrations/", {"name": "dbt Cloud", "type": "dbt"})
    second = tick(instance, resources, first.cursor)
    assert [(r.run_key, r.partition_key) for r in second.run_requests] == [(new["id"], new["id"])]
    assert new["id"] in instance.get_dynamic_partitions("secoda_integrations")
    # A restart resumes from the stored cursor: nothing is requested again.
    third = tick(instance, resources, second.cursor)
    assert third.run_requests == []


def test_a_vanished_integration_is_logged_and_kept(sandbox, resources, instance, capsys):
    first = tick(instance, resources)
    cursor = json.dumps({"seen": [*json.loads(first.cursor)["seen"], "gone-integration"]})
    instance.add_dynamic_partitions("secoda_integrations", ["gone-integration"])
    result = tick(instance, resources, cursor)
    assert result.run_requests == []
    assert "gone-integration" in json.loads(result.cursor)["seen"]
    assert "gone-integration" in instance.get_dynamic_partitions("secoda_integrations")
    assert "no longer listed by Secoda" in capsys.readouterr().err


def test_a_new_warehouse_of_a_known_type_gets_a_migration_preview(sandbox, resources, instance):
    first = tick(instance, resources)
    assert all(r.job_name == "secoda_integration_refresh" for r in first.run_requests)
    integrations = api_rows(sandbox, "integration/integrations/")
    newest_snowflake = max(
        (i for i in integrations if i["type"] == "snowflake"), key=lambda i: i["created_at"]
    )
    new = sandbox.insert(
        "integration/integrations/", {"name": "Snowflake (2027)", "type": "snowflake"}
    )

    second = tick(instance, resources, first.cursor)

    by_job = {r.job_name: r for r in second.run_requests}
    assert sorted(by_job) == ["migrate_documentation", "secoda_integration_refresh"]
    preview = by_job["migrate_documentation"]
    assert preview.run_key == f"{new['id']}:migration-preview"
    assert preview.run_config == {
        "source_integration_id": newest_snowflake["id"],
        "target_integration_id": new["id"],
        "dry_run": True,
    }
    assert dg.validate_run_config(migrate_documentation, preview.run_config)
    assert tick(instance, resources, second.cursor).run_requests == []
