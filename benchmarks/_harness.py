"""Benchmark harness: the sandbox in its own process, and runs measured in fresh children.

The server gets its own process (and so its own core and GIL), as a real Secoda would be
elsewhere; the benchmark process measures only the client side.
"""

from __future__ import annotations

import multiprocessing
import queue
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def running_sandbox(
    scale: str, db: Path | None = None, **options: object
) -> Iterator[tuple[str, str]]:
    """Yields (base_url, api_key) of a sandbox serving the `scale` workspace.

    Options become command-line flags (latency_ms=20 → --latency-ms 20, in_memory=True →
    --in-memory). The workspace file is `db`, by default .sandbox/<scale>.sqlite in the
    repository, built on first use and reused after.
    """
    command = [sys.executable, "-m", "secoda_pipelines.cli", "sandbox", "--scale", scale]
    command += ["--port", "0", "--db", str(db or REPO / ".sandbox" / f"{scale}.sqlite")]
    for name, value in options.items():
        flag = f"--{name.replace('_', '-')}"
        if isinstance(value, bool):  # a flag: given when True
            command += [flag] if value else []
        else:
            command += [flag, str(value)]
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


def rss_mib(field: str = "VmRSS") -> float:
    """Returns a size of this process from /proc/self/status in MiB: its resident set size
    now (VmRSS), or its peak (VmHWM); 0 where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mib() -> float:
    """Returns this process's peak resident set size in MiB.

    Linux's VmHWM where there is one: getrusage's ru_maxrss carries over the high water of
    the process a child was forked from (exec keeps it), so a spawned child of a parent
    that once held a gigabyte would report a gigabyte.
    """
    return rss_mib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(fn: Callable[..., Any], args: tuple, out: Any) -> None:
    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    out.put((result, seconds, peak_rss_mib()))


def run_in_child(fn: Callable[..., T], *args: Any) -> tuple[T, float, float]:
    """Returns (fn's result, seconds, peak RSS MiB) of fn(*args) run in a fresh process.

    A spawned child starts small, so its peak RSS is the run's own, not the parent's.
    """
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_measure, args=(fn, args, out))
    child.start()
    while True:
        try:
            result = out.get(timeout=1)
            break
        except queue.Empty:
            if not child.is_alive() and out.empty():
                raise RuntimeError(
                    f"the measured child exited with code {child.exitcode} and no result "
                    "(its traceback is above)"
                ) from None
    child.join()
    return result
