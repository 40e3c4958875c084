"""A client-side write pace shared by every thread of one client, and the journal a run
keeps of its writes (`WriteJournal`) so that the next run's pace can continue it."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import NamedTuple, Protocol


class WriteJournal(Protocol):
    """Where a run records each write it sends, before sending it and again when its
    answer (or its failure) comes, so that the next run can continue the pace even if
    this one's process is killed mid-request (`WriteLimiter.journaled`)."""

    def sent(self, at: float) -> Hashable:
        """Records a write about to be sent at `at` (Unix time); returns its token, for
        `answered`. Raises whatever stops the recording: then the write is not sent."""
        ...

    def answered(self, token: Hashable, at: float) -> None:
        """Records that the write `token` (from `sent`) was answered at `at` (Unix time)."""
        ...


class Write(NamedTuple):
    """One write let go by `WriteLimiter.reserve`."""

    sent_at: float  # the clock time it was let go
    waited: float  # the seconds it waited for the pace
    token: Hashable | None = None  # its token in the journal attached then, if any


class WriteLimiter:
    """Allows at most `limit` writes in any sliding window of `period` seconds.

    A sliding log, the same algorithm Django REST framework's throttles use, so a client
    paced by it is never answered 429 by a server that counts the same way. A write is
    logged when it is let go and, once `answered`, logged again at the time its answer
    came: the server counted it somewhere between the two, and on a busy machine the
    sending or the server's handling can lag by more than the network (counted from its
    sending alone, a benchmark's 2,000 writes at the limit once drew a 429), so only the
    answer's time bounds the server's count from above. `margin` widens the window a
    little more. The times of the last `history` writes it
    let go are kept, so the pace can be checked afterwards (`granted`).

    While a journal is attached (`journaled`), every write is recorded in it before it is
    let go and again when it is answered, at the `wall_clock`'s time (Unix time).
    """

    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        *,
        margin: float = 0.25,
        history: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ):
        if limit < 1:
            raise ValueError(f"write limit must be at least 1 per window, got {limit}")
        self.limit = limit
        self.period = period
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._sent: deque[float] = deque()
        self._granted: deque[float] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._journal: WriteJournal | None = None

    @contextmanager
    def journaled(self, journal: WriteJournal) -> Iterator[WriteJournal]:
        """Records every write let go in the block in `journal` (see `reserve` and
        `answered`); yields the journal and detaches it when the block ends.

        Raises:
            RuntimeError: another journal is attached already (a journal belongs to one
                run; attach it once, for the run's writes).
        """
        with self._lock:
            if self._journal is not None:
                raise RuntimeError(
                    f"this write limiter records its writes in {self._journal!r} already; "
                    "a journal belongs to one run and is attached once"
                )
            self._journal = journal
        try:
            yield journal
        finally:
            with self._lock:
                self._journal = None

    def acquire(self, timeout: float | None = None) -> float:
        """Blocks until one more write fits in the window, then counts it (as `reserve`,
        but never `answered`: with a journal attached, use `reserve` and `answered`).

        Returns:
            The seconds spent waiting.

        Raises:
            TimeoutError: the write would not fit within `timeout`; it is not counted.
            Exception: whatever an attached journal raised (see `reserve`).
        """
        return self.reserve(timeout).waited

    def reserve(self, timeout: float | None = None) -> Write:
        """Blocks until one more write fits in the window, then counts it from now and, when
        a journal is attached, records it there as sent (before returning, so it is on
        record before the request goes out); call `answered` with the result when its
        answer (or its failure) arrives.

        Args:
            timeout: the most seconds to wait; None waits as long as the pace requires.

        Returns:
            The write: when it was let go, the seconds it waited, its journal token (None
            without a journal).

        Raises:
            TimeoutError: the write would not fit within `timeout`; it is not counted.
            Exception: whatever the journal raised; the write is not counted, and must not
                be sent.
        """
        waited = 0.0
        window = self.period + self.margin
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    self._granted.append(now)
                    journal = self._journal
                    break
                delay = self._sent[0] + window - now
            if timeout is not None and waited + delay > timeout:
                raise TimeoutError(
                    f"the next write fits the pace of {self.limit} per {self.period:g} s only "
                    f"in {waited + delay:.1f} s, more than the {timeout:.1f} s allowed"
                )
            self._sleep(delay)
            waited += delay
        if journal is None:
            return Write(now, waited)
        try:  # outside the pace's lock: the journal may take a round trip to a database
            token = journal.sent(self._wall_clock())
        except BaseException:
            with self._lock:
                self._uncount(now)
            raise
        return Write(now, waited, token)

    def _uncount(self, sent_at: float) -> None:
        """Forgets a write let go at `sent_at` that was never sent (held: self._lock)."""
        with suppress(ValueError):
            self._sent.remove(sent_at)
        with suppress(ValueError):
            self._granted.remove(sent_at)

    def answered(self, write: Write) -> None:
        """Counts `write` (from `reserve`) from now instead of from when it was let go: its
        answer arrived, so the server has counted it by now. When a journal is attached
        and the write has a token, records there that it was answered.

        Raises:
            Exception: whatever the journal raised (the pace has counted the answer).
        """
        with self._lock:
            # Any write let go at that time will do: all alike. None is left when the write
            # was in flight longer than a window (its count has left the window).
            with suppress(ValueError):
                self._sent.remove(write.sent_at)
            self._sent.append(self._clock())  # the latest time in the log: it stays sorted
            journal = self._journal
        if journal is not None and write.token is not None:
            journal.answered(write.token, self._wall_clock())

    def seed(self, ages: Iterable[float]) -> int:
        """Counts writes made elsewhere (another process, an earlier run), `ages` seconds
        ago, in the window, so this limiter's pace continues theirs; returns how many of
        them still fall inside the window."""
        window = self.period + self.margin
        with self._lock:
            now = self._clock()
            earlier = sorted(now - age for age in ages if 0 <= age < window)
            self._sent = deque(sorted([*earlier, *self._sent]))
            return len(earlier)

    def granted(self) -> list[float]:
        """Returns the clock times at which the last writes were let go, oldest first."""
        with self._lock:
            return list(self._granted)

    def seconds_for(self, writes: int) -> float:
        """Returns the least time `writes` writes take at this pace, from an empty window."""
        if writes <= self.limit:
            return 0.0
        return (writes - 1) // self.limit * (self.period + self.margin)
