"""The `secoda-pipelines` group: its commands, and that it starts without Dagster or pandas."""

from __future__ import annotations

import subprocess
import sys

import pytest

from secoda_pipelines_tests.cli.console_script import run
from secoda_pipelines_tests.helpers import clean_environment

pytestmark = pytest.mark.slow  # each test starts the console script

SLOW_IMPORTS = ("dagster", "pandas", "duckdb")


def test_help_lists_the_three_commands():
    result = run("--help", timeout=60)
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:")[1].split()
    assert {"sandbox", "demo", "check-downstream"} <= set(commands)


def test_python_dash_m_runs_the_same_command():
    # The benchmarks start the sandbox this way.
    result = subprocess.run(
        [sys.executable, "-m", "secoda_pipelines.cli", "sandbox", "--help"],
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "--write-rate-limit" in result.stdout


@pytest.mark.parametrize(
    "args", [["--help"], ["sandbox", "--help"], ["check-downstream", "--help"]]
)
def test_starting_the_command_loads_neither_dagster_nor_pandas(args):
    probe = (
        "import sys\n"
        "from secoda_pipelines.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {SLOW_IMPORTS!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
