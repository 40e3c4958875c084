"""The client's error messages, and the key's absence from everything a user can read."""

from __future__ import annotations

import logging
import socket

import pytest

from secoda_pipelines.sandbox import DEFAULT_READONLY_API_KEY
from secoda_pipelines.secoda import (
    SecodaAuthError,
    SecodaBadRequestError,
    SecodaClient,
    SecodaConfigError,
    SecodaConnectionError,
    SecodaNotFoundError,
    SecodaRateLimitError,
    SecodaResponseError,
    detail_path,
)
from secoda_pipelines_tests.helpers import QuietHandler, base_url, serving

SECRET = "sk-live-7f3a9c-very-secret"


def test_wrong_key_names_the_variable_and_the_url(sandbox, make_client):
    client = make_client(sandbox, api_key=SECRET)
    with pytest.raises(SecodaAuthError) as raised:
        client.list("table/tables/")
    message = str(raised.value)
    assert raised.value.status == 401
    assert "SECODA_API_KEY" in message and sandbox.base_url in message
    assert SECRET not in message and SECRET not in repr(client)


def test_forbidden_write_says_the_key_lacks_permission(sandbox, make_client):
    client = make_client(sandbox, api_key=DEFAULT_READONLY_API_KEY)
    table = client.list("table/tables/")[0]
    with pytest.raises(SecodaAuthError, match="permission") as raised:
        client.patch(detail_path("table/tables/", table["id"]), {"description": "x"})
    assert raised.value.status == 403
    assert "SECODA_API_KEY" in str(raised.value)


def test_missing_key_fails_at_the_first_call(sandbox):
    client = SecodaClient(None, sandbox.base_url)  # constructing is fine
    with pytest.raises(SecodaConfigError, match="SECODA_API_KEY is not set"):
        client.list("user/")
    assert sandbox.requests == []


def test_malformed_key_is_refused_without_echoing_it():
    with pytest.raises(SecodaConfigError) as raised:
        SecodaClient("abc\ndef-secret", "http://127.0.0.1:1/api/v1/")
    assert "def-secret" not in str(raised.value)


def test_not_found_names_the_path_and_the_url_forms(sandbox, client):
    with pytest.raises(SecodaNotFoundError) as raised:
        client.get("tables/")
    message = str(raised.value)
    assert "GET tables/" in message
    assert "SECODA_API_URL" in message and "/api/v1/" in message


def test_bad_request_carries_the_field_errors(sandbox, client):
    table = client.list("table/tables/")[0]
    with pytest.raises(SecodaBadRequestError) as raised:
        client.patch(detail_path("table/tables/", table["id"]), {"pii": "definitely"})
    assert "pii" in raised.value.field_errors
    assert "pii:" in str(raised.value)
    assert sandbox.writes() == []


def test_base_url_must_be_http():
    with pytest.raises(SecodaConfigError, match=r"'app.secoda.co/api/v1' is not an http\(s\) URL"):
        SecodaClient("k", "app.secoda.co/api/v1")


def test_base_url_is_normalised_to_one_slash(sandbox, make_client):
    client = SecodaClient("k", sandbox.base_url.rstrip("/") + "//")
    assert client.base_url == sandbox.base_url


def test_429_after_retries_names_the_limit(sandbox, make_client):
    client = make_client(sandbox, retries=2)
    table = client.list("table/tables/")[0]
    sandbox.fail_next("429", count=10, method="PATCH")
    with pytest.raises(SecodaRateLimitError) as raised:
        client.patch(detail_path("table/tables/", table["id"]), {"description": "x"})
    assert "429" in str(raised.value) and "SECODA_WRITE_LIMIT_PER_MINUTE" in str(raised.value)
    assert "after 3 attempts" in str(raised.value)


def test_the_key_never_reaches_logs_or_errors(make_sandbox, make_client, caplog):
    sandbox = make_sandbox(api_key=SECRET, page_size=5, fault_rate=0.3)
    client = make_client(sandbox, api_key=SECRET)
    texts = [repr(client)]
    with caplog.at_level(logging.DEBUG):
        client.list("table/tables/")
        table = client.list("table/tables/")[0]
        client.patch(detail_path("table/tables/", table["id"]), {"description": "z"})
        for call in (
            lambda: client.get("nope/"),
            lambda: client.patch(detail_path("table/tables/", table["id"]), {"pii": "x"}),
            lambda: make_client(sandbox, api_key=SECRET + "x").get("user/"),
        ):
            with pytest.raises(Exception) as raised:
                call()
            texts.append(str(raised.value))
    assert any("retrying" in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text
    assert all(SECRET not in text for text in texts)


def test_a_throttled_read_does_not_blame_the_write_limit(sandbox, make_client):
    client = make_client(sandbox, retries=1)
    sandbox.fail_next("429", count=10, method="GET")
    with pytest.raises(SecodaRateLimitError) as raised:
        client.get("user/")
    message = str(raised.value)
    assert "429" in message and "after 2 attempts" in message and "throttled a read" in message
    assert "SECODA_WRITE_LIMIT_PER_MINUTE" not in message


def test_no_attempt_is_made_with_a_timeout_of_zero():
    # Against a refusing port with no backoff, attempts follow each other until the deadline
    # leaves too little for one: the call gives up, never sending a 0 s timeout (requests
    # refuses one with a bare ValueError).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/api/v1/"
        client = SecodaClient(
            "test-key", url, max_retry_seconds=0.3, backoff_factor=0.0, retries=100_000
        )
        # Whichever check meets the deadline first says so; none sends a 0 s timeout.
        with pytest.raises(SecodaConnectionError, match=r"giving up: .*max_retry_seconds=0.3"):
            client.get("user/")


def test_a_deadline_too_short_for_one_attempt_is_refused():
    with pytest.raises(ValueError, match=r"max_retry_seconds must be more than 0.05 s.*0.01"):
        SecodaClient("k", "http://127.0.0.1:1/", max_retry_seconds=0.01)


class _BadGzip(QuietHandler):
    """Says its body is gzip; it is not."""

    def do_GET(self) -> None:
        self.reply(b"this is not gzip", headers={"Content-Encoding": "gzip"})


def test_an_undecodable_body_is_not_called_unreachable():
    with serving(_BadGzip) as server:
        client = SecodaClient("k", base_url(server), retries=1, backoff_factor=0.01)
        with pytest.raises(SecodaResponseError) as raised:
            client.get("user/")
    message = str(raised.value)
    assert "could not be decoded" in message and "after 2 attempts" in message
    assert "could not reach" not in message
