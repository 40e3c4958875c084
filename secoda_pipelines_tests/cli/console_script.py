"""Running the `secoda-pipelines` console script as a user runs it: in a subprocess."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from secoda_pipelines_tests.helpers import clean_environment


def _default_interrupt() -> None:
    """Gives the child SIGINT's default disposition. A shell starts background jobs (a CI
    script run with `&`) with SIGINT ignored, which their children inherit, and Python
    then installs no KeyboardInterrupt handler: Ctrl-C sent by a test would do nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# The script pip installed from pyproject's [project.scripts], beside this interpreter.
SCRIPT = Path(sys.executable).with_name("secoda-pipelines")


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Returns the finished `secoda-pipelines ARGS` (text output captured).

    `env` defaults to `clean_environment()`. Raises subprocess.TimeoutExpired past `timeout`.
    """
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env=clean_environment() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def port_is_free(host: str, port: int) -> bool:
    """Returns whether nothing listens on host:port: a connection is refused and a new
    listener can bind there (SO_REUSEADDR, so old connections in TIME_WAIT do not count)."""
    try:
        socket.create_connection((host, port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        pass
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            probe.listen()
        except OSError:
            return False
    return True


class Running:
    """A `secoda-pipelines` process started in the background, its output read line by line.

    stdout and stderr are merged; `wait_for` returns the first line matching a pattern.
    """

    def __init__(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None, new_session: bool = False
    ):
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [str(SCRIPT), *args],
            cwd=cwd,
            env=clean_environment() if env is None else env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=new_session,
            preexec_fn=_default_interrupt,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """Returns the match of the first line (from now on) matching `pattern`.

        Raises:
            AssertionError: the process ended, or `timeout` seconds passed, first (the
                message holds the output so far).
        """
        while True:
            line = self._next_line(timeout, f"no line matched {pattern!r}")
            if line is None:
                raise AssertionError(f"ended before {pattern!r}: {self.output()}")
            if match := re.search(pattern, line):
                return match

    def _next_line(self, timeout: float, late: str) -> str | None:
        """Returns the next line (kept in self.lines), or None once the output has ended.

        Raises:
            AssertionError: no line within `timeout` seconds (`late`, then the output).
        """
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"{late}: {self.output()}") from None
        if line is not None:
            self.lines.append(line)
        return line

    def output(self) -> str:
        """Returns the lines read so far (the last 3,000 characters)."""
        return "\n".join(self.lines)[-3000:]

    def stop(self, timeout: float = 90) -> int:
        """Sends SIGTERM, then returns the exit code; kills it if it is still running."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    def finish(self, timeout: float = 30) -> str:
        """Returns every remaining line, once the process has closed its output."""
        while self._next_line(timeout, "output did not end") is not None:
            pass
        return self.output()
