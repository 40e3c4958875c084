"""Runs `secoda-pipelines sandbox` in its own process for a benchmark.

The server gets its own process (and so its own core and GIL), as a real Secoda would be
elsewhere; the benchmark process measures only the client side.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def running_sandbox(scale: str, **options: object) -> Iterator[tuple[str, str]]:
    """Yields (base_url, api_key) of a sandbox serving the `scale` workspace.

    Options become command-line flags (latency_ms=20 → --latency-ms 20). The workspace file
    is .sandbox/<scale>.sqlite in the repository, built on first use and reused after.
    """
    command = [sys.executable, "-m", "secoda_pipelines.cli", "sandbox", "--scale", scale]
    command += ["--port", "0", "--db", str(REPO / ".sandbox" / f"{scale}.sqlite")]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        base_url = api_key = None
        assert process.stdout is not None
        for line in process.stdout:
            if match := re.search(r"serving at (\S+)", line):
                base_url = match.group(1)
            if match := re.search(r"SECODA_API_KEY=(\S+)", line):
                api_key = match.group(1)
                break
        if base_url is None or api_key is None:
            raise RuntimeError(f"the sandbox exited before serving (exit {process.wait()})")
        yield base_url, api_key
    finally:
        process.terminate()
        process.wait(timeout=30)
