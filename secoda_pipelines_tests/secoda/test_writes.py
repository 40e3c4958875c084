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
import requests

from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines.secoda import (
    SecodaConnectionError,
    SecodaNotFoundError,
    SecodaRateLimitError,
    SecodaServerError,
    detail_path,
)


def _first(client, path):
    return client.list(path)[0]


def _busiest_window(times: list[float], window: float) -> int:
    """Returns the most of `times` that fall in any half-open interval of `window` seconds."""
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times)))


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
        stored = sandbox.get_object(detail_path("table/tables/", table["id"]))
        assert stored["description"] == "paced"


def test_a_throttled_write_waits_and_is_retried(sandbox, client):
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    sandbox.fail_next("429", method="PATCH")
    client.patch(detail_path("table/tables/", table["id"]), {"description": "x"})
    assert [r.status for r in sandbox.requests] == [429, 200]
    assert len(client.limiter.granted()) == 2


@pytest.mark.parametrize("kind", ["500", "503", "reset"])
def test_patch_is_retried_on_server_errors(sandbox, client, kind):
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    sandbox.fail_next(kind, method="PATCH")
    result = client.patch(detail_path("table/tables/", table["id"]), {"description": "y"})
    assert result["description"] == "y"
    assert [r.fault for r in sandbox.requests] == [kind, None]


def test_patch_whose_read_times_out_is_retried_and_applied_once(make_sandbox, make_client):
    sandbox = make_sandbox()
    client = make_client(sandbox, timeout=(5.0, 1.0))
    table = _first(client, "table/tables/")
    path = detail_path("table/tables/", table["id"])
    sandbox.clear_log()
    sandbox.fail_next("slow", delay=60, method="PATCH")
    assert client.patch(path, {"description": "late"})["description"] == "late"
    assert [(r.method, r.fault) for r in sandbox.requests] == [("PATCH", "slow"), ("PATCH", None)]
    assert [(w.path, w.body) for w in sandbox.writes()] == [(path, {"description": "late"})]
    assert len(client.limiter.granted()) == 2


def test_delete_whose_read_times_out_is_retried(make_sandbox, make_client):
    sandbox = make_sandbox()
    client = make_client(sandbox, timeout=(5.0, 1.0))
    edge = _first(client, "lineage/manual/")
    before = sandbox.count("lineage/manual/")
    sandbox.clear_log()
    sandbox.fail_next("slow", delay=60, method="DELETE")
    client.delete(detail_path("lineage/manual/", edge["id"]))
    assert [r.fault for r in sandbox.requests] == ["slow", None]
    assert sandbox.count("lineage/manual/") == before - 2  # the edge and its mirror


def test_a_retried_delete_answered_404_has_done_its_work(make_sandbox, make_client):
    # The first DELETE is applied (here by a direct call as it arrives) but its answer never
    # comes; the retry then finds nothing to delete.
    sandbox = make_sandbox()
    client = make_client(sandbox, timeout=(5.0, 1.0))
    edge = _first(client, "lineage/manual/")
    path = detail_path("lineage/manual/", edge["id"])
    before = sandbox.count("lineage/manual/")
    sandbox.clear_log()

    def apply_then_hold(record):
        if record.method == "DELETE" and len(sandbox.requests) == 1:
            direct = requests.delete(
                sandbox.base_url + path,
                headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
                timeout=10,
            )
            assert direct.status_code == 204
            sandbox.fail_next("slow", delay=60, method="DELETE")

    sandbox.on_request = apply_then_hold
    assert client.delete(path) is None
    sandbox.on_request = None
    assert [(r.fault, r.status) for r in sandbox.requests] == [
        ("slow", 0),
        (None, 204),
        (None, 404),
    ]
    assert sandbox.count("lineage/manual/") == before - 2


def test_a_delete_of_a_missing_object_is_still_not_found(sandbox, client):
    with pytest.raises(SecodaNotFoundError):
        client.delete(detail_path("lineage/manual/", "no-such-edge"))


def test_patch_that_always_fails_makes_retries_plus_one_attempts(make_sandbox, make_client):
    sandbox = make_sandbox()
    client = make_client(sandbox, retries=3)
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    sandbox.fail_next("503", count=50, method="PATCH")
    with pytest.raises(SecodaServerError, match="after 4 attempts"):
        client.patch(detail_path("table/tables/", table["id"]), {"description": "never"})
    assert [r.fault for r in sandbox.requests] == ["503"] * 4
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
    before = sandbox.count("table/tables/")
    client.post(
        "table/tables/",
        {"title": "orders_v2", "integration": integration["id"], "schema": "public"},
    )
    assert [r.status for r in sandbox.requests] == [429, 201]
    assert sandbox.count("table/tables/") == before + 1


@pytest.mark.parametrize(
    ("kind", "error"),
    [("500", SecodaServerError), ("reset", SecodaConnectionError), ("slow", SecodaConnectionError)],
)
def test_post_is_not_retried_when_it_may_have_been_applied(make_sandbox, make_client, kind, error):
    sandbox = make_sandbox()
    client = make_client(sandbox, timeout=(5.0, 1.0))
    sandbox.fail_next(kind, method="POST", delay=60 if kind == "slow" else None)
    with pytest.raises(error) as raised:
        client.post("integration/integrations/", {"name": "dbt", "type": "dbt"})
    assert [r.method for r in sandbox.requests] == ["POST"]
    assert "may have applied it" in str(raised.value) and "not retried" in str(raised.value)


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
    sandbox.fail_next("503", count=2, method="PATCH")
    with caplog.at_level(logging.DEBUG):
        client.patch(detail_path("table/tables/", table["id"]), {"description": "z"})
    assert any("retrying" in r.getMessage() for r in caplog.records)
    assert secret not in caplog.text
