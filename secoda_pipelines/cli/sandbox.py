"""`secoda-pipelines sandbox`: serve the local Secoda API until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

import click

from secoda_pipelines.sandbox import (
    DEFAULT_API_KEY,
    EVERY_RANDOM_FAULT_KIND,
    FAULT_KINDS,
    HTTP_METHODS,
    RANDOM_FAULT_KINDS,
    SCALES,
    Sandbox,
    SandboxSettings,
)


def _interrupt(signum: int, frame: object) -> None:
    """Turns SIGTERM (a process manager, `kill`) into the same clean stop as Ctrl-C."""
    raise KeyboardInterrupt


def _listed(value: str, valid: tuple[str, ...], what: str, choices: str) -> tuple[str, ...]:
    """Returns the comma-separated names of `value`, each once, in order.

    Raises:
        click.BadParameter: a name not in `valid`, or none (the message ends with
            `choices`, which names the valid ones).
    """
    names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown {what} {', '.join(map(repr, unknown)) or repr(value)}; {choices}"
        )
    return names


def _fault_kinds(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    """Returns the comma-separated fault kinds as a tuple ("all": every kind but slow).

    Raises:
        click.BadParameter: an unknown kind (the message names the valid ones), or none.
    """
    if value.strip().lower() == "all":
        return EVERY_RANDOM_FAULT_KIND
    choices = f"valid kinds: {', '.join(FAULT_KINDS)} (or all)"
    return _listed(value, FAULT_KINDS, "fault kind", choices)


def _fault_methods(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    """Returns the comma-separated HTTP methods as an upper-case tuple.

    Raises:
        click.BadParameter: an unknown method (the message names the valid ones), or none.
    """
    choices = f"valid methods: {', '.join(HTTP_METHODS)}"
    return _listed(value.upper(), HTTP_METHODS, "method", choices)


def _serve(sandbox: Sandbox, intro: list[str]) -> None:
    """Starts the sandbox, prints `intro` and how to reach it, and serves until Ctrl-C or
    SIGTERM; returns None once it has stopped.

    Raises:
        OSError: the address cannot be bound.
    """
    signal.signal(signal.SIGTERM, _interrupt)
    try:  # a stop while seeding or printing is as clean as one while serving
        sandbox.start()
        for line in intro:
            click.echo(line)
        click.echo(f"Secoda sandbox ({sandbox.scale}) serving at {sandbox.base_url}")
        click.echo(f"  export SECODA_API_URL={sandbox.base_url}")
        click.echo(f"  export SECODA_API_KEY={sandbox.settings.api_key}")
        click.echo("Press Ctrl-C to stop.", err=True)
        # Waits in short joins, not signal.pause(): a signal landing just before pause()
        # would leave it waiting for another one.
        sandbox.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        click.echo("Sandbox stopped.", err=True)


@click.command("sandbox")
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
@click.option(
    "--latency-ms",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Milliseconds slept before answering each request.",
)
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of the requests of --fault-methods answered with a random fault of --fault-kinds.",
)
@click.option(
    "--fault-kinds",
    default=",".join(RANDOM_FAULT_KINDS),
    show_default=True,
    callback=_fault_kinds,
    help="Comma-separated kinds random faults pick from, among those that apply to each "
    f"request: {', '.join(FAULT_KINDS)}; or 'all' (every kind but slow). See docs/sandbox.md.",
)
@click.option(
    "--fault-methods",
    default="GET",
    show_default=True,
    callback=_fault_methods,
    help=f"Comma-separated methods random faults hit ({', '.join(HTTP_METHODS)}).",
)
@click.option(
    "--write-rate-limit",
    type=click.IntRange(1),
    default=30,
    show_default=True,
    help="Writes allowed per sliding minute before 429.",
)
@click.option(
    "--in-memory",
    is_flag=True,
    help="Serve a copy of the workspace held in memory (writes are not kept in the file): "
    "steady timings where the machine reclaims the page cache.",
)
def sandbox_command(
    host: str,
    port: int,
    db_path: Path | None,
    api_key: str,
    scale: str,
    latency_ms: float,
    fault_rate: float,
    fault_kinds: tuple[str, ...],
    fault_methods: tuple[str, ...],
    write_rate_limit: int,
    in_memory: bool,
) -> None:
    """Serve a local Secoda API (under /api/v1/) on a seeded SQLite workspace."""
    db_path = db_path or Path(".sandbox") / f"{scale}.sqlite"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    server = Sandbox(
        db_path,
        scale=scale,
        host=host,
        port=port,
        settings=SandboxSettings(
            api_key=api_key,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            fault_kinds=fault_kinds,
            fault_methods=fault_methods,
            write_rate_limit=write_rate_limit,
        ),
        in_memory=in_memory,
    )
    faulted = "GETs" if fault_methods == ("GET",) else f"{', '.join(fault_methods)} requests"
    intro = [
        f"Workspace: {db_path}" + (" (served from memory)" if in_memory else ""),
        f"Latency {latency_ms:g} ms per request; fault rate {fault_rate:g} of {faulted}; "
        f"429 past {write_rate_limit} writes a minute.",
    ]
    if fault_rate > 0:
        intro.append(f"Random fault kinds: {', '.join(fault_kinds)}.")
    _serve(server, intro)
