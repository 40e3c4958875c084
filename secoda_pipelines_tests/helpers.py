"""Helpers shared by the tests: reading the sandbox and DuckDB directly, running jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import requests
from dagster_duckdb import DuckDBResource

from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox

NEW_SNOWFLAKE = "Snowflake"


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    """Returns the result of `sql` on the DuckDB file (read-only)."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).df()


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
        "duckdb": DuckDBResource(database=str(warehouse)),
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
