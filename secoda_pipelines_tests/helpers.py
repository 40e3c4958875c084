"""Helpers shared by the tests: reading the sandbox and DuckDB directly, running jobs, a
free port and a clean environment for child processes."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import requests

from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines.store import ReportStore, WarehouseResource

NEW_SNOWFLAKE = "Snowflake"
# The headers of a plain `requests` call to the sandbox with its default key.
AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
# Variables of the test process a child process must not inherit: it gets exactly the
# Secoda and Dagster settings it is given.
SCRUBBED_PREFIXES = ("SECODA_", "DAGSTER_")


# Below the range the kernel hands out for port 0 and outgoing connections (Linux's default
# is 32768-60999): a port picked here is not given to another process binding port 0 (the
# floors venv's tests run beside CI's) before the server it was picked for binds it.
PICKED_PORTS = range(20_000, 32_000)


def free_port(host: str = "127.0.0.1") -> int:
    """Returns a TCP port of PICKED_PORTS that nothing is bound to at `host` right now.

    Raises:
        OSError: 200 random ports of the range were all taken.
    """
    for port in random.sample(PICKED_PORTS, 200):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port among 200 tried in {PICKED_PORTS} at {host}")


class QuietHandler(BaseHTTPRequestHandler):
    """The request handler of a small stdlib test server (`serving`): logs nothing, and
    `reply` sends a whole answer."""

    def reply(
        self,
        body: bytes,
        status: int = 200,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Sends status, Content-Type, `headers`, Content-Length and body."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    """Yields a stdlib HTTP server on a free loopback port, answering with `handler` from a
    thread (for answers the sandbox never gives); shuts it down afterwards. Its
    `server_address[1]` is the port; `base_url(server)` the API root."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def base_url(server: ThreadingHTTPServer) -> str:
    """Returns the API root (…/api/v1/) of a `serving` server."""
    return f"http://127.0.0.1:{server.server_address[1]}/api/v1/"


def clean_environment(**variables: str) -> dict[str, str]:
    """Returns this process's environment without SECODA_* and DAGSTER_*, plus `variables`
    (for a child process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    return {**env, **variables}


def drop_secoda_variables(monkeypatch: Any) -> None:
    """Removes every SECODA_ variable from this process's environment for the test, so that
    only the settings a test passes choose the store."""
    for name in list(os.environ):
        if name.startswith("SECODA_"):
            monkeypatch.delenv(name)


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
            sandbox.base_url + path, params={**params, "page": page}, headers=AUTH, timeout=10
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
        "reports": ReportStore(warehouse=WarehouseResource(database=str(warehouse))),
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


def comparable_rows(frame: pd.DataFrame, drop: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Returns the frame's rows as plain dicts sorted by `item`, without the columns in
    `drop` (those it has), each missing value (None, NA, NaN) as None: two backends' copies
    of a report compare equal this way."""
    rows = frame.drop(columns=[c for c in drop if c in frame.columns]).to_dict("records")
    plain = [
        {k: None if v is None or v is pd.NA or v != v else v for k, v in r.items()} for r in rows
    ]
    return sorted(plain, key=lambda r: r["item"])


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


def materialize_demo(sandbox: Sandbox, workdir: Path, monkeypatch: Any, warehouse_url: str | None):
    """Runs what `secoda-pipelines demo` materializes (catalog refresh, every partition,
    monthly adoption, the coverage snapshot) against `sandbox`, with the demo's environment
    set through `monkeypatch` (the DuckDB file in `workdir`, else `warehouse_url`); returns
    the demo's paths."""
    from secoda_pipelines import demo

    paths = demo.DemoPaths(workdir)
    demo.prepare_instance(paths)
    monkeypatch.delenv("SECODA_WAREHOUSE_URL", raising=False)
    for name, value in demo.demo_environment(paths, sandbox, warehouse_url).items():
        monkeypatch.setenv(name, value)
    demo.materialize_everything(paths, lambda line: None)
    return paths
