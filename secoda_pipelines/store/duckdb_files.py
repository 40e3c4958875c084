"""The DuckDB file: which one (SECODA_DUCKDB_PATH, read when a run starts) and connecting
to it patiently, since DuckDB lets one process at a time write a file.

Every step that writes DuckDB (an asset's IO manager, a job's report) connects through
`connect_duckdb`: while another process holds the file, it waits, with jittered backoff,
up to `LOCK_WAIT_SECONDS`, instead of failing as soon as a parallel step or run writes.

`LockFile` is a lock file beside the DuckDB file (`write_lock_path`): the one writer per
Secoda workspace of `workspace_lock` when the warehouse is this file; the holder's journal
of writes (`write_journal.FileJournal`) is the file beside it (`write_journal_path`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_DUCKDB_PATH = "secoda_warehouse.duckdb"
SCHEMAS = ("secoda", "reports")
# A partition's write takes seconds even at catalog scale; ten minutes covers a queue of
# parallel steps, and a session someone left open fails the run with a message saying so.
LOCK_WAIT_SECONDS = 600.0
# The two settings every DuckDB-backed resource offers, described once.
DATABASE_DESCRIPTION = (
    f"The DuckDB file; empty: SECODA_DUCKDB_PATH when the run starts, else {DEFAULT_DUCKDB_PATH}."
)
LOCK_WAIT_DESCRIPTION = "How long a write waits for another process to release the file."


def duckdb_path(configured: str | None = None) -> str:
    """Returns the DuckDB file to use: `configured` when given, else SECODA_DUCKDB_PATH as
    the environment holds it now, else DEFAULT_DUCKDB_PATH.

    Raises:
        ValueError: the file is named like one of its schemas (`secoda.duckdb`), which
            DuckDB cannot tell apart from the schema.
    """
    path = (configured or os.environ.get("SECODA_DUCKDB_PATH") or DEFAULT_DUCKDB_PATH).strip()
    # DuckDB names a database after its file: `secoda.duckdb` would make `secoda.tables`
    # ambiguous between the catalog `secoda` and the schema `secoda`.
    if Path(path).stem.lower() in SCHEMAS:
        raise ValueError(
            f"SECODA_DUCKDB_PATH={path!r} is named like one of its schemas {SCHEMAS}, which "
            f"DuckDB cannot tell apart; use another name, e.g. {DEFAULT_DUCKDB_PATH!r}"
        )
    return path


def _is_lock_conflict(error: duckdb.Error) -> bool:
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


def connect_duckdb(
    path: str,
    *,
    read_only: bool = False,
    config: dict[str, Any] | None = None,
    wait_seconds: float = LOCK_WAIT_SECONDS,
) -> duckdb.DuckDBPyConnection:
    """Returns a connection to the DuckDB file at `path`, waiting while another process
    holds its lock (up to `wait_seconds`, with jittered backoff from 50 ms to 2 s).

    Raises:
        TimeoutError: the lock was still held after `wait_seconds`; the message names the
            file, the process DuckDB says holds it, and what to do.
        duckdb.Error: any other failure to open the file.
    """
    return _waiting_for_lock(
        path,
        wait_seconds,
        lambda: duckdb.connect(path, read_only=read_only, config=dict(config or {})),
    )


def attach_duckdb(
    connection: duckdb.DuckDBPyConnection,
    path: str,
    alias: str,
    *,
    wait_seconds: float = LOCK_WAIT_SECONDS,
) -> None:
    """Attaches the DuckDB file at `path` to `connection`'s database as `alias`, waiting
    while another process holds its lock, as `connect_duckdb` does.

    Raises:
        TimeoutError: the lock was still held after `wait_seconds` (see connect_duckdb).
        duckdb.Error: any other failure to attach the file.
    """
    literal = "'" + path.replace("'", "''") + "'"
    _waiting_for_lock(
        path, wait_seconds, lambda: connection.execute(f'ATTACH {literal} AS "{alias}"')
    )


def _waiting_for_lock(path: str, wait_seconds: float, open_file: Callable[[], T]) -> T:
    """Returns what `open_file` returns, calling it again while it fails because another
    process holds the file's lock (up to `wait_seconds`, with jittered backoff from 50 ms
    to 2 s).

    Raises:
        TimeoutError: the lock was still held after `wait_seconds`.
        duckdb.Error: any other failure.
    """
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    waited_since: float | None = None
    while True:
        try:
            opened = open_file()
        except duckdb.Error as error:
            if not _is_lock_conflict(error):
                raise
            now = time.monotonic()
            if waited_since is None:
                waited_since = now
                logger.info("DuckDB file %s is in use by another process; waiting", path)
            if now + delay > deadline:
                raise TimeoutError(
                    f"the DuckDB file {path} stayed locked by another process for "
                    f"{now - waited_since:.0f} s ({error}). A DuckDB session left open on "
                    "it (a notebook, the duckdb CLI), even read-only, blocks every writer: "
                    "close it and run again; for runs that overlap across machines, use "
                    "the PostgreSQL store"
                ) from None
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(2.0, delay * 2)
            continue
        if waited_since is not None:
            logger.info("DuckDB file %s free after %.1f s", path, time.monotonic() - waited_since)
        return opened


@contextmanager
def memory_limited(connection: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """Runs the block with DuckDB's memory limit at `limit`, then resets it to DuckDB's
    default (the setting belongs to the database, which other connections of this process
    may share; this module's connections never set another). Raises duckdb.Error."""
    connection.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        connection.execute("RESET memory_limit")


def write_lock_path(duckdb_file: str, tag: str) -> Path:
    """Returns the lock file beside the DuckDB file for `tag`:
    `<duckdb file>.writes-<tag>.lock`, in the same folder."""
    path = Path(duckdb_file)
    return path.with_name(f"{path.name}.writes-{tag}.lock")


def write_journal_path(duckdb_file: str, tag: str) -> Path:
    """Returns the journal of writes beside the DuckDB file for `tag`, next to its lock
    file: `<duckdb file>.writes-<tag>.journal`, in the same folder."""
    path = Path(duckdb_file)
    return path.with_name(f"{path.name}.writes-{tag}.journal")


class LockFile:
    """An exclusive `flock` on a file, taken without blocking.

    The lock belongs to the file description this object opens: another `LockFile` on the
    same path waits for it, in another process or in this one. The kernel drops it when
    the descriptor is closed, so also when the process dies however it dies (SIGKILL too):
    a lock file is never stale, and is never deleted (deleting a file others may be
    locking lets two of them hold "the" lock). The descriptor is not inherited by child
    processes. Needs a local file system (over NFS, flock is emulated and may not exclude
    two holders in one process).
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._fd: int | None = None
        self._held = False

    def try_lock(self, content: str) -> bool:
        """Takes the lock if no one holds it, then writes `content` into the file (for
        waiters to read); returns whether this object holds the lock now.

        Raises:
            OSError: the file cannot be created or opened (its folder is missing, or not
                writable).
        """
        if self._held:
            return True
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._held = True
        data = content.encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        return True

    def content(self) -> str:
        """Returns what the holder wrote into the file: "" when the file is missing, empty,
        or being rewritten at this instant. Raises nothing."""
        try:
            return self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def unlock(self) -> None:
        """Empties the file when this object holds the lock, releases it and closes the
        file; does nothing when the file is not open. Raises nothing."""
        fd, self._fd = self._fd, None
        held, self._held = self._held, False
        if fd is None:
            return
        try:
            if held:  # emptied while still held: never erase another holder's lines
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as error:  # closing below releases the lock all the same
            logger.warning("could not empty the lock file %s: %s", self.path, error)
        finally:
            os.close(fd)
