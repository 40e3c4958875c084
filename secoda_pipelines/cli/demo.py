"""`secoda-pipelines demo`: every pipeline on a local sandbox, then (--ui) the Dagster UI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from secoda_pipelines.sandbox import DEMO_DBT_MANIFEST_FILES, DEMO_DBT_MANIFESTS, Sandbox

if TYPE_CHECKING:
    from secoda_pipelines.store import Warehouse

DEMO_DIR = Path(".demo")


def _given_as(parameter: str) -> str:
    """Returns how the user gave `parameter`: its environment variable or its option."""
    context = click.get_current_context()
    option = next(p for p in context.command.params if p.name == parameter)
    if context.get_parameter_source(parameter) is ParameterSource.ENVIRONMENT:
        return str(option.envvar)
    return option.opts[0]


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEMO_DIR,
    show_default=True,
    help="Folder for the sandbox, the DuckDB file and the Dagster instance.",
)
@click.option(
    "--warehouse",
    "warehouse_url",
    metavar="postgresql://USER:PASSWORD@HOST:PORT/DB",
    envvar="SECODA_WAREHOUSE_URL",
    show_envvar=True,
    help="Keep every table in this PostgreSQL database instead of the DuckDB file. Better: "
    "export SECODA_WAREHOUSE_URL instead, which keeps the password off the command line "
    "(out of the shell's history and the process list). The URL is never printed.",
)
@click.option("--ui", is_flag=True, help="Then start the Dagster UI on the same data.")
@click.option("--ui-port", default=3000, show_default=True, type=click.IntRange(1, 65535))
def demo_command(workdir: Path, warehouse_url: str | None, ui: bool, ui_port: int) -> None:
    """Run every pipeline on a local Secoda sandbox and print the reports."""
    from secoda_pipelines import demo as demo_run  # Dagster loads slowly; only the demo needs it
    from secoda_pipelines.store import WarehouseError, choose_warehouse

    try:  # a bad URL stops the demo before anything starts (shown without its secrets)
        warehouse = choose_warehouse(warehouse_url or None, str(workdir / demo_run.DUCKDB_FILE))
    except (WarehouseError, ValueError) as error:
        raise click.BadParameter(str(error), param_hint=_given_as("warehouse_url")) from None
    paths = demo_run.DemoPaths(workdir)
    demo_run.prepare_instance(paths)
    server = Sandbox(paths.sandbox_db, scale="demo", port=0).start()
    try:
        environment = demo_run.demo_environment(paths, server, warehouse_url)
        os.environ.update(environment)
        click.echo(f"Demo working folder: {workdir.resolve()}")
        click.echo(f"Secoda sandbox (demo workspace) serving at {server.base_url}")
        click.echo(f"Warehouse: {warehouse.location()}")
        try:
            demo_run.materialize_everything(paths, click.echo)
            planned = demo_run.run_write_jobs_dry(paths)
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None
        click.echo("")
        click.echo(demo_run.report_text(warehouse))
        click.echo("")
        click.echo(demo_run.coverage_text(warehouse))
        click.echo("")
        click.echo("Write-back jobs, in dry run (nothing was written to Secoda):")
        click.echo("\n".join(planned))
        click.echo(f"Run logs: {paths.run_log}")
        click.echo("")
        click.echo(pull_request_check(warehouse))
        click.echo("")
        click.echo(demo_run.open_commands(warehouse))
        if ui:
            demo_run.run_dagster_ui(environment, ui_port, click.echo)
    finally:
        server.stop()


def pull_request_check(warehouse: Warehouse) -> str:
    """Returns the data-contract check of the demo's dbt pull request (two models changed
    against production: the manifests `secoda_pipelines.sandbox` ships), as the
    pull-request comment `check-downstream --format markdown` writes, after the command
    that gives it and its exit code.

    Raises:
        ManifestError: a shipped manifest cannot be read.
        SecodaError: the sandbox did not answer.
    """
    from secoda_pipelines.cli.downstream_formats import format_markdown
    from secoda_pipelines.dbt import read_manifest
    from secoda_pipelines.lineage import check_contract
    from secoda_pipelines.secoda import SecodaClient

    pull_request, production = (DEMO_DBT_MANIFESTS / n for n in DEMO_DBT_MANIFEST_FILES)
    with SecodaClient(os.environ["SECODA_API_KEY"], os.environ["SECODA_API_URL"]) as client:
        check = check_contract(
            client,
            fail_on="active",
            depth=0,
            history=warehouse.read_table("secoda", "dashboard_usage"),
            manifest=read_manifest(pull_request),
            state=read_manifest(production),
        )
    command = (
        f"secoda-pipelines check-downstream --dbt-manifest {pull_request.name} "
        f"--dbt-state {production.name} --depth 0 --fail-on active --format markdown"
    )
    return "\n".join(
        [
            "Data-contract check of a dbt pull request that changes two models "
            f"(manifests in {DEMO_DBT_MANIFESTS}):",
            f"$ {command}   # exit {check.exit_code}",
            "",
            format_markdown(check),
        ]
    )
