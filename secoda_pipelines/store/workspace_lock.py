"""One writer per Secoda workspace: the lock a write-back run holds while it writes.

The deployment's queue runs one write-back run at a time, but `dagster dev` and
`dagster job execute` do not go through it; two runs writing one workspace side by side
would send writes at twice the pace Secoda allows and plan against each other's
half-applied changes. So every write-back run takes this lock, keyed by the workspace's
base URL (normalized, hashed), in the warehouse it reports to (`Warehouse.writer_lock`):
a session advisory lock in PostgreSQL (`postgres.lock`), an `flock` on a lock file beside
the DuckDB file (`duckdb.lock`). Either is dropped by the server or the kernel when its
process ends, however it ends. A second run waits, naming the holder in its log every
minute, up to its wait, then fails naming the holder's run id (`WorkspaceBusyError`).
Holding the lock, a run keeps the workspace's journal of writes (`write_journal`), which
entering the lock opens and returns. See docs/warehouse.md and docs/deployment.md.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from secoda_pipelines.store.write_journal import WorkspaceJournal

logger = logging.getLogger(__name__)

WRITE_LOCK_WAIT_SECONDS = 600.0
WRITE_LOCK_WAIT_DESCRIPTION = (
    "How long a write-back run waits for another run that is writing to the same Secoda "
    "workspace (the one writer per workspace) before it fails naming that run's id."
)
POLL_SECONDS = 1.0  # between two attempts while waiting (jittered down to half)
LOG_EVERY_SECONDS = 60.0  # a waiting run says whom it waits for this often
DEFAULT_PORTS = {"http": 80, "https": 443}
# Hashed in front of the URL, so the key is ours and no other use of the same URL's hash.
KEY_NAMESPACE = b"secoda-pipelines one writer per workspace\n"
UNKNOWN_RUN = "of unknown id"


class WorkspaceBusyError(RuntimeError):
    """Another write-back run held the Secoda workspace for longer than the wait. The
    message names the holder's run id and the workspace (never a password).

    Attributes:
        workspace: the workspace's base URL, normalized.
        holder: the run that holds it, as far as it could be read.
    """

    def __init__(self, message: str, workspace: str, holder: Holder):
        super().__init__(message)
        self.workspace = workspace
        self.holder = holder


@dataclass(frozen=True)
class Holder:
    """Who holds a workspace's lock, as a waiter can read it.

    Attributes:
        run_id: the holder's run id, None when it could not be read.
        where: the holding process, e.g. "pid 4242 on host build-1".
        since: when it took the lock (ISO 8601, UTC), None when unknown.
    """

    run_id: str | None
    where: str
    since: str | None

    def run(self) -> str:
        """Returns the run id, or a phrase saying it is unknown."""
        return self.run_id if self.run_id else UNKNOWN_RUN


def normalized_workspace(url: str) -> str:
    """Returns the Secoda base URL as the lock keys it: scheme and host in lower case, the
    scheme's default port dropped, the path with one trailing slash; no user name,
    password, query or fragment.

    Raises:
        ValueError: it is not an http(s) URL with a host (shown without user or password).
    """
    raw = (url or "").strip()
    try:
        parts = urlsplit(raw)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, a malformed IPv6 address
        parts, host, port = urlsplit(""), None, None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not host:
        netloc = parts.netloc.rpartition("@")[2]
        shown = urlunsplit((scheme, netloc, parts.path, "", "")) if netloc else "(not a URL)"
        raise ValueError(
            f"the Secoda workspace {shown!r} is not an http(s) URL with a host; expected the "
            "API's base URL, e.g. https://app.secoda.co/api/v1/"
        )
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path.rstrip("/") + "/", "", ""))


def workspace_key(workspace: str) -> tuple[int, str]:
    """Returns (the signed 64-bit advisory lock key, a 12-hex-digit tag for file names) of
    a normalized workspace URL; the same URL gives the same pair on every machine."""
    digest = hashlib.sha256(KEY_NAMESPACE + workspace.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True), digest.hex()[:12]


def utc_text(moment: datetime) -> str:
    """Returns the moment as ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class WriterLock(Protocol):
    """A backend's lock on one workspace (`Warehouse.writer_lock`), used once."""

    def try_lock(self) -> bool:
        """Takes the lock if no one holds it; returns whether it is held now. Raises
        WarehouseError when it cannot be tried at all."""
        ...

    def holder(self) -> Holder:
        """Returns who holds it, as far as it can be read."""
        ...

    def open_journal(self, clock: Callable[[], float]) -> WorkspaceJournal:
        """Returns the workspace's journal of writes, open for the holder. Raises
        WarehouseError."""
        ...

    def release(self) -> bool:
        """Releases it; returns False when it had been lost before. Raises nothing."""
        ...

    def describe(self) -> str:
        """Returns the lock, named for a log line (no password)."""
        ...


class LockingWarehouse(Protocol):
    """What `WorkspaceLock` needs of a `Warehouse`."""

    def writer_lock(self, workspace: str, key: int, tag: str, run_id: str) -> WriterLock:
        """Returns the warehouse's lock on `workspace` for run `run_id`."""
        ...


class WorkspaceLock(AbstractContextManager[WorkspaceJournal]):
    """Holds a Secoda workspace for one write-back run between `__enter__` and
    `__exit__` (see the module docstring); not re-entrant, used once.

    Entering waits, without holding any DuckDB connection or transaction, while another
    run (in any process, this one included) holds the workspace, then returns the
    workspace's journal of writes, open for this run until the block ends.
    """

    def __init__(
        self,
        workspace: str,
        run_id: str,
        *,
        warehouse: LockingWarehouse,
        wait_seconds: float = WRITE_LOCK_WAIT_SECONDS,
        log: logging.Logger | None = None,
        clock: Callable[[], float] = time.time,
    ):
        """Names the lock; nothing is taken until the block is entered. `clock` (Unix
        time) dates the journal's pruning and ages.

        Raises:
            ValueError: the workspace is not an http(s) URL, the run id is empty, or the
                wait is negative.
        """
        self.workspace = normalized_workspace(workspace)
        if not run_id or not run_id.strip():
            raise ValueError("the write lock needs the run id of the run that takes it")
        if wait_seconds < 0:
            raise ValueError(f"the write lock's wait must be 0 s or more, got {wait_seconds}")
        self.run_id = run_id.strip()
        self.key, self.tag = workspace_key(self.workspace)
        self._warehouse = warehouse
        self._wait = float(wait_seconds)
        self._log = log if log is not None else logger
        self._clock = clock
        self._backend: WriterLock | None = None
        self._journal: WorkspaceJournal | None = None

    def __repr__(self) -> str:
        return f"WorkspaceLock({self.workspace!r}, run_id={self.run_id!r})"

    def __enter__(self) -> WorkspaceJournal:
        """Takes the lock, waiting up to the wait while another run holds it, then opens
        the workspace's journal of writes (`write_journal`: pruned of entries older than an
        hour) for this run.

        Returns:
            The journal: record this run's writes in it (`secoda.WriteLimiter.journaled`),
            and read the workspace's recent writes from it (`recent_ages`), until the
            block ends.

        Raises:
            WorkspaceBusyError: another run still held it when the wait ran out (its run id
                named).
            WarehouseError: the lock could not be taken at all (the warehouse refused the
                connection, or the lock file's folder is missing or not writable), or the
                journal could not be opened (the lock is released then).
            RuntimeError: this lock is held already (it is used once).
        """
        if self._backend is not None:
            raise RuntimeError(f"{self!r} is held already; take a new lock for another run")
        backend = self._warehouse.writer_lock(self.workspace, self.key, self.tag, self.run_id)
        try:
            waited = self._wait_for(backend)
            journal = backend.open_journal(self._clock)
        except BaseException:
            backend.release()
            raise
        self._backend = backend
        self._journal = journal
        after = "" if waited is None else f" after waiting {waited:.0f} s"
        self._log.info(
            f"run {self.run_id} holds the Secoda workspace {self.workspace} for writing"
            f"{after} ({backend.describe()})"
        )
        return journal

    def _wait_for(self, backend: WriterLock) -> float | None:
        """Returns the seconds spent waiting once `backend` holds the lock, None when it
        was free at once.

        Raises:
            WorkspaceBusyError: still held by another run when the wait ran out.
        """
        start = time.monotonic()
        deadline = start + self._wait
        next_log = start
        waited = False
        while not backend.try_lock():
            waited = True
            holder = backend.holder()
            now = time.monotonic()
            if now >= deadline:
                raise self._busy(holder, now - start)
            if now >= next_log:
                since = f" since {holder.since}" if holder.since else ""
                self._log.info(
                    f"waiting for run {holder.run()} ({holder.where}) which holds the Secoda "
                    f"workspace {self.workspace} for writing{since}; waiting up to "
                    f"{self._wait:g} s in all ({backend.describe()})"
                )
                next_log = now + LOG_EVERY_SECONDS
            time.sleep(min(POLL_SECONDS * random.uniform(0.5, 1.0), deadline - now))
        return time.monotonic() - start if waited else None

    def _busy(self, holder: Holder, waited: float) -> WorkspaceBusyError:
        since = f"since {holder.since}, " if holder.since else ""
        return WorkspaceBusyError(
            f"another write-back run, {holder.run()}, holds the Secoda workspace "
            f"{self.workspace} for writing ({since}{holder.where}; this run {self.run_id} "
            f"waited {waited:.0f} s for it); wait for it to finish or cancel it, then run "
            "this job again",
            self.workspace,
            holder,
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Closes the journal and releases the lock (whether the block raised or not);
        never raises."""
        backend, self._backend = self._backend, None
        journal, self._journal = self._journal, None
        if journal is not None:
            journal.close()
        if backend is None:
            return
        if backend.release():
            self._log.info(f"run {self.run_id} released the Secoda workspace {self.workspace}")
        else:
            self._log.warning(
                f"run {self.run_id} lost its write lock on the Secoda workspace "
                f"{self.workspace} before it ended (its PostgreSQL session ended: a dropped "
                "connection or a restarted server); another run may have written meanwhile"
            )
