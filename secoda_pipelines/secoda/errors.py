"""The Secoda client's exceptions: one small family under `SecodaError`.

Every message is written for the person running the pipeline: it says what failed, what
was sent where, and what to change. None of them ever contains the API key.
"""

from __future__ import annotations

from typing import Any


class SecodaError(Exception):
    """Base class of every error the Secoda client raises."""


class SecodaConfigError(SecodaError):
    """The client is not configured well enough to make the call (no key, bad base URL)."""


class SecodaHTTPError(SecodaError):
    """The Secoda API answered with an error status.

    Attributes:
        status: the HTTP status code.
        method: the HTTP method of the failed request.
        path: the path relative to the base URL, e.g. ``table/tables/``.
        detail: the server's body, parsed from JSON when it was JSON.
    """

    def __init__(self, message: str, *, status: int, method: str, path: str, detail: Any = None):
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path
        self.detail = detail


class SecodaAuthError(SecodaHTTPError):
    """401 (missing or invalid key) or 403 (the key's user may not do this)."""


class SecodaNotFoundError(SecodaHTTPError):
    """404: the path or the object does not exist at this base URL."""


class SecodaBadRequestError(SecodaHTTPError):
    """400: the server rejected the body; `field_errors` maps field names to its messages."""

    @property
    def field_errors(self) -> dict[str, Any]:
        """Returns the server's per-field errors (empty when the body was not a field dict)."""
        if isinstance(self.detail, dict):
            return {k: v for k, v in self.detail.items() if k != "detail"}
        return {}


class SecodaRateLimitError(SecodaHTTPError):
    """429 still answered after every retry."""


class SecodaServerError(SecodaHTTPError):
    """5xx (or another unexpected status) still answered after every retry."""


class SecodaConnectionError(SecodaError):
    """The server could not be reached, or the connection broke, after every retry."""


class SecodaResponseError(SecodaError):
    """The server answered 2xx with a body that is not the JSON the API promises."""


class SecodaPagingError(SecodaError):
    """A paged listing did not advance, or exceeded the page cap: the server is misbehaving."""
