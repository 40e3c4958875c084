"""The `secoda-pipelines` command: the local sandbox and the demo."""

from __future__ import annotations

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
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
def demo(port: int) -> None:
    """Start the demo: the sandbox on the `demo` workspace in ./.demo/."""
    DEMO_DIR.mkdir(exist_ok=True)
    server = Sandbox(DEMO_DIR / "sandbox.sqlite", scale="demo", port=port)
    _serve(server, "demo", f"Demo working folder: {DEMO_DIR.resolve()}")


if __name__ == "__main__":
    main()
