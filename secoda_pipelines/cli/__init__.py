"""The `secoda-pipelines` command (console script ``secoda_pipelines.cli:main``).

One module per subcommand: `sandbox` (serve the local Secoda API), `demo` (every pipeline
on a sandbox), `check_downstream` (the data-contract check for CI, with its rendering and
exit codes). Dagster and pandas load slowly, so each command imports them only when it runs:
``secoda-pipelines --help`` and ``secoda-pipelines sandbox`` load neither.
"""

from __future__ import annotations

import click

from secoda_pipelines.cli import check_downstream, demo, sandbox


@click.group()
def main() -> None:
    """Secoda workflows as Dagster pipelines, and a local Secoda API to try them on."""


main.add_command(sandbox.sandbox_command)
main.add_command(demo.demo_command)
main.add_command(check_downstream.check_downstream_command)

__all__ = ["main"]
