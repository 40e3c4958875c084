"""What the sandbox remembers of each request: the public RequestRecord and its log slot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox received (the Authorization header is never kept).

    Attributes:
        method: the HTTP method.
        path: relative to /api/v1/ (e.g. ``table/tables/<id>/``); the full path when the
            request was outside /api/v1/.
        query: the query parameters (the last value of a repeated one).
        body: the parsed JSON body, or None (no body, or not JSON).
        status: the status answered; 0 for a reset connection or while in flight.
        fault: the injected fault kind, or None; set as soon as it is decided, so a
            request held by "slow" shows it while in flight.
        started_at: time.monotonic() when the request line was read.
        finished_at: time.monotonic() just before the answer was written; None in flight.
        auth_ok: whether the request carried a valid key (full or read-only).
        applied: whether the request was a write (not GET) the API did: accepted (2xx)
            and committed, whatever the client was then answered (a "truncated" or an
            "applied_*" fault answers it wrongly or not at all). False for every GET, for
            a write answered in the API's place by any other fault, and while in flight.
    """

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0
    fault: str | None = None
    started_at: float = 0.0
    finished_at: float | None = None
    auth_ok: bool = False
    applied: bool = False


@dataclass
class Slot:
    """One entry of the request log: the record, replaced when the request finishes."""

    record: RequestRecord
