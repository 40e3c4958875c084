"""Processes of the test deployment: started in their own process group with their output in
a log file, stopped reliably (SIGTERM to the group, then SIGKILL), and polled until ready.
Also the probe of the run workers' peak memory."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class DeploymentError(RuntimeError):
    """A process of the deployment died or did not become ready in time."""


def wait_until(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    interval: float = 0.5,
    check: Callable[[], None] | None = None,
) -> Any:
    """Returns condition()'s first truthy value, polling every `interval` seconds.

    `check` runs before each poll (e.g. to fail fast when a process died).

    Raises:
        TimeoutError: nothing truthy within `timeout` seconds; the message names `what`.
    """
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@contextlib.contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Sets the variables in os.environ for the block, then restores what was there."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def executable(name: str) -> str:
    """Returns the console script `name` of this interpreter's environment (else PATH).

    Raises:
        DeploymentError: it is in neither place.
    """
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise DeploymentError(f"{name} is not installed next to {sys.executable} nor on PATH")
    return found


@dataclass
class ManagedProcess:
    """A subprocess in its own process group, its output in a log file."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    redact: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def start(
        cls,
        name: str,
        command: list[str],
        env: Mapping[str, str],
        cwd: Path,
        log_dir: Path,
        redact: Iterable[str] = (),
    ) -> ManagedProcess:
        """Returns the started process (stdout and stderr to log_dir/<name>.log)."""
        log_path = log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                command,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: runs it spawns die with it
            )
        return cls(name, popen, log_path, tuple(v for v in redact if v))

    def alive(self) -> bool:
        """Returns whether the process is still running."""
        return self.popen.poll() is None

    def check(self) -> None:
        """Returns None while the process runs.

        Raises:
            DeploymentError: it exited; the message holds its exit code and log tail.
        """
        if not self.alive():
            raise DeploymentError(
                f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}"
            )

    def tail(self, chars: int = 4000) -> str:
        """Returns the end of the log, with every redacted value replaced by ***."""
        try:
            text = self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""
        for secret in self.redact:
            text = text.replace(secret, "***")
        return text

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM to the process group, SIGKILL to it after `grace` seconds; idempotent.

        The group's other members (the code server's run workers) get the same signals.
        """
        pgid = self.popen.pid  # start_new_session: the group id is the leader's pid
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=wait)
                if not _group_alive(pgid):
                    return
            if sig == signal.SIGTERM:
                # Leader gone but members left: wait a little for them too.
                deadline = time.monotonic() + 5
                while _group_alive(pgid) and time.monotonic() < deadline:
                    time.sleep(0.2)
                if not _group_alive(pgid) and self.popen.poll() is not None:
                    return

    def kill_group(self, timeout: float = 10.0) -> None:
        """SIGKILLs the whole process group at once (no SIGTERM first) and returns once the
        leader is reaped and no member is left.

        Raises:
            TimeoutError: members still alive after `timeout` seconds.
        """
        pgid = self.popen.pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=timeout)
        wait_until(lambda: not _group_alive(pgid), timeout, f"process group {pgid} to die", 0.1)


def proc_stats() -> Iterator[tuple[Path, list[str]]]:
    """Yields (/proc/<pid>, the fields of its stat after the command name: state, ppid,
    pgrp, session, ...) for every process now; one that ends meanwhile is left out."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces.
        yield entry, stat[stat.rindex(")") + 2 :].split()


def process_tree(pid: int) -> set[int]:
    """Returns pid and every live process descending from it (from /proc, a snapshot)."""
    parents = {int(entry.name): int(fields[1]) for entry, fields in proc_stats()}
    tree = {pid}
    grew = True
    while grew:
        found = {child for child, parent in parents.items() if parent in tree} - tree
        grew = bool(found)
        tree |= found
    return tree


def alive(pid: int) -> bool:
    """Returns whether a process with this pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class RunMemory:
    """The memory of one run as RunMemoryProbe saw it: the run's process (started by the
    code server) and the step processes under it."""

    pid: int
    processes: int  # how many processes the run's tree had, over its life
    peak_kib: int  # the largest sum of the tree's resident sets in one sample (VmRSS)
    largest_process_kib: int  # the largest single process's peak RSS (VmHWM)


class RunMemoryProbe:
    """Samples the memory of every run the code server launches, with its step processes,
    by polling /proc in a background thread (every `interval` seconds, so a peak shorter
    than that can be missed by peak_kib; largest_process_kib is the kernel's own peak).

    With DefaultRunLauncher the code server starts each run as a multiprocessing child
    (`spawn_main`) and the run's multiprocess executor starts each step as a child of that;
    so a run is a `spawn_main` process whose parent is not one, plus its descendants. Only
    processes of the code server's session (its process group leader's pid) are looked at.
    """

    def __init__(self, session_id: int, interval: float = 0.1) -> None:
        """Prepares the probe of the code server whose session id (pid) is given."""
        self.session_id = session_id
        self.interval = interval
        self._hwm: dict[int, int] = {}  # pid -> VmHWM KiB
        self._parents: dict[int, int] = {}
        self._tree_peak: dict[int, int] = {}  # run pid -> largest VmRSS sum of its tree
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="run-memory")

    def start(self) -> RunMemoryProbe:
        """Starts sampling; returns self."""
        self._thread.start()
        return self

    def stop(self) -> list[RunMemory]:
        """Stops sampling; returns each run seen, busiest (largest peak_kib) first."""
        self._stop.set()
        self._thread.join(timeout=5)
        runs = []
        for root, peak in self._tree_peak.items():
            tree = [p for p in self._hwm if self._root_of(p) == root]
            runs.append(RunMemory(root, len(tree), peak, max(self._hwm[p] for p in tree)))
        return sorted(runs, key=lambda r: r.peak_kib, reverse=True)

    def _root_of(self, pid: int) -> int:
        while self._parents.get(pid) in self._parents:
            pid = self._parents[pid]
        return pid

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def _sample(self) -> None:
        resident: dict[int, int] = {}
        for entry, fields in proc_stats():
            try:
                if int(fields[3]) != self.session_id:
                    continue
                if b"spawn_main" not in (entry / "cmdline").read_bytes():
                    continue
                status = (entry / "status").read_text()
            except (OSError, ValueError, IndexError):
                continue
            hwm = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            if hwm is None or rss is None:
                continue
            pid = int(entry.name)
            self._parents[pid] = int(fields[1])
            self._hwm[pid] = max(self._hwm.get(pid, 0), int(hwm.group(1)))
            resident[pid] = int(rss.group(1))
        totals: dict[int, int] = {}
        for pid, kib in resident.items():
            root = self._root_of(pid)
            totals[root] = totals.get(root, 0) + kib
        for root, total in totals.items():
            self._tree_peak[root] = max(self._tree_peak.get(root, 0), total)


def session_cpu_seconds(session_id: int) -> float:
    """Returns the CPU seconds (user + system) used so far by the processes of a session:
    the live ones, and every ended one its live ancestor has reaped (its children's time).

    A process that ended and whose parent has not reaped it yet, or whose parent ended too,
    is missed: read it while the session leader runs.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for _, fields in proc_stats():
        if int(fields[3]) != session_id:
            continue
        # utime, stime, cutime, cstime: fields 14-17 of stat, 11-14 after the name.
        total += sum(int(v) for v in fields[11:15])
    return total / ticks


def start_dagster(arguments: Iterable[str], env: Mapping[str, str], log: Path) -> subprocess.Popen:
    """Returns the started `python -m dagster <arguments>`, run from the repository in its
    own process group (its step processes too, so they can be killed with it), its output
    appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dagster", *arguments],
            cwd=Path(__file__).resolve().parents[2],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
