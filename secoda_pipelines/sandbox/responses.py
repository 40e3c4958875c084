"""The sandbox's answers: Response, ApiError and the helpers that build them, with the
Django REST framework messages the API sends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from secoda_pipelines.sandbox.faults import Fault
from secoda_pipelines.sandbox.store import dumps

NOT_FOUND = "Not found."
NO_CREDENTIALS = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid token."
FORBIDDEN = "You do not have permission to perform this action."
THROTTLED = "Request was throttled."
SERVER_ERROR = "A server error occurred."
INVALID_PAGE = "Invalid page."
REQUIRED = "This field is required."
DUPLICATE_EMAIL = "A user with this email already exists."
LOGIN_PATH = "/login/"
HTML = "text/html; charset=utf-8"
# What a proxy or the web app answers in the API's place: HTML, never the API's JSON.
PROXY_503_PAGE = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n"
    b"<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
PROXY_WAIT_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    "<h1>Please wait\u2026</h1><p>Checking your browser before accessing the site.</p>"
    "</body></html>"
).encode()
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in - Secoda</title></head><body>"
    b'<form method="post" action="/login/"><input name="email" type="email">'
    b'<button type="submit">Sign in</button></form></body></html>'
)


@dataclass(frozen=True)
class Response:
    """An answer: status, body bytes, content type and extra headers."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


class ApiError(Exception):
    """Stops handling with the given response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(status: int, obj: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """Returns a JSON response of obj."""
    return Response(status, dumps(obj).encode(), headers=headers)


def detail(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> ApiError:
    """Returns an ApiError answering ``{"detail": message}`` with status."""
    return ApiError(json_response(status, {"detail": message}, headers))


def field_errors(errors: dict[str, list[str]]) -> ApiError:
    """Returns an ApiError answering 400 with DRF-style field errors."""
    return ApiError(json_response(400, errors))


def fault_response(fault: Fault, target: str = "/") -> Response:
    """Returns the answer an injected fault sends in place of the API's (not for the kinds
    that drop the connection, nor for truncated and empty_page, which alter the API's).

    target: the request's path and query as sent (a redirect's ``next``).
    """
    retry = () if fault.retry_after is None else (("Retry-After", str(fault.retry_after)),)
    kind = fault.kind
    if kind == "429_retry_after":
        return json_response(429, {"detail": THROTTLED}, retry)
    if kind == "429":
        return json_response(429, {"detail": THROTTLED})
    if kind in ("500", "applied_500"):
        return json_response(500, {"detail": SERVER_ERROR})
    if kind == "applied_503":
        return Response(503, PROXY_503_PAGE, HTML, retry)
    if kind == "redirect":
        location = f"{LOGIN_PATH}?{urlencode({'next': target}, safe='/')}"
        body = f'<html><body>Redirecting to <a href="{location}">{location}</a></body></html>'
        return Response(302, body.encode(), HTML, (("Location", location),))
    if kind == "html_200":
        return Response(200, PROXY_WAIT_PAGE, HTML)
    if kind == "page_404":
        return json_response(404, {"detail": INVALID_PAGE})
    return Response(503, b"Service Unavailable", "text/plain; charset=utf-8", retry)


def emptied_page(response: Response) -> Response:
    """Returns a 200 list page with the same envelope (count, links, meta, total_pages or
    DRF next/previous) and no results; any other response unchanged.
    """
    if response.status != 200:
        return response
    page = json.loads(response.body)
    page["results"] = []
    return replace(response, body=dumps(page).encode())
