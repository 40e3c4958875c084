"""Server-side fault injection and the write rate limiter.

Faults come from two sources: a queue filled by ``fail_next`` (deterministic, checked first)
and a seeded ``random.Random`` that faults a request with probability ``rate``. The caller
decides the fault before handling the request. Whether the request is then applied depends
on the kind: only "truncated" and the "applied_*" kinds are (the server did the work and the
answer was lost or replaced on the way back); "empty_page" empties the API's page; every
other kind answers in the API's place.

A kind applies only to some requests (see ``applies``): a queued fault waits for the next
request it applies to, and a random fault picks only among the kinds that apply.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
WRITE_METHODS = frozenset(HTTP_METHODS[1:])
# Applied (the write is done), then the answer is a 5xx or the connection drops: writes only.
APPLIED_FAULT_KINDS = ("applied_500", "applied_503", "applied_reset")
# A later page (>= 2) of a listing that has it, answered short: list GETs only.
PAGE_FAULT_KINDS = ("empty_page", "page_404")
FAULT_KINDS = (
    "429_retry_after",
    "429",
    "500",
    "503",
    "reset",
    "truncated",
    "slow",
    *APPLIED_FAULT_KINDS,
    "redirect",
    "html_200",
    *PAGE_FAULT_KINDS,
)
# The default pool of random faults: the kinds the sandbox has always drawn from, so a run
# with fault_rate and no fault_kinds sees what it always saw. Never "slow" (it holds a
# request for DEFAULT_SLOW_SECONDS); the kinds added later are picked only when named.
RANDOM_FAULT_KINDS = ("429_retry_after", "429", "500", "503", "reset", "truncated")
# Every kind a random fault may be asked to pick without holding requests: all but "slow".
EVERY_RANDOM_FAULT_KIND = tuple(k for k in FAULT_KINDS if k != "slow")
DEFAULT_RETRY_AFTER = 1
DEFAULT_SLOW_SECONDS = 30.0


@dataclass(frozen=True)
class Fault:
    """One injected fault.

    Attributes:
        kind: one of FAULT_KINDS.
        retry_after: seconds for the Retry-After header, or None to send none.
        delay: for "slow", the seconds the request is held before its connection is closed.
        edit: called with the sandbox once the faulted request has been handled, before
            its answer (or reset) is sent; None for no edit.
    """

    kind: str
    retry_after: int | None = None
    delay: float | None = None
    edit: Callable[[Any], None] | None = field(default=None, compare=False)


class Target:
    """The request a fault is decided for: what ``applies`` needs to know of it."""

    def __init__(self, method: str, path: str, later_page: Callable[[], bool]) -> None:
        """Describes a request; later_page answers (once, when first asked) whether it is a
        GET of an existing page >= 2 of a listing.
        """
        self.method = method.upper()
        self.path = path
        self._later_page = later_page

    @cached_property
    def later_page(self) -> bool:
        """Returns whether the request is a GET of an existing page >= 2 of a listing."""
        return self.method == "GET" and self._later_page()


def applies(kind: str, target: Target) -> bool:
    """Returns whether a fault of kind can hit the request: the "applied_*" kinds only a
    write (POST, PUT, PATCH, DELETE), "empty_page" and "page_404" only a GET of an existing
    page >= 2 of a listing; every other kind any request.
    """
    if kind in APPLIED_FAULT_KINDS:
        return target.method in WRITE_METHODS
    if kind in PAGE_FAULT_KINDS:
        return target.later_page
    return True


@dataclass
class _Queued:
    fault: Fault
    remaining: int
    method: str | None
    path_contains: str | None

    def matches(self, target: Target) -> bool:
        return (
            (self.method is None or self.method == target.method)
            and (self.path_contains is None or self.path_contains in target.path)
            and applies(self.fault.kind, target)
        )


def check_kind(kind: str) -> str:
    """Returns kind when it is one of FAULT_KINDS.

    Raises:
        ValueError: it is not.
    """
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}; got {kind!r}")
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
        edit: Callable[[Any], None] | None = None,
    ) -> None:
        """Makes the next count requests matching method and path_contains, and that kind
        applies to (see ``applies``), fail with kind.

        Queued faults take precedence over random ones (see decide); a request a queued
        fault does not apply to leaves it queued for the next one. method: None matches any
        (case-insensitive); path_contains: None matches any path. retry_after: seconds sent
        in Retry-After for 429_retry_after (default 1), 503 and applied_503 (none unless
        given), rounded up to a whole second. delay: seconds a "slow" request is held
        before its connection is closed unanswered (default 30). edit: called with the
        sandbox after each request this fault hits has been handled, before its answer.
        Returns None.

        Raises:
            ValueError: an unknown kind, count < 1, a negative delay, or an edit that is
                not callable.
        """
        check_kind(kind)
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        if delay is not None and delay < 0:
            raise ValueError(f"delay must not be negative, got {delay}")
        if edit is not None and not callable(edit):
            raise ValueError(f"edit must be a callable taking the sandbox, got {edit!r}")
        if retry_after is None and kind == "429_retry_after":
            retry_after = DEFAULT_RETRY_AFTER
        if delay is None and kind == "slow":
            delay = DEFAULT_SLOW_SECONDS
        header = None if retry_after is None else retry_after_header(retry_after)
        queued = _Queued(
            Fault(kind, header, delay, edit),
            count,
            method.upper() if method else None,
            path_contains,
        )
        with self._lock:
            self._queue.append(queued)

    def clear(self) -> None:
        """Drops every queued fault."""
        with self._lock:
            self._queue.clear()

    def decide(
        self,
        target: Target,
        rate: float,
        kinds: Iterable[str] | None,
        methods: Iterable[str],
    ) -> Fault | None:
        """Returns the fault for this request, or None to serve it normally.

        The first queued fault that matches the request and applies to it wins; otherwise,
        for a method in methods, with probability rate, a fault of a kind drawn uniformly
        from those of kinds (None = RANDOM_FAULT_KINDS) that apply to the request (none
        applies: no fault).
        """
        with self._lock:
            for queued in self._queue:
                if queued.matches(target):
                    queued.remaining -= 1
                    if queued.remaining == 0:
                        self._queue.remove(queued)
                    return queued.fault
            if rate <= 0 or target.method not in {m.upper() for m in methods}:
                return None
            if self._rng.random() >= rate:
                return None
            candidates = RANDOM_FAULT_KINDS if kinds is None else kinds
            pool = [k for k in candidates if applies(check_kind(k), target)]
            if not pool:
                return None
            kind = self._rng.choice(pool)
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
