"""new_integration_sensor, evaluated tick by tick against the sandbox."""

from __future__ import annotations

import json

import dagster as dg

from secoda_pipelines.defs.sensors import new_integration_sensor
from secoda_pipelines_tests.defs.conftest import api_rows


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
