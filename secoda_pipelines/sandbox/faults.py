"""Server-side fault injection and the write rate limiter.

Faults come from two sources: a queue filled by ``fail_next`` (deterministic, checked first)
and a seeded ``random.Random`` that faults a request with probability ``rate``. The caller
decides the fault before handling the request, so a faulted request is never applied.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

FAULT_KINDS = ("429_retry_after", "429", "500", "503", "reset", "truncated", "slow")
# Random faults never pick "slow" unless asked: it holds a request for DEFAULT_SLOW_SECONDS.
RANDOM_FAULT_KINDS = tuple(k for k in FAULT_KINDS if k != "slow")
DEFAULT_RETRY_AFTER = 1
DEFAULT_SLOW_SECONDS = 30.0


@dataclass(frozen=True)
class Fault:
    """One injected fault.

    Attributes:
        kind: one of FAULT_KINDS.
        retry_after: seconds for the Retry-After header, or None to send none.
        delay: for "slow", the seconds the request is held before its connection is closed.
    """

    kind: str
    retry_after: int | None = None
    delay: float | None = None


@dataclass
class _Queued:
    fault: Fault
    remaining: int
    method: str | None
    path_contains: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_contains is None or self.path_contains in path
        )


def check_kind(kind: str) -> str:
    """Returns kind when it is one of FAULT_KINDS.

    Raises:
        ValueError: it is not.
    """
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind must be one of {FAULT_KINDS}, got {kind!r}")
    return kind


def retry_after_header(seconds: float) -> int:
    """Returns seconds as the whole number of seconds Retry-After carries (rounded up)."""
    return max(0, math.ceil(seconds))


class FaultInjector:
    """Decides, thread-safely, which requests fail and how."""

    def __init__(self, seed: int = 0) -> None:
        """Creates an injector whose random faults follow random.Random(seed)."""
        self._rng = random.Random(seed)
        self._queue: list[_Queued] = []
        self._lock = threading.Lock()

    def fail_next(
        self,
        kind: str,
        count: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
    ) -> None:
        """Makes the next count requests matching method and path_contains fail with kind.

        Queued faults take precedence over random ones (see decide). method: None matches
        any (case-insensitive); path_contains: None matches any path. retry_after: seconds
        sent in Retry-After for 429_retry_after (default 1) and 503 (none unless given),
        rounded up to a whole second. delay: seconds a "slow" request is held before its
        connection is closed unanswered (default 30). Returns None.

        Raises:
            ValueError: an unknown kind, count < 1, or a negative delay.
        """
        check_kind(kind)
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        if delay is not None and delay < 0:
            raise ValueError(f"delay must not be negative, got {delay}")
        if retry_after is None and kind == "429_retry_after":
            retry_after = DEFAULT_RETRY_AFTER
        if delay is None and kind == "slow":
            delay = DEFAULT_SLOW_SECONDS
        header = None if retry_after is None else retry_after_header(retry_after)
        queued = _Queued(
            Fault(kind, header, delay), count, method.upper() if method else None, path_contains
        )
        with self._lock:
            self._queue.append(queued)

    def clear(self) -> None:
        """Drops every queued fault."""
        with self._lock:
            self._queue.clear()

    def decide(
        self,
        method: str,
        path: str,
        rate: float,
        kinds: Iterable[str] | None,
        methods: Iterable[str],
    ) -> Fault | None:
        """Returns the fault for this request, or None to serve it normally.

        The queue wins; otherwise, for a method in methods, a fault of a kind drawn
        uniformly from kinds (None = RANDOM_FAULT_KINDS: all but "slow") with probability rate.
        """
        with self._lock:
            for queued in self._queue:
                if queued.matches(method, path):
                    queued.remaining -= 1
                    if queued.remaining == 0:
                        self._queue.remove(queued)
                    return queued.fault
            if rate <= 0 or method not in {m.upper() for m in methods}:
                return None
            if self._rng.random() >= rate:
                return None
            pool = list(RANDOM_FAULT_KINDS if kinds is None else kinds)
            if not pool:
                return None
            kind = check_kind(self._rng.choice(pool))
        retry_after = DEFAULT_RETRY_AFTER if kind == "429_retry_after" else None
        return Fault(kind, retry_after, DEFAULT_SLOW_SECONDS if kind == "slow" else None)


class WriteRateLimiter:
    """A sliding-window limit on writes: at most ``limit`` accepted in any ``window`` seconds."""

    def __init__(self, window: float = 60.0) -> None:
        """Creates an empty limiter over a window of the given seconds."""
        self.window = window
        self._accepted: deque[float] = deque()
        self._lock = threading.Lock()

    def allow(
        self,
        limit: int | None,
        window: float | None = None,
        now: float | None = None,
        count: bool = True,
    ) -> bool:
        """Returns whether one more write is allowed now, counting it when it is and count.

        window (seconds) overrides the limiter's own. A throttled write (False) is not
        counted. limit None or <= 0 means no limit.
        """
        window = self.window if window is None else window
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._accepted and self._accepted[0] <= now - window:
                self._accepted.popleft()
            if limit is not None and limit > 0 and len(self._accepted) >= limit:
                return False
            if count:
                self._accepted.append(now)
        return True

    def reset(self) -> None:
        """Forgets every counted write."""
        with self._lock:
            self._accepted.clear()
