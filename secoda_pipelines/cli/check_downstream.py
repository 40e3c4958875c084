"""`secoda-pipelines check-downstream`: the data-contract check for CI, and how it runs.

Exit codes are the contract: 0 nothing that ``--fail-on`` counts is downstream, 1 something
is (listed, in the chosen ``--format``), 2 any error, with one line on stderr (``error: …``)
and nothing on stdout. A CI step reads 1 as "something depends on this change", so no
error may ever exit 1: usage errors, unreadable dbt manifests, API and warehouse errors and
unexpected exceptions alike exit 2. No message carries the API key or a password. The
renderers are in `cli.downstream_formats`; the check itself is `lineage.contract`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import pandas as pd

NOTHING, SOMETHING, ERROR = 0, 1, 2
# A CI step should fail fast on a dead network: 3 retries (~4 s) rather than the client's 8.
COMMAND_RETRIES = 3
FORMAT_CHOICES = ("table", "json", "markdown", "junit", "github")
FAIL_ON_CHOICES = ("any", "active", "none")
STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


@dataclass(frozen=True)
class CheckOptions:
    """What `check-downstream` was asked (the command line's options, parsed)."""

    tables: Sequence[str] = ()
    depth: int = 1
    output_format: str = "table"
    dbt_manifest: str | None = None
    dbt_state: str | None = None
    fail_on: str = "any"
    active_days: int = 30
    output: str | None = None


def error_line(reason: str, secrets: Sequence[str | None] = ()) -> str:
    """Returns ``error: <reason>`` on one line, with each secret (if any) masked."""
    for secret in secrets:
        if secret:
            reason = reason.replace(secret, "***")
    return "error: " + " ".join(reason.split())


def warning_line(text: str) -> str:
    """Returns ``warning: <text>`` on one line."""
    return "warning: " + " ".join(text.split())


def usage_history(environ: Mapping[str, str]) -> pd.DataFrame:
    """Returns the stored ``secoda/dashboard_usage`` rows, read-only from the warehouse
    SECODA_WAREHOUSE_URL (else the DuckDB file SECODA_DUCKDB_PATH) names; an empty frame
    when there is no warehouse file or no such table.

    Raises:
        WarehouseError: the warehouse is named but cannot be read (masked).
    """
    from secoda_pipelines.store import choose_warehouse

    warehouse = choose_warehouse(
        environ.get("SECODA_WAREHOUSE_URL") or None, environ.get("SECODA_DUCKDB_PATH") or None
    )
    return warehouse.read_table("secoda", "dashboard_usage")


def _write(path: str, text: str, append: bool = False) -> None:
    """Writes (or appends) `text` and a newline to `path`.

    Raises:
        OSError: the file cannot be written.
    """
    with Path(path).open("a" if append else "w", encoding="utf-8") as file:
        file.write(text if text.endswith("\n") else text + "\n")


def run_check(options: CheckOptions, environ: Mapping[str, str]) -> tuple[int, str, str]:
    """Runs the check for `secoda-pipelines check-downstream`; returns (exit code, out, err).

    The exit code is 0 when nothing `fail_on` counts is downstream, 1 when something is,
    2 on any error (`err` is its one-line reason: a manifest that cannot be read, unknown
    table, authentication, network, warehouse, configuration, an answer the API does not
    promise, or any unexpected exception; with 0 and 1, `err` holds ``warning:`` lines, such
    as manifests made by two dbt versions). `out` is the chosen format, or empty when
    `options.output` names the file it went to; with the github format, the markdown is
    also appended to the file GITHUB_STEP_SUMMARY names. SECODA_API_URL, SECODA_API_KEY,
    SECODA_WAREHOUSE_URL and SECODA_DUCKDB_PATH come from `environ`. Raises nothing (but
    BaseExceptions such as KeyboardInterrupt).
    """
    api_key = (environ.get("SECODA_API_KEY") or "").strip() or None
    secrets = [api_key]
    try:  # pandas loads slowly; only this command needs it
        from secoda_pipelines.cli.downstream_formats import format_markdown, render
        from secoda_pipelines.dbt import ManifestError, read_manifest
        from secoda_pipelines.lineage import LineageInputError, check_contract
        from secoda_pipelines.secoda import SecodaClient, SecodaError
        from secoda_pipelines.store import WarehouseError
    except Exception as error:
        return ERROR, "", error_line(f"the check could not load: {error!r}", secrets)
    try:
        manifest = state = None
        if options.dbt_manifest is not None:
            manifest = read_manifest(options.dbt_manifest)
        if options.dbt_state is not None:
            state = read_manifest(options.dbt_state)
        history = usage_history(environ)
        with SecodaClient(
            api_key, environ.get("SECODA_API_URL"), retries=COMMAND_RETRIES
        ) as client:
            check = check_contract(
                client,
                options.tables,
                depth=options.depth,
                fail_on=options.fail_on,
                active_days=options.active_days,
                history=history,
                manifest=manifest,
                state=state,
            )
        out = render(check, options.output_format)
        summary = environ.get(STEP_SUMMARY_VARIABLE)
        if options.output_format == "github" and summary:
            _write(summary, format_markdown(check), append=True)
        if options.output is not None:
            _write(options.output, out)
            out = ""
    except (ManifestError, LineageInputError, SecodaError, WarehouseError) as error:
        return ERROR, "", error_line(str(error), secrets)
    except OSError as error:
        return ERROR, "", error_line(f"cannot write {error.filename}: {error.strerror}", secrets)
    except Exception as error:  # a bug or an answer nobody foresaw: still an error, not a 1
        reason = f"unexpected {type(error).__name__} while checking lineage: {error}"
        return ERROR, "", error_line(reason, secrets)
    return check.exit_code, out, "\n".join(warning_line(w) for w in check.warnings)


class _UsageError(click.ClickException):
    """A usage error shown as the check's one `error:` line, exit 2."""

    exit_code = ERROR

    def show(self, file: Any = None) -> None:
        click.echo(error_line(self.format_message()), err=True)


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
@click.argument("tables", nargs=-1, metavar="[TABLE]...")
@click.option(
    "--dbt-manifest",
    type=click.Path(dir_okay=False),
    help="The pull request's dbt manifest.json (dbt 1.6 or later).",
)
@click.option(
    "--dbt-state",
    type=click.Path(dir_okay=False),
    help="The production manifest.json: check the models new, modified or deleted against it.",
)
@click.option(
    "--depth",
    type=click.IntRange(0),
    default=1,
    show_default=True,
    help="Levels of lineage to follow; 0 = all.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON_CHOICES),
    default="any",
    show_default=True,
    help="Exit 1 when anything (any) or anything in use (active) is downstream; none: never.",
)
@click.option(
    "--active-days",
    type=click.IntRange(1),
    default=30,
    show_default=True,
    help="A resource viewed in a usage snapshot of this many last days is active.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMAT_CHOICES),
    default=None,
    help="table (default), json, markdown (a PR comment), junit (XML), github (annotations).",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the report to this file instead of standard output.",
)
def check_downstream_command(
    tables: tuple[str, ...],
    dbt_manifest: str | None,
    dbt_state: str | None,
    depth: int,
    fail_on: str,
    active_days: int,
    output_format: str | None,
    as_json: bool,
    output: str | None,
) -> None:
    """Fail (exit 1) when something is downstream of TABLE... (ids or database.schema.table)
    or of the dbt models a pull request changes (--dbt-manifest with --dbt-state).

    Reads SECODA_API_URL and SECODA_API_KEY, and the stored usage snapshots through
    SECODA_WAREHOUSE_URL / SECODA_DUCKDB_PATH (read-only; none is fine). Exit 0: nothing
    --fail-on counts is downstream; 1: something is (listed); 2: an error (unreadable
    manifest, unknown table, authentication, network), with a one-line reason.
    """
    if as_json and output_format not in (None, "json"):
        raise _UsageError(f"--json and --format {output_format} disagree: give one of them.")
    if dbt_state is not None and dbt_manifest is None:
        raise _UsageError("--dbt-state needs --dbt-manifest (the pull request's manifest.json).")
    if not tables and dbt_manifest is None:
        raise _UsageError(
            "Missing argument 'TABLE...', or --dbt-manifest with --dbt-state. "
            "Try 'secoda-pipelines check-downstream --help'."
        )
    # The client's and urllib3's retry warnings, and Python warnings, would break the
    # promised one-line reason: with a handler on the root logger they go nowhere.
    logging.getLogger().addHandler(logging.NullHandler())
    logging.captureWarnings(True)
    options = CheckOptions(
        tables=tables,
        depth=depth,
        output_format=output_format or ("json" if as_json else "table"),
        dbt_manifest=dbt_manifest,
        dbt_state=dbt_state,
        fail_on=fail_on,
        active_days=active_days,
        output=output,
    )
    code, out, err = run_check(options, os.environ)
    if out:
        click.echo(out)
    if err:
        click.echo(err, err=True)
    raise SystemExit(code)
