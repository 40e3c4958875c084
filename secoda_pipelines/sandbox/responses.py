"""The sandbox's answers: Response, ApiError and the helpers that build them, with the
Django REST framework messages the API sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def fault_response(fault: Fault) -> Response:
    """Returns the answer an injected fault sends in place of the API's (not for reset or
    truncated, which the server handles itself).
    """
    retry = () if fault.retry_after is None else (("Retry-After", str(fault.retry_after)),)
    if fault.kind == "429_retry_after":
        return json_response(429, {"detail": THROTTLED}, retry)
    if fault.kind == "429":
        return json_response(429, {"detail": THROTTLED})
    if fault.kind == "500":
        return json_response(500, {"detail": SERVER_ERROR})
    return Response(503, b"Service Unavailable", "text/plain; charset=utf-8", retry)
