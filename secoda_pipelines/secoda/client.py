"""The Secoda REST client: one pooled session, paging, retries, a write pace, clear errors.

Plain Python: it knows nothing of Dagster, pandas or the sandbox.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
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
from secoda_pipelines.secoda.limiter import WriteLimiter
from secoda_pipelines.secoda.paging import Page, decode_json, parse_page

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://app.secoda.co/api/v1/"
DOCUMENTED_BASE_URLS = (
    "https://app.secoda.co/api/v1/, https://api.secoda.co/, https://eapi.secoda.co/ (EU), "
    "https://aapi.secoda.co/ (APAC), https://<your domain>/api/v1/ (self-hosted)"
)
RETRY_STATUSES = (429, 500, 502, 503, 504)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
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


class _GetRetry(Retry):
    """urllib3 Retry whose backoff is never shorter than `backoff_min` after a retryable status.

    urllib3 retries the first failure at once; against a server that is shedding load
    (429 without Retry-After, 503) an immediate retry mostly buys another failure.
    """

    def __init__(self, *args: Any, backoff_min: float = 0.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.backoff_min = backoff_min

    def new(self, **kw: Any) -> _GetRetry:
        retry = super().new(**kw)
        retry.backoff_min = self.backoff_min
        return retry

    def get_backoff_time(self) -> float:
        return max(self.backoff_min, super().get_backoff_time())


class SecodaClient:
    """A client for Secoda's REST API (https://docs.secoda.co/secoda-api).

    Reads: ``get``, ``iter_pages``, ``iter_rows``, ``list``. A listing reads page 1, and when
    it says how many pages there are, fetches the rest `max_in_flight` at a time, yielding
    them in page order. Rows are de-duplicated by ``id``; ``"None"`` strings become None.

    Retries: GETs are retried by urllib3 on connection errors and on 429/500/502/503/504,
    with exponential backoff and jitter, honouring ``Retry-After``; bodies that break off or
    are not JSON are fetched again too. Writes (POST/PUT/PATCH/DELETE) pass, attempt by
    attempt, through one `WriteLimiter` shared by every thread, so a well-configured run
    never meets a 429; a 429 is still waited out and retried. PATCH, PUT and DELETE are
    idempotent, so they are also retried on 5xx and broken connections. A POST is retried
    only where the server cannot have applied it: after a 429 (throttled requests are
    rejected before they run) and when the connection was refused before anything was sent.
    A POST that met a 5xx or a connection broken after sending may have created its object,
    and a blind retry could create it twice, so that error goes to the caller, whose plan
    re-reads the server's state before it writes again.

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
        retry = _GetRetry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            other=0,
            # Only GETs get status and read retries from urllib3; connection errors before
            # sending are retried for every method (nothing reached the server). Writes
            # retry in _write, where each attempt passes the limiter.
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff_factor,
            backoff_max=self.backoff_max,
            backoff_jitter=self.backoff_factor,
            backoff_min=self.backoff_factor,
            respect_retry_after_header=True,
            retry_after_max=self.retry_after_max,
            raise_on_status=False,
            redirect=0,
        )
        pool = max(10, self.max_in_flight)
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool)
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

    def _send(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any
    ) -> requests.Response:
        return self.session.request(
            method,
            self.base_url + path,
            params=params,
            json=body,
            headers=self._headers(),
            timeout=self.timeout,
            allow_redirects=False,
        )

    def _sleep_before_retry(self, attempt: int, response: requests.Response | None) -> float:
        delay = min(self.backoff_max, self.backoff_factor * (2**attempt))
        delay += random.uniform(0, self.backoff_factor)
        if response is not None:
            retry_after = response.headers.get("Retry-After", "").strip()
            if retry_after.isdigit():
                delay = min(float(retry_after), float(self.retry_after_max))
        time.sleep(delay)
        return delay

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """Returns the parsed JSON of ``GET path`` (``"None"`` strings as None).

        Raises:
            SecodaError: a subclass naming what failed (see errors.py).
        """
        path = normalize_path(path)
        deadline = time.monotonic() + self.max_retry_seconds
        attempt = 0
        while True:
            try:
                response = self._send("GET", path, params, None)
                if response.status_code >= 400:
                    self._raise_for_status(response, "GET", path, params)
                return decode_json(response.text)
            except (requests.exceptions.ChunkedEncodingError, json.JSONDecodeError) as exc:
                # The status was fine but the body broke off or is not JSON: read it again.
                reason = f"{type(exc).__name__}: {exc}"
                if attempt >= self.retries or time.monotonic() > deadline:
                    raise SecodaResponseError(
                        self._redact(
                            f"GET {path}{_query_text(params)} at {self.base_url} answered a "
                            f"body that is not complete JSON, {attempt + 1} times ({reason})"
                        )
                    ) from None
                attempt += 1
                logger.warning(
                    "GET %s%s: %s; fetching it again (attempt %d of %d)",
                    path,
                    _query_text(params),
                    reason[:120],
                    attempt + 1,
                    self.retries + 1,
                )
                self._sleep_before_retry(attempt, None)
            except requests.exceptions.RequestException as exc:
                raise self._connection_error("GET", path, exc) from None

    def _connection_error(self, method: str, path: str, exc: Exception) -> SecodaConnectionError:
        return SecodaConnectionError(
            self._redact(
                f"{method} {path} could not reach Secoda at {self.base_url} "
                f"({type(exc).__name__}: {exc}). Check SECODA_API_URL and the network"
            )
        )

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
        path = normalize_path(path)
        idempotent = method != "POST"
        deadline = time.monotonic() + self.max_retry_seconds
        attempt = 0
        while True:
            self.limiter.acquire()
            try:
                response = self._send(method, path, None, body)
            except requests.exceptions.ConnectionError as exc:
                # urllib3 already retried refused connections; this one broke after sending.
                if not idempotent or attempt >= self.retries or time.monotonic() > deadline:
                    error = self._connection_error(method, path, exc)
                    if not idempotent:
                        error.args = (
                            f"{error.args[0]}. The connection broke after the request was sent, "
                            "so Secoda may have applied it; it was not retried. Rerun the job: "
                            "its plan re-reads what exists",
                        )
                    raise error from None
                attempt += 1
                logger.warning("%s %s: %s; retrying", method, path, type(exc).__name__)
                self._sleep_before_retry(attempt, None)
                continue
            except requests.exceptions.RequestException as exc:
                raise self._connection_error(method, path, exc) from None
            status = response.status_code
            retryable = status == 429 or (idempotent and status in RETRY_STATUSES)
            if retryable and attempt < self.retries and time.monotonic() < deadline:
                attempt += 1
                delay = self._sleep_before_retry(attempt, response)
                logger.warning(
                    "%s %s answered %d; retried after %.1f s (attempt %d of %d)",
                    method,
                    path,
                    status,
                    delay,
                    attempt + 1,
                    self.retries + 1,
                )
                continue
            if status >= 400:
                self._raise_for_status(response, method, path, None, attempts=attempt + 1)
            if not response.content:
                return None
            try:
                return decode_json(response.text)
            except ValueError:
                logger.warning(
                    "%s %s succeeded (%d) with a body that is not JSON", method, path, status
                )
                return None

    # ----------------------------------------------------------------------------- errors

    def _raise_for_status(
        self,
        response: requests.Response,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        attempts: int | None = None,
    ) -> None:
        status = response.status_code
        detail = _response_detail(response)
        said = self._redact(_detail_text(detail))
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
            raise SecodaAuthError(
                f"Secoda answered {status} to {where}: {said} ({advice})", **kwargs
            )
        if status == 404:
            raise SecodaNotFoundError(
                f"Secoda answered 404 Not Found to {where}: {said}. If the object exists, "
                f"SECODA_API_URL may be wrong: the documented forms are {DOCUMENTED_BASE_URLS}",
                **kwargs,
            )
        if status == 400:
            raise SecodaBadRequestError(f"Secoda rejected {where} (400): {said}", **kwargs)
        tries = " after retries"
        if attempts:
            tries = f" after {attempts} attempt{'s' if attempts > 1 else ''}"
        if status == 429:
            raise SecodaRateLimitError(
                f"Secoda still answered 429 Too Many Requests to {where}{tries}: {said}. The "
                "API allows about 30 writes a minute per workspace; if another client shares "
                "it, lower SECODA_WRITE_LIMIT_PER_MINUTE",
                **kwargs,
            )
        error_class = SecodaServerError if status >= 500 else SecodaHTTPError
        raise error_class(f"Secoda answered {status} to {where}{tries}: {said}", **kwargs)


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
