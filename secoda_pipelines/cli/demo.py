"""`secoda-pipelines demo`: every pipeline on a local sandbox, then (--ui) the Dagster UI."""

from __future__ import annotations

import os
from pathlib import Path

import click
from click.core import ParameterSource

from secoda_pipelines.sandbox import Sandbox

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
        click.echo("Write-back jobs, in dry run (nothing was written to Secoda):")
        click.echo("\n".join(planned))
        click.echo(f"Run logs: {paths.run_log}")
        click.echo("")
        click.echo(demo_run.open_commands(warehouse))
        if ui:
            demo_run.run_dagster_ui(environment, ui_port, click.echo)
    finally:
        server.stop()
