"""The sandbox's HTTP plumbing: stdlib ``ThreadingHTTPServer`` with HTTP/1.1 keep-alive,
TCP_NODELAY, every response written in one ``sendall``, and resets on demand.

It knows nothing of the API: the server is given two callables, one that answers a
request on its handler (pipeline.py) and one that tracks open connections (so that a stop
can close them).
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from secoda_pipelines.sandbox.responses import Response
from secoda_pipelines.sandbox.routes import API_PREFIX


class Server(ThreadingHTTPServer):
    """A threading HTTP server that hands every request to its ``answer`` callable."""

    daemon_threads = True
    # socketserver's default backlog of 5 drops SYNs when 8 clients connect at once, and
    # each dropped SYN costs the client a 1 s retransmit.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Prints the traceback of an unexpected error; a dropped connection is ignored."""
        # A client that hangs up mid-answer is normal (timeouts, resets); say nothing.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def __init__(
        self,
        address: tuple[str, int],
        answer: Callable[[Handler], None],
        track: Callable[[socket.socket, bool], None],
    ) -> None:
        """Binds address; answer(handler) answers each request, track(connection, opened)
        is told of each connection opened and closed.

        Raises:
            OSError: the address cannot be bound.
        """
        self.answer = answer
        self.track = track
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    """One client connection: reads requests and writes answers; the server's answer
    callable decides them."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "secoda-sandbox"
    sys_version = ""
    server: Server
    started_at = 0.0

    def setup(self) -> None:
        """Opens the streams and registers the connection."""
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        """Flushes and closes the streams, then forgets the connection."""
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def parse_request(self) -> bool:
        """Returns whether the request line and headers parsed; notes when they arrived."""
        self.started_at = time.monotonic()
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:
        """Logs nothing: the default access log goes to stderr; settings.verbose logs."""

    def do_GET(self) -> None:
        """Answers the request (any method) through the server's answer callable."""
        self.server.answer(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def read_body(self) -> bytes:
        """Returns the request body (Content-Length or chunked).

        Raises:
            ValueError: a malformed length or chunk size.
        """
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass  # trailers
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError(length)
        return self.rfile.read(length) if length else b""

    def send(self, response: Response) -> None:
        """Writes status line, headers and body in one sendall."""
        reason = HTTPStatus(response.status).phrase
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Server: {self.server_version}",
            f"Content-Length: {len(response.body)}",
        ]
        if response.body or response.status != 204:
            lines.append(f"Content-Type: {response.content_type}")
        lines.extend(f"{k}: {v}" for k, v in response.headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + response.body)

    def reset(self) -> None:
        """Closes the connection with an RST (SO_LINGER 0) instead of answering."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass


@dataclass(frozen=True)
class Incoming:
    """A request as read off the socket."""

    method: str
    path: str  # relative to /api/v1/ when inside, else the whole path
    inside: bool
    query: list[tuple[str, str]]
    body: Any
    body_error: str | None
    authorization: str | None

    @classmethod
    def read(cls, handler: Handler) -> Incoming:
        """Returns the request handler has parsed, with its body read and decoded.

        Raises:
            ValueError: a malformed body length or chunk.
        """
        raw = handler.read_body()
        url = urlsplit(handler.path)
        inside = url.path.startswith(API_PREFIX)
        body, body_error = parse_body(raw)
        return cls(
            handler.command,
            url.path[len(API_PREFIX) :] if inside else url.path,
            inside,
            parse_qsl(url.query, keep_blank_values=True),
            body,
            body_error,
            handler.headers.get("Authorization"),
        )


def parse_body(raw: bytes) -> tuple[Any, str | None]:
    """Returns (parsed JSON or None, the parse error or None)."""
    if not raw.strip():
        return None, None
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError) as error:
        return None, str(error)
