"""One writer per Secoda workspace (`workspace_lock`) when the warehouse is the DuckDB file:
an `flock` on `<duckdb file>.writes-<tag>.lock` beside it (`LockFile`), the holder's run
id, pid, host and start written inside; its journal of writes is the file beside it
(`duckdb.journal.FileJournal`). Two machines each with their own DuckDB file do not see
each other's locks."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from secoda_pipelines.store.duckdb.journal import FileJournal
from secoda_pipelines.store.errors import WarehouseError
from secoda_pipelines.store.workspace_lock import Holder, utc_text
from secoda_pipelines.store.write_journal import WorkspaceJournal

logger = logging.getLogger(__name__)


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


class FileWriterLock:
    """The workspace's lock file beside the DuckDB file (a `WriterLock`); the holder writes
    who it is inside, and keeps its journal of writes in the file beside it."""

    def __init__(self, path: str, journal: str, workspace: str, run_id: str):
        self._file = LockFile(path)
        self._journal = journal
        self._workspace = workspace
        self._run_id = run_id

    def describe(self) -> str:
        return f"lock file {os.path.abspath(self._file.path)}"

    def try_lock(self) -> bool:
        record = {
            "run_id": self._run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": utc_text(datetime.now(UTC)),
            "workspace": self._workspace,
        }
        try:
            return self._file.try_lock(json.dumps(record) + "\n")
        except OSError as error:
            raise WarehouseError(
                f"cannot take the write lock of the Secoda workspace {self._workspace}: "
                f"{self.describe()} cannot be opened ({error.strerror}); its folder, the "
                "DuckDB file's, must exist and be writable"
            ) from None

    def holder(self) -> Holder:
        try:
            record = json.loads(self._file.content())
        except ValueError:  # empty or half-written this instant: read again next time
            record = None
        if not isinstance(record, dict):
            return Holder(None, f"a process that left no name in the {self.describe()}", None)
        where = f"pid {record.get('pid', '?')} on host {record.get('host', '?')}"
        run_id = record.get("run_id")
        return Holder(str(run_id) if run_id else None, where, record.get("since"))

    def open_journal(self, clock: Callable[[], float]) -> WorkspaceJournal:
        return FileJournal(self._journal, self._run_id, clock)

    def release(self) -> bool:
        self._file.unlock()
        return True
