"""`secoda-pipelines demo`: the whole read side on a local sandbox, with no Secoda account.

Starts the sandbox on the `demo` workspace in a working folder, points the code location at
it through the same environment variables a real deployment uses, registers every
integration as a partition, runs the jobs the schedule and the sensor run, and prints the
two reports. The Dagster instance, the DuckDB file and the sandbox's SQLite file all live
in the working folder, so `--ui` opens the Dagster UI on the same data; with a warehouse
URL (SECODA_WAREHOUSE_URL), the tables go to that PostgreSQL database instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd

from secoda_pipelines.catalog.planners import preview_source
from secoda_pipelines.catalog.reports import adoption_trend, trend_months
from secoda_pipelines.sandbox import DEMO_COVERAGE_TARGETS, Sandbox
from secoda_pipelines.secoda import GROUPS, TAGS, TEAMS, SecodaClient
from secoda_pipelines.store import WAREHOUSE_URL_VARIABLE, Warehouse, choose_warehouse

DUCKDB_FILE = "secoda_warehouse.duckdb"
STALE_COLUMNS = [
    "title",
    "external_usage",
    "internal_usage",
    "days_since_external_update",
    "days_without_views",
]
ADOPTION_COLUMNS = ["email", "replies", "accepted_answers", "acceptance_rate", "last_reply_at"]
# The demo workspace's warehouse moved to a tool that names its database and a schema
# differently (see docs/sandbox.md): the maps that match them.
RENAMED_PAIR = ("Redshift", "BigQuery")
RENAME_MAPS = {"database_map": {"prod": "acme-analytics"}, "schema_map": {"public": "core"}}
TREND_MONTHS = 4  # months of reports/adoption_monthly the demo fills, the latest with replies


@dataclass(frozen=True)
class DemoPaths:
    """Where the demo keeps its state, all below one working folder."""

    workdir: Path

    @property
    def sandbox_db(self) -> Path:
        return self.workdir / "sandbox.sqlite"

    @property
    def duckdb(self) -> Path:
        return self.workdir / DUCKDB_FILE

    @property
    def dagster_home(self) -> Path:
        return self.workdir / "dagster_home"

    @property
    def run_log(self) -> Path:
        return self.workdir / "runs.log"


def prepare_instance(paths: DemoPaths) -> None:
    """Creates the demo's DAGSTER_HOME with telemetry off (a demo should not phone home)."""
    paths.dagster_home.mkdir(parents=True, exist_ok=True)
    config = paths.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")


def demo_environment(
    paths: DemoPaths, sandbox: Sandbox, warehouse_url: str | None = None
) -> dict[str, str]:
    """Returns the environment variables that point the code location at the demo: the
    sandbox, the Dagster instance, and the DuckDB file or, given, the PostgreSQL warehouse."""
    environment = {
        "SECODA_API_URL": sandbox.base_url,
        "SECODA_API_KEY": sandbox.settings.api_key,
        "SECODA_DUCKDB_PATH": str(paths.duckdb.resolve()),
        "DAGSTER_HOME": str(paths.dagster_home.resolve()),
    }
    if warehouse_url:
        environment[WAREHOUSE_URL_VARIABLE] = warehouse_url
    environment["SECODA_COVERAGE_TARGETS"] = str(DEMO_COVERAGE_TARGETS)
    return environment


def coverage_text(warehouse: Warehouse, top: int = 10) -> str:
    """Returns today's documentation coverage by integration and kind, the top of the work
    list (reports.undocumented_popular) and each target's status, as plain-text tables."""
    coverage = warehouse.read_table("reports", "documentation_coverage")
    latest = coverage[coverage["snapshot_date"] == coverage["snapshot_date"].max()]
    by_integration = latest.groupby(["integration_name", "kind"], as_index=False)[
        ["resources", "described", "with_owners"]
    ].sum()
    by_integration["described_share"] = (
        by_integration["described"] / by_integration["resources"]
    ).round(3)
    work = warehouse.read_table("reports", "undocumented_popular").head(top)
    targets = warehouse.read_table("reports", "coverage_targets")
    targets = targets[targets["snapshot_date"] == targets["snapshot_date"].max()]
    target_rows = targets.loc[
        :, ["name", "status", "actual", "expected_today", "target", "deadline"]
    ].copy()
    target_rows["deadline"] = target_rows["deadline"].dt.strftime("%Y-%m-%d")
    with pd.option_context("display.width", 160, "display.max_colwidth", 40):
        return "\n".join(
            [
                "Documentation coverage by integration (reports.documentation_coverage, today):",
                by_integration.to_string(index=False),
                "",
                f"Where documenting pays first (top {len(work)} of "
                "reports.undocumented_popular, most used first):",
                work[
                    ["kind", "database", "schema", "table_title", "title", "external_usage"]
                ].to_string(index=False),
                "",
                f"Coverage targets ({DEMO_COVERAGE_TARGETS.name}; reports.coverage_targets):",
                target_rows.round(3).to_string(index=False),
            ]
        )


def _table(schema: str, table: str, **equal: object) -> pd.DataFrame:
    """Returns the rows of `schema.table` in the warehouse the environment names."""
    return choose_warehouse().read_table(schema, table, equal)


@contextmanager
def _runs_logging_to(path: Path) -> Iterator[None]:
    """Sends the runs' console logs (Dagster's DEBUG stream) to a file instead of the screen."""
    with path.open("a") as log, redirect_stderr(log):
        yield


def materialize_everything(paths: DemoPaths, echo: Callable[[str], None]) -> None:
    """Runs the catalog refresh (with today's usage snapshot), one integration refresh per
    integration, then the monthly adoption of the last months with replies.

    Uses the code location's own `defs` (imported here, after the environment is set) and
    the instance in DAGSTER_HOME, exactly as the schedules and the sensor would.

    Raises:
        RuntimeError: a run failed; the message names it.
    """
    from secoda_pipelines import definitions
    from secoda_pipelines.defs import integration_tags, secoda_integrations
    from secoda_pipelines.defs.assets import utc_today

    defs = definitions.defs

    instance = dg.DagsterInstance.get()
    with _runs_logging_to(paths.run_log):
        result = defs.resolve_job_def("secoda_catalog_refresh").execute_in_process(
            instance=instance, raise_on_error=False
        )
    _check(result, "catalog")
    echo(f"Catalog refreshed, with today's dashboard usage snapshot ({utc_today()}).")
    integrations = _table("secoda", "integrations")
    ids = integrations["id"].tolist()
    known = set(instance.get_dynamic_partitions(secoda_integrations.name))
    instance.add_dynamic_partitions(secoda_integrations.name, [i for i in ids if i not in known])
    echo(f"{len(ids)} integrations registered as partitions.")
    integration_job = defs.resolve_job_def("secoda_integration_refresh")
    for row in integrations.itertuples():
        with _runs_logging_to(paths.run_log):
            result = integration_job.execute_in_process(
                instance=instance,
                partition_key=row.id,
                # As the sensor and the schedule tag theirs: the Runs list shows the name.
                tags=integration_tags({"name": row.name, "type": row.type}),
                raise_on_error=False,
            )
        _check(result, f"tables and columns of {row.name}")
        echo(f"  tables and columns of {row.name} ({row.type}, id {row.id}) loaded")
    months = trend_months(_table("secoda", "question_replies"), TREND_MONTHS)
    adoption_job = defs.resolve_job_def("secoda_adoption_refresh")
    for month in months:
        with _runs_logging_to(paths.run_log):
            result = adoption_job.execute_in_process(
                instance=instance, partition_key=month, raise_on_error=False
            )
        _check(result, f"adoption of {month}")
    if months:
        echo(f"Monthly adoption of {months[0][:7]} to {months[-1][:7]} reported.")
    with _runs_logging_to(paths.run_log):
        result = defs.resolve_job_def("secoda_coverage_snapshot").execute_in_process(
            instance=instance, raise_on_error=False
        )
    _check(result, "documentation coverage")
    echo(f"Documentation coverage snapshot taken ({utc_today()}), targets measured.")


def _run_job(paths: DemoPaths, name: str, config: dict) -> dg.ExecuteInProcessResult:
    from secoda_pipelines import definitions

    defs = definitions.defs
    with _runs_logging_to(paths.run_log):
        return defs.resolve_job_def(name).execute_in_process(
            run_config=config, instance=dg.DagsterInstance.get(), raise_on_error=False
        )


def _action_counts(table: str, run_id: str, column: str = "action") -> str:
    report = _table("reports", table, run_id=run_id)
    counts = report[column].value_counts().sort_index()
    return ", ".join(f"{value}: {count}" for value, count in counts.items()) or "nothing"


def _coverage_lines(run_id: str) -> list[str]:
    coverage = _table("reports", "migration_coverage", run_id=run_id).sort_values("kind")
    lines = [
        f"  coverage, {row.kind}s: {row.documented} documented = {row.carried} carried + "
        f"{row.pending} pending + {row.kept} kept + {row.unmatched} unmatched + "
        f"{row.ambiguous} ambiguous"
        for row in coverage.itertuples()
    ]
    safe = bool(coverage["safe_to_delete_source"].astype(bool).all())
    blocked = coverage["blocked_by"].dropna()
    verdict = "yes" if safe else f"no: {blocked.iloc[0] if len(blocked) else 'see the report'}"
    return [*lines, f"  safe to delete the source integration: {verdict}"]


def _migration_run(
    paths: DemoPaths, source: dict, target: dict, maps: dict[str, dict[str, str]]
) -> list[str]:
    config = {"source_integration_id": source["id"], "target_integration_id": target["id"]}
    result = _run_job(paths, "migrate_documentation", {**config, **maps})
    _check(result, "migrate_documentation")
    plan = _table("reports", "migration_plan", run_id=result.run_id)
    counts = plan.groupby(["kind", "action"]).size().unstack(fill_value=0)
    renamed = "".join(f" {name} {mapping}" for name, mapping in maps.items())
    return [
        f"migrate_documentation: {source['name']} -> {target['name']}{renamed}",
        counts.to_string(),
        f"  {int((plan['action'] == 'update').sum())} PATCHes would be written "
        "(reports.migration_plan)",
        *_coverage_lines(result.run_id),
    ]


def _migration_preview(paths: DemoPaths) -> list[str]:
    """Returns the dry-run plans of the demo's two migrations: the new integration of a
    known type (same names on both sides), and the renamed warehouse (with its maps)."""
    integrations = _table("secoda", "integrations")
    records = integrations.assign(created_at=integrations["created_at"].astype(str))
    records = records.to_dict("records")
    lines: list[str] = []
    pair = next(((src, new) for new in records if (src := preview_source(new, records))), None)
    if pair is not None:
        lines += _migration_run(paths, *pair, {})
    by_name = {r["name"]: r for r in records}
    old, new = RENAMED_PAIR
    if old in by_name and new in by_name:
        lines += _migration_run(paths, by_name[old], by_name[new], RENAME_MAPS)
    return lines


def _flag_preview(paths: DemoPaths) -> list[str]:
    result = _run_job(paths, "flag_stale_dashboards", {})
    _check(result, "flag_stale_dashboards")
    plan = _table("reports", "stale_dashboard_flags", run_id=result.run_id)
    dashboards = plan[plan["resource"] == "dashboard"].sort_values("title")
    lines = [
        "flag_stale_dashboards (tag 'stale', 90 days): "
        f"{_action_counts('stale_dashboard_flags', result.run_id)} "
        "(reports.stale_dashboard_flags)"
    ]
    if (plan["action"] == "create").any():
        lines.append(f"  the tag 'stale' does not exist yet: created once (POST {TAGS})")
    shown = dashboards.head(5)
    lines += [f"  {row.action}: {row.title}" for row in shown.itertuples()]
    if len(dashboards) > len(shown):
        lines.append(f"  ... and {len(dashboards) - len(shown)} more")
    return lines


def _provisioning_preview(paths: DemoPaths) -> list[str]:
    with SecodaClient(os.environ["SECODA_API_KEY"], os.environ["SECODA_API_URL"]) as client:
        group = client.list(GROUPS)[0]["name"]
        team = next(t for t in client.list(TEAMS) if not t.get("archived"))["name"]
    existing = _table("secoda", "users")["email"].iloc[0]
    users = [
        {
            "email": "new.analyst@example.com",
            "role": "Viewer",
            "first_name": "New",
            "last_name": "Analyst",
            "groups": [group],
            "teams": [team],
        },
        {"email": existing, "role": "editor"},
    ]
    result = _run_job(paths, "provision_users", {"users": users})
    _check(result, "provision_users")
    counts = _action_counts("user_provisioning", result.run_id)
    return [f"provision_users ({len(users)} users): {counts} (reports.user_provisioning)"]


def _lineage_preview(paths: DemoPaths) -> list[str]:
    edges = [
        {"from_entity": "product.events.page_views", "to_entity": "product.events.stg_page_views"},
        {
            "from_entity": "product.events.page_views",
            "to_entity": "product.marts.daily_active_users",
        },
    ]
    result = _run_job(paths, "create_manual_lineage", {"edges": edges})
    _check(result, "create_manual_lineage")
    counts = _action_counts("lineage_changes", result.run_id)
    return [f"create_manual_lineage ({len(edges)} edges): {counts} (reports.lineage_changes)"]


def _impact_preview(paths: DemoPaths) -> list[str]:
    table = "product.events.page_views"
    config = {"tables": [table], "depth": 0, "fail_on_downstream": False}
    result = _run_job(paths, "check_downstream_impact", config)
    _check(result, "check_downstream_impact")
    rows = _table("reports", "downstream_impact", run_id=result.run_id)
    rows = rows.sort_values(["depth", "item"])
    lines = [f"check_downstream_impact ({table}, all levels): {len(rows)} downstream"]
    return lines + [f"  {row.depth}: {row.path}" for row in rows.itertuples()]


def run_write_jobs_dry(paths: DemoPaths) -> list[str]:
    """Runs each write-back job in dry run on demo inputs; returns what each planned.

    Raises:
        RuntimeError: a run failed; the message names it.
    """
    return [
        *_migration_preview(paths),
        *_flag_preview(paths),
        *_provisioning_preview(paths),
        *_lineage_preview(paths),
        *_impact_preview(paths),
    ]


def _check(result: dg.ExecuteInProcessResult, what: str) -> None:
    if not result.success:
        errors = [
            event.step_failure_data.error.to_string()
            for event in result.get_step_failure_events()
            if event.step_failure_data.error
        ]
        raise RuntimeError(f"the {what} run failed:\n" + "\n".join(errors))


def report_text(warehouse: Warehouse) -> str:
    """Returns the stale-dashboard, adoption and monthly adoption reports as plain-text
    tables."""
    stale = warehouse.read_table("reports", "stale_dashboards")
    adoption = warehouse.read_table("reports", "adoption")
    trend = adoption_trend(warehouse.read_table("reports", "adoption_monthly"))
    unknown = "(not a user: " + adoption["user_id"].str.slice(0, 8) + "…)"
    adoption["email"] = adoption["email"].fillna(unknown)
    with pd.option_context("display.width", 160, "display.max_colwidth", 40):
        return "\n".join(
            [
                f"Stale dashboards: {len(stale)}",
                stale[STALE_COLUMNS].to_string(index=False),
                "(days_without_views counts the daily usage snapshots in a row without a "
                "view: the demo has taken one, today's; a deployment takes one a day)",
                "",
                f"Question-answering adoption: {len(adoption)} users",
                adoption[ADOPTION_COLUMNS].to_string(index=False),
                "",
                f"Adoption by month (reports.adoption_monthly, {len(trend)} months):",
                trend.to_string(index=False),
            ]
        )


def open_commands(warehouse: Warehouse) -> str:
    """Returns the commands that open the demo's data: SQL on the warehouse, and the Dagster
    UI. A PostgreSQL warehouse is named by host, port and database; its URL (which holds the
    password) is never printed: the commands read it from SECODA_WAREHOUSE_URL."""
    postgres = warehouse.kind == "postgres"
    tool = "psql" if postgres else "DuckDB's SQL"
    lines = [f"The tables are in {warehouse.location()}. Query them with {tool}:"]
    if postgres:
        lines.append(
            f"  export {WAREHOUSE_URL_VARIABLE}='postgresql://USER:PASSWORD@HOST:PORT/DB'"
            "  # your warehouse URL, unless exported already (never printed: it holds the "
            "password)"
        )
    lines += [
        "  " + warehouse.query_hint("SELECT * FROM reports.stale_dashboards"),
        "Open it in the Dagster UI (with the sandbox running again):",
        "  secoda-pipelines demo --ui"
        + (f"  # the warehouse from {WAREHOUSE_URL_VARIABLE}" if postgres else ""),
    ]
    return "\n".join(lines)


# The start of the warning `dagster dev` prints (a SupersessionWarning) at every start.
_DEV_SUPERSEDED = "Function `dev_command` is superseded"


def runs_hint(port: int) -> str:
    """Returns where the UI on `port` lists the demo's runs, and why its Overview does not.

    The demo runs its jobs in its own process; the Overview's timeline shows only runs
    launched through the code location (the launchpad, a schedule, a sensor), so it says
    "No runs" while Runs lists every one.
    """
    return (
        f"The demo's runs: http://127.0.0.1:{port}/runs (they ran in this process, so the "
        "Overview's timeline, which shows runs launched through the UI, schedules and "
        "sensors, leaves them out). The tables: "
        f"http://127.0.0.1:{port}/assets"
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_dagster_ui(environment: dict[str, str], port: int, echo: Callable[[str], None]) -> int:
    """Runs `dagster dev` on the demo until Ctrl-C or SIGTERM; returns its process group id.

    `dagster dev` gets a process group of its own, so that one signal stops the webserver,
    the daemon and the code server together before the caller stops the sandbox.
    """
    command = [sys.executable, "-m", "dagster", "dev", "-m", "secoda_pipelines.definitions"]
    command += ["--port", str(port)]
    # Handlers first: the child then starts with default SIGINT handling even when this
    # process inherited "ignore SIGINT" from a shell that started it in the background.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    # `dagster dev` warns at every start that `dg dev` supersedes it; `dg` is another
    # package (dagster-dg-cli) that needs a dg project, so the demo stays on `dagster dev`.
    quiet = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), f"ignore:{_DEV_SUPERSEDED}"]))
    process = subprocess.Popen(
        command,
        env={**os.environ, **environment, "PYTHONWARNINGS": quiet},
        start_new_session=True,
    )
    echo(
        f"Dagster UI starting at http://127.0.0.1:{port} (process group {process.pid}; "
        "Ctrl-C stops it and the sandbox)"
    )
    echo(runs_hint(port))
    try:
        process.wait()
    except KeyboardInterrupt:
        echo("Stopping the Dagster UI...")
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in its own terminal would send
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return process.pid
