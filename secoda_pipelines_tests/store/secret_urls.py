"""Warehouse URLs carrying a secret in each form SPEC B names, for the tests that check no
surface shows it (the test server trusts loopback: a password is sent and ignored)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

# user:password@, percent-encoded or not; ?password=, percent-encoded or not; ?sslpassword=.
FORMS = ("userinfo", "userinfo_encoded", "query", "query_encoded", "sslpassword")


@dataclass(frozen=True)
class SecretUrl:
    """A warehouse URL and every spelling of the secret it holds."""

    form: str
    url: str
    secrets: tuple[str, ...]  # none of these may appear anywhere

    def shown_in(self, texts: list[str]) -> list[str]:
        """Returns the texts that hold a spelling of the secret (each cut around it)."""
        found = []
        for text in texts:
            for secret in self.secrets:
                at = text.find(secret)
                if at >= 0:
                    found.append(text[max(0, at - 80) : at + len(secret) + 80])
        return found


def bare(url: str) -> str:
    """Returns `url` without the password of its user:password@ part."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rpartition('@')[2]}"))


def secret_url(url: str, form: str, password: str | None = None) -> SecretUrl:
    """Returns the database at `url` with a fresh password (or `password`) in `form`.

    The encoded forms use a password holding every character a URL reserves, so it is
    written percent-encoded and differs from what the server receives."""
    token = secrets.token_hex(6)
    encoded_forms = ("userinfo_encoded", "query_encoded")
    if password is None:
        password = f"p@ss/w:rd?#&=+ 'q\\%-{token}" if form in encoded_forms else f"pw-{token}"
    written = quote(password, safe="") if form in encoded_forms else password
    parts = urlsplit(bare(url))
    user, host = parts.netloc.split("@")
    if form in ("userinfo", "userinfo_encoded"):
        shown = urlunsplit(parts._replace(netloc=f"{user}:{written}@{host}"))
    elif form in ("query", "query_encoded"):
        shown = urlunsplit(parts._replace(query=f"password={written}"))
    elif form == "sslpassword":
        shown = urlunsplit(parts._replace(query=f"sslpassword={written}&sslmode=prefer"))
    else:
        raise ValueError(f"unknown form {form!r}; one of {FORMS}")
    return SecretUrl(form, shown, tuple(dict.fromkeys([password, written])))


def warehouse_name(url: str) -> str:
    """Returns how the warehouse at `url` must be named: postgresql://host:port/database."""
    parts = urlsplit(url)
    return f"postgresql://{parts.hostname}:{parts.port or 5432}{parts.path}"


def files_text(folder: Path) -> list[str]:
    """Returns the content of every file below `folder` (logs, the Dagster instance's
    SQLite event logs, run records), decoded leniently, for a secret to be looked for."""
    return [
        path.read_bytes().decode("utf-8", errors="replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]
