"""Retries against the sandbox's injected faults, judged from the sandbox's own records."""

from __future__ import annotations

import pytest

from secoda_pipelines.secoda import SecodaServerError


def _rows_by_id(rows):
    return {r["id"]: r for r in rows}


def test_thirty_percent_faults_give_the_fault_free_rows(make_sandbox, make_client):
    sandbox = make_sandbox(page_size=10)
    client = make_client(sandbox)
    clean_tables = client.list("table/tables/")
    clean_columns = client.list("table/columns/")

    sandbox.fault_rate = 0.3
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
    assert len(users) == sandbox.count("user/")
    assert [r.status for r in sandbox.requests[:4]] == [500, 500, 500, 200]


@pytest.mark.parametrize("kind", ["reset", "truncated"])
def test_broken_bodies_and_connections_are_read_again(sandbox, client, kind):
    sandbox.fail_next(kind, count=2, method="GET")
    assert len(client.list("auth/teams/")) == sandbox.count("auth/teams/")
    assert [r.fault for r in sandbox.requests[:3]] == [kind, kind, None]


def test_retries_are_bounded(make_sandbox, make_client):
    sandbox = make_sandbox()
    sandbox.fail_next("503", count=50, method="GET")
    client = make_client(sandbox, retries=3)
    with pytest.raises(SecodaServerError, match=r"503 to GET user/\?page=1"):
        client.list("user/")
    assert len(sandbox.requests) == 4
