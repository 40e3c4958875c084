"""A client-side write pace shared by every thread of one client."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import NamedTuple


class Write(NamedTuple):
    """One write let go by `WriteLimiter.reserve`."""

    sent_at: float  # the clock time it was let go
    waited: float  # the seconds it waited for the pace


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
    ):
        if limit < 1:
            raise ValueError(f"write limit must be at least 1 per window, got {limit}")
        self.limit = limit
        self.period = period
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._granted: deque[float] = deque(maxlen=history)
        self._lock = threading.Lock()

    def acquire(self, timeout: float | None = None) -> float:
        """Blocks until one more write fits in the window, then counts it (as `reserve`).

        Returns:
            The seconds spent waiting.

        Raises:
            TimeoutError: the write would not fit within `timeout`; it is not counted.
        """
        return self.reserve(timeout).waited

    def reserve(self, timeout: float | None = None) -> Write:
        """Blocks until one more write fits in the window, then counts it from now; call
        `answered` with the result when its answer (or its failure) arrives.

        Args:
            timeout: the most seconds to wait; None waits as long as the pace requires.

        Returns:
            The write: when it was let go, and the seconds it waited.

        Raises:
            TimeoutError: the write would not fit within `timeout`; it is not counted.
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
                    return Write(now, waited)
                delay = self._sent[0] + window - now
            if timeout is not None and waited + delay > timeout:
                raise TimeoutError(
                    f"the next write fits the pace of {self.limit} per {self.period:g} s only "
                    f"in {waited + delay:.1f} s, more than the {timeout:.1f} s allowed"
                )
            self._sleep(delay)
            waited += delay

    def answered(self, write: Write) -> None:
        """Counts `write` (from `reserve`) from now instead of from when it was let go: its
        answer arrived, so the server has counted it by now. Raises nothing."""
        with self._lock:
            # Any write let go at that time will do: all alike. None is left when the write
            # was in flight longer than a window (its count has left the window).
            with suppress(ValueError):
                self._sent.remove(write.sent_at)
            self._sent.append(self._clock())  # the latest time in the log: it stays sorted

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
