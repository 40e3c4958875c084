"""The Secoda client's exceptions: one small family under `SecodaError`.

Every message is written for the person running the pipeline: it says what failed, what
was sent where, and what to change. None of them ever contains the API key.

    SecodaError                      maybe_applied: a write that may have taken effect
    ├── SecodaConfigError            no key, a bad base URL, a bad setting
    ├── SecodaHTTPError              an error status (status, method, path, detail)
    │   ├── SecodaAuthError          401, 403
    │   ├── SecodaNotFoundError      404
    │   ├── SecodaBadRequestError    400
    │   ├── SecodaRateLimitError     429 after every retry
    │   └── SecodaServerError        5xx after every retry (a write's first 5xx)
    ├── SecodaConnectionError        unreachable, or broken after sending
    ├── SecodaResponseError          2xx or 3xx that is not the API's JSON (status)
    └── SecodaPagingError            a listing that does not advance, or comes up short
        └── SecodaShortListingError  fewer rows than the listing's count, after a retry
"""

from __future__ import annotations

from typing import Any


class SecodaError(Exception):
    """Base class of every error the Secoda client raises.

    Attributes:
        maybe_applied: True when the failed request was a write that may have reached
            Secoda and taken effect (answered 5xx, a connection broken after sending, an
            answer cut off): the caller must read the target again before another attempt.
            The client never sends such a write again itself.
    """

    maybe_applied: bool = False


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
    """The server answered with something that is not the API's JSON: a redirect (3xx, e.g.
    to a login page), a proxy's HTML page, or a body that breaks off or cannot be decoded.

    Attributes:
        status: the HTTP status of that answer (None when there was none to read).
    """

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class SecodaPagingError(SecodaError):
    """A paged listing did not advance, or exceeded the page cap: the server is misbehaving."""


class SecodaShortListingError(SecodaPagingError):
    """A listing yielded fewer rows than its first page's ``count``, also when read again.

    Attributes:
        path: the listing's path.
        expected: the ``count`` the server gave.
        fetched: the distinct rows read.
    """

    def __init__(self, message: str, *, path: str, expected: int, fetched: int):
        super().__init__(message)
        self.path = path
        self.expected = expected
        self.fetched = fetched
