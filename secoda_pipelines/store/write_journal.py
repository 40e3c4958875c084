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

Opening the journal also drops the entries of more than KEEP_SECONDS ago. Each backend
keeps it its own way: a file beside the DuckDB file's lock file (`duckdb.journal`), a
table written on the PostgreSQL lock's own session (`postgres.journal`). Times are Unix
times of the machine that records them.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable
from urllib.parse import quote

from secoda_pipelines.store.errors import WarehouseError

IN_FLIGHT_SECONDS = 120.0  # how long after its sending an unanswered write may be counted
KEEP_SECONDS = 3600.0  # entries older than this are dropped when the journal is opened


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
