"""The journal of a Secoda workspace's writes, kept beside its write lock, so that a new
write-back run continues the pace of the last minute even when the run before it was
killed (SIGKILL, out of memory, its container gone) before its report was flushed.

The run that holds the workspace (`workspace_lock`) records each write twice: as `sent`
before the request goes out, and as `answered` when its answer (or its failure) comes.
Only the holder appends, and when a new run takes the lock every earlier writer is dead or
finished; so when it opens the journal, the new run reads the writes of the last minute
(`recent_ages`):

- an answered write counts from its answer (Secoda counted it by then);
- a write sent within the last window + IN_FLIGHT_SECONDS with no answer on record was
  in flight when its process died: Secoda may have counted it as late as that death, so
  it counts as just made (age 0). An attempt lasts at most the client's timeouts (10 s to
  connect, 60 s to read), well within IN_FLIGHT_SECONDS.

Opening the journal also drops the entries of more than KEEP_SECONDS ago. Where it is kept:

- the DuckDB warehouse: a text file beside the lock file, `<duckdb file>.writes-<tag>.journal`
  (`FileJournal`), one line per event appended with O_APPEND;
- PostgreSQL: the table `reports.write_journal` (`PostgresJournal`), written on the lock's
  own session, so a run that lost its lock can no longer record, hence send, a write.

Times are Unix times of the machine that records them.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from secoda_pipelines.store.report_tables import REPORTS_SCHEMA
from secoda_pipelines.store.warehouse import WarehouseError

IN_FLIGHT_SECONDS = 120.0  # how long after its sending an unanswered write may be counted
KEEP_SECONDS = 3600.0  # entries older than this are dropped when the journal is opened
JOURNAL_TABLE = "write_journal"
SENT, ANSWERED = "sent", "answered"


def recent_ages(
    entries: Iterable[tuple[float, float | None]], window: float, now: float
) -> list[float]:
    """Returns the ages in seconds at `now` (smallest first) of the writes, given as (sent
    at, answered at or None), that count in a pace of `window` seconds: an answered one
    from its answer, while younger than `window`; an unanswered one as 0 while it was sent
    less than `window` + IN_FLIGHT_SECONDS ago. A time after `now` (another machine's
    clock) counts as now."""
    ages = []
    for sent_at, answered_at in entries:
        if answered_at is not None:
            age = max(0.0, now - answered_at)
            if age < window:
                ages.append(age)
        elif now - sent_at < window + IN_FLIGHT_SECONDS:
            ages.append(0.0)
    return sorted(ages)


class WorkspaceJournal(ABC):
    """The journal of one workspace's writes, opened by the run that holds its lock (a
    `secoda.limiter.WriteJournal`, plus `recent_ages`); thread-safe."""

    def __init__(self, run_id: str, clock: Callable[[], float] = time.time):
        self.run_id = run_id
        self._run = quote(run_id, safe="")  # no spaces: a token is one word of a line
        self._clock = clock
        self._count = 0
        self._count_lock = threading.Lock()
        self._closed = False

    def _next_token(self) -> str:
        self._refuse_if_closed()
        with self._count_lock:
            self._count += 1
            return f"{self._run}/{self._count}"

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise WarehouseError(
                f"{self!r} is closed: run {self.run_id} no longer holds the workspace, and "
                "may not write to it"
            )

    @abstractmethod
    def sent(self, at: float) -> str:
        """Records a write about to be sent at `at` (Unix time); returns its token, unique
        to this run (run id / count).

        Raises:
            WarehouseError: it could not be recorded (the write must not be sent).
        """

    @abstractmethod
    def answered(self, token: Hashable, at: float) -> None:
        """Records that the write `token` (from `sent`) was answered at `at` (Unix time).

        Raises:
            WarehouseError: it could not be recorded.
        """

    @abstractmethod
    def recent_ages(self, window: float) -> list[float]:
        """Returns the ages in seconds (smallest first) of the writes on record that count
        in a pace of `window` seconds now (see the module docstring).

        Raises:
            WarehouseError: the journal could not be read.
        """

    def close(self) -> None:
        """Stops recording (the lock is being released): `sent` and `answered` raise
        WarehouseError from now on. Raises nothing."""
        self._closed = True


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class FileJournal(WorkspaceJournal):
    """The journal as a text file beside the DuckDB file's lock file: one line per event,
    `<token> sent <unix time>` or `<token> answered <unix time>`, each appended whole in
    one write with O_APPEND. A line cut off by a kill (no newline) is ignored, and dropped
    when the next holder opens the file. No fsync: a killed process loses nothing of what
    it wrote (the page cache is the kernel's); a machine that crashes loses its runs too.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        run_id: str,
        clock: Callable[[], float] = time.time,
    ):
        """Opens the journal for run `run_id`, which holds the lock: drops the entries of
        more than KEEP_SECONDS ago and any cut-off or unreadable line (rewriting the file
        into a temporary file renamed over it), then opens it for appending.

        Raises:
            WarehouseError: the file cannot be read, rewritten or opened.
        """
        super().__init__(run_id, clock)
        self.path = Path(path)
        self._write_lock = threading.Lock()
        self._fd: int | None = None
        try:
            self._prune()
            self._fd = os.open(
                self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
        except OSError as error:
            raise self._error("cannot open", error) from None

    def __repr__(self) -> str:
        return f"FileJournal({os.path.abspath(self.path)!r})"

    def _error(self, doing: str, error: OSError) -> WarehouseError:
        return WarehouseError(
            f"{doing} the journal of writes {os.path.abspath(self.path)} ({error.strerror}); "
            "its folder, the DuckDB file's, must be writable"
        )

    def _read(self) -> tuple[dict[str, tuple[float, float | None]], bool]:
        """Returns (token -> [sent at, answered at or None], whether every line was whole
        and readable)."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return {}, True
        *lines, tail = text.split("\n")  # tail: "" after the last newline, else cut off
        clean = tail == ""
        entries: dict[str, tuple[float, float | None]] = {}
        for line in lines:
            parts = line.split()
            at = _finite(parts[2]) if len(parts) == 3 else None
            if at is None or parts[1] not in (SENT, ANSWERED):
                clean = False
                continue
            token, event = parts[0], parts[1]
            if event == SENT:
                entries[token] = (at, None)
            elif token in entries:  # an answer whose sending is not on record has no use
                entries[token] = (entries[token][0], at)
        return entries, clean

    def _prune(self) -> None:
        entries, clean = self._read()
        oldest = self._clock() - KEEP_SECONDS
        kept = {
            token: (sent_at, answered_at)
            for token, (sent_at, answered_at) in entries.items()
            if max(sent_at, answered_at or sent_at) >= oldest
        }
        if clean and len(kept) == len(entries):
            return
        lines = []
        for token, (sent_at, answered_at) in kept.items():
            lines.append(f"{token} {SENT} {sent_at:.6f}\n")
            if answered_at is not None:
                lines.append(f"{token} {ANSWERED} {answered_at:.6f}\n")
        # Only the lock's holder touches the journal: a rename over it loses nobody's line.
        fd, temporary = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write("".join(lines))
            os.chmod(temporary, 0o644)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _append(self, line: str) -> None:
        with self._write_lock:
            self._refuse_if_closed()
            if self._fd is None:  # never opened: __init__ raised
                raise WarehouseError(f"{self!r} is not open")
            try:
                os.write(self._fd, line.encode("utf-8"))
            except OSError as error:
                raise self._error("cannot record a write in", error) from None

    def sent(self, at: float) -> str:
        token = self._next_token()
        self._append(f"{token} {SENT} {at:.6f}\n")
        return token

    def answered(self, token: Hashable, at: float) -> None:
        self._append(f"{token} {ANSWERED} {at:.6f}\n")

    def recent_ages(self, window: float) -> list[float]:
        try:
            entries, _ = self._read()
        except OSError as error:
            raise self._error("cannot read", error) from None
        return recent_ages(entries.values(), window, self._clock())

    def close(self) -> None:
        with self._write_lock:
            super().close()
            fd, self._fd = self._fd, None
        if fd is not None:
            with suppress(OSError):  # the descriptor is gone either way
                os.close(fd)


class LockSession(Protocol):
    """The session that holds a workspace's advisory lock (`postgres_lock.AdvisoryLock`)."""

    def session(self, what: str) -> AbstractContextManager[Any]:
        """Yields a cursor on the lock's own (autocommit) session; raises WarehouseError."""
        ...


class PostgresJournal(WorkspaceJournal):
    """The journal as rows of `reports.write_journal` (workspace key, run id, token, sent
    at, answered at), written on the lock's own autocommit session: each event is a
    one-statement transaction, committed before the write is sent."""

    def __init__(
        self,
        lock: LockSession,
        workspace_key: int,
        run_id: str,
        clock: Callable[[], float] = time.time,
    ):
        """Opens the journal for run `run_id`, which holds the lock: creates the table
        when missing and drops this workspace's entries of more than KEEP_SECONDS ago.

        Raises:
            WarehouseError: the table cannot be created or pruned.
        """
        super().__init__(run_id, clock)
        self._lock = lock
        self._key = workspace_key
        self._run_id = run_id
        self._table = f"{REPORTS_SCHEMA}.{JOURNAL_TABLE}"
        from secoda_pipelines.store.postgres_frames import ensure_table

        with (
            self._lock.session(f"creating {self._table}") as cursor,
            cursor.connection.transaction(),
        ):
            ensure_table(
                cursor,
                REPORTS_SCHEMA,
                JOURNAL_TABLE,
                [
                    ("workspace", "bigint NOT NULL"),
                    ("run_id", "text NOT NULL"),
                    ("token", "text NOT NULL"),
                    ("sent_at", "timestamptz NOT NULL"),
                    ("answered_at", "timestamptz"),
                ],
                indexed=("workspace",),
            )
        with self._lock.session(f"pruning {self._table}") as cursor:
            cursor.execute(
                f"DELETE FROM {self._table} WHERE workspace = %s "
                "AND coalesce(answered_at, sent_at) < to_timestamp(%s)",
                [self._key, self._clock() - KEEP_SECONDS],
            )

    def __repr__(self) -> str:
        return f"PostgresJournal({self._table}, workspace {self._key})"

    def sent(self, at: float) -> str:
        token = self._next_token()
        with self._lock.session(f"recording a write in {self._table}") as cursor:
            cursor.execute(
                f"INSERT INTO {self._table} (workspace, run_id, token, sent_at) "
                "VALUES (%s, %s, %s, to_timestamp(%s))",
                [self._key, self._run_id, token, at],
            )
        return token

    def answered(self, token: Hashable, at: float) -> None:
        self._refuse_if_closed()
        with self._lock.session(f"recording an answer in {self._table}") as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET answered_at = to_timestamp(%s) "
                "WHERE workspace = %s AND token = %s",
                [at, self._key, str(token)],
            )

    def recent_ages(self, window: float) -> list[float]:
        now = self._clock()
        with self._lock.session(f"reading {self._table}") as cursor:
            cursor.execute(
                "SELECT extract(epoch FROM sent_at)::float8, "
                f"extract(epoch FROM answered_at)::float8 FROM {self._table} "
                "WHERE workspace = %s AND coalesce(answered_at, sent_at) >= to_timestamp(%s)",
                [self._key, now - window - IN_FLIGHT_SECONDS],
            )
            rows = cursor.fetchall()
        return recent_ages(rows, window, now)
