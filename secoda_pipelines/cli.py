"""The `secoda-pipelines` command: the local sandbox and the demo."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click

from secoda_pipelines.sandbox import DEFAULT_API_KEY, SCALES, Sandbox

DEMO_DIR = Path(".demo")


def _interrupt(signum: int, frame: object) -> None:
    """Turns SIGTERM (a process manager, `kill`) into the same clean stop as Ctrl-C."""
    raise KeyboardInterrupt


def _serve(sandbox: Sandbox, scale: str, intro: str) -> None:
    """Starts the sandbox, prints how to reach it, and serves until Ctrl-C or SIGTERM."""
    signal.signal(signal.SIGTERM, _interrupt)
    sandbox.start()
    click.echo(intro)
    click.echo(f"Secoda sandbox ({scale}) serving at {sandbox.base_url}")
    click.echo(f"  export SECODA_API_URL={sandbox.base_url}")
    click.echo(f"  export SECODA_API_KEY={sandbox.api_key}")
    click.echo("Press Ctrl-C to stop.", err=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        click.echo("Sandbox stopped.", err=True)


@click.group()
def main() -> None:
    """Secoda workflows as Dagster pipelines, and a local Secoda API to try them on."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file holding the workspace [default: .sandbox/<scale>.sqlite].",
)
@click.option("--api-key", default=DEFAULT_API_KEY, show_default=True, help="Bearer key to accept.")
@click.option("--scale", type=click.Choice(SCALES), default="demo", show_default=True)
@click.option("--latency-ms", type=click.FloatRange(0), default=0.0, show_default=True)
@click.option("--fault-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option(
    "--write-rate-limit",
    type=click.IntRange(1),
    default=30,
    show_default=True,
    help="Writes allowed per sliding minute before 429.",
)
def sandbox(
    host: str,
    port: int,
    db_path: Path | None,
    api_key: str,
    scale: str,
    latency_ms: float,
    fault_rate: float,
    write_rate_limit: int,
) -> None:
    """Serve a local Secoda API (under /api/v1/) on a seeded SQLite workspace."""
    db_path = db_path or Path(".sandbox") / f"{scale}.sqlite"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    server = Sandbox(
        db_path,
        scale=scale,
        host=host,
        port=port,
        api_key=api_key,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        write_rate_limit=write_rate_limit,
    )
    _serve(server, scale, f"Workspace: {db_path}")


@main.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEMO_DIR,
    show_default=True,
    help="Folder for the sandbox, the DuckDB file and the Dagster instance.",
)
@click.option("--ui", is_flag=True, help="Then start the Dagster UI on the same data.")
@click.option("--ui-port", default=3000, show_default=True, type=click.IntRange(1, 65535))
def demo(workdir: Path, ui: bool, ui_port: int) -> None:
    """Run every pipeline on a local Secoda sandbox and print the reports."""
    from secoda_pipelines import demo as demo_run  # Dagster loads slowly; only the demo needs it

    paths = demo_run.DemoPaths(workdir)
    demo_run.prepare_instance(paths)
    server = Sandbox(paths.sandbox_db, scale="demo", port=0).start()
    try:
        environment = demo_run.demo_environment(paths, server)
        os.environ.update(environment)
        click.echo(f"Demo working folder: {workdir.resolve()}")
        click.echo(f"Secoda sandbox (demo workspace) serving at {server.base_url}")
        try:
            demo_run.materialize_everything(paths, click.echo)
            planned = demo_run.run_write_jobs_dry(paths)
        except RuntimeError as error:
            raise click.ClickException(str(error)) from None
        click.echo("")
        click.echo(demo_run.report_text(paths.duckdb))
        click.echo("")
        click.echo("Write-back jobs, in dry run (nothing was written to Secoda):")
        click.echo("\n".join(planned))
        click.echo(f"Run logs: {paths.run_log}")
        click.echo("")
        click.echo(demo_run.open_commands(paths))
        if ui:
            demo_run.run_dagster_ui(environment, ui_port, click.echo)
    finally:
        server.stop()


@main.command("check-downstream")
@click.argument("tables", nargs=-1, required=True, metavar="TABLE...")
@click.option(
    "--depth",
    type=click.IntRange(0),
    default=1,
    show_default=True,
    help="Levels of lineage to follow; 0 = all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for tools instead of a table.")
def check_downstream(tables: tuple[str, ...], depth: int, as_json: bool) -> None:
    """Fail (exit 1) when anything is downstream of TABLE... (ids or database.schema.table).

    Reads SECODA_API_URL and SECODA_API_KEY. Exit 0: nothing downstream; 1: something is
    (listed); 2: an error (unknown table, authentication, network), with a one-line reason.
    """
    import logging

    from secoda_pipelines.downstream import run_check  # pandas loads slowly; only this needs it

    # The client's and urllib3's retry warnings would break the promised one-line reason.
    logging.getLogger().addHandler(logging.NullHandler())
    code, out, err = run_check(tables, depth, as_json, os.environ)
    if out:
        click.echo(out)
    if err:
        click.echo(err, err=True)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
