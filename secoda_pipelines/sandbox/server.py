"""The sandbox: a local Secoda API (SPEC part A) over the SQLite store, behind one facade.

``Sandbox`` owns the lifecycle (seeding, start/stop), the request log, the fault queue and
direct store access; the endpoints are in api.py, the HTTP plumbing in handler.py. Written
from the SPEC, not from the project's client, so that the two keep each other honest; it
imports nothing else of the project.
"""

from __future__ import annotations

import contextlib
import hmac
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from secoda_pipelines.sandbox import seed
from secoda_pipelines.sandbox.api import Api, new_id, now_iso
from secoda_pipelines.sandbox.faults import (
    APPLIED_FAULT_KINDS,
    FAULT_KINDS,
    HTTP_METHODS,
    Fault,
    FaultInjector,
    Target,
    WriteRateLimiter,
    check_kind,
)
from secoda_pipelines.sandbox.handler import Handler, Incoming, Server
from secoda_pipelines.sandbox.records import RequestRecord, Slot
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
from secoda_pipelines.sandbox.routes import API_PREFIX, ROUTES, collection_path
from secoda_pipelines.sandbox.store import SCHEMA_VERSION, Store

DEFAULT_API_KEY = "sandbox-secret-key"
DEFAULT_READONLY_API_KEY = "sandbox-readonly-key"
PAGE_STYLES = ("secoda", "drf")
LINEAGE_SPELLINGS = ("from_entity", "from_entity_id")
ORDERINGS = ("oldest_first", "newest_first")
# The kinds whose request still reaches the API: its answer is then cut, emptied or replaced.
_HANDLED_KINDS = frozenset({"truncated", "empty_page", *APPLIED_FAULT_KINDS})
# The kinds under which a write the API accepts is committed.
_APPLYING_KINDS = frozenset({"truncated", *APPLIED_FAULT_KINDS})


class Sandbox:
    """A local Secoda API over a seeded SQLite file; see docs/sandbox.md.

    The attributes latency_ms, fault_rate, fault_kinds, fault_methods, page_style,
    none_strings, next_link_path, write_rate_limit, write_window_s, lineage_spelling, ordering
    and page_size are read at every request, so tests may change them between calls.
    """

    def __init__(
        self,
        db_path: str | Path,
        scale: str = "demo",
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        readonly_api_key: str | None = DEFAULT_READONLY_API_KEY,
        page_size: int = 50,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
        fault_kinds: Iterable[str] | None = None,
        fault_methods: Iterable[str] = ("GET",),
        write_rate_limit: int | None = 30,
        write_window_s: float = 60.0,
        page_style: str = "secoda",
        none_strings: bool = False,
        next_link_path: str | None = None,
        lineage_spelling: str = "from_entity",
        ordering: str = "oldest_first",
        reset: bool = False,
        verbose: bool = False,
        in_memory: bool = False,
    ) -> None:
        """Configures the sandbox; nothing is opened or bound until start().

        Raises:
            ValueError: an unknown scale, page_style, lineage_spelling, ordering, fault
                kind or fault method, or an empty api_key.
        """
        if scale not in seed.SCALES:
            raise ValueError(f"scale must be one of {seed.SCALES}, got {scale!r}")
        if page_style not in PAGE_STYLES:
            raise ValueError(f"page_style must be one of {PAGE_STYLES}, got {page_style!r}")
        if lineage_spelling not in LINEAGE_SPELLINGS:
            raise ValueError(f"lineage_spelling must be one of {LINEAGE_SPELLINGS}")
        if ordering not in ORDERINGS:
            raise ValueError(f"ordering must be one of {ORDERINGS}, got {ordering!r}")
        if not api_key:
            raise ValueError("api_key must not be empty")
        fault_methods = tuple(m.upper() for m in fault_methods)
        for method in fault_methods:
            if method not in HTTP_METHODS:
                raise ValueError(
                    f"fault method must be one of {', '.join(HTTP_METHODS)}; got {method!r}"
                )
        self.db_path = Path(db_path)
        self.scale = scale
        self.host = host
        self.port = port
        self.api_key = api_key
        self.readonly_api_key = readonly_api_key
        self.page_size = page_size
        self.latency_ms = latency_ms
        self.fault_rate = fault_rate
        self.fault_kinds = None if fault_kinds is None else tuple(map(check_kind, fault_kinds))
        self.fault_methods = fault_methods
        self.write_rate_limit = write_rate_limit
        self.write_window_s = write_window_s
        self.page_style = page_style
        self.none_strings = none_strings
        self.next_link_path = next_link_path
        self.lineage_spelling = lineage_spelling
        self.ordering = ordering
        self.verbose = verbose
        self.in_memory = in_memory
        self.on_request: Callable[[RequestRecord], None] | None = None
        # What each failed fail_next(edit=...) raised, in order (its traceback goes to stderr).
        self.edit_errors: list[BaseException] = []
        self.limiter = WriteRateLimiter()
        self.seeded = False  # True when the last open had to (re)build the database
        self._reset = reset
        self._faults = FaultInjector(fault_seed)
        self._store: Store | None = None
        self._api: Api | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._log: list[Slot] = []
        self._log_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()

    # ---- lifecycle -----------------------------------------------------------------------

    def open_store(self) -> Store:
        """Returns the store, opening it and seeding it first when needed.

        Seeds when reset was asked (first open only), or the file does not hold this scale's
        workspace at the current seed and schema versions; a file of another scale is
        rebuilt.
        """
        if self._store is not None:
            return self._store
        store = Store(self.db_path, in_memory=self.in_memory)
        meta = store.meta()
        wanted = {
            "scale": self.scale,
            "seed_version": seed.SEED_VERSION,
            "schema_version": SCHEMA_VERSION,
        }
        self.seeded = self._reset or any(meta.get(k) != v for k, v in wanted.items())
        if self.seeded:
            store.rebuild(wanted, seed.workspace(self.scale))
        self._reset = False
        self._store = store
        self._api = Api(self, store)
        return store

    def start(self) -> Sandbox:
        """Seeds if needed, binds and serves in a daemon thread; returns self.

        Raises:
            OSError: the address cannot be bound.
        """
        if self._server is not None:
            return self
        self.open_store()
        self._stopping.clear()
        server = Server((self.host, self.port), Handler)
        server.sandbox = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"secoda-sandbox-{self.server_address[1]}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving, drops open connections and closes the store; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            self._stopping.set()
            server.shutdown()
            server.server_close()
            with self._log_lock:
                connections = list(self._connections)
            for connection in connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            if self._thread is not None:
                self._thread.join(timeout=5)
        if self._store is not None:
            self._store.close()
            self._store = None
            self._api = None

    def serve_forever(self) -> None:
        """Starts (if needed) and blocks until KeyboardInterrupt, then stops cleanly."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def server_address(self) -> tuple[str, int]:
        """Returns the bound (host, port).

        Raises:
            RuntimeError: not started.
        """
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        """Returns ``http://<host>:<port>/api/v1/`` of the running server.

        Raises:
            RuntimeError: not started.
        """
        host, port = self.server_address
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}{API_PREFIX}"

    # ---- configuration used by the API ---------------------------------------------------

    def access(self, authorization: str | None) -> str | None:
        """Returns "full", "readonly" or None (no valid Bearer key) for the header."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        key = authorization[len("Bearer ") :].strip().encode()
        if hmac.compare_digest(key, self.api_key.encode()):
            return "full"
        readonly = self.readonly_api_key
        if readonly and hmac.compare_digest(key, readonly.encode()):
            return "readonly"
        return None

    def fail_next(
        self,
        kind: str,
        count: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
        edit: Callable[[Sandbox], None] | None = None,
    ) -> None:
        """Queues a fault for this sandbox's requests: see FaultInjector.fail_next.

        edit(sandbox) is called after each request the fault hits has been handled
        (applied or not) and before its answer (or reset) is sent: e.g. an edit made in
        the UI between two attempts of one write. What it raises is printed to stderr and
        kept in ``edit_errors``; the answer is sent all the same.
        """
        self._faults.fail_next(kind, count, method, path_contains, retry_after, delay, edit)

    def clear_faults(self) -> None:
        """Drops every fault queued by fail_next."""
        self._faults.clear()

    # ---- the request log -----------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Returns a snapshot of every request received, in arrival order."""
        with self._log_lock:
            return [slot.record for slot in self._log]

    def writes(self) -> list[RequestRecord]:
        """Returns the non-GET requests that were applied (``RequestRecord.applied``): the
        API accepted them (2xx) unfaulted, or under "truncated" or an "applied_*" fault."""
        return [r for r in self.requests if r.applied]

    def clear_log(self) -> None:
        """Forgets every recorded request."""
        with self._log_lock:
            self._log = []

    # ---- direct store access -------------------------------------------------------------

    def insert(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Returns obj as stored at the end of the collection at path (not logged, not limited).

        A missing id gets a fresh uuid4, missing timestamps now. Lineage is stored as given
        (no mirror edge is added).

        Raises:
            KeyError: no collection at path.
            sqlite3.IntegrityError: the id is taken.
        """
        path = collection_path(path)
        stamp = now_iso()
        stored = {"id": new_id(), **obj}
        stored.setdefault("created_at", stamp)
        if path != seed.LINEAGE:
            stored.setdefault("updated_at", stamp)
        store = self.open_store()
        with store.transaction():
            store.insert(path, stored)
        return stored

    def update(self, path: str, object_id: str, **fields: Any) -> dict[str, Any]:
        """Returns the stored object after setting fields on it (not logged, not limited).

        For changes the API cannot make, such as a BI sync's new ``external_usage``: the
        fields are stored as given and nothing else changes (not ``updated_at`` unless
        given, no cascade such as group memberships).

        Raises:
            KeyError: no collection at path, or no object with this id in it.
            ValueError: fields would change the object's id.
        """
        path = collection_path(path)
        if fields.get("id", object_id) != object_id:
            raise ValueError(f"update cannot change an object's id ({object_id!r})")
        store = self.open_store()
        with store.transaction():
            obj = store.get_object(path, object_id)
            if obj is None:
                raise KeyError(f"no object {object_id!r} in {path}")
            obj.update(fields)
            store.update(path, obj)
        return obj

    def get_object(self, path_with_id: str) -> dict[str, Any] | None:
        """Returns the stored object at ``<collection>/<id>/``, or None when there is none.

        Raises:
            KeyError: no collection at that path.
        """
        parts = path_with_id.strip("/").split("/")
        return self.open_store().get_object(collection_path("/".join(parts[:-1])), parts[-1])

    def count(self, path: str, **filters: str) -> int:
        """Returns how many objects of the collection match the filters (query parameters).

        Raises:
            KeyError: no collection at path.
            ValueError: a filter the collection does not support.
        """
        route = ROUTES[collection_path(path)]
        unknown = set(filters) - set(route.filters)
        if unknown:
            raise ValueError(f"{route.path} has no filter {sorted(unknown)}")
        store = self.open_store()
        api = self._api or Api(self, store)
        return store.count(route.path, api.filters(route, filters.items()))

    # ---- serving -------------------------------------------------------------------------

    def track(self, connection: socket.socket, add: bool) -> None:
        """Registers (or forgets) an open client connection, so stop() can close it."""
        with self._log_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def serve(self, handler: Handler) -> None:
        """Answers one request on handler: log, latency, faults, then the API."""
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
            auth_ok=self.access(incoming.authorization) is not None,
        )
        slot = Slot(record)
        with self._log_lock:
            self._log.append(slot)
        self._notify(record)
        if self.latency_ms > 0:
            self._stopping.wait(self.latency_ms / 1000)
        if self._stopping.is_set():  # stopped while this request slept: drop it unanswered
            self._finish(slot, 0, None)
            handler.reset()
            return
        fault = None
        applied = False
        try:
            if incoming.inside:
                target = Target(incoming.method, incoming.path, lambda: self._later_page(incoming))
                fault = self._faults.decide(
                    target, self.fault_rate, self.fault_kinds, self.fault_methods
                )
            if fault is not None:  # visible in the log while the request is still held
                with self._log_lock:
                    slot.record = replace(slot.record, fault=fault.kind)
            if fault is not None and fault.kind in ("reset", "slow"):
                # Not applied. The edit comes first: a client may retry during a hold.
                self._edit(fault)
                if fault.kind == "slow":
                    # Held, unanswered, then dropped: a client whose read timeout is
                    # shorter sees a read timeout. stop() ends the hold early.
                    self._stopping.wait(fault.delay or 0.0)
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
        api = self._api
        if api is None:
            raise RuntimeError("the sandbox is stopped")
        host = handler.headers.get("Host") or "{}:{}".format(*self.server_address)
        # A body cut off or replaced in transit still means the server did the work.
        apply = kind is None or kind in _APPLYING_KINDS
        response = api.handle(
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
        api = self._api
        if api is None or incoming.method != "GET":
            return False
        return api.is_later_page(incoming.path, incoming.query, incoming.authorization)

    def _edit(self, fault: Fault) -> None:
        """Runs the fault's edit, if any; what it raises is printed and kept, not raised."""
        if fault.edit is None:
            return
        try:
            fault.edit(self)
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            self.edit_errors.append(error)

    def _notify(self, record: RequestRecord) -> None:
        callback = self.on_request
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
        with self._log_lock:
            slot.record = record
        if self.verbose:
            elapsed = (record.finished_at or 0) - record.started_at
            note = f" fault={record.fault}" if record.fault else ""
            note += " applied" if record.applied and record.fault else ""
            print(
                f"{record.method} {record.path} {status} {elapsed * 1000:.1f}ms{note}",
                file=sys.stderr,
                flush=True,
            )


__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_READONLY_API_KEY",
    "FAULT_KINDS",
    "RequestRecord",
    "Sandbox",
]
