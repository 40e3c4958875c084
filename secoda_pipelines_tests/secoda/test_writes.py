"""Writes through the client: the shared pace, and which failures are retried."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from secoda_pipelines.secoda import SecodaConnectionError, SecodaServerError, detail_path


def _first(client, path):
    return client.list(path)[0]


def test_writes_from_many_threads_stay_under_the_limit(make_sandbox, make_client):
    window, limit, writes = 2.0, 5, 16
    sandbox = make_sandbox(write_rate_limit=limit, write_window_s=window)
    client = make_client(sandbox, write_limit_per_minute=limit, write_window_seconds=window)
    tables = client.list("table/tables/")[:writes]

    def describe(table):
        return client.patch(detail_path("table/tables/", table["id"]), {"description": "paced"})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(describe, tables))

    patches = [r for r in sandbox.requests if r.method == "PATCH"]
    assert len(patches) == writes
    assert all(r.status == 200 for r in patches), "the sandbox never had to answer 429"
    starts = sorted(r.started_at for r in patches)
    for i, start in enumerate(starts):
        in_window = [s for s in starts[i:] if s < start + window]
        assert len(in_window) <= limit
    # 16 writes at 5 per window need three full windows after the first write.
    assert starts[-1] - starts[0] >= 3 * window
    for table in tables:
        assert (
            sandbox.get_object(detail_path("table/tables/", table["id"]))["description"] == "paced"
        )


def test_a_throttled_write_waits_and_is_retried(sandbox, client):
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    sandbox.fail_next("429", method="PATCH")
    client.patch(detail_path("table/tables/", table["id"]), {"description": "x"})
    assert [r.status for r in sandbox.requests] == [429, 200]


@pytest.mark.parametrize("kind", ["500", "503", "reset"])
def test_patch_is_retried_on_server_errors(sandbox, client, kind):
    table = _first(client, "table/tables/")
    sandbox.clear_log()
    sandbox.fail_next(kind, method="PATCH")
    result = client.patch(detail_path("table/tables/", table["id"]), {"description": "y"})
    assert result["description"] == "y"
    assert [r.fault for r in sandbox.requests] == [kind, None]


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
    ("kind", "error"), [("500", SecodaServerError), ("reset", SecodaConnectionError)]
)
def test_post_is_not_retried_when_it_may_have_been_applied(sandbox, client, kind, error):
    sandbox.clear_log()
    sandbox.fail_next(kind, method="POST")
    with pytest.raises(error) as raised:
        client.post("integration/integrations/", {"name": "dbt", "type": "dbt"})
    assert [r.method for r in sandbox.requests] == ["POST"]
    if kind == "reset":
        assert "may have applied it" in str(raised.value)


def test_post_is_retried_when_the_connection_is_refused(make_client, make_sandbox, caplog):
    sandbox = make_sandbox()
    client = make_client(sandbox, retries=2)
    url = sandbox.base_url
    sandbox.stop()  # the port now refuses connections: nothing can have been applied
    with (
        caplog.at_level("WARNING", logger="urllib3"),
        pytest.raises(SecodaConnectionError) as raised,
    ):
        client.post("integration/integrations/", {"name": "dbt", "type": "dbt"})
    assert url in str(raised.value) and "SECODA_API_URL" in str(raised.value)
    retries = [r for r in caplog.records if "Retrying" in r.getMessage()]
    assert len(retries) == 2
    assert all("NewConnectionError" in r.getMessage() for r in retries)
