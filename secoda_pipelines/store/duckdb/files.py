"""The DuckDB file: which one (SECODA_DUCKDB_PATH, read when a run starts) and connecting
to it patiently, since DuckDB lets one process at a time write a file.

Every step that writes DuckDB (an asset's IO manager, a job's report) connects through
`connect_duckdb`: while another process holds the file, it waits, with jittered backoff,
up to `LOCK_WAIT_SECONDS`, instead of failing as soon as a parallel step or run writes.
"""

from __future__ import annotations

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
