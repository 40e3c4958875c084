"""Helpers shared by the tests: reading the sandbox and DuckDB directly, running jobs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import requests

from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines.store import ReportStore

NEW_SNOWFLAKE = "Snowflake"


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    """Returns the result of `sql` on the DuckDB file (read-only)."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).df()


def duckdb_round_trip(
    frame: pd.DataFrame, path: Path, table: str = "stored"
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Returns (the frame as DuckDB gives it back, each column's DuckDB type).

    Written and read as DuckDBPandasIOManager does (``create table ... as select * from``
    the frame, ``fetchdf()``), in a session whose time zone is not UTC.
    """
    with duckdb.connect(str(path)) as connection:
        connection.execute("SET TimeZone = 'America/New_York'")
        connection.register("obj", frame)
        connection.execute(f"CREATE TABLE {table} AS SELECT * FROM obj")
        types = dict(
            connection.execute(f"SELECT name, type FROM pragma_table_info('{table}')").fetchall()
        )
        return connection.execute(f"SELECT * FROM {table}").fetchdf(), types


def report_rows(warehouse: Path, table: str, run_id: str | None = None) -> pd.DataFrame:
    """Returns `reports.<table>` (one run's rows when run_id is given), in report order;
    an empty frame when the file or the table does not exist."""
    if not Path(warehouse).exists():
        return pd.DataFrame()
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        exists = connection.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'reports' AND table_name = ?",
            [table],
        ).fetchone()[0]
        if not exists:
            return pd.DataFrame()
        where = "WHERE run_id = ?" if run_id else ""
        return connection.execute(
            f"SELECT * FROM reports.{table} {where} ORDER BY reported_at, item",
            [run_id] if run_id else [],
        ).df()


def api_rows(sandbox: Sandbox, path: str, **params: str) -> list[dict[str, Any]]:
    """Returns every row of a listing, read page by page with plain requests (not our client)."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        body = requests.get(
            sandbox.base_url + path,
            params={**params, "page": page},
            headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
            timeout=10,
        ).json()
        rows += body["results"]
        if page >= body["total_pages"]:
            return rows
        page += 1


def job_resources(
    sandbox: Sandbox, warehouse: Path, api_key: str = DEFAULT_API_KEY, **secoda_options: Any
) -> dict[str, Any]:
    """Returns a write-back job's resources, pointed at the sandbox and the DuckDB file."""
    return {
        "secoda": SecodaResource(api_url=sandbox.base_url, api_key=api_key, **secoda_options),
        "reports": ReportStore(database=str(warehouse)),
    }


def run_job(
    job: dg.JobDefinition, sandbox: Sandbox, warehouse: Path, instance, **config: Any
) -> dg.ExecuteInProcessResult:
    """Runs `job` with the flat run config, on real resources; never raises on failure."""
    return job.execute_in_process(
        run_config=config,
        resources=job_resources(sandbox, warehouse),
        instance=instance,
        raise_on_error=False,
    )


def table_id(sandbox, name: str, integration: str = NEW_SNOWFLAKE) -> str:
    """Returns the id of `database.schema.title` in the named integration (read directly)."""
    integration_id = next(
        i["id"] for i in api_rows(sandbox, "integration/integrations/") if i["name"] == integration
    )
    database, schema, title = name.split(".")
    return next(
        t["id"]
        for t in api_rows(sandbox, "table/tables/", integration_id=integration_id, title=title)
        if (t["database"], t["schema"]) == (database, schema)
    )


def dashboard_id(sandbox, title: str) -> str:
    return api_rows(sandbox, "dashboard/dashboards/", title=title)[0]["id"]


def failure_message(result) -> str:
    """Returns the description of the run's (only) failed step."""
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1, [e.message for e in failures]
    return failures[0].step_failure_data.user_failure_data.description


def output_metadata(result, step: str = "find_downstream_impact") -> dict[str, Any]:
    """Returns the metadata of the step's output."""
    output = next(
        e for e in result.all_events if e.event_type_value == "STEP_OUTPUT" and e.step_key == step
    )
    return output.step_output_data.metadata


# --- SPEC B's report rules in plain Python, to check assets and the demo against -------------


def is_api_null(value: Any) -> bool:
    """Returns True for what a raw API row means as null: None or the string "None"."""
    return value is None or value == "None"


def independent_stale(
    dashboards: Iterable[Mapping[str, Any]], now: datetime, days: int = 90
) -> dict[str, int | None]:
    """Returns id → whole days since external_updated_at (None: never) of each dashboard that
    SPEC B's stale rule finds stale among raw API rows."""
    stale = {}
    for d in dashboards:
        unused = all(
            is_api_null(d.get(f)) or d.get(f) == 0 for f in ("external_usage", "internal_usage")
        )
        no_users = all(
            is_api_null(d.get(f)) or d.get(f) == [] for f in ("external_users", "internal_users")
        )
        updated = d.get("external_updated_at")
        age = None if is_api_null(updated) else now - datetime.fromisoformat(updated)
        if unused and no_users and (age is None or age > timedelta(days=days)):
            stale[d["id"]] = None if age is None else age.days
    return stale


def independent_adoption(
    replies: Iterable[Mapping[str, Any]],
    questions: Iterable[Mapping[str, Any]],
    users: Iterable[Mapping[str, Any]],
) -> dict[str, tuple[str | None, int, int]]:
    """Returns user id → (email or None, replies, accepted answers): SPEC B's adoption rule
    applied to raw API rows."""
    answers = {q.get("answer") for q in questions if not is_api_null(q.get("answer"))}
    emails = {u["id"]: u["email"] for u in users}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for reply in replies:
        accepted = reply.get("accepted_answer") is True or reply["id"] in answers
        for owner in set(reply.get("owners") or []):
            counts[owner][0] += 1
            counts[owner][1] += accepted
    return {u: (emails.get(u), n, a) for u, (n, a) in counts.items()}


def point_code_location_at(sandbox: Sandbox, warehouse: Path, monkeypatch: Any) -> None:
    """Sets the environment the code location's own resources read when a run starts: the
    sandbox's URL and key, and `warehouse` as the DuckDB file (for `dg.execute_job` runs of
    the jobs as `definitions.py` defines them)."""
    monkeypatch.setenv("SECODA_API_URL", sandbox.base_url)
    monkeypatch.setenv("SECODA_API_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("SECODA_DUCKDB_PATH", str(warehouse))
    monkeypatch.delenv("SECODA_WAREHOUSE_URL", raising=False)
