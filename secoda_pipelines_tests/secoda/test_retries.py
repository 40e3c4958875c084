"""Retries against the sandbox's injected faults, judged from the sandbox's own records."""

from __future__ import annotations

import pytest

from secoda_pipelines.secoda import (
    SecodaConnectionError,
    SecodaRateLimitError,
    SecodaResponseError,
    SecodaServerError,
)
from secoda_pipelines_tests.sandbox.helpers import count_objects


def _rows_by_id(rows):
    return {r["id"]: r for r in rows}


@pytest.mark.slow
def test_thirty_percent_faults_give_the_fault_free_rows(make_sandbox, make_client):
    sandbox = make_sandbox(page_size=10)
    client = make_client(sandbox)
    clean_tables = client.list("table/tables/")
    clean_columns = client.list("table/columns/")

    sandbox.settings.fault_rate = 0.3
    sandbox.clear_log()
    faulty_tables = client.list("table/tables/")
    faulty_columns = client.list("table/columns/")

    assert faulty_tables == clean_tables
    assert faulty_columns == clean_columns
    faults = [r.fault for r in sandbox.requests if r.fault]
    assert len(faults) > 10
    assert set(faults) == {"429_retry_after", "429", "500", "503", "reset", "truncated"}


@pytest.mark.parametrize("kind", ["429_retry_after", "503"])
def test_retry_after_is_honoured(sandbox, client, kind):
    sandbox.fail_next(kind, retry_after=2, method="GET")
    client.list("user/")
    first, second = sandbox.requests[:2]
    assert first.fault == kind and first.status in (429, 503)
    assert second.fault is None and second.status == 200
    assert second.started_at - first.finished_at >= 2.0


def test_get_without_retry_after_backs_off_and_succeeds(sandbox, client):
    sandbox.fail_next("500", count=3, method="GET")
    users = client.list("user/")
    assert len(users) == count_objects(sandbox, "user/")
    assert [r.status for r in sandbox.requests[:4]] == [500, 500, 500, 200]


@pytest.mark.parametrize("kind", ["reset", "truncated"])
def test_broken_bodies_and_connections_are_read_again(sandbox, client, kind):
    sandbox.fail_next(kind, count=2, method="GET")
    assert len(client.list("auth/teams/")) == count_objects(sandbox, "auth/teams/")
    assert [r.fault for r in sandbox.requests[:3]] == [kind, kind, None]


def test_retries_are_bounded(make_sandbox, make_client):
    sandbox = make_sandbox()
    sandbox.fail_next("503", count=50, method="GET")
    client = make_client(sandbox, retries=3)
    with pytest.raises(SecodaServerError, match=r"503 to GET user/\?page=1"):
        client.list("user/")
    assert len(sandbox.requests) == 4


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("503", SecodaServerError),
        ("429", SecodaRateLimitError),
        ("truncated", SecodaResponseError),
        ("reset", SecodaConnectionError),
    ],
)
def test_a_server_that_always_fails_gets_retries_plus_one_requests(
    make_sandbox, make_client, kind, error
):
    sandbox = make_sandbox()
    sandbox.fail_next(kind, count=50, method="GET")
    with pytest.raises(error) as raised:
        make_client(sandbox, retries=3).get("user/")
    assert [r.fault for r in sandbox.requests] == [kind] * 4
    assert "after 4 attempts" in str(raised.value)


def test_status_errors_and_broken_bodies_share_one_attempt_budget(make_sandbox, make_client):
    # Each broken body used to restart urllib3's own status retries: 4 x 4 requests here.
    sandbox = make_sandbox()
    for _ in range(10):
        sandbox.fail_next("503", count=3, method="GET")
        sandbox.fail_next("truncated", method="GET")
    with pytest.raises(SecodaResponseError) as raised:
        make_client(sandbox, retries=3).get("user/")
    assert [r.fault for r in sandbox.requests] == ["503", "503", "503", "truncated"]
    assert "after 4 attempts" in str(raised.value)


def test_gives_up_when_the_next_wait_would_pass_the_deadline(make_sandbox, make_client):
    sandbox = make_sandbox()
    sandbox.fail_next("503", retry_after=30, method="GET")
    client = make_client(sandbox, max_retry_seconds=5)
    with pytest.raises(SecodaServerError) as raised:
        client.get("user/")
    message = str(raised.value)
    assert "503" in message and "after 1 attempt " in message
    assert "Retry-After" in message and "max_retry_seconds=5" in message
    assert len(sandbox.requests) == 1, "the client gave up instead of sleeping past its deadline"


def test_retry_after_is_honoured_up_to_retry_after_max(make_sandbox, make_client):
    # Retry-After 30 s, capped at 1 s: the retry fits the 20 s deadline and succeeds.
    sandbox = make_sandbox()
    sandbox.fail_next("429_retry_after", retry_after=30, method="GET")
    client = make_client(sandbox, retry_after_max=1, max_retry_seconds=20)
    assert client.get("user/")["results"]
    assert [r.status for r in sandbox.requests] == [429, 200]


def test_the_read_timeout_is_clipped_to_the_time_left(make_sandbox, make_client):
    # The server holds the answer for 10 minutes; the call's deadline is 2 s. Unclipped, the
    # 10-minute read timeout would outlast pytest's 300 s limit.
    sandbox = make_sandbox()
    sandbox.fail_next("slow", delay=600, method="GET")
    client = make_client(sandbox, timeout=(5.0, 600.0), max_retry_seconds=2)
    with pytest.raises(SecodaConnectionError) as raised:
        client.get("user/")
    assert "ReadTimeout" in str(raised.value) and "after 1 attempt " in str(raised.value)
    assert [r.fault for r in sandbox.requests] == ["slow"]


def test_a_read_timeout_on_get_is_retried(make_sandbox, make_client):
    sandbox = make_sandbox()
    sandbox.fail_next("slow", delay=60, method="GET")
    client = make_client(sandbox, timeout=(5.0, 1.0))
    assert client.get("user/")["results"]
    assert [r.fault for r in sandbox.requests] == ["slow", None]
