"""`secoda-pipelines check-downstream`: the data-contract check for CI, and how it reports.

Exit codes are the contract: 0 nothing downstream, 1 something is (listed on stdout, as a
table or as JSON), 2 any error, with one line on stderr (``error: …``) and nothing on stdout.
A CI step reads 1 as "something depends on this table", so no error may ever exit 1: usage
errors, API errors and unexpected exceptions alike exit 2. No message carries the API key.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from secoda_pipelines.lineage import DownstreamResult

NOTHING, SOMETHING, ERROR = 0, 1, 2
# A CI step should fail fast on a dead network: 3 retries (~4 s) rather than the client's 8.
COMMAND_RETRIES = 3


def format_table(result: DownstreamResult) -> str:
    """Returns the check as text: per table, its downstream resources, then a summary."""
    lines = []
    scope = "all levels" if result.depth == 0 else f"{result.depth} level(s)"
    for reference, entity in result.tables.items():
        rows = [r for r in result.rows if r.table == reference]
        label = f"{entity.name} ({entity.id})"
        if not rows:
            lines.append(f"{label}: nothing downstream within {scope}")
            continue
        lines.append(f"{label}: {len(rows)} downstream within {scope}")
        header = ("DEPTH", "KIND", "RESOURCE ID", "PATH")
        cells = [(str(r.depth), r.kind or "?", r.resource_id, r.path) for r in rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
        for line in (header, *cells):
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    total = len(result.rows)
    lines.append(
        f"{total} downstream resource(s) found for {len(result.tables)} table(s)"
        if total
        else "Nothing downstream."
    )
    return "\n".join(line.rstrip() for line in lines)


def format_json(result: DownstreamResult) -> str:
    """Returns the check as JSON: depth, count, the tables checked and every downstream row."""
    return json.dumps(
        {
            "depth": result.depth,
            "count": len(result.rows),
            "tables": [
                {
                    "table": reference,
                    "table_id": entity.id,
                    "name": entity.name,
                    "downstream": sum(1 for r in result.rows if r.table == reference),
                }
                for reference, entity in result.tables.items()
            ],
            "downstream": [asdict(row) for row in result.rows],
        },
        indent=2,
    )


def error_line(reason: str, api_key: str | None) -> str:
    """Returns ``error: <reason>`` on one line, with the API key (if any) masked."""
    if api_key:
        reason = reason.replace(api_key, "***")
    return "error: " + " ".join(reason.split())


def run_check(
    tables: Sequence[str], depth: int, as_json: bool, environ: Mapping[str, str]
) -> tuple[int, str, str]:
    """Runs the check for `secoda-pipelines check-downstream`; returns (exit code, out, err).

    The exit code is 0 when nothing is downstream, 1 when something is (`out` lists it, as
    JSON with `as_json`), 2 on any error (`err` is its one-line reason: unknown table,
    authentication, network, configuration, an answer the API does not promise, or any
    unexpected exception). SECODA_API_URL and SECODA_API_KEY come from `environ`. Raises
    nothing (but BaseExceptions such as KeyboardInterrupt).
    """
    api_key = (environ.get("SECODA_API_KEY") or "").strip() or None
    try:  # pandas loads slowly; only this command needs it
        from secoda_pipelines.lineage.downstream import LineageInputError, find_downstream
        from secoda_pipelines.secoda import SecodaClient, SecodaError
    except Exception as error:
        return ERROR, "", error_line(f"the check could not load: {error!r}", api_key)
    try:
        with SecodaClient(
            api_key, environ.get("SECODA_API_URL"), retries=COMMAND_RETRIES
        ) as client:
            result = find_downstream(client, tables, depth)
        out = format_json(result) if as_json else format_table(result)
    except (LineageInputError, SecodaError) as error:
        return ERROR, "", error_line(str(error), api_key)
    except Exception as error:  # a bug or an answer nobody foresaw: still an error, not a 1
        reason = f"unexpected {type(error).__name__} while checking lineage: {error}"
        return ERROR, "", error_line(reason, api_key)
    return (SOMETHING if result.rows else NOTHING), out, ""


class _UsageError(click.ClickException):
    """A usage error shown as the check's one `error:` line, exit 2."""

    exit_code = ERROR

    def show(self, file: Any = None) -> None:
        click.echo(error_line(self.format_message(), None), err=True)


class _OneLineUsageErrors(click.Command):
    """A command whose usage errors (missing TABLE, bad --depth) are one line, exit 2."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Returns the parsed context.

        Raises:
            click.ClickException: the arguments do not parse (shown as one line, exit 2).
        """
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx else "secoda-pipelines check-downstream"
            raise _UsageError(f"{error.format_message()} Try '{where} --help'.") from None


@click.command("check-downstream", cls=_OneLineUsageErrors)
@click.argument("tables", nargs=-1, required=True, metavar="TABLE...")
@click.option(
    "--depth",
    type=click.IntRange(0),
    default=1,
    show_default=True,
    help="Levels of lineage to follow; 0 = all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for tools instead of a table.")
def check_downstream_command(tables: tuple[str, ...], depth: int, as_json: bool) -> None:
    """Fail (exit 1) when anything is downstream of TABLE... (ids or database.schema.table).

    Reads SECODA_API_URL and SECODA_API_KEY. Exit 0: nothing downstream; 1: something is
    (listed); 2: an error (unknown table, authentication, network), with a one-line reason.
    """
    # The client's and urllib3's retry warnings, and Python warnings, would break the
    # promised one-line reason: with a handler on the root logger they go nowhere.
    logging.getLogger().addHandler(logging.NullHandler())
    logging.captureWarnings(True)
    code, out, err = run_check(tables, depth, as_json, os.environ)
    if out:
        click.echo(out)
    if err:
        click.echo(err, err=True)
    raise SystemExit(code)
