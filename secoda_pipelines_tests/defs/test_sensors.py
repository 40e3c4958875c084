"""new_integration_sensor, evaluated tick by tick against the sandbox."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
import pytest

from secoda_pipelines.definitions import defs
from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.defs.sensors import new_integration_sensor
from secoda_pipelines.sandbox import Sandbox
from secoda_pipelines.secoda.errors import SecodaServerError
from secoda_pipelines_tests.helpers import api_rows
from secoda_pipelines_tests.sandbox.helpers import insert_object

PREVIEWS = "SECODA_MIGRATION_PREVIEWS"
WRONG_KEY = "wrong-key-7c1f9e"


@pytest.fixture(autouse=True)
def previews_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs every test without SECODA_MIGRATION_PREVIEWS unless the test sets it."""
    monkeypatch.delenv(PREVIEWS, raising=False)


def tick(
    instance: dg.DagsterInstance,
    resources: dict[str, Any],
    cursor: str | None = None,
    secoda: SecodaResource | None = None,
) -> dg.SensorResult:
    """Returns one evaluation of the sensor, after applying its partition adds as the daemon
    would. Raises whatever the evaluation raises (a failed tick), having applied nothing."""
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"secoda": secoda or resources["secoda"]}
    ) as context:
        result = new_integration_sensor(context)
    for request in result.dynamic_partitions_requests:  # what the daemon would apply
        instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
    return result


def integration_ids(sandbox: Sandbox) -> list[str]:
    """Returns the ids of every integration the sandbox lists, sorted."""
    return sorted(i["id"] for i in api_rows(sandbox, "integration/integrations/"))


def new_snowflake(sandbox: Sandbox, name: str | None = "Snowflake (2027)") -> tuple[dict, dict]:
    """Returns (the newest existing Snowflake integration, a new one inserted after it)."""
    newest = max(
        (i for i in api_rows(sandbox, "integration/integrations/") if i["type"] == "snowflake"),
        key=lambda i: i["created_at"],
    )
    return newest, insert_object(
        sandbox, "integration/integrations/", {"name": name, "type": "snowflake"}
    )


# ---- ticks and the cursor ---------------------------------------------------------------


@pytest.mark.parametrize("cursor", [None, ""], ids=["no cursor", "empty cursor"])
def test_first_tick_adds_and_requests_every_integration(sandbox, resources, instance, cursor):
    ids = integration_ids(sandbox)
    result = tick(instance, resources, cursor)
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
    new = insert_object(sandbox, "integration/integrations/", {"name": "dbt Cloud", "type": "dbt"})
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


# ---- names beside the ids ---------------------------------------------------------------


def names_and_types(sandbox: Sandbox) -> dict[str, dict[str, str]]:
    """Returns the name and type tags each listed integration's requests should carry."""
    return {
        i["id"]: {"secoda/integration_name": i["name"], "secoda/integration_type": i["type"]}
        for i in api_rows(sandbox, "integration/integrations/")
    }


def test_refresh_requests_carry_the_integrations_name_and_type(
    sandbox, resources, instance, capsys
):
    expected = names_and_types(sandbox)

    result = tick(instance, resources)

    assert {r.run_key: r.tags for r in result.run_requests} == expected
    err = capsys.readouterr().err
    labels = [f"{tags['secoda/integration_name']} ({i})" for i, tags in expected.items()]
    assert (
        f"{len(expected)} new integration(s), each given a partition and a run of its tables "
        f"and columns: {labels}"
    ) in err


def test_a_null_or_blank_name_gives_no_name_tag_and_a_long_one_is_kept_whole(
    sandbox, resources, instance, capsys
):
    first = tick(instance, resources)
    nameless = insert_object(sandbox, "integration/integrations/", {"name": None, "type": "dbt"})
    blank = insert_object(sandbox, "integration/integrations/", {"name": "  ", "type": "dbt"})
    long_name = "Snowflake " + "x" * 290  # run tags are text of any length in Dagster
    long = insert_object(
        sandbox, "integration/integrations/", {"name": long_name, "type": "snowflake"}
    )
    capsys.readouterr()

    second = tick(instance, resources, first.cursor)

    assert {r.run_key: r.tags for r in second.run_requests} == {
        nameless["id"]: {"secoda/integration_type": "dbt"},
        blank["id"]: {"secoda/integration_type": "dbt"},
        long["id"]: {"secoda/integration_name": long_name, "secoda/integration_type": "snowflake"},
    }
    labels = [nameless["id"], blank["id"], f"{long_name} ({long['id']})"]
    assert (
        f"3 new integration(s), each given a partition and a run of its tables and "
        f"columns: {labels}" in capsys.readouterr().err
    )
    # The instance stores the whole name as the run's tag.
    request = next(r for r in second.run_requests if r.run_key == long["id"])
    job = defs.resolve_job_def(request.job_name)
    run = instance.create_run_for_job(job, tags=request.tags)
    assert instance.get_run_by_id(run.run_id).tags["secoda/integration_name"] == long_name


# ---- a cursor the sensor cannot read ----------------------------------------------------


def test_a_garbage_cursor_is_rebuilt_from_the_partitions(sandbox, resources, instance, capsys):
    tick(instance, resources)  # the partitions exist; the cursor is then lost
    new = insert_object(sandbox, "integration/integrations/", {"name": "dbt Cloud", "type": "dbt"})
    capsys.readouterr()

    result = tick(instance, resources, "}{ not json")

    # Only the integration without a partition is requested.
    assert [(r.run_key, r.partition_key) for r in result.run_requests] == [(new["id"], new["id"])]
    assert [r.partition_keys for r in result.dynamic_partitions_requests] == [[new["id"]]]
    err = capsys.readouterr().err
    assert "cannot read its cursor: the cursor is not JSON" in err
    assert "'}{ not json'" in err
    assert "rebuilt what was seen from the" in err
    assert "existing secoda_integrations partitions: only integrations without" in err
    assert json.loads(result.cursor) == {"seen": integration_ids(sandbox)}
    # The rewritten cursor is read normally on the next tick.
    assert tick(instance, resources, result.cursor).run_requests == []


def test_a_garbage_cursor_without_partitions_requests_every_integration(
    sandbox, resources, instance, capsys, monkeypatch
):
    monkeypatch.setenv(PREVIEWS, "true")
    ids = integration_ids(sandbox)

    result = tick(instance, resources, "garbage")

    assert sorted(r.run_key for r in result.run_requests) == ids  # each once
    # Nothing was known before, as on a first tick: no preview for every pair.
    assert {r.job_name for r in result.run_requests} == {"secoda_integration_refresh"}
    assert sorted(instance.get_dynamic_partitions("secoda_integrations")) == ids
    err = capsys.readouterr().err
    assert "from the 0 existing secoda_integrations partitions" in err
    assert "every listed integration is requested, without previews" in err
    assert json.loads(result.cursor) == {"seen": ids}


@pytest.mark.parametrize(
    ("cursor", "reason"),
    [
        ('"a,b"', "the cursor is JSON but a string, not"),
        ("id-1,id-2", "the cursor is not JSON"),
        ("42", "the cursor is JSON but a number (42)"),
        ("null", "the cursor is JSON but null"),
        ('{"other": []}', "the cursor has no \"seen\" (its keys: ['other'])"),
        ('{"seen": "a,b"}', '"seen" is not a list of strings but a string'),
        ('{"seen": ["a", 1]}', '"seen" is not a list of strings: it holds a number (1)'),
        ("[1, 2]", "the cursor is a list that holds a number (1)"),
    ],
)
def test_a_cursor_of_the_wrong_shape_is_rebuilt_from_the_partitions(
    sandbox, resources, instance, capsys, cursor, reason
):
    tick(instance, resources)
    capsys.readouterr()

    result = tick(instance, resources, cursor)

    assert result.run_requests == []
    assert result.dynamic_partitions_requests == []
    err = capsys.readouterr().err
    assert reason in err
    assert "rebuilt what was seen" in err
    assert json.loads(result.cursor) == {"seen": integration_ids(sandbox)}


def test_an_older_cursor_that_is_a_list_of_ids_is_read(sandbox, resources, instance, capsys):
    ids = integration_ids(sandbox)
    tick(instance, resources)
    new = insert_object(sandbox, "integration/integrations/", {"name": "dbt Cloud", "type": "dbt"})
    capsys.readouterr()

    result = tick(instance, resources, json.dumps(ids))

    assert [r.run_key for r in result.run_requests] == [new["id"]]
    assert "rebuilt" not in capsys.readouterr().err
    assert json.loads(result.cursor) == {"seen": sorted([*ids, new["id"]])}


# ---- migration previews -----------------------------------------------------------------


def test_previews_are_off_by_default_and_read_at_each_tick(
    sandbox, resources, instance, monkeypatch, capsys
):
    first = tick(instance, resources)
    _, new = new_snowflake(sandbox)
    capsys.readouterr()

    second = tick(instance, resources, first.cursor)

    assert [(r.job_name, r.run_key) for r in second.run_requests] == [
        ("secoda_integration_refresh", new["id"])
    ]
    assert (
        f"1 migration preview(s) not requested: {PREVIEWS} is off (set it to true to request "
        f"them): ['Snowflake (2027) ({new['id']})']"
    ) in capsys.readouterr().err
    # Turned on later, without reloading the code location: the next new one is previewed.
    monkeypatch.setenv(PREVIEWS, "true")
    _, newer = new_snowflake(sandbox, "Snowflake (2028)")
    third = tick(instance, resources, second.cursor)
    assert sorted(r.run_key for r in third.run_requests) == [
        newer["id"],
        f"{newer['id']}:migration-preview",
    ]


@pytest.mark.parametrize("value", ["true", "1", "YES"])
def test_a_new_warehouse_of_a_known_type_gets_a_migration_preview(
    sandbox, resources, instance, monkeypatch, value
):
    monkeypatch.setenv(PREVIEWS, value)
    first = tick(instance, resources)
    assert all(r.job_name == "secoda_integration_refresh" for r in first.run_requests)
    newest_snowflake, new = new_snowflake(sandbox)

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
    assert preview.tags == {
        "secoda/migration-preview": "true",
        "secoda/source_integration_name": newest_snowflake["name"],
        "secoda/target_integration_name": "Snowflake (2027)",
    }
    assert by_job["secoda_integration_refresh"].tags == {
        "secoda/integration_name": "Snowflake (2027)",
        "secoda/integration_type": "snowflake",
    }
    assert tick(instance, resources, second.cursor).run_requests == []


def test_a_preview_names_only_the_integrations_that_have_a_name(
    sandbox, resources, instance, monkeypatch
):
    monkeypatch.setenv(PREVIEWS, "true")
    first = tick(instance, resources)
    newest_snowflake, _ = new_snowflake(sandbox, name=None)

    second = tick(instance, resources, first.cursor)

    preview = next(r for r in second.run_requests if r.job_name == "migrate_documentation")
    assert preview.tags == {
        "secoda/migration-preview": "true",
        "secoda/source_integration_name": newest_snowflake["name"],
    }


def test_an_unrecognised_previews_value_warns_and_stays_off(
    sandbox, resources, instance, monkeypatch, capsys
):
    monkeypatch.setenv(PREVIEWS, "enabled")
    first = tick(instance, resources)
    _, new = new_snowflake(sandbox)

    second = tick(instance, resources, first.cursor)

    assert [r.run_key for r in second.run_requests] == [new["id"]]
    err = capsys.readouterr().err
    assert f"{PREVIEWS}='enabled' is not one of" in err
    assert "previews stay off" in err


# ---- Secoda failing ---------------------------------------------------------------------


def test_a_refused_key_fails_the_tick_and_keeps_the_cursor(sandbox, resources, instance, capsys):
    wrong = SecodaResource(api_url=sandbox.base_url, api_key=WRONG_KEY)

    with pytest.raises(dg.Failure) as failure:
        tick(instance, resources, None, secoda=wrong)

    message = str(failure.value)
    assert "Secoda answered 401" in message
    assert "SECODA_API_KEY" in message
    assert failure.value.allow_retries is False
    assert WRONG_KEY not in message
    assert WRONG_KEY not in "".join(capsys.readouterr())
    assert instance.get_dynamic_partitions("secoda_integrations") == []
    # The cursor was not advanced: the next good tick still sees every integration as new.
    ids = integration_ids(sandbox)
    assert sorted(r.run_key for r in tick(instance, resources, None).run_requests) == ids


@pytest.fixture
def fast_secoda(sandbox: Sandbox, resources: dict[str, Any]) -> SecodaResource:
    """Returns the sandbox's resource with a short backoff (the client retries a GET 8 times)."""
    return SecodaResource(
        api_url=sandbox.base_url,
        api_key=resources["secoda"].api_key,
        retry_backoff_seconds=0.01,
    )


@pytest.mark.slow
def test_a_persistent_503_fails_the_tick_and_adds_nothing(
    sandbox, resources, instance, fast_secoda
):
    ids = integration_ids(sandbox)
    sandbox.clear_log()
    sandbox.fail_next("503", count=9, path_contains="integration/integrations")  # 1 + 8 retries

    with pytest.raises(SecodaServerError, match="Secoda answered 503 to GET integration/"):
        tick(instance, resources, None, secoda=fast_secoda)

    assert [r.status for r in sandbox.requests] == [503] * 9
    assert instance.get_dynamic_partitions("secoda_integrations") == []
    assert sorted(r.run_key for r in tick(instance, resources, None).run_requests) == ids


def test_a_transient_503_is_retried_and_the_tick_succeeds(
    sandbox, resources, instance, fast_secoda
):
    ids = integration_ids(sandbox)
    sandbox.clear_log()
    sandbox.fail_next("503", count=2, path_contains="integration/integrations")

    result = tick(instance, resources, None, secoda=fast_secoda)

    assert [r.status for r in sandbox.requests] == [503, 503, 200]
    assert sorted(r.run_key for r in result.run_requests) == ids
    assert sorted(instance.get_dynamic_partitions("secoda_integrations")) == ids
