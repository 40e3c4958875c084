"""Connecting to the PostgreSQL warehouse (SECODA_WAREHOUSE_URL) without ever showing its
password: the URL is checked, shown only masked, and every error raised from here has the
password (and the URL's other secrets) scrubbed out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from secoda_pipelines.store.warehouse import WarehouseError

if TYPE_CHECKING:
    import psycopg

SCHEMES = ("postgresql", "postgres")
# SQLAlchemy spellings a user may paste from another tool; psycopg takes the plain scheme.
DRIVER_SUFFIXES = ("+psycopg", "+psycopg2", "+psycopg3")
APPLICATION_NAME = "secoda-pipelines"
# A worker that hangs (not dies) inside a write would hold its partition's lock for ever:
# the server ends a transaction left idle this long, and the next run writes the partition.
IDLE_IN_TRANSACTION_MS = 600_000
MASK = "***"


def normalized_url(raw: str) -> str:
    """Returns the URL with SQLAlchemy's driver suffix (`postgresql+psycopg://`) removed.

    Raises:
        WarehouseError: it is not a postgresql:// URL with a host; the message shows the URL
            masked and an example of the right form.
    """
    url = raw.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    for suffix in DRIVER_SUFFIXES:
        scheme = scheme.removesuffix(suffix)
    if scheme not in SCHEMES or not parts.hostname:
        # Text that is not a URL at all may be a password pasted in the wrong place.
        shown = repr(masked(url)) if parts.scheme and parts.netloc else "(not shown: not a URL)"
        raise WarehouseError(
            f"SECODA_WAREHOUSE_URL={shown} is not a PostgreSQL URL; expected "
            "postgresql://user:password@host:port/database, or unset it to keep the DuckDB "
            "file SECODA_DUCKDB_PATH"
        )
    return urlunsplit(parts._replace(scheme=scheme))


def masked(url: str) -> str:
    """Returns `url` with its password replaced by *** (and nothing else changed). Raises
    nothing; text that is not a URL comes back unchanged."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))
    except ValueError:
        return MASK


def secrets_of(url: str) -> list[str]:
    """Returns the parts of `url` that must never be shown: its password, raw and decoded,
    and the whole URL. Raises nothing."""
    found = [url]
    try:
        password = urlsplit(url).password
    except ValueError:
        return found
    if password:
        found += [password, unquote(password)]
    return [s for s in found if s]


def scrubbed(text: str, url: str) -> str:
    """Returns `text` with the URL and its password replaced by their masked forms."""
    for secret in sorted(secrets_of(url), key=len, reverse=True):
        text = text.replace(secret, masked(url) if secret == url else MASK)
    return text


def database_name(url: str) -> str:
    """Returns the database the URL names (the path), or `postgres` when it names none."""
    return unquote(urlsplit(url).path.lstrip("/")) or "postgres"


def connect_postgres(url: str, *, autocommit: bool = False, **options: Any) -> psycopg.Connection:
    """Returns a psycopg 3 connection to the warehouse, its session in UTC.

    Raises:
        WarehouseError: psycopg is not installed (names the extra to install), or the
            server refused or could not be reached (the server's reason, password scrubbed).
    """
    try:
        import psycopg
    except ImportError:
        raise WarehouseError(
            "SECODA_WAREHOUSE_URL names a PostgreSQL warehouse, which needs psycopg 3: "
            "pip install 'secoda-pipelines[postgres]'"
        ) from None
    try:
        return psycopg.connect(
            url,
            autocommit=autocommit,
            application_name=APPLICATION_NAME,
            options="-c timezone=UTC "
            f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}",
            **options,
        )
    except psycopg.Error as error:
        raise WarehouseError(
            f"cannot connect to the warehouse {masked(url)}: {scrubbed(str(error), url).strip()}"
        ) from None


@contextmanager
def transaction(url: str, what: str) -> Iterator[psycopg.Connection]:
    """Yields a connection inside one transaction, committed when the block ends normally
    and rolled back otherwise; closed either way.

    Raises:
        WarehouseError: connecting failed, or a database error ended the block; the
            message starts with `what` and has the password scrubbed out.
    """
    import psycopg

    connection = connect_postgres(url)
    try:
        with connection.transaction():
            yield connection
    except psycopg.Error as error:
        raise WarehouseError(f"{what}: {scrubbed(str(error), url).strip()}") from None
    finally:
        connection.close()
