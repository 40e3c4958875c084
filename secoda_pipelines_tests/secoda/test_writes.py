"""Writes through the client: the shared pace, and which failures are retried.

The pace is judged from the limiter's own record of when it let each write go, not from
when the sandbox saw them: a loaded machine delays arrivals unevenly, and a 429 that comes
of it is the server's to send and the client's to wait out.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from secoda_pipelines.secoda import (
    SecodaConnectionError,
    SecodaNotFoundError,
    SecodaRateLimitError,
    SecodaResponseError,
    SecodaServerError,
    detail_path,
)
from secoda_pipelines_tests.sandbox.helpers import count_objects, stored_object


def _first(client, path):
    return client.list(path)[0]


def _busiest_window(times: list[float], window: float) -> int:
    """Returns the most of `times` that fall in any half-open interval of `window` seconds."""
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times)))


@pytest.mark.slow
def test_writes_from_many_threads_keep_the_pace_and_apply_once(make_sandbox, make_client):
    window, limit, writes, throttled = 2.0, 5, 16, 3
    sandbox = make_sandbox(write_rate_limit=limit, write_window_s=window)
    client = make_client(sandbox, write_limit_per_minute=limit, write_window_seconds=window)
    tables = client.list("table/tables/")[:writes]
    sandbox.fail_next("429", count=throttled, method="PATCH")

    def describe(table):
        return client.patch(detail_path("table/tables/", table["id"]), {"description": "paced"})

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(describe, tables))

    assert [r["description"] for r in results] == ["paced"] * writes
    patches = [r for r in sandbox.requests if r.method == "PATCH"]
    granted = client.limiter.granted()
    assert len(granted) == len(patches), "every write attempt passed the limiter"
    assert _busiest_window(granted, window) <= limit
    # Only the queued 429s: the pace counts each write from its answer, so even on a slow
    # machine the server never throttles it. Each was waited out and retried; each table
    # was written exactly once.
    assert sum(r.status == 429 for r in patches) == throttled
    assert Counter(w.path for w in sandbox.writes()) == {
        detail_path("table/tables/", t["id"]): 1 for t in tables
    }
    for table in tables:
        stored = stored_object(sandbox, detail_path("table/tables/", table["id"]))
        assert stored["description"] == "paced"


def test_a_throttled_write_waits_and_is_retried(sandbox, client):
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    sandbox.fail_next("429", method="PATCH")
    client.patch(detail_path("table/tables/", table["id"]), {"description": "x"})
    assert [r.status for r in sandbox.requests] == [429, 200]
    assert len(client.limiter.granted()) == 2


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "POST"])
@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("500", SecodaServerError),
        ("503", SecodaServerError),
        ("reset", SecodaConnectionError),
        ("slow", SecodaConnectionError),
        ("applied_500", SecodaServerError),
        ("applied_reset", SecodaConnectionError),
    ],
)
def test_a_write_that_may_have_been_applied_is_not_sent_again(
    make_sandbox, make_client, method, kind, error
):
    # Secoda has no conditional update: a second PATCH built before the first could undo an
    # edit made in between, so only a caller that reads the target again may try again.
    sandbox = make_sandbox()
    client = make_client(sandbox, timeout=(5.0, 1.0))
    edge = _first(client, "lineage/manual/")
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    sandbox.fail_next(kind, method=method, delay=60 if kind == "slow" else None)
    call = {
        "PATCH": lambda: client.patch(detail_path("table/tables/", table["id"]), {"pii": True}),
        "DELETE": lambda: client.delete(detail_path("lineage/manual/", edge["id"])),
        "POST": lambda: client.post("integration/integrations/", {"name": "d", "type": "dbt"}),
    }[method]
    with pytest.raises(error) as raised:
        call()
    assert [r.method for r in sandbox.requests] == [method]
    assert raised.value.maybe_applied is True
    assert "may have applied it" in str(raised.value) and "not sent again" in str(raised.value)
    assert len(sandbox.writes()) == (1 if kind.startswith("applied_") else 0)


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_a_redirect_is_a_failed_write_never_followed(sandbox, client, method):
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    sandbox.fail_next("redirect", method=method)
    with pytest.raises(SecodaResponseError) as raised:
        if method == "PATCH":
            client.patch(detail_path("table/tables/", table["id"]), {"description": "r"})
        else:
            client.post("integration/integrations/", {"name": "d", "type": "dbt"})
    assert raised.value.status == 302 and raised.value.maybe_applied is False
    assert "302" in str(raised.value) and "/login/" in str(raised.value)
    assert "not taken as applied" in str(raised.value)
    assert [r.method for r in sandbox.requests] == [method]  # the login page is not fetched
    assert sandbox.writes() == []


def test_a_proxy_html_page_is_a_failed_write(sandbox, client):
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    sandbox.fail_next("html_200", method="PATCH")
    with pytest.raises(SecodaResponseError) as raised:
        client.patch(detail_path("table/tables/", table["id"]), {"description": "h"})
    assert raised.value.status == 200
    assert "HTML page (text/html)" in str(raised.value)
    assert "not taken as applied" in str(raised.value)
    assert [r.method for r in sandbox.requests] == ["PATCH"]


def test_a_cut_off_answer_to_a_create_says_it_may_have_been_applied(sandbox, client):
    sandbox.clear_log()
    sandbox.fail_next("truncated", method="POST")
    with pytest.raises(SecodaResponseError) as raised:
        client.post("tag/", {"name": "cut-off", "description": "", "color": "#000000"})
    assert raised.value.status == 201 and raised.value.maybe_applied is True
    assert "not complete JSON" in str(raised.value)
    assert len(sandbox.writes()) == 1  # created once, not again


def test_a_delete_of_a_missing_object_is_still_not_found(sandbox, client):
    with pytest.raises(SecodaNotFoundError):
        client.delete(detail_path("lineage/manual/", "no-such-edge"))


def test_a_throttled_write_makes_retries_plus_one_attempts(make_sandbox, make_client):
    sandbox = make_sandbox()
    client = make_client(sandbox, retries=3)
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    sandbox.fail_next("429", count=50, method="PATCH")
    with pytest.raises(SecodaRateLimitError, match="after 4 attempts") as raised:
        client.patch(detail_path("table/tables/", table["id"]), {"description": "never"})
    assert "SECODA_WRITE_LIMIT_PER_MINUTE" in str(raised.value)
    assert raised.value.maybe_applied is False
    assert [r.fault for r in sandbox.requests] == ["429"] * 4
    assert len(client.limiter.granted()) == 4
    assert sandbox.writes() == []


def test_a_write_gives_up_when_the_next_wait_would_pass_the_deadline(make_sandbox, make_client):
    sandbox = make_sandbox()
    client = make_client(sandbox, max_retry_seconds=5)
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    sandbox.fail_next("429_retry_after", retry_after=30, method="PATCH")
    with pytest.raises(SecodaRateLimitError) as raised:
        client.patch(detail_path("table/tables/", table["id"]), {"description": "x"})
    assert "after 1 attempt " in str(raised.value) and "max_retry_seconds=5" in str(raised.value)
    assert len(sandbox.requests) == 1


def test_post_is_retried_after_429_and_creates_once(sandbox, client):
    integration = _first(client, "integration/integrations/")
    sandbox.clear_log()
    sandbox.fail_next("429_retry_after", retry_after=1, method="POST")
    before = count_objects(sandbox, "table/tables/")
    client.post(
        "table/tables/",
        {"title": "orders_v2", "integration": integration["id"], "schema": "public"},
    )
    assert [r.status for r in sandbox.requests] == [429, 201]
    assert count_objects(sandbox, "table/tables/") == before + 1


def _refusing_url() -> str:
    with socket.socket() as probe:  # bound, never listening: connections are refused
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/api/v1/"


def test_post_is_retried_when_the_connection_is_refused(make_sandbox, make_client, caplog):
    sandbox = make_sandbox()
    client = make_client(sandbox, retries=2)
    url = sandbox.base_url
    sandbox.stop()  # the port now refuses connections: nothing can have been applied
    with (
        caplog.at_level("WARNING", logger="secoda_pipelines.secoda.client"),
        pytest.raises(SecodaConnectionError) as raised,
    ):
        client.post("integration/integrations/", {"name": "dbt", "type": "dbt"})
    message = str(raised.value)
    assert url in message and "SECODA_API_URL" in message
    assert "was not sent" in message and "after 3 attempts" in message
    assert "may have" not in message
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert all("NewConnectionError" in r.getMessage() for r in retries)
    assert len(client.limiter.granted()) == 3


@pytest.mark.parametrize("method", ["post", "patch", "delete", "get"])
def test_a_refused_connection_says_nothing_was_sent(make_client, method):
    client = make_client(SimpleNamespace(base_url=_refusing_url()), retries=1)
    call = getattr(client, method)
    args = ("tag/",) if method in ("get", "delete") else ("tag/", {"name": "x"})
    with pytest.raises(SecodaConnectionError) as raised:
        call(*args)
    assert "was not sent" in str(raised.value) and "after 2 attempts" in str(raised.value)


def test_the_key_is_not_in_retry_logs(make_sandbox, make_client, caplog):
    secret = "sk-live-retry-log-secret"
    sandbox = make_sandbox(api_key=secret)
    client = make_client(sandbox, api_key=secret)
    table = _first(client, "table/tables/")
    sandbox.fail_next("429", count=2, method="PATCH")
    with caplog.at_level(logging.DEBUG):
        client.patch(detail_path("table/tables/", table["id"]), {"description": "z"})
    assert any("retrying" in r.getMessage() for r in caplog.records)
    assert secret not in caplog.text


class _Journal:
    """A write journal keeping its events in a list; `fail` makes `sent` raise it."""

    def __init__(self, fail: Exception | None = None):
        self.events: list[tuple[str, str]] = []
        self.fail = fail

    def sent(self, at: float) -> str:
        if self.fail is not None:
            raise self.fail
        token = f"t{sum(event == 'sent' for event, _ in self.events)}"
        self.events.append(("sent", token))
        return token

    def answered(self, token, at: float) -> None:
        self.events.append(("answered", token))


def test_each_write_attempt_is_journaled_before_it_reaches_secoda_and_when_answered(
    sandbox, client
):
    table = _first(client, "table/tables/")
    journal = _Journal()
    seen_on_arrival: list[list[tuple[str, str]]] = []
    sandbox.settings.on_request = lambda record: seen_on_arrival.append(list(journal.events))
    sandbox.clear_log()
    sandbox.fail_next("429", method="PATCH")
    with client.limiter.journaled(journal):
        client.patch(detail_path("table/tables/", table["id"]), {"description": "journaled"})
    assert [r.status for r in sandbox.requests] == [429, 200]
    assert seen_on_arrival == [
        [("sent", "t0")],
        [("sent", "t0"), ("answered", "t0"), ("sent", "t1")],
    ]
    assert journal.events[-1] == ("answered", "t1")


def test_a_write_the_journal_cannot_record_is_never_sent(sandbox, client):
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    broken = _Journal(fail=OSError("no space left for the journal"))
    with (
        client.limiter.journaled(broken),
        pytest.raises(OSError, match="no space left for the journal"),
    ):
        client.patch(detail_path("table/tables/", table["id"]), {"description": "never"})
    assert sandbox.requests == []
    assert (
        stored_object(sandbox, detail_path("table/tables/", table["id"]))["description"] != "never"
    )
