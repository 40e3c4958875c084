"""The Secoda REST client: one pooled session, paging, retries, a write pace, clear errors.

Plain Python: it knows nothing of Dagster, pandas or the sandbox.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from secoda_pipelines.secoda.errors import (
    SecodaAuthError,
    SecodaBadRequestError,
    SecodaConfigError,
    SecodaConnectionError,
    SecodaError,
    SecodaHTTPError,
    SecodaNotFoundError,
    SecodaPagingError,
    SecodaRateLimitError,
    SecodaResponseError,
    SecodaServerError,
    SecodaShortListingError,
)
from secoda_pipelines.secoda.limiter import Write, WriteLimiter
from secoda_pipelines.secoda.paging import Page, decode_json, parse_page

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://app.secoda.co/api/v1/"
DOCUMENTED_BASE_URLS = (
    "https://app.secoda.co/api/v1/, https://api.secoda.co/, https://eapi.secoda.co/ (EU), "
    "https://aapi.secoda.co/ (APAC), https://<your domain>/api/v1/ (self-hosted)"
)
RETRY_STATUSES = (429, 500, 502, 503, 504)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Sent again by the client after they may have reached the server. Never a write: Secoda
# has no conditional update, so a write is tried again only by a caller that has read the
# target again first (defs/jobs' write loop).
READ_METHODS = frozenset({"GET", "HEAD"})
# An attempt is not started with less time than this left (a 0 s timeout is refused).
MIN_ATTEMPT_SECONDS = 0.05
_REDACTED = "***"
_KEY_CHARS = re.compile(r"[\x21-\x7e]+")


def normalize_base_url(url: str | None) -> str:
    """Returns the base URL with exactly one trailing slash (the default when url is empty).

    Raises:
        SecodaConfigError: the URL is not http(s), or carries ``user:password@`` (the
            message shows the URL without them).
    """
    url = (url or "").strip() or DEFAULT_BASE_URL
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        shown = urlunsplit((parts.scheme, f"***@{host}", parts.path, "", ""))
        raise SecodaConfigError(
            f"SECODA_API_URL={shown!r} carries a user name or password: Secoda takes only "
            "the API key, sent as a Bearer token. Remove user:password@ from the URL and put "
            "the key in SECODA_API_KEY"
        )
    if not url.startswith(("https://", "http://")):
        raise SecodaConfigError(
            f"SECODA_API_URL={url!r} is not an http(s) URL; use one of {DOCUMENTED_BASE_URLS}"
        )
    return url.rstrip("/") + "/"


def normalize_path(path: str) -> str:
    """Returns the path relative to the base URL, ending in exactly one slash.

    Raises:
        ValueError: the path is absolute (a full URL), which would bypass the base URL.
    """
    if "://" in path:
        raise ValueError(f"path must be relative to the base URL, got {path!r}")
    return path.strip().strip("/") + "/"


def detail_path(collection: str, object_id: str | int) -> str:
    """Returns the path of one object, e.g. ``table/tables/<id>/``, with the id URL-quoted."""
    return f"{normalize_path(collection)}{quote(str(object_id), safe='')}/"


class _CallRetry(Retry):
    """The retry policy of one client call: urllib3's Retry, driven by the client.

    One instance counts every attempt of the call (status, connection and body failures
    alike) against one budget, and gives the wait before the next one: exponential backoff
    with jitter, or the server's ``Retry-After`` up to ``retry_after_max``. Two changes to
    urllib3's rules: the wait after any failure is at least `backoff_min` (urllib3 retries
    the first failure at once, which against a server shedding load mostly buys another
    failure), and a 429 is retried for every method (throttled requests are rejected
    before they run, so even a POST is safe to send again).
    """

    def __init__(self, *args: Any, backoff_min: float = 0.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.backoff_min = backoff_min

    def new(self, **kw: Any) -> _CallRetry:
        """Returns a copy with the given counters changed (urllib3 calls it on increment)."""
        retry = super().new(**kw)
        retry.backoff_min = self.backoff_min
        return retry

    def get_backoff_time(self) -> float:
        """Returns the backoff before the next attempt: at least `backoff_min`, with jitter."""
        backoff = super().get_backoff_time()
        if backoff < self.backoff_min:  # urllib3 gives 0, without jitter, after one failure
            backoff = self.backoff_min + random.random() * self.backoff_jitter
        return min(self.backoff_max, backoff)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Returns whether an answer with this status is worth another attempt."""
        if status_code not in self.status_forcelist:
            return False
        return status_code == 429 or self.may_resend(method)

    def may_resend(self, method: str) -> bool:
        """Returns whether a request that may have reached the server can be sent again."""
        return self._is_method_retryable(method)

    def wait_after(self, response: requests.Response | None) -> tuple[float, str]:
        """Returns (seconds to wait before the next attempt, why that long).

        The answer's Retry-After when it has a valid one (capped at retry_after_max, never
        below backoff_min), else the backoff.
        """
        if response is not None and self.respect_retry_after_header:
            try:
                after = self.get_retry_after(response.raw)
            except InvalidHeader:
                after = None
            if after is not None:
                return max(self.backoff_min, after), "asked by Retry-After"
        return self.get_backoff_time(), "backoff"


@dataclass(frozen=True)
class _Failure:
    """One failed attempt.

    Attributes:
        reason: what went wrong, for the retry log line.
        error: builds the error to raise when this is the last attempt, given the text
            saying how many attempts were made (see `SecodaClient._tries`).
        cause: the urllib3 error `Retry.increment` counts; None for a retryable status.
        response: the answer, for a retryable status (its Retry-After).
        final: True when it must not be retried whatever the budget (a write that may have
            been applied, a TLS or URL error).
    """

    reason: str
    error: Callable[[str], SecodaError]
    cause: Exception | None
    response: requests.Response | None
    final: bool = False


_URLLIB3_FAILURES = (ConnectTimeoutError, ReadTimeoutError, ProtocolError)


def _cause(exc: requests.exceptions.RequestException) -> Exception:
    """Returns the urllib3 error a requests exception wraps (itself when it wraps none)."""
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    if isinstance(cause, MaxRetryError) and cause.reason is not None:
        cause = cause.reason
    return cause


def _after_sending(cause: Exception) -> bool | None:
    """Returns False when the request was never sent (refused, connect timeout, DNS), True
    when the connection broke or timed out after it may have been sent, None for failures
    retrying cannot mend (TLS, proxy refusal, a malformed URL)."""
    if isinstance(cause, ProxyError):
        cause = cause.original_error
    if isinstance(cause, ConnectTimeoutError):  # NewConnectionError is one
        return False
    if isinstance(cause, (ReadTimeoutError, ProtocolError)):
        return True
    if isinstance(cause, OSError) and not isinstance(cause, requests.RequestException):
        return True  # a socket error outside urllib3's wrapping: assume it was sent
    return None


class SecodaClient:
    """A client for Secoda's REST API (https://docs.secoda.co/secoda-api).

    Reads: ``get``, ``iter_pages``, ``iter_rows``, ``list``. A listing reads page 1, and when
    it says how many pages there are, fetches the rest `max_in_flight` at a time, yielding
    them in page order. Rows are de-duplicated by ``id``; ``"None"`` strings become None.

    Retries: every call (a GET, each page of a listing, each write) has one attempt budget,
    ``retries + 1`` requests, and one deadline, ``max_retry_seconds`` from its first attempt;
    nothing retries inside a request. 429, 500, 502, 503, 504, broken connections, read
    timeouts and (for GETs) bodies that break off or are not JSON are tried again, after an
    exponential backoff with jitter (at least `backoff_factor`) or the server's
    ``Retry-After`` (up to `retry_after_max`). When the next wait would pass the deadline the
    call gives up at once, saying how many attempts it made over how long; each attempt's
    read timeout is clipped to the time left. 400, 401, 403 and 404 are never retried.

    Writes (POST/PUT/PATCH/DELETE) pass, attempt by attempt, through one `WriteLimiter`
    shared by every thread, so a well-configured run never meets a 429; a 429 is still
    waited out and retried, for every method (a throttled request is refused before it
    runs). A request that was never sent (connection refused, connect timeout) is retried
    for every method, and its error says it was not sent. A write that may have reached
    Secoda (answered 5xx, a connection broken after sending, a read timeout, an answer cut
    off) is never sent again here: Secoda has no conditional update, so a second PATCH built
    before the first could undo an edit made in between. Its error has `maybe_applied` set,
    for the caller to read the target and decide what is still needed (the write-back jobs'
    loop does). A redirect (never followed) or an answer that is not the API's JSON (a
    proxy's HTML page) is an error naming its status, never a success.

    The API key is sent only as ``Authorization: Bearer``, whatever ``~/.netrc`` holds
    (proxy settings from the environment still apply); it never appears in a URL, a log
    line, an exception or this object's repr. A base URL carrying ``user:password@`` is
    refused.

    Args:
        api_key: the key; None is accepted here and refused at the first call.
        base_url: SECODA_API_URL, normalised to one trailing slash.
        timeout: (connect, read) seconds per request.
        max_in_flight: pages of one listing fetched at once.
        write_limit_per_minute, write_window_seconds: the shared write pace.
        max_pages: a listing longer than this stops with SecodaPagingError.
        retries, backoff_factor, backoff_max, retry_after_max, max_retry_seconds: how often
            and how long failed requests are retried.

    Raises:
        SecodaConfigError: the base URL is not http(s), or the key is malformed.
    """

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None = DEFAULT_BASE_URL,
        *,
        timeout: tuple[float, float] = (10.0, 60.0),
        max_in_flight: int = 8,
        write_limit_per_minute: int = 30,
        write_window_seconds: float = 60.0,
        max_pages: int = 100_000,
        retries: int = 8,
        backoff_factor: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: int = 120,
        max_retry_seconds: float = 600.0,
    ):
        self.base_url = normalize_base_url(base_url)
        self._api_key = (api_key or "").strip() or None
        if self._api_key is not None and not _KEY_CHARS.fullmatch(self._api_key):
            raise SecodaConfigError(
                "SECODA_API_KEY holds spaces, control or non-ASCII characters, which no "
                "Secoda key has; copy the key again from Secoda's Settings > API"
            )
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        if not max_retry_seconds > MIN_ATTEMPT_SECONDS:
            raise ValueError(
                f"max_retry_seconds must be more than {MIN_ATTEMPT_SECONDS} s (each call's "
                f"time for all its attempts), got {max_retry_seconds!r}"
            )
        self.timeout = timeout
        self.max_in_flight = max_in_flight
        self.max_pages = max_pages
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.max_retry_seconds = max_retry_seconds
        self.limiter = WriteLimiter(write_limit_per_minute, write_window_seconds)
        self.session = self._new_session()

    def __repr__(self) -> str:
        key = "set" if self._api_key else "missing"
        return f"SecodaClient(base_url={self.base_url!r}, api_key=<{key}>)"

    def __enter__(self) -> SecodaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the pooled connections."""
        self.session.close()

    def _new_session(self) -> requests.Session:
        # The adapter never retries (requests' own default): each call's _CallRetry decides,
        # so the attempt budget and the deadline hold across every kind of failure.
        pool = max(10, self.max_in_flight)
        adapter = HTTPAdapter(
            max_retries=Retry(0, read=False), pool_connections=4, pool_maxsize=pool
        )
        session = requests.Session()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        # Set on the session, the key also keeps requests from taking credentials out of
        # ~/.netrc (or the URL), which it does only for requests that carry no auth.
        session.auth = _BearerKey(self._api_key)
        session.headers.update(
            {"Accept": "application/json", "User-Agent": "secoda-pipelines/0.1 (+requests)"}
        )
        return session

    # ----------------------------------------------------------------------------- requests

    def _headers(self) -> None:
        """Returns None when the key is set.

        Raises:
            SecodaConfigError: it is not (naming SECODA_API_KEY and where to get one).
        """
        if self._api_key is None:
            raise SecodaConfigError(
                "SECODA_API_KEY is not set: create a key in Secoda (Settings > API) and export "
                "SECODA_API_KEY=<key> (for the local sandbox, the key `secoda-pipelines "
                "sandbox` prints)"
            )

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, _REDACTED) if self._api_key else text

    def _retry_policy(self) -> _CallRetry:
        return _CallRetry(
            total=self.retries,
            connect=None,
            read=None,
            status=None,
            other=0,  # TLS, proxy, malformed URL: retrying does not help
            allowed_methods=READ_METHODS,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff_factor,
            backoff_max=self.backoff_max,
            backoff_jitter=self.backoff_factor,
            backoff_min=self.backoff_factor,
            respect_retry_after_header=True,
            retry_after_max=self.retry_after_max,
            raise_on_status=False,
        )

    def _call(self, method: str, path: str, params: Mapping[str, Any] | None, body: Any) -> Any:
        """Returns the parsed JSON answer of one call (None for an empty write answer).

        Raises:
            SecodaError: a subclass naming what failed and after how many attempts, and,
                when the deadline stopped the retries, why; `maybe_applied` set on a write
                that may have taken effect.
        """
        self._headers()  # a missing key fails here, before anything is sent
        url = self.base_url + path
        where = f"{method} {path}{_query_text(params)}"
        retry = self._retry_policy()
        attempts, started, deadline = 0, 0.0, 0.0
        failure: _Failure | None = None
        while True:
            if failure is not None and deadline - time.monotonic() < MIN_ATTEMPT_SECONDS:
                limit = f"max_retry_seconds={self.max_retry_seconds:g}"
                note = f"giving up: no time left within {limit}"
                raise failure.error(self._tries(attempts, started, note)) from None
            write: Write | None = None
            if method in WRITE_METHODS:
                if failure is None:
                    # Waiting for the pace before the first attempt is not retrying: the
                    # deadline starts once the call may send.
                    write = self.limiter.reserve()
                else:
                    try:
                        write = self.limiter.reserve(timeout=max(0.0, deadline - time.monotonic()))
                    except TimeoutError as exc:
                        note = f"giving up: {exc}"
                        raise failure.error(self._tries(attempts, started, note)) from None
            if attempts == 0:
                started = time.monotonic()
                deadline = started + self.max_retry_seconds
            left = deadline - time.monotonic()
            attempts += 1
            timeout = (_clipped(self.timeout[0], left), _clipped(self.timeout[1], left))
            try:
                result, failure = self._attempt(method, path, params, body, timeout, retry)
            finally:
                if write is not None:
                    self.limiter.answered(write)
            if failure is None:
                return result
            if failure.final:
                raise failure.error(self._tries(attempts, started)) from None
            try:
                raw = failure.response.raw if failure.response is not None else None
                retry = retry.increment(method, url, response=raw, error=failure.cause)
            except MaxRetryError:
                raise failure.error(self._tries(attempts, started)) from None
            wait, why = retry.wait_after(failure.response)
            if time.monotonic() + wait > deadline:
                note = (
                    f"giving up: the next wait, {wait:.2f} s {why}, would pass "
                    f"max_retry_seconds={self.max_retry_seconds:g}"
                )
                raise failure.error(self._tries(attempts, started, note)) from None
            logger.warning(
                self._redact(
                    f"{where}: {failure.reason[:200]}; retrying in {wait:.2f} s "
                    f"(attempt {attempts + 1} of {self.retries + 1})"
                )
            )
            time.sleep(wait)

    def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
        timeout: tuple[float, float],
        retry: _CallRetry,
    ) -> tuple[Any, _Failure | None]:
        """Sends the request once; returns (the parsed answer, None) or (None, what failed).

        A write that may have reached Secoda (answered 5xx, its connection broken after
        sending, its answer cut off) is never sent again here: its failure is final and
        marked `maybe_applied`, for the caller to read the target before another attempt.

        Raises:
            SecodaHTTPError: an error status that is not retried (400, 401, 403, 404, ...).
            SecodaResponseError: a redirect (3xx), never followed.
        """
        where = f"{method} {path}{_query_text(params)}"
        writing = method in WRITE_METHODS
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.exceptions.ContentDecodingError as exc:
            # Content-Encoding said gzip (or deflate) and the body is not: an answer, unreadable.
            problem = f"{type(_cause(exc)).__name__}: {str(_cause(exc))[:200]}"
            return None, self._body_failure(where, None, problem, "could not be decoded", writing)
        except requests.exceptions.RequestException as exc:
            cause = _cause(exc)
            sent = _after_sending(cause)
            final = sent is None or (sent and not retry.may_resend(method))

            def connection_error(tries: str) -> SecodaError:
                error = self._connection_error(where, cause, tries, sent, not final)
                error.maybe_applied = bool(sent) and writing
                return error

            # Retry counts a broken connection as a read error only in urllib3's own types.
            counted = cause if isinstance(cause, _URLLIB3_FAILURES) else ProtocolError(cause)
            reason = f"{type(cause).__name__}: {cause}"
            return None, _Failure(reason, connection_error, counted, None, final)
        status = response.status_code
        if status in RETRY_STATUSES:
            final = not retry.is_retry(method, status)

            def status_error(tries: str) -> SecodaError:
                error = self._status_error(response, method, path, params, tries)
                error.maybe_applied = writing and status != 429
                return error

            return None, _Failure(f"answered {status}", status_error, None, response, final)
        if status >= 400:
            raise self._status_error(response, method, path, params)
        if 300 <= status < 400:
            raise self._redirect_error(response, where)
        if writing and not response.content:
            return None, None
        if _is_html(response):
            problem = f"an HTML page ({_content_type(response)}), not the API's JSON"
            # A proxy's page stands in for the API's answer: read again for a GET; for a
            # write, nothing says it was applied, and nothing says it was not.
            return None, self._body_failure(where, response, problem, "", writing, applied=False)
        try:
            return decode_json(response.text), None
        except ValueError as exc:
            problem = f"{type(exc).__name__}: {str(exc)[:200]}"
            incomplete = "is not complete JSON"
            return None, self._body_failure(where, response, problem, incomplete, writing)

    def _body_failure(
        self,
        where: str,
        response: requests.Response | None,
        problem: str,
        what: str,
        writing: bool,
        applied: bool = True,
    ) -> _Failure:
        """Returns the failure of an answer whose body is not the API's JSON.

        A GET is read again (for the budget, a broken read). A write's failure is final:
        its answer came, so Secoda handled it (`applied`: it may have taken effect).
        """
        status = None if response is None else response.status_code
        answered = f"answered {status} with" if status is not None else "answered"
        described = f"a body that {what} ({problem})" if what else problem
        reason = f"{answered} {described}"

        def body_error(tries: str) -> SecodaError:
            note = (
                "; Secoda may have applied it, so it was not sent again (read the target "
                "before another attempt)"
                if writing and applied
                else ("; it is not taken as applied" if writing else "")
            )
            error = SecodaResponseError(
                self._redact(f"{where} at {self.base_url} {reason}{tries}{note}"), status=status
            )
            error.maybe_applied = writing and applied
            return error

        return _Failure(reason, body_error, ProtocolError(reason), None, final=writing)

    def _redirect_error(self, response: requests.Response, where: str) -> SecodaResponseError:
        """Returns the error for a redirect: never followed, never the API's answer."""
        status = response.status_code
        location = self._redact(response.headers.get("Location", "(no Location)"))[:200]
        note = "; the write is not taken as applied" if where.split()[0] in WRITE_METHODS else ""
        return SecodaResponseError(
            self._redact(
                f"{where} at {self.base_url} answered {status} {response.reason}, a redirect "
                f"to {location}, not the API's JSON{note}: check that SECODA_API_URL is the "
                f"API's address (the documented forms are {DOCUMENTED_BASE_URLS}) and that no "
                "login page or proxy stands in front of it"
            ),
            status=status,
        )

    @staticmethod
    def _tries(attempts: int, started: float, note: str = "") -> str:
        """Returns e.g. `` after 3 attempts over 4.2 s`` (and `` (note)``), for messages."""
        elapsed = time.monotonic() - started
        text = f" after {attempts} attempt{'s' if attempts != 1 else ''} over {elapsed:.1f} s"
        return f"{text} ({note})" if note else text

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """Returns the parsed JSON of ``GET path`` (``"None"`` strings as None).

        Raises:
            SecodaError: a subclass naming what failed (see errors.py).
        """
        return self._call("GET", normalize_path(path), params, None)

    def _connection_error(
        self, where: str, cause: Exception, tries: str, sent: bool | None, retried: bool
    ) -> SecodaConnectionError:
        """Returns the error for a failed connection.

        `sent`: False when the request never left (it is safe to send again), True when the
        connection broke or timed out after sending, None for a failure retrying cannot mend.
        `retried`: whether the call was allowed to try again (False for a POST that broke
        after sending, which may have been applied).
        """
        what = f"({type(cause).__name__}: {cause})"
        if sent is None:
            text = f"{where} could not reach Secoda at {self.base_url} {what}"
        elif not sent:
            text = (
                f"{where} could not reach Secoda at {self.base_url}{tries}: the request was "
                f"not sent {what}"
            )
        elif retried:
            text = (
                f"{where} got no answer from Secoda at {self.base_url}{tries}: the connection "
                f"broke or timed out after the request was sent {what}"
            )
        else:
            return SecodaConnectionError(
                self._redact(
                    f"{where} got no answer from Secoda at {self.base_url}{tries}: the "
                    f"connection broke or timed out after the request was sent {what}, so "
                    "Secoda may have applied it; it was not sent again (read the target "
                    "before another attempt)"
                )
            )
        return SecodaConnectionError(self._redact(f"{text}. Check SECODA_API_URL and the network"))

    # ----------------------------------------------------------------------------- listing

    def _get_page(self, path: str, params: Mapping[str, Any] | None, number: int) -> Page | None:
        """Returns one page, or None when a page after the first answers 404."""
        query = {**(params or {}), "page": number}
        try:
            body = self.get(path, query)
        except SecodaNotFoundError:
            if number == 1:
                raise
            return None
        return parse_page(body, number, path)

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yields the rows of each page of a listing, in page order, de-duplicated by id.

        Page 1 is read first; when it says how many pages there are, the others are fetched
        up to `max_in_flight` at a time. The listing always requests ``?page=N`` on `path`
        itself (``links.next`` may name another path) and goes on while any of the server's
        signals says another page follows. A later page that comes back empty while more
        are promised, or answers 404, is read once more before it is believed.

        The rows read are held against page 1's ``count``: when they come up short (rows
        deleted while paging shift others onto pages already read), the listing is read
        once more from page 1 and only the rows not yet yielded are yielded.

        Raises:
            SecodaShortListingError: still fewer rows than the server's count after the
                second reading (names the path and both numbers).
            SecodaPagingError: the server does not advance, or the listing passes `max_pages`.
            SecodaError: a request failed after its retries.
        """
        path = normalize_path(path)
        seen: set[Any] = set()
        expected, fetched = yield from self._read_listing(path, params, seen)
        if expected is None or fetched >= expected:
            return
        logger.warning(
            f"GET {path}{_query_text(params)} yielded {fetched} of the {expected} rows its "
            "count promised; reading it once more from page 1"
        )
        expected, fetched = yield from self._read_listing(path, params, seen)
        if expected is not None and fetched < expected:
            raise SecodaShortListingError(
                f"GET {path}{_query_text(params)} at {self.base_url} listed {fetched} rows "
                f"where its count says {expected}, also when read a second time: the listing "
                "is incomplete, so nothing is decided on it (run again; if it persists, the "
                "server's paging is broken)",
                path=path,
                expected=expected,
                fetched=fetched,
            )

    def _read_listing(
        self, path: str, params: Mapping[str, Any] | None, seen: set[Any]
    ) -> Generator[list[dict[str, Any]], None, tuple[int | None, int]]:
        """Reads the listing once, yielding each page's rows not in `seen` (which it extends);
        returns (page 1's count, the distinct rows this reading found)."""
        found: set[Any] = set()
        fetched = 0
        previous_ids: list[Any] | None = None
        first = self._get_page(path, params, 1)
        assert first is not None
        expected = first.count
        limit = first.total_pages
        next_number = 2
        pending: deque[tuple[int, Future[Page | None]]] = deque()
        pool: ThreadPoolExecutor | None = None
        try:
            page: Page | None = first
            number = 1
            while True:
                if page is None or (number > 1 and not page.results and page.has_next):
                    # The page before promised this one: a 404 or an empty page with more
                    # to come is believed only when it says so twice.
                    page = self._get_page(path, params, number)
                if page is None:
                    break
                ids = [row.get("id") for row in page.results]
                if ids and ids == previous_ids:
                    raise SecodaPagingError(
                        f"GET {path}?page={page.number} answered the same rows as page "
                        f"{page.number - 1}: the server ignores ?page=, so the listing stops"
                    )
                previous_ids = ids or previous_ids
                for row in page.results:
                    if _first_sighting(row, found):
                        fetched += 1
                yield [r for r in page.results if _first_sighting(r, seen)]
                if not page.has_next:
                    break
                if not page.results and (
                    (expected is not None and fetched >= expected)
                    or (limit is not None and page.number >= limit)
                ):
                    break  # an empty page past everything promised: the end
                if page.total_pages is not None and page.number > 1:
                    limit = max(limit or 0, page.total_pages)
                # Pages are planned up to the known count; past it, one at a time.
                target = limit if limit is not None and limit > page.number else page.number + 1
                if pool is None and target > next_number:
                    pool = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="secoda")
                while next_number <= target and len(pending) < self.max_in_flight:
                    if next_number > self.max_pages:
                        if pending:
                            break
                        raise SecodaPagingError(
                            f"GET {path} has more than max_pages={self.max_pages} pages; "
                            "raise max_pages if the listing really is that long"
                        )
                    if pool is None:
                        done: Future[Page | None] = Future()
                        done.set_result(self._get_page(path, params, next_number))
                        pending.append((next_number, done))
                    else:
                        future = pool.submit(self._get_page, path, params, next_number)
                        pending.append((next_number, future))
                    next_number += 1
                if not pending:
                    break
                number, future = pending.popleft()
                page = future.result()
        finally:
            for _, future in pending:
                future.cancel()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return expected, fetched

    def iter_rows(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yields every row of a listing, page by page (see `iter_pages`).

        Raises:
            SecodaError: as `iter_pages`.
        """
        for rows in self.iter_pages(path, params):
            yield from rows

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Returns every row of a listing (see `iter_pages`).

        Raises:
            SecodaError: as `iter_pages`.
        """
        return [row for rows in self.iter_pages(path, params) for row in rows]

    # ----------------------------------------------------------------------------- writes

    def post(self, path: str, body: Any) -> Any:
        """Creates an object; returns the server's JSON (None for an empty body).

        Raises:
            SecodaError: a subclass naming what failed; see the class docstring for retries.
        """
        return self._write("POST", path, body)

    def patch(self, path: str, body: Any) -> Any:
        """Partially updates an object; returns the server's JSON (None for an empty body).

        Raises:
            SecodaError: a subclass naming what failed.
        """
        return self._write("PATCH", path, body)

    def put(self, path: str, body: Any) -> Any:
        """Replaces an object; returns the server's JSON (None for an empty body).

        Raises:
            SecodaError: a subclass naming what failed.
        """
        return self._write("PUT", path, body)

    def delete(self, path: str) -> Any:
        """Deletes an object; returns the server's JSON (None for an empty body).

        Raises:
            SecodaError: a subclass naming what failed.
        """
        return self._write("DELETE", path, None)

    def _write(self, method: str, path: str, body: Any) -> Any:
        return self._call(method, normalize_path(path), None, body)

    # ----------------------------------------------------------------------------- errors

    def _status_error(
        self,
        response: requests.Response,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        tries: str = "",
    ) -> SecodaHTTPError:
        """Returns the error for an error status; `tries` says how many attempts were made."""
        status = response.status_code
        detail = _response_detail(response)
        said = self._redact(_detail_text(detail))
        said_ = said.rstrip(".")  # before another sentence: no "..". DRF details end in one
        where = f"{method} {path}{_query_text(params)} at {self.base_url}"
        kwargs: dict[str, Any] = {
            "status": status,
            "method": method,
            "path": path,
            "detail": detail,
        }
        if status in (401, 403):
            if status == 401:
                advice = (
                    "the API key is missing or not valid for this workspace: check "
                    "SECODA_API_KEY, and that SECODA_API_URL points at the workspace the key "
                    "belongs to"
                )
            else:
                advice = (
                    "the key is valid but its user may not do this (keys carry their "
                    "creator's permissions): use SECODA_API_KEY from a user allowed to, or "
                    "check SECODA_API_URL"
                )
            return SecodaAuthError(
                f"Secoda answered {status} to {where}: {said} ({advice})", **kwargs
            )
        if status == 404:
            return SecodaNotFoundError(
                f"Secoda answered 404 Not Found to {where}: {said_}. If the object exists, "
                f"SECODA_API_URL may be wrong: the documented forms are {DOCUMENTED_BASE_URLS}",
                **kwargs,
            )
        if status == 400:
            return SecodaBadRequestError(f"Secoda rejected {where} (400): {said}", **kwargs)
        if status == 429:
            if method in WRITE_METHODS:
                advice = (
                    "The API allows about 30 writes a minute per workspace; if another client "
                    "shares it, lower SECODA_WRITE_LIMIT_PER_MINUTE"
                )
            else:
                advice = (
                    "Secoda throttled a read, which its documented limits do not cover (the "
                    "write limit does not apply): wait and run again, or fetch fewer pages at "
                    "once (max_in_flight)"
                )
            return SecodaRateLimitError(
                f"Secoda still answered 429 Too Many Requests to {where}{tries}: {said_}. "
                + advice,
                **kwargs,
            )
        error_class = SecodaServerError if status >= 500 else SecodaHTTPError
        if status >= 500 and method in WRITE_METHODS:
            message = (
                f"Secoda answered {status} to {where}{tries}: {said_}. Secoda may have applied "
                "it, so it was not sent again (read the target before another attempt)"
            )
        else:
            message = f"Secoda answered {status} to {where}{tries}: {said}"
        return error_class(message, **kwargs)


class _BearerKey(requests.auth.AuthBase):
    """Sends the API key as ``Authorization: Bearer``; its repr never shows the key."""

    def __init__(self, key: str | None) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._key is not None:
            request.headers["Authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self) -> str:
        return "_BearerKey(<hidden>)"


def _clipped(seconds: float, left: float) -> float:
    """Returns a per-attempt timeout: `seconds`, clipped to the time `left`, never below
    MIN_ATTEMPT_SECONDS (requests refuses a timeout of 0)."""
    return max(MIN_ATTEMPT_SECONDS, round(min(seconds, left), 3))


def _content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "no Content-Type").split(";")[0].strip()


def _is_html(response: requests.Response) -> bool:
    """Returns whether the answer is an HTML page (a proxy's or a login page), by its
    Content-Type or, when that says nothing, by its first character."""
    kind = _content_type(response).lower()
    if "html" in kind:
        return True
    return "json" not in kind and response.content.lstrip()[:1] == b"<"


def _first_sighting(row: dict[str, Any], seen: set[Any]) -> bool:
    row_id = row.get("id")
    if row_id is None:
        return True
    if row_id in seen:
        return False
    seen.add(row_id)
    return True


def _query_text(params: Mapping[str, Any] | None) -> str:
    if not params:
        return ""
    return "?" + "&".join(f"{k}={v}" for k, v in params.items())


def _response_detail(response: requests.Response) -> Any:
    try:
        return decode_json(response.text)
    except ValueError:
        return response.text.strip()[:300]


def _detail_text(detail: Any) -> str:
    """Returns the server's error body as one line: ``detail`` or ``field: message`` pairs."""
    if isinstance(detail, dict):
        if set(detail) == {"detail"}:
            return str(detail["detail"])
        parts = []
        for field, messages in detail.items():
            if isinstance(messages, list):
                messages = " ".join(str(m) for m in messages)
            parts.append(f"{field}: {messages}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return "; ".join(str(d) for d in detail)
    return str(detail) if detail else "(empty body)"


__all__ = [
    "DEFAULT_BASE_URL",
    "SecodaClient",
    "SecodaError",
    "SecodaHTTPError",
    "detail_path",
    "normalize_base_url",
    "normalize_path",
]
