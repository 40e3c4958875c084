"""Injected faults, latency and the request log, over real sockets."""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any

import pytest
import requests

from secoda_pipelines.sandbox import (
    DEFAULT_API_KEY,
    FAULT_KINDS,
    RequestRecord,
    Sandbox,
    SandboxSettings,
)
from secoda_pipelines.sandbox.faults import RANDOM_FAULT_KINDS, WriteRateLimiter
from secoda_pipelines_tests.helpers import AUTH
from secoda_pipelines_tests.sandbox.helpers import insert_object, stored_object


def raw_get(sb: Sandbox, path: str) -> tuple[int, dict[str, str], bytes]:
    """Returns (status, headers, body) read with http.client (no retries, no decoding)."""
    host, port = sb.server_address
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", f"/api/v1/{path}", headers=AUTH)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_429_with_and_without_retry_after(sb: Sandbox) -> None:
    sb.fail_next("429_retry_after")
    sb.fail_next("429_retry_after", retry_after=3)
    sb.fail_next("429")
    status, headers, body = raw_get(sb, "user/")
    assert (status, headers["Retry-After"]) == (429, "1")
    assert json.loads(body) == {"detail": "Request was throttled."}
    assert raw_get(sb, "user/")[1]["Retry-After"] == "3"
    status, headers, _ = raw_get(sb, "user/")
    assert status == 429 and "Retry-After" not in headers
    assert raw_get(sb, "user/")[0] == 200
    assert [r.fault for r in sb.requests] == ["429_retry_after", "429_retry_after", "429", None]


def test_500_and_503(sb: Sandbox) -> None:
    sb.fail_next("500")
    sb.fail_next("503")
    sb.fail_next("503", retry_after=2)
    status, _, body = raw_get(sb, "user/")
    assert status == 500 and json.loads(body) == {"detail": "A server error occurred."}
    status, headers, body = raw_get(sb, "user/")
    assert (status, body) == (503, b"Service Unavailable")
    assert headers["Content-Type"].startswith("text/plain") and "Retry-After" not in headers
    assert raw_get(sb, "user/")[1]["Retry-After"] == "2"


def test_reset_closes_the_connection_without_an_answer(sb: Sandbox) -> None:
    sb.fail_next("reset")
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        raw_get(sb, "user/")
    with pytest.raises(requests.ConnectionError):
        sb.fail_next("reset")
        requests.get(sb.base_url + "user/", headers=AUTH, timeout=10)
    assert [(r.status, r.fault) for r in sb.requests] == [(0, "reset"), (0, "reset")]
    assert raw_get(sb, "user/")[0] == 200


def test_truncated_is_valid_http_with_half_the_json(sb: Sandbox) -> None:
    full = raw_get(sb, "table/tables/")[2]
    sb.fail_next("truncated")
    status, headers, body = raw_get(sb, "table/tables/")
    assert status == 200 and int(headers["Content-Length"]) == len(body) == len(full) // 2
    assert body == full[: len(full) // 2]
    with pytest.raises(ValueError):
        json.loads(body)


def test_faults_match_method_and_path_and_are_not_applied(sb: Sandbox) -> None:
    table = requests.get(sb.base_url + "table/tables/", headers=AUTH, timeout=10).json()
    path = f"table/tables/{table['results'][0]['id']}/"
    sb.fail_next("500", count=2, method="patch", path_contains="table/tables/")
    assert requests.get(sb.base_url + path, headers=AUTH, timeout=10).status_code == 200
    assert requests.get(sb.base_url + "user/", headers=AUTH, timeout=10).status_code == 200
    for status in (500, 500, 200):
        response = requests.patch(
            sb.base_url + path, json={"description": str(status)}, headers=AUTH, timeout=10
        )
        assert response.status_code == status
    sb.fail_next("truncated", method="PATCH")
    response = requests.patch(sb.base_url + path, json={"description": "t"}, headers=AUTH)
    assert response.status_code == 200 and response.content.startswith(b'{"id":')
    # The 500s were not applied; the truncated one was (only its answer was cut off).
    assert stored_object(sb, path)["description"] == "t"
    assert [(w.method, w.body) for w in sb.writes()] == [
        ("PATCH", {"description": "200"}),
        ("PATCH", {"description": "t"}),
    ]


def test_random_faults_follow_the_seed(tmp_path: Any) -> None:
    def run(seed: int) -> list[str | None]:
        with Sandbox(
            tmp_path / "f.sqlite", settings=SandboxSettings(fault_rate=0.5), fault_seed=seed
        ) as sandbox:
            sandbox.settings.fault_kinds = ("500", "503", "429")
            for _ in range(30):
                requests.get(sandbox.base_url + "auth/teams/", headers=AUTH, timeout=10)
            requests.post(
                sandbox.base_url + "integration/integrations/",
                json={"name": "x"},
                headers=AUTH,
                timeout=10,
            )
            return [r.fault for r in sandbox.requests]

    first, again, other = run(7), run(7), run(8)
    assert first == again != other
    assert set(first[:-1]) == {None, "500", "503", "429"}
    assert first[-1] is None  # only GETs fault by default


def test_every_kind_is_known() -> None:
    kinds, pool = FAULT_KINDS, RANDOM_FAULT_KINDS
    assert kinds == (
        *("429_retry_after", "429", "500", "503", "reset", "truncated", "slow"),
        *("applied_500", "applied_503", "applied_reset", "redirect", "html_200"),
        *("empty_page", "page_404"),
    )
    # The default random pool is the one random faults always drew from.
    assert pool == kinds[:6] and "slow" not in pool
    with pytest.raises(ValueError, match=r"one of 429_retry_after, .*, page_404; got 'teapot'"):
        SandboxSettings(fault_kinds=["teapot"])
    with pytest.raises(ValueError, match="delay"):
        Sandbox("unused.sqlite").fail_next("slow", delay=-1)


def test_request_log_never_keeps_the_key(sb: Sandbox) -> None:
    requests.get(sb.base_url + "user/", params={"page": "1", "x": "y"}, headers=AUTH)
    requests.get(sb.base_url + "user/", headers={"Authorization": "Bearer wrong"})
    (ok, wrong) = sb.requests
    assert (ok.method, ok.path, ok.query, ok.status, ok.auth_ok) == (
        "GET",
        "user/",
        {"page": "1", "x": "y"},
        200,
        True,
    )
    assert (wrong.status, wrong.auth_ok) == (401, False)
    assert ok.started_at <= (ok.finished_at or 0) <= wrong.started_at
    assert DEFAULT_API_KEY not in repr(sb.requests)
    sb.clear_log()
    assert sb.requests == []


def test_on_request_runs_before_handling(sb: Sandbox) -> None:
    sb.settings.page_size = 60  # 96 tables: the late arrival is last on page 2
    seen: list[RequestRecord] = []

    def insert_on_page_two(record: RequestRecord) -> None:
        seen.append(record)
        if record.query.get("page") == "2":
            insert_object(sb, "table/tables/", {"title": "late arrival"})

    sb.settings.on_request = insert_on_page_two
    pages = [
        requests.get(sb.base_url + "table/tables/", params={"page": n}, headers=AUTH).json()
        for n in (1, 2)
    ]
    assert [p["count"] for p in pages] == [96, 97]
    assert pages[1]["results"][-1]["title"] == "late arrival"
    assert [r.status for r in seen] == [0, 0]  # called before the answer
    assert len(sb.requests) == 2  # sb.insert is not logged


def test_latency_is_slept_holding_no_lock(sb: Sandbox) -> None:
    # One request sleeps a minute of latency; with latency back at 0 another is answered
    # while the first is still asleep. Had the sleep held a lock, the second would wait.
    sb.settings.latency_ms = 60_000
    arrived = threading.Event()
    sb.settings.on_request = lambda record: arrived.set()
    errors: list[BaseException] = []

    def sleeper() -> None:
        try:
            requests.get(sb.base_url + "auth/teams/", headers=AUTH, timeout=120)
        except requests.RequestException as error:  # stop() below drops it
            errors.append(error)

    thread = threading.Thread(target=sleeper, daemon=True)
    thread.start()
    assert arrived.wait(30)
    sb.settings.on_request = None
    sb.settings.latency_ms = 0
    assert raw_get(sb, "user/")[0] == 200
    slow, quick = sb.requests
    assert slow.finished_at is None and quick.status == 200
    sb.stop()
    thread.join(30)
    assert not thread.is_alive() and errors


def test_latency_delays_every_answer_at_least_that_long(sb: Sandbox) -> None:
    sb.settings.latency_ms = 150
    for _ in range(3):
        assert raw_get(sb, "auth/teams/")[0] == 200
    assert all((r.finished_at or 0) - r.started_at >= 0.15 for r in sb.requests)


def test_slow_holds_the_request_then_closes_without_an_answer(sb: Sandbox) -> None:
    table = requests.get(sb.base_url + "table/tables/", headers=AUTH, timeout=10).json()
    path = f"table/tables/{table['results'][0]['id']}/"
    before = stored_object(sb, path)
    sb.fail_next("slow", delay=0.2, method="PATCH")
    with pytest.raises(requests.ConnectionError):
        requests.patch(sb.base_url + path, json={"description": "s"}, headers=AUTH, timeout=30)
    record = sb.requests[-1]
    assert (record.method, record.status, record.fault) == ("PATCH", 0, "slow")
    assert (record.finished_at or 0) - record.started_at >= 0.2
    assert stored_object(sb, path) == before and sb.writes() == []


def test_slow_longer_than_the_read_timeout_is_a_read_timeout(sb: Sandbox) -> None:
    sb.fail_next("slow", delay=60)
    with pytest.raises(requests.ReadTimeout):
        requests.get(sb.base_url + "user/", headers=AUTH, timeout=(5, 0.5))
    assert raw_get(sb, "user/")[0] == 200  # the held request does not block the next
    held, answered = sb.requests
    assert (held.fault, held.status, held.finished_at) == ("slow", 0, None)
    assert answered.status == 200


def test_stop_ends_a_slow_hold(tmp_path: Any) -> None:
    sandbox = Sandbox(tmp_path / "s.sqlite").start()
    sandbox.fail_next("slow", delay=600)
    outcome: list[BaseException] = []

    def held() -> None:
        try:
            requests.get(sandbox.base_url + "user/", headers=AUTH, timeout=120)
        except requests.RequestException as error:
            outcome.append(error)

    thread = threading.Thread(target=held, daemon=True)
    thread.start()
    while not sandbox.requests:
        thread.join(0.05)
    sandbox.stop()
    thread.join(60)
    assert not thread.is_alive() and isinstance(outcome[0], requests.ConnectionError)


def test_write_limiter_window_slides_and_throttled_writes_do_not_count() -> None:
    limiter = WriteRateLimiter(window=60.0)
    assert [limiter.allow(2, now=t) for t in (0.0, 1.0, 2.0, 59.9)] == [True, True, False, False]
    assert limiter.allow(2, now=60.0)  # the write at 0.0 left the window
    assert not limiter.allow(2, now=60.5)
    assert limiter.allow(2, now=61.0)  # the one at 1.0 left; the throttled ones never counted
    assert limiter.allow(2, window=0.5, now=62.0)  # a shorter window, per call
    assert all(limiter.allow(None, now=62.0) for _ in range(100))
    assert limiter.allow(1, window=0.5, now=63.0, count=False)
    assert limiter.allow(1, window=0.5, now=63.0)  # the check above was not counted
