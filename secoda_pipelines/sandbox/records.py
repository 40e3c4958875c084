"""What the sandbox remembers of each request: the public RequestRecord and the RequestLog."""

from __future__ import annotations

import threading
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


class RequestLog:
    """Every request received, in arrival order; safe to use from every handler thread."""

    def __init__(self) -> None:
        """Creates an empty log."""
        self._slots: list[Slot] = []
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> Slot:
        """Returns the new slot holding record, appended to the log."""
        slot = Slot(record)
        with self._lock:
            self._slots.append(slot)
        return slot

    def set(self, slot: Slot, record: RequestRecord) -> None:
        """Replaces the record of slot (the request was faulted or finished)."""
        with self._lock:
            slot.record = record

    def records(self) -> list[RequestRecord]:
        """Returns a snapshot of every record, in arrival order."""
        with self._lock:
            return [slot.record for slot in self._slots]

    def applied(self) -> list[RequestRecord]:
        """Returns the records of the writes that were applied (``RequestRecord.applied``)."""
        return [r for r in self.records() if r.applied]

    def clear(self) -> None:
        """Forgets every record."""
        with self._lock:
            self._slots = []
