"""SECODA_WAREHOUSE_URL is a secret (SPEC B): its password, in every form (`user:password@`,
`?password=`, `?sslpassword=`, percent-encoded or not), appears in no repr, error, log line
or run metadata, and the warehouse is named as host, port and database wherever it is
named. Each surface is checked on a real PostgreSQL server and a real Dagster run."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import pandas as pd
import pytest

from secoda_pipelines.store import (
    ReportStore,
    WarehouseError,
    WarehouseIOManager,
    WarehouseResource,
)
from secoda_pipelines.store import choose_warehouse as choose
from secoda_pipelines_tests.helpers import free_port
from secoda_pipelines_tests.store.secret_urls import (
    FORMS,
    secret_url,
    warehouse_name,
)


def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    user, host = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{user}@{host.rsplit(':', 1)[0]}:{port}"))


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {"source": ["config"], "email": ["a@example.com"], "action": ["create"], "detail": [""]}
    )


def _refusal(url: str) -> str:
    """Returns the message of the WarehouseError that using the warehouse at `url` raises,
    through the job reports (ReportStore) and through reading a table back."""
    with pytest.raises(WarehouseError) as through_reports:
        ReportStore(warehouse=WarehouseResource(warehouse_url=url)).append(
            "user_provisioning", _rows(), run_id="r", dry_run=True
        )
    with pytest.raises(WarehouseError) as through_read:
        choose(url).read_table("secoda", "users")
    assert str(through_reports.value) == str(through_read.value)
    return str(through_read.value)


# --- reprs and names --------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_reprs_and_the_location_name_host_port_and_database_only(form, warehouse_url, monkeypatch):
    secret = secret_url(warehouse_url, form)
    name = warehouse_name(warehouse_url)
    monkeypatch.setenv("SECODA_WAREHOUSE_URL", secret.url)
    configured = [
        ReportStore(warehouse=WarehouseResource(warehouse_url=secret.url)),
        WarehouseIOManager(warehouse=WarehouseResource(warehouse_url=secret.url)),
    ]
    from_environment = [ReportStore(), WarehouseIOManager()]
    warehouses = [choose(secret.url), choose(), configured[0].get_warehouse()]

    shown = [f(o) for o in [*configured, *from_environment, *warehouses] for f in (repr, str)]
    shown += [w.location() for w in warehouses]
    shown += [w.query_hint("SELECT 1") for w in warehouses]

    assert secret.shown_in(shown) == []
    assert {w.location() for w in warehouses} == {name}
    assert repr(warehouses[0]) == f"PostgresWarehouse({name!r})"
    # The named database is the one the URL reaches: a report lands there.
    ReportStore().append("user_provisioning", _rows(), run_id="r", dry_run=True)
    stored = choose().read_table("reports", "user_provisioning")
    assert stored["email"].tolist() == ["a@example.com"]


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_a_port_where_nothing_listens_is_named_without_the_secret(form, warehouse_url):
    port = free_port()
    secret = secret_url(_with_port(warehouse_url, port), form)

    message = _refusal(secret.url)

    assert secret.shown_in([message]) == []
    database = urlsplit(warehouse_url).path
    assert f"cannot connect to the warehouse postgresql://127.0.0.1:{port}{database}:" in message
    assert "Connection refused" in message


@pytest.mark.parametrize("form", FORMS)
def test_a_database_that_does_not_exist_is_named_without_the_secret(form, warehouse_url):
    missing = _with_database(warehouse_url, "no_such_warehouse")
    secret = secret_url(missing, form)

    message = _refusal(secret.url)

    assert secret.shown_in([message]) == []
    assert f"cannot connect to the warehouse {warehouse_name(missing)}:" in message
    assert 'database "no_such_warehouse" does not exist' in message


@pytest.mark.parametrize("form", FORMS)
def test_a_parameter_psycopg_refuses_is_named_without_the_secret(form, warehouse_url):
    secret = secret_url(warehouse_url, form)
    joiner = "&" if urlsplit(secret.url).query else "?"

    message = _refusal(f"{secret.url}{joiner}no_such_option=1")

    assert secret.shown_in([message]) == []
    assert f"cannot connect to the warehouse {warehouse_name(warehouse_url)}:" in message
    assert 'invalid URI query parameter: "no_such_option"' in message


@pytest.mark.parametrize("form", ["userinfo", "query", "sslpassword"])
def test_a_password_psycopg_echoes_in_its_error_is_scrubbed_from_it(form, warehouse_url):
    # libpq quotes an undecodable percent-encoded value whole: the password itself.
    echoed = secret_url(warehouse_url, form, password="pw%zz-undecodable")
    message = _refusal(echoed.url)
    assert echoed.shown_in([message]) == []
    assert 'invalid percent-encoded token: "***"' in message

    # A password that is also part of the database's name, which the server's error quotes.
    password = "pw-also-in-the-name"
    missing = _with_database(warehouse_url, f"db_{password}")
    inside = secret_url(missing, form, password=password)
    message = _refusal(inside.url)
    assert inside.shown_in([message]) == []
    assert 'database "db_***" does not exist' in message


@pytest.mark.parametrize(
    "url",
    [
        "mysql://app:hunter2@db/secoda",
        "mysql://app@db/secoda?password=hunter2",
        "mysql://app@db/secoda?sslpassword=hunter2&sslmode=require",
        "postgresql://app:hunter2@/secoda",
        "postgresql://app@/secoda?password=hunter2",
        "hunter2",
        # Reserved characters left unencoded: psycopg and urllib would split these URLs
        # differently, so part of the password could pass for a port, a path or a host.
        "postgresql://app:hun/ter2@db.internal:5432/secoda",
        "postgresql://app:hun@ter2@db.internal:5432/secoda",
        "postgresql://app:hun#ter2@db.internal:5432/secoda",
        "postgresql://app:hun?ter2@db.internal:5432/secoda",
        "postgresql://app@db.internal:5432/secoda?password=hun#ter2",
        "postgresql://app@db.internal:5432/secoda?password=hun&ter2",
    ],
)
def test_a_bad_url_is_refused_without_its_secret_saying_what_is_right(url):
    with pytest.raises(WarehouseError) as refused:
        choose(url)
    message = str(refused.value)
    assert not [part for part in ("hunter2", "hun", "ter2") if part in message]
    assert "postgresql://user:password@host:port/database" in message


def test_a_bad_url_that_can_be_taken_apart_is_shown_masked():
    with pytest.raises(WarehouseError) as refused:
        choose("mysql://app:hunter2@db/secoda?sslpassword=hunter3&sslmode=require")
    assert "'mysql://app:***@db/secoda?sslpassword=***&sslmode=require'" in str(refused.value)


# --- a real Dagster run -----------------------------------------------------------------


def _run_surfaces(instance: dg.DagsterInstance, result) -> list[str]:
    """Returns everything Dagster keeps of the run: its record, every event of its event log
    (messages, errors, metadata) serialized whole, and the step failures' text."""
    shown = [dg.serialize_value(instance.get_run_by_id(result.run_id))]
    shown += [dg.serialize_value(entry) for entry in instance.all_logs(result.run_id)]
    shown += [str(entry) for entry in instance.all_logs(result.run_id)]
    shown += [
        event.step_failure_data.error.to_string() for event in result.get_step_failure_events()
    ]
    return shown


def _assets() -> list[dg.AssetsDefinition]:
    """Returns an asset stored through the IO manager, and one that reads it and appends a
    job report, logging where the report went."""

    @dg.asset(key=["test", "frames"], io_manager_key="warehouse_io")
    def frames() -> pd.DataFrame:
        return pd.DataFrame({"id": pd.array(["1", "2"], dtype="string")})

    @dg.asset(key=["test", "report"], ins={"frames": dg.AssetIn(key=["test", "frames"])})
    def report(context, frames: pd.DataFrame, reports: ReportStore) -> dg.MaterializeResult:
        # No annotation on context: a string here, which Dagster refuses.
        reports.append("user_provisioning", _rows(), run_id=context.run.run_id, dry_run=True)
        where = reports.get_warehouse().location()
        context.log.info(f"{len(frames)} rows reported in {where}")
        return dg.MaterializeResult(metadata={"warehouse": where})

    return [frames, report]


@pytest.mark.parametrize("form", FORMS)
def test_a_dagster_run_keeps_no_secret_in_its_logs_metadata_or_errors(
    form, warehouse_url, monkeypatch, caplog
):
    secret = secret_url(warehouse_url, form)
    port = free_port()
    closed = _with_port(secret.url, port)
    database = urlsplit(warehouse_url).path.lstrip("/")
    resources = {"warehouse_io": WarehouseIOManager(), "reports": ReportStore()}
    caplog.set_level(logging.DEBUG)

    with dg.instance_for_test() as instance:
        monkeypatch.setenv("SECODA_WAREHOUSE_URL", secret.url)
        stored = dg.materialize(_assets(), instance=instance, resources=resources)
        shown = _run_surfaces(instance, stored)
        monkeypatch.setenv("SECODA_WAREHOUSE_URL", closed)
        failed = dg.materialize(
            _assets(), instance=instance, resources=resources, raise_on_error=False
        )
        shown += _run_surfaces(instance, failed)
    shown.append(caplog.text)

    assert secret.shown_in(shown) == []
    assert stored.success and not failed.success
    name = warehouse_name(warehouse_url)
    assert any(f"2 rows reported in {name}" in text for text in shown)
    assert stored.asset_materializations_for_node("test__report")[0].metadata[
        "warehouse"
    ] == dg.MetadataValue.text(name)
    table = stored.asset_materializations_for_node("test__frames")[0].metadata
    assert table["dagster/table_name"] == dg.MetadataValue.text(f"{database}.test.frames")
    failure = failed.get_step_failure_events()[0].step_failure_data.error.to_string()
    assert f"cannot connect to the warehouse postgresql://127.0.0.1:{port}/{database}:" in failure
