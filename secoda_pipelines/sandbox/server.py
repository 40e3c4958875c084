"""The Sandbox: lifecycle of a local Secoda API (SPEC part A) over the SQLite store.

``Sandbox`` opens (and seeds) the store, binds the server and wires the parts together:
its ``settings`` (settings.py), the request ``log`` (records.py), the ``faults`` queue
(faults.py) and, per start, the API (api.py) behind the request pipeline (pipeline.py).
See docs/sandbox.md.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

from secoda_pipelines.sandbox import seed
from secoda_pipelines.sandbox.api import Api
from secoda_pipelines.sandbox.faults import FaultInjector, WriteRateLimiter
from secoda_pipelines.sandbox.handler import Server
from secoda_pipelines.sandbox.pipeline import RequestPipeline
from secoda_pipelines.sandbox.records import RequestLog, RequestRecord
from secoda_pipelines.sandbox.routes import API_PREFIX
from secoda_pipelines.sandbox.settings import SandboxSettings
from secoda_pipelines.sandbox.store import SCHEMA_VERSION, Store


class Sandbox:
    """A local Secoda API over a seeded SQLite file; see docs/sandbox.md.

    ``settings`` is read at every request, so tests may change it between calls (e.g.
    ``sb.settings.page_size = 5``). ``requests``, ``writes()`` and ``clear_log()`` read the
    request log; ``fail_next()`` and ``clear_faults()`` queue faults.
    """

    def __init__(
        self,
        db_path: str | Path,
        scale: str = "demo",
        host: str = "127.0.0.1",
        port: int = 0,
        settings: SandboxSettings | None = None,
        fault_seed: int = 0,
        reset: bool = False,
        in_memory: bool = False,
    ) -> None:
        """Configures the sandbox (default settings unless given); nothing is opened or
        bound until start().

        Raises:
            ValueError: an unknown scale.
        """
        if scale not in seed.SCALES:
            raise ValueError(f"scale must be one of {', '.join(seed.SCALES)}; got {scale!r}")
        self.db_path = Path(db_path)
        self.scale = scale
        self.host = host
        self.port = port
        self.in_memory = in_memory
        self.settings = SandboxSettings() if settings is None else settings
        self.log = RequestLog()
        self.faults = FaultInjector(fault_seed)
        self.limiter = WriteRateLimiter()
        # What each failed fail_next(edit=...) raised, in order (its traceback goes to stderr).
        self.edit_errors: list[BaseException] = []
        self.seeded = False  # True when the last open had to (re)build the database
        self.fail_next = self.faults.fail_next
        self.clear_faults = self.faults.clear
        self.writes = self.log.applied
        self.clear_log = self.log.clear
        self._reset = reset
        self._store: Store | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
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
        return store

    def start(self) -> Sandbox:
        """Seeds if needed, binds and serves in a daemon thread; returns self.

        Raises:
            OSError: the address cannot be bound.
        """
        if self._server is not None:
            return self
        store = self.open_store()
        self._stopping.clear()
        pipeline = RequestPipeline(
            self.settings,
            Api(self.settings, store, self.limiter),
            self.faults,
            self.log,
            self._stopping,
            edit_subject=self,
            edit_errors=self.edit_errors,
        )
        server = Server((self.host, self.port), pipeline.serve, self._track)
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
            with self._connections_lock:
                connections = list(self._connections)
            for connection in connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            if self._thread is not None:
                self._thread.join(timeout=5)
        if self._store is not None:
            self._store.close()
            self._store = None

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

    @property
    def requests(self) -> list[RequestRecord]:
        """Returns a snapshot of every request received, in arrival order."""
        return self.log.records()

    def _track(self, connection: socket.socket, opened: bool) -> None:
        """Registers (or forgets) an open client connection, so stop() can close it."""
        with self._connections_lock:
            if opened:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


__all__ = ["Sandbox"]
