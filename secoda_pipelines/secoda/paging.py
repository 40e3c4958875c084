"""Reading one page of a Secoda list response, in either of the shapes the API answers with.

Secoda's shape is ``{"links": {...}, "meta": {...}, "count", "total_pages", "results"}``;
older servers answer Django REST framework's ``{"count", "next", "previous", "results"}``.
Nulls sometimes arrive as the string ``"None"``: `decode_json` turns them into None as the
body is parsed, the one place that does, so nothing downstream checks for the string again.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from secoda_pipelines.secoda.errors import SecodaPagingError, SecodaResponseError

NONE_STRING = "None"


@dataclass(frozen=True)
class Page:
    """One page of a listing.

    Attributes:
        number: the page number that was requested (1-based).
        results: the rows, with ``"None"`` strings already turned into ``None``.
        has_next: True while any of the server's signals says another page follows.
        total_pages: the server's page count, when it says (or it can be derived).
        count: the rows the whole listing holds, when the server says.
    """

    number: int
    results: list[dict[str, Any]]
    has_next: bool
    total_pages: int | None
    count: int | None = None


def _nulls_from_none_strings(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if v == NONE_STRING else v) for k, v in obj.items()}


def decode_json(text: str) -> Any:
    """Returns the parsed JSON with every ``"None"`` string value turned into ``None``.

    Raises:
        ValueError: the text is not JSON (a truncated body, an HTML error page).
    """
    # Most pages hold no "None" at all: skip the per-object hook unless the text has one.
    if f'"{NONE_STRING}"' in text:
        return json.loads(text, object_hook=_nulls_from_none_strings)
    return json.loads(text)


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _rows(items: list[Any], requested: int, path: str) -> list[dict[str, Any]]:
    """Returns the items when each is an object with a scalar id (or none).

    Raises:
        SecodaResponseError: naming the first item that is not.
    """
    for position, item in enumerate(items):
        problem = None
        if not isinstance(item, dict):
            problem = f"is {type(item).__name__} {json.dumps(item)[:80]}, not an object"
        elif isinstance(item.get("id"), list | dict):
            problem = f"has the id {json.dumps(item['id'])[:80]}, not a string or number"
        if problem:
            raise SecodaResponseError(
                f"GET {path}?page={requested}: result {position} {problem}; the listing "
                "stops rather than skip rows (is SECODA_API_URL a Secoda API?)"
            )
    return items


def parse_page(body: Any, requested: int, path: str) -> Page:
    """Returns the page a list response describes, for the page number that was requested.

    `body` is what `decode_json` returned, so ``"None"`` strings are already None. Another
    page follows (has_next) while any signal the body carries says so: ``meta.next_page``,
    ``links.next`` (or DRF ``next``) not null, or ``requested < total_pages``. A listing ends
    only when the server says there is no next page (SPEC A), and the listing's ``count``
    catches a server whose signals end it early.

    Raises:
        SecodaResponseError: the body is neither a list nor a paged object, or holds a row
            that is not an object or whose id is a list or object (skipping it would make a
            listing look shorter than it is).
        SecodaPagingError: the server answered a different page than the one requested.
    """
    if isinstance(body, list):  # an unpaged endpoint: everything at once
        return Page(requested, _rows(body, requested, path), False, requested)
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        keys = f" with keys {sorted(body)[:8]}" if isinstance(body, dict) else ""
        raise SecodaResponseError(
            f"GET {path}?page={requested} did not answer a paged list "
            f"(expected an object with 'results', got {type(body).__name__}{keys})"
        )
    results = _rows(body["results"], requested, path)
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else None
    links = body.get("links") if isinstance(body.get("links"), dict) else None

    if meta is not None:
        answered = _int_or_none(meta.get("page"))
        if answered is not None and answered != requested:
            raise SecodaPagingError(
                f"GET {path}?page={requested} answered page {answered}: the server is not "
                "advancing through the pages, so the listing stops here rather than loop"
            )

    signals: list[bool] = []
    if meta is not None and "next_page" in meta:
        signals.append(meta["next_page"] is not None)
    if links is not None and "next" in links:
        signals.append(links["next"] is not None)
    if "next" in body and meta is None and links is None:  # DRF shape
        signals.append(body["next"] is not None)

    count = _int_or_none(body.get("count"))
    total_pages = _int_or_none(body.get("total_pages"))
    if total_pages is None and requested == 1 and results and count is not None:
        total_pages = max(1, math.ceil(count / len(results)))
    if total_pages is not None and "total_pages" in body:
        signals.append(requested < total_pages)
    if not signals:  # no signal at all: an empty page is the only end we can see
        signals.append(bool(results))
    return Page(requested, results, any(signals), total_pages, count)
