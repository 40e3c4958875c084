"""What the client sends as credentials, whatever the environment holds: the Bearer key and
nothing else. A URL carrying user:password@ is refused without showing the password, and
~/.netrc is ignored for auth while proxy settings from the environment still apply."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines.secoda import SecodaClient, SecodaConfigError
from secoda_pipelines_tests.helpers import QuietHandler, serving

PASSWORD = "pw-in-the-url-Zq81"


@pytest.mark.parametrize(
    "url",
    [
        f"https://admin:{PASSWORD}@app.secoda.co/api/v1/",
        f"https://admin:{PASSWORD}@eapi.secoda.co/",
        "https://admin@app.secoda.co/api/v1/",
        f"http://:{PASSWORD}@127.0.0.1:8765/api/v1/",
    ],
)
def test_a_url_with_credentials_is_refused_without_showing_them(url):
    with pytest.raises(SecodaConfigError) as raised:
        SecodaClient(DEFAULT_API_KEY, url)
    message = str(raised.value)
    assert "SECODA_API_KEY" in message and "user:password@" in message
    assert PASSWORD not in message and "admin" not in message
    assert PASSWORD not in repr(raised.value)


def test_netrc_credentials_are_never_sent(sandbox, make_client, tmp_path, monkeypatch):
    host = sandbox.server_address[0]
    (tmp_path / ".netrc").write_text(f"machine {host}\nlogin netrc-user\npassword {PASSWORD}\n")
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    monkeypatch.setenv("HOME", str(tmp_path))
    client = make_client(sandbox)
    sandbox.clear_log()
    assert client.list("integration/integrations/")
    assert [r.auth_ok for r in sandbox.requests] == [True] * len(sandbox.requests)
    assert PASSWORD not in repr(client) and PASSWORD not in repr(client.session.auth)


class _Proxy(QuietHandler):
    """A forward proxy that answers every request itself, recording what it was sent."""

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        self.reply(json.dumps({"count": 1, "next": None, "results": [{"id": "i1"}]}).encode())


@pytest.fixture
def proxy() -> Iterator[ThreadingHTTPServer]:
    with serving(_Proxy) as server:
        server.seen = []
        yield server


def test_proxy_settings_still_apply_with_a_netrc(proxy, tmp_path, monkeypatch):
    (tmp_path / ".netrc").write_text(f"machine secoda.invalid login u password {PASSWORD}\n")
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with SecodaClient(DEFAULT_API_KEY, "http://secoda.invalid/api/v1/") as client:
        assert client.list("integration/integrations/") == [{"id": "i1"}]
    assert proxy.seen == [
        (
            "http://secoda.invalid/api/v1/integration/integrations/?page=1",
            f"Bearer {DEFAULT_API_KEY}",
        )
    ]
