"""The request pipeline: one request from the socket to its answer.

Log it, call ``on_request``, sleep the latency, decide a fault, let the API answer (or
not, per the fault's kind), run the fault's edit, send. Faults are described in
faults.py and docs/sandbox.md.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from dataclasses import replace
from typing import Any

from secoda_pipelines.sandbox.api import Api
from secoda_pipelines.sandbox.faults import APPLIED_FAULT_KINDS, Fault, FaultInjector, Target
from secoda_pipelines.sandbox.handler import Handler, Incoming
from secoda_pipelines.sandbox.records import RequestLog, RequestRecord, Slot
from secoda_pipelines.sandbox.responses import (
    HTML,
    LOGIN_PAGE,
    LOGIN_PATH,
    SERVER_ERROR,
    Response,
    emptied_page,
    fault_response,
    json_response,
)
from secoda_pipelines.sandbox.settings import SandboxSettings

# The kinds whose request still reaches the API: its answer is then cut, emptied or replaced.
_HANDLED_KINDS = frozenset({"truncated", "empty_page", *APPLIED_FAULT_KINDS})
# The kinds under which a write the API accepts is committed.
_APPLYING_KINDS = frozenset({"truncated", *APPLIED_FAULT_KINDS})


class RequestPipeline:
    """Answers each request through the API, the log, the latency and the faults."""

    def __init__(
        self,
        settings: SandboxSettings,
        api: Api,
        faults: FaultInjector,
        log: RequestLog,
        stopping: threading.Event,
        edit_subject: Any,
        edit_errors: list[BaseException],
    ) -> None:
        """Serves api under settings; stopping, once set, ends sleeps and holds early.

        A fault's edit is called with edit_subject (the Sandbox); what it raises is printed
        to stderr and appended to edit_errors.
        """
        self.settings = settings
        self.api = api
        self.faults = faults
        self.log = log
        self.stopping = stopping
        self.edit_subject = edit_subject
        self.edit_errors = edit_errors

    def serve(self, handler: Handler) -> None:
        """Answers one request on handler (or drops its connection, per the fault)."""
        try:
            incoming = Incoming.read(handler)
        except ValueError:
            handler.close_connection = True
            handler.send(Response(400, b"Bad request body", "text/plain; charset=utf-8"))
            return
        record = RequestRecord(
            incoming.method,
            incoming.path,
            dict(incoming.query),
            incoming.body,
            started_at=handler.started_at,
            auth_ok=self.settings.access(incoming.authorization) is not None,
        )
        slot = self.log.add(record)
        self._notify(record)
        if self.settings.latency_ms > 0:
            self.stopping.wait(self.settings.latency_ms / 1000)
        if self.stopping.is_set():  # stopped while this request slept: drop it unanswered
            self._finish(slot, 0, None)
            handler.reset()
            return
        fault = None
        applied = False
        try:
            if incoming.inside:
                target = Target(incoming.method, incoming.path, lambda: self._later_page(incoming))
                settings = self.settings
                fault = self.faults.decide(
                    target, settings.fault_rate, settings.fault_kinds, settings.fault_methods
                )
            if fault is not None:  # visible in the log while the request is still held
                self.log.set(slot, replace(slot.record, fault=fault.kind))
            if fault is not None and fault.kind in ("reset", "slow"):
                # Not applied. The edit comes first: a client may retry during a hold.
                self._edit(fault)
                if fault.kind == "slow":
                    # Held, unanswered, then dropped: a client whose read timeout is
                    # shorter sees a read timeout. stop() ends the hold early.
                    self.stopping.wait(fault.delay or 0.0)
                self._finish(slot, 0, fault)
                handler.reset()
                return
            response, applied = self._answer(handler, incoming, fault)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = json_response(500, {"detail": SERVER_ERROR})
        if fault is not None:
            self._edit(fault)
        if fault is not None and fault.kind == "applied_reset":
            self._finish(slot, 0, fault, applied)
            handler.reset()
            return
        self._finish(slot, response.status, fault, applied)
        handler.send(response)

    def _answer(
        self, handler: Handler, incoming: Incoming, fault: Fault | None
    ) -> tuple[Response, bool]:
        """Returns (the answer to send, whether the request was a write the API applied)."""
        if not incoming.inside:
            if incoming.method == "GET" and incoming.path == LOGIN_PATH:
                return Response(200, LOGIN_PAGE, HTML), False  # where "redirect" sends
            return Response(404, b"Not Found", "text/plain; charset=utf-8"), False
        kind = fault.kind if fault is not None else None
        if fault is not None and kind not in _HANDLED_KINDS:
            return fault_response(fault, handler.path), False
        host = handler.headers.get("Host") or "{}:{}".format(*handler.server.server_address[:2])
        # A body cut off or replaced in transit still means the server did the work.
        apply = kind is None or kind in _APPLYING_KINDS
        response = self.api.handle(
            incoming.method,
            incoming.path,
            incoming.query,
            incoming.body,
            incoming.body_error,
            incoming.authorization,
            host,
            apply=apply,
        )
        applied = apply and incoming.method != "GET" and 200 <= response.status < 300
        if fault is None:
            return response, applied
        if kind == "truncated":  # valid HTTP, half the JSON
            return replace(response, body=response.body[: len(response.body) // 2]), applied
        if kind == "empty_page":
            return emptied_page(response), applied
        return fault_response(fault, handler.path), applied  # applied_*: the answer is lost

    def _later_page(self, incoming: Incoming) -> bool:
        """Returns whether the request is a GET of an existing page >= 2 of a listing."""
        if incoming.method != "GET":
            return False
        return self.api.is_later_page(incoming.path, incoming.query, incoming.authorization)

    def _edit(self, fault: Fault) -> None:
        """Runs the fault's edit, if any; what it raises is printed and kept, not raised."""
        if fault.edit is None:
            return
        try:
            fault.edit(self.edit_subject)
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            self.edit_errors.append(error)

    def _notify(self, record: RequestRecord) -> None:
        callback = self.settings.on_request
        if callback is None:
            return
        try:
            callback(record)
        except Exception:
            traceback.print_exc(file=sys.stderr)

    def _finish(self, slot: Slot, status: int, fault: Fault | None, applied: bool = False) -> None:
        record = replace(
            slot.record,
            status=status,
            fault=fault.kind if fault else None,
            finished_at=time.monotonic(),
            applied=applied,
        )
        self.log.set(slot, record)
        if self.settings.verbose:
            elapsed = (record.finished_at or 0) - record.started_at
            note = f" fault={record.fault}" if record.fault else ""
            note += " applied" if record.applied and record.fault else ""
            print(
                f"{record.method} {record.path} {status} {elapsed * 1000:.1f}ms{note}",
                file=sys.stderr,
                flush=True,
            )
