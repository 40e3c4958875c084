"""SecodaResource from the environment, inside a real Dagster run against the sandbox."""

from __future__ import annotations

import importlib

import dagster as dg
import pandas as pd
import pytest
import requests

from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines.secoda import DEFAULT_BASE_URL, SecodaClient, SecodaConfigError
from secoda_pipelines.store import ReportStore, WarehouseIOManager
from secoda_pipelines.store.duckdb.files import duckdb_path
from secoda_pipelines_tests.helpers import query


@dg.asset
def integration_names(secoda: SecodaResource) -> list[str]:
    return sorted(i["name"] for i in secoda.get_client().list("integration/integrations/"))


def test_resource_reads_url_key_and_limit_from_the_environment(sandbox, monkeypatch):
    monkeypatch.setenv("SECODA_API_URL", sandbox.base_url)
    monkeypatch.setenv("SECODA_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("SECODA_WRITE_LIMIT_PER_MINUTE", "12")
    resource = SecodaResource()
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [integration_names], resources={"secoda": resource}, instance=instance
        )
    assert result.success
    names = result.output_for_node("integration_names")
    assert names == sorted(i["name"] for i in _integrations(sandbox))
    assert {r.path for r in sandbox.requests} == {"integration/integrations/"}


def test_missing_key_fails_the_run_naming_the_variable(sandbox, monkeypatch):
    monkeypatch.setenv("SECODA_API_URL", sandbox.base_url)
    monkeypatch.delenv("SECODA_API_KEY", raising=False)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [integration_names],
            resources={"secoda": SecodaResource()},
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "SECODA_API_KEY is not set" in failure.to_string()
    assert sandbox.requests == []


def test_defaults_follow_the_spec(monkeypatch):
    for name in ("SECODA_API_URL", "SECODA_API_KEY", "SECODA_WRITE_LIMIT_PER_MINUTE"):
        monkeypatch.delenv(name, raising=False)
    client = SecodaResource().get_client()
    assert client.base_url == DEFAULT_BASE_URL
    assert client.limiter.limit == 30


def test_the_key_is_marked_secret():
    schema = SecodaResource.model_json_schema()
    assert schema["properties"]["api_key"]["dagster__is_secret"] is True


def _integrations(sandbox):
    response = requests.get(
        sandbox.base_url + "integration/integrations/",
        headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
        timeout=10,
    )
    return response.json()["results"]


@pytest.fixture(autouse=True)
def _no_dagster_home(monkeypatch, tmp_path):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))


@pytest.mark.parametrize("name", ["secoda.duckdb", "data/Reports.duckdb"])
def test_a_duckdb_file_named_like_a_schema_is_refused(monkeypatch, name):
    monkeypatch.setenv("SECODA_DUCKDB_PATH", name)
    with pytest.raises(ValueError, match="named like one of its schemas"):
        WarehouseIOManager().create_io_manager(None)
    with pytest.raises(ValueError, match=f"SECODA_DUCKDB_PATH='{name}' is named like"):
        ReportStore().append("downstream_impact", pd.DataFrame(), run_id="r", dry_run=False)


def test_duckdb_path_is_read_when_used_not_when_built(monkeypatch, tmp_path):
    monkeypatch.delenv("SECODA_DUCKDB_PATH", raising=False)
    store = ReportStore()
    assert duckdb_path() == "secoda_warehouse.duckdb"
    monkeypatch.setenv("SECODA_DUCKDB_PATH", str(tmp_path / "catalog.duckdb"))
    store.append("downstream_impact", pd.DataFrame(), run_id="r", dry_run=False)
    assert (tmp_path / "catalog.duckdb").exists()


def test_a_bad_write_limit_in_the_environment_is_named(monkeypatch, sandbox):
    monkeypatch.setenv("SECODA_WRITE_LIMIT_PER_MINUTE", "lots")
    with pytest.raises(SecodaConfigError, match="SECODA_WRITE_LIMIT_PER_MINUTE='lots' is not"):
        SecodaResource(api_url=sandbox.base_url, api_key=DEFAULT_API_KEY).get_client()


SECODA_VARIABLES = (
    "SECODA_API_URL",
    "SECODA_API_KEY",
    "SECODA_WRITE_LIMIT_PER_MINUTE",
    "SECODA_DUCKDB_PATH",
    "SECODA_WAREHOUSE_URL",
)


def test_the_environment_is_read_when_a_run_starts_not_at_import(sandbox, monkeypatch, tmp_path):
    # A code server loads the code location with none of the variables set...
    for name in SECODA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    import secoda_pipelines.definitions as definitions

    defs = importlib.reload(definitions).defs
    # ...and its run workers have them.
    warehouse = tmp_path / "run.duckdb"
    monkeypatch.setenv("SECODA_API_URL", sandbox.base_url)
    monkeypatch.setenv("SECODA_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("SECODA_DUCKDB_PATH", str(warehouse))
    monkeypatch.setenv("SECODA_WRITE_LIMIT_PER_MINUTE", "7")
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("check_downstream_impact").execute_in_process(
            run_config={"tables": ["product.events.page_views"], "fail_on_downstream": False},
            instance=instance,
        )
        refresh = dg.materialize(
            [defs.resolve_assets_def(dg.AssetKey(["secoda", "integrations"]))],  # its resources
            instance=instance,
        )
    assert result.success and refresh.success
    assert {r.path for r in sandbox.requests} >= {"integration/integrations/", "table/tables/"}
    stored = query(warehouse, "SELECT count(*) AS n FROM secoda.integrations").n[0]
    assert stored == len(_integrations(sandbox))
    assert not query(warehouse, "SELECT * FROM reports.downstream_impact").empty


@dg.op
def two_writes_then_a_third(context, secoda: SecodaResource) -> None:
    client = secoda.get_client()
    table = client.list("table/tables/")[0]
    for text in ("first", "second"):
        client.patch(f"table/tables/{table['id']}/", {"description": text})
    try:
        client.limiter.acquire(timeout=0)
    except TimeoutError as error:
        context.log.info(f"third write refused: {error}")
    else:
        raise AssertionError("a third write fitted in the minute")


@dg.job
def write_pace_job() -> None:
    two_writes_then_a_third()


def test_the_write_limit_from_the_environment_paces_a_run(sandbox, monkeypatch):
    monkeypatch.setenv("SECODA_API_URL", sandbox.base_url)
    monkeypatch.setenv("SECODA_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("SECODA_WRITE_LIMIT_PER_MINUTE", "2")
    with dg.instance_for_test() as instance:
        result = write_pace_job.execute_in_process(
            resources={"secoda": SecodaResource()}, instance=instance
        )
        logs = [r.user_message for r in instance.all_logs(result.run_id)]
    assert result.success
    assert any("third write refused: the next write fits the pace of 2 per 60 s" in m for m in logs)
    assert [r.method for r in sandbox.writes()] == ["PATCH", "PATCH"]


SECRET = "sandbox-secret-key"  # DEFAULT_API_KEY: what every object below holds


@dg.op
def holder_reprs(secoda: SecodaResource) -> list[str]:
    client = secoda.get_client()
    return [repr(secoda), str(secoda), repr(client), str(client), repr(client.session)]


@dg.job
def repr_job() -> None:
    holder_reprs()


def test_nothing_that_holds_the_key_prints_it(sandbox, monkeypatch):
    assert DEFAULT_API_KEY == SECRET
    direct = SecodaResource(api_url=sandbox.base_url, api_key=DEFAULT_API_KEY)
    client = direct.get_client()
    printed = [repr(direct), str(direct), repr(client), str(client), repr(client.limiter)]
    with SecodaClient(DEFAULT_API_KEY, sandbox.base_url) as own:
        printed += [repr(own), str(own), repr(own.session), str(vars(own.session))]
    # After start-up: Dagster rebuilds the resource with the EnvVar resolved.
    monkeypatch.setenv("SECODA_API_URL", sandbox.base_url)
    monkeypatch.setenv("SECODA_API_KEY", DEFAULT_API_KEY)
    with dg.instance_for_test() as instance:
        result = repr_job.execute_in_process(
            resources={"secoda": SecodaResource()}, instance=instance
        )
        logged = [str(record) for record in instance.all_logs(result.run_id)]
    printed += result.output_for_node("holder_reprs")
    assert result.success
    assert all(SECRET not in text for text in printed), printed
    assert all(SECRET not in text for text in logged)
    assert "api_url=" in printed[0] and "api_key" not in printed[0]


def test_an_api_url_with_a_password_fails_the_run_without_showing_it(monkeypatch):
    password = "url-pw-5Jq2"
    monkeypatch.setenv("SECODA_API_URL", f"https://admin:{password}@secoda.example/api/v1/")
    monkeypatch.setenv("SECODA_API_KEY", DEFAULT_API_KEY)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [integration_names],
            resources={"secoda": SecodaResource()},
            instance=instance,
            raise_on_error=False,
        )
        logged = [str(record) for record in instance.all_logs(result.run_id)]
        stored_run = str(instance.get_run_by_id(result.run_id))
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.to_string()
    assert "SECODA_API_KEY" in message and "user:password@" in message
    assert all(password not in text for text in [*logged, stored_run, message])
