"""The Secoda REST client: one pooled session, paging, retries, a write pace, clear errors.

Plain Python: it knows nothing of Dagster, pandas or the sandbox.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

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
# Sending these twice does no more than sending them once; a POST may create twice.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
_REDACTED = "***"
_KEY_CHARS = re.compile(r"[\x21-\x7e]+")


def normalize_base_url(url: str | None) -> str:
    """Returns the base URL with exactly one trailing slash (the default when url is empty).

    Raises:
        SecodaConfigError: the URL is not http(s).
    """
    url = (url or "").strip() or DEFAULT_BASE_URL
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
        final: True when it must not be retried whatever the budget (a POST that may have
            been applied, a TLS or URL error).
        maybe_applied: the request may have reached the server and been applied (sent
            before the connection broke, or answered 5xx).
    """

    reason: str
    error: Callable[[str], SecodaError]
    cause: Exception | None
    response: requests.Response | None
    final: bool = False
    maybe_applied: bool = False


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
    waited out and retried, for every method. A request that was never sent (connection
    refused, connect timeout) is retried for every method, and its error says it was not
    sent. PATCH, PUT and DELETE are idempotent, so they are also retried on 5xx, broken
    connections and read timeouts. A POST that met a 5xx, a connection broken after sending
    or a read timeout may have created its object, and a blind retry could create it twice,
    so that error goes to the caller (saying Secoda may have applied it), whose plan
    re-reads the server's state before it writes again. A DELETE answered 404 after an
    attempt that may have been applied has done its work, and returns None.

    The API key is sent only in the Authorization header; it never appears in a URL, a log
    line, an exception or this object's repr.

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
        session.headers.update(
            {"Accept": "application/json", "User-Agent": "secoda-pipelines/0.1 (+requests)"}
        )
        return session

    # ----------------------------------------------------------------------------- requests

    def _headers(self) -> dict[str, str]:
        if self._api_key is None:
            raise SecodaConfigError(
                "SECODA_API_KEY is not set: create a key in Secoda (Settings > API) and export "
                "SECODA_API_KEY=<key> (for the local sandbox, the key `secoda-pipelines "
                "sandbox` prints)"
            )
        return {"Authorization": f"Bearer {self._api_key}"}

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, _REDACTED) if self._api_key else text

    def _retry_policy(self) -> _CallRetry:
        return _CallRetry(
            total=self.retries,
            connect=None,
            read=None,
            status=None,
            other=0,  # TLS, proxy, malformed URL: retrying does not help
            allowed_methods=IDEMPOTENT_METHODS,
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
                when the deadline stopped the retries, why.
        """
        headers = self._headers()
        url = self.base_url + path
        where = f"{method} {path}{_query_text(params)}"
        retry = self._retry_policy()
        attempts, started, deadline = 0, 0.0, 0.0
        failure: _Failure | None = None
        maybe_applied = False
        while True:
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
            attempts += 1
            left = max(0.0, deadline - time.monotonic())
            timeout = (round(min(self.timeout[0], left), 3), round(min(self.timeout[1], left), 3))
            try:
                result, failure = self._attempt(
                    method, path, params, body, headers, timeout, retry, maybe_applied
                )
            finally:
                if write is not None:
                    self.limiter.answered(write)
            if failure is None:
                return result
            maybe_applied = maybe_applied or failure.maybe_applied
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
        headers: Mapping[str, str],
        timeout: tuple[float, float],
        retry: _CallRetry,
        maybe_applied: bool,
    ) -> tuple[Any, _Failure | None]:
        """Sends the request once; returns (the parsed answer, None) or (None, what failed).

        `maybe_applied`: an earlier attempt of this call may have reached the server (so a
        DELETE answered 404 now has done its work).

        Raises:
            SecodaHTTPError: an error status that is not retried (400, 401, 403, 404, ...).
        """
        where = f"{method} {path}{_query_text(params)}"
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            cause = _cause(exc)
            sent = _after_sending(cause)
            final = sent is None or (sent and not retry.may_resend(method))

            def connection_error(tries: str) -> SecodaError:
                return self._connection_error(where, cause, tries, sent, not final)

            # Retry counts a broken connection as a read error only in urllib3's own types.
            counted = cause if isinstance(cause, _URLLIB3_FAILURES) else ProtocolError(cause)
            reason = f"{type(cause).__name__}: {cause}"
            return None, _Failure(reason, connection_error, counted, None, final, bool(sent))
        status = response.status_code
        if retry.is_retry(method, status):

            def status_error(tries: str) -> SecodaError:
                return self._status_error(response, method, path, params, tries)

            reason = f"answered {status}"
            return None, _Failure(reason, status_error, None, response, False, status != 429)
        if status == 404 and method == "DELETE" and maybe_applied:
            logger.warning(
                "DELETE %s answered 404 after an earlier attempt that may have been applied; "
                "taken as deleted",
                path,
            )
            return None, None
        if status >= 400:
            raise self._status_error(response, method, path, params)
        if method in WRITE_METHODS:
            return self._write_result(method, path, response), None
        try:
            return decode_json(response.text), None
        except ValueError as exc:
            problem = f"{type(exc).__name__}: {str(exc)[:200]}"
            reason = f"the body is not complete JSON ({problem})"

            def body_error(tries: str) -> SecodaError:
                return SecodaResponseError(
                    self._redact(
                        f"{where} at {self.base_url} answered a body that is not complete "
                        f"JSON{tries} ({problem})"
                    )
                )

            # The status was fine but the body broke off: for the budget, a broken read.
            return None, _Failure(reason, body_error, ProtocolError(reason), None)

    @staticmethod
    def _tries(attempts: int, started: float, note: str = "") -> str:
        """Returns e.g. `` after 3 attempts over 4.2 s`` (and `` (note)``), for messages."""
        elapsed = time.monotonic() - started
        text = f" after {attempts} attempt{'s' if attempts != 1 else ''} over {elapsed:.1f} s"
        return f"{text} ({note})" if note else text

    def _write_result(self, method: str, path: str, response: requests.Response) -> Any:
        if not response.content:
            return None
        try:
            return decode_json(response.text)
        except ValueError:
            # The write was applied; only its answer is unreadable. Sending it again could
            # create twice (POST), so the caller gets None.
            logger.warning(
                "%s %s succeeded (%d) with a body that is not JSON",
                method,
                path,
                response.status_code,
            )
            return None

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
                    "Secoda may have applied it; it was not retried (read what exists "
                    "before sending it again)"
                )
            )
        return SecodaConnectionError(self._redact(f"{text}. Check SECODA_API_URL and the network"))

    # ----------------------------------------------------------------------------- listing

    def _get_page(self, path: str, params: Mapping[str, Any] | None, number: int) -> Page | None:
        """Returns one page, or None when a page after the first is gone (404)."""
        query = {**(params or {}), "page": number}
        try:
            body = self.get(path, query)
        except SecodaNotFoundError:
            if number == 1:
                raise
            return None  # rows were deleted while paging and the last page vanished
        return parse_page(body, number, path)

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yields the rows of each page of a listing, in page order, de-duplicated by id.

        Page 1 is read first; when it says how many pages there are, the others are fetched
        up to `max_in_flight` at a time. The listing always requests ``?page=N`` on `path`
        itself (``links.next`` may name another path) and stops at the first page the
        server marks as the last, or at a page that no longer exists.

        Raises:
            SecodaPagingError: the server does not advance, or the listing passes `max_pages`.
            SecodaError: a request failed after its retries.
        """
        path = normalize_path(path)
        seen: set[Any] = set()
        previous_ids: list[Any] | None = None
        first = self._get_page(path, params, 1)
        assert first is not None
        limit = first.total_pages
        next_number = 2
        last = first
        pending: deque[tuple[int, Future[Page | None]]] = deque()
        pool: ThreadPoolExecutor | None = None
        try:
            page: Page | None = first
            while page is not None:
                ids = [row.get("id") for row in page.results]
                if ids and ids == previous_ids:
                    raise SecodaPagingError(
                        f"GET {path}?page={page.number} answered the same rows as page "
                        f"{page.number - 1}: the server ignores ?page=, so the listing stops"
                    )
                previous_ids = ids
                fresh = [r for r in page.results if _first_sighting(r, seen)]
                yield fresh
                last = page
                if not page.has_next or (page.number > 1 and not page.results):
                    break
                if page.total_pages is not None and page.number > 1:
                    limit = max(limit or 0, page.total_pages)
                # Pages are planned up to the known count; past it, one at a time.
                target = limit if limit is not None and limit > last.number else last.number + 1
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
                _, future = pending.popleft()
                page = future.result()
        finally:
            for _, future in pending:
                future.cancel()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

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
            return SecodaRateLimitError(
                f"Secoda still answered 429 Too Many Requests to {where}{tries}: {said_}. The "
                "API allows about 30 writes a minute per workspace; if another client shares "
                "it, lower SECODA_WRITE_LIMIT_PER_MINUTE",
                **kwargs,
            )
        error_class = SecodaServerError if status >= 500 else SecodaHTTPError
        if status >= 500 and method not in IDEMPOTENT_METHODS:
            message = (
                f"Secoda answered {status} to {where}{tries}: {said_}. Secoda may have applied "
                "it, so it was not retried (read what exists before sending it again)"
            )
        else:
            message = f"Secoda answered {status} to {where}{tries}: {said}"
        return error_class(message, **kwargs)


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
