"""Connecting to the PostgreSQL warehouse (SECODA_WAREHOUSE_URL) without ever showing its
secrets: the URL is checked, the warehouse is named only by host, port and database
(`warehouse_name`), and every error raised from here has each secret scrubbed out.

The secrets of a URL are the password of its `user:password@` part and the values of the
libpq parameters that hold one: `password`, `sslpassword` (the client key's passphrase) and
`oauth_client_secret` (PostgreSQL 18). Parameters that name a file (`passfile`, `sslkey`,
`sslcert`) are not secrets themselves, but no message shows them either: a message names
the warehouse by host, port and database only. A secret is scrubbed in every spelling an
error may echo: as written (percent-encoded), decoded, and quoted as psycopg writes it into
a `key=value` connection string.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

from secoda_pipelines.store.errors import WarehouseError

if TYPE_CHECKING:
    import psycopg

SCHEMES = ("postgresql", "postgres")
# SQLAlchemy spellings a user may paste from another tool; psycopg takes the plain scheme.
DRIVER_SUFFIXES = ("+psycopg", "+psycopg2", "+psycopg3")
# libpq's parameters whose value is a secret (matched case-insensitively, to be safe).
SECRET_PARAMETERS = frozenset({"password", "sslpassword", "oauth_client_secret"})
DEFAULT_PORT = "5432"
APPLICATION_NAME = "secoda-pipelines"
# A worker that hangs (not dies) inside a write would hold its partition's lock for ever:
# the server ends a transaction left idle this long, and the next run writes the partition.
IDLE_IN_TRANSACTION_MS = 600_000
MASK = "***"
EXPECTED = (
    "expected postgresql://user:password@host:port/database, or unset it to keep the DuckDB "
    "file SECODA_DUCKDB_PATH"
)
RESERVED_HINT = "percent-encode @ / ? # : & in a user name or password (%40 %2F %3F %23 %3A %26)"


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """Returns the URL query's (name, value) pairs, both as written (not decoded)."""
    pairs = []
    for item in query.split("&"):
        name, _, value = item.partition("=")
        pairs.append((name, value))
    return pairs


def _is_secret(name: str) -> bool:
    return unquote(name).strip().lower() in SECRET_PARAMETERS


def _spellings(value: str) -> set[str]:
    """Returns `value` as written, percent-decoded (libpq's way, and with + as a space),
    and each of those quoted as psycopg writes it into a `key='value'` string."""
    plain = {value, unquote(value), unquote_plus(value)}
    quoted = {v.replace("\\", "\\\\").replace("'", "\\'") for v in plain}
    return {s for s in plain | quoted if s}


def _libpq_userinfo(url: str) -> str | None:
    """Returns the `user:password` part as libpq reads it (up to the first @, unless a /
    comes first), or None when it finds none."""
    rest = url.partition("://")[2]
    for index, char in enumerate(rest):
        if char == "/":
            return None
        if char == "@":
            return rest[:index]
    return None


def _ambiguity(url: str) -> str | None:
    """Returns why psycopg might read `url` differently from this module (so that a secret
    could be taken for a host, a port or a database, and shown), or None when it cannot.

    Raises nothing."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "it is not a well-formed URL"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else None
    if userinfo != _libpq_userinfo(url):
        return f"its user name or password holds a reserved character: {RESERVED_HINT}"
    if "#" in url:
        return f"it holds a # (a URL fragment, which libpq does not read): {RESERVED_HINT}"
    if parts.query and any("=" not in item for item in parts.query.split("&")):
        # libpq quotes such an item in its error: the tail of a password holding a bare &.
        return f"a parameter has no value (name=value): {RESERVED_HINT}"
    for host in parts.netloc.rpartition("@")[2].split(","):
        port = host.rpartition("]")[2] if host.startswith("[") else host
        if ":" in port and not port.rpartition(":")[2].isdigit():
            return f"its port is not a number: {RESERVED_HINT}"
    return None


def secret_values(url: str) -> list[str]:
    """Returns every secret `url` holds (see the module's docstring), in every spelling,
    longest first. Raises nothing."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    userinfos = {_libpq_userinfo(url)}
    if parts is not None and "@" in parts.netloc:
        userinfos.add(parts.netloc.rpartition("@")[0])
    for userinfo in userinfos:
        if userinfo and ":" in userinfo:
            found |= _spellings(userinfo.partition(":")[2])
    query = parts.query if parts is not None else url.partition("?")[2]
    for name, value in _query_pairs(query):
        if _is_secret(name):
            found |= _spellings(value)
    return sorted(found, key=len, reverse=True)


def masked(url: str) -> str:
    """Returns `url` with its password and the values of its secret parameters replaced by
    *** (nothing else changed); *** alone when psycopg could read it differently (see
    `normalized_url`), as a password could then be taken for a port or a path. Raises
    nothing."""
    if _ambiguity(url) is not None:
        return MASK
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{hosts}" if has_password else netloc
    items = []
    for item in parts.query.split("&") if parts.query else []:
        name, equals, _ = item.partition("=")
        items.append(f"{name}={MASK}" if equals and _is_secret(name) else item)
    shown = urlunsplit(parts._replace(netloc=netloc, query="&".join(items)))
    return _scrub(shown, secret_values(url))


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def _parameter(url: str, name: str) -> str | None:
    """Returns the decoded value of the URL's last query parameter `name`, or None."""
    values = [unquote(v) for n, v in _query_pairs(urlsplit(url).query) if unquote(n) == name]
    return values[-1] if values else None


def database_name(url: str) -> str:
    """Returns the database the URL names: its `dbname` parameter, else its path, else (as
    libpq does) its user name, else `postgres`. Raises nothing for a URL `normalized_url`
    accepted."""
    parts = urlsplit(url)
    user = unquote(parts.netloc.rpartition("@")[0].partition(":")[0])
    return (
        _parameter(url, "dbname")
        or unquote(parts.path.lstrip("/"))
        or _parameter(url, "user")
        or user
        or "postgres"
    )


def warehouse_name(url: str) -> str:
    """Returns how the warehouse is named wherever it is shown: `postgresql://host:port/
    database`, with no user, password or parameter (the default port 5432 spelled out; the
    `host`, `port` and `dbname` parameters used when the URL has them). Raises nothing for a
    URL `normalized_url` accepted."""
    parts = urlsplit(url)
    hosts = _parameter(url, "host") or unquote(parts.netloc.rpartition("@")[2])
    port = _parameter(url, "port")
    if "," not in hosts:  # several hosts (libpq's failover list) are shown as written
        host, _, written_port = hosts, "", ""
        if hosts.startswith("["):
            host, _, after = hosts.partition("]")
            host, written_port = host + "]", after.removeprefix(":")
        elif hosts.count(":") == 1:
            host, _, written_port = hosts.partition(":")
        elif ":" in hosts:  # an IPv6 address given in the `host` parameter
            host = f"[{hosts}]"
        hosts = f"{host}:{port or written_port or DEFAULT_PORT}"
    name = f"postgresql://{hosts}/{quote(database_name(url), safe='')}"
    # A secret that is also part of the host or database name (a careless password) stays
    # masked there too: a secret appears nowhere.
    return _scrub(name, secret_values(url))


def scrubbed(text: str, url: str) -> str:
    """Returns `text` with the URL replaced by the warehouse's name and every secret of the
    URL (in every spelling) replaced by ***. Raises nothing."""
    secrets = secret_values(url)
    if url:
        try:
            text = text.replace(url, warehouse_name(url))
        except ValueError:
            text = text.replace(url, MASK)
    return _scrub(text, secrets)


def normalized_url(raw: str) -> str:
    """Returns the URL with SQLAlchemy's driver suffix (`postgresql+psycopg://`) removed.

    Raises:
        WarehouseError: it is not a postgresql:// URL with a host, or psycopg could read it
            differently (a reserved character left unencoded in the password, a port that
            is not a number, a # fragment); the message shows the URL with its secrets
            masked only when it can be taken apart safely, and says what would be right.
    """
    url = raw.strip()
    why = _ambiguity(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if why is not None or parts is None:
        raise WarehouseError(
            "SECODA_WAREHOUSE_URL (not shown: it may hold a password) cannot be read as a "
            f"PostgreSQL URL ({why or 'it is not a well-formed URL'}); {EXPECTED}"
        )
    scheme = parts.scheme.lower()
    for suffix in DRIVER_SUFFIXES:
        scheme = scheme.removesuffix(suffix)
    if scheme not in SCHEMES or not parts.hostname:
        # Text that is not a URL at all may be a password pasted in the wrong place.
        shown = repr(masked(url)) if parts.scheme and parts.netloc else "(not shown: not a URL)"
        raise WarehouseError(f"SECODA_WAREHOUSE_URL={shown} is not a PostgreSQL URL; {EXPECTED}")
    return urlunsplit(parts._replace(scheme=scheme))


def connect_postgres(url: str, *, autocommit: bool = False, **options: Any) -> psycopg.Connection:
    """Returns a psycopg 3 connection to the warehouse, its session in UTC.

    Raises:
        WarehouseError: psycopg is not installed (names the extra to install), or the
            server refused or could not be reached (names the warehouse by host, port and
            database, with the server's reason, every secret scrubbed).
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
        message = f"cannot connect to the warehouse {warehouse_name(url)}: {error}"
        raise WarehouseError(scrubbed(message, url).strip()) from None


@contextmanager
def transaction(url: str, what: str) -> Iterator[psycopg.Connection]:
    """Yields a connection inside one transaction, committed when the block ends normally
    and rolled back otherwise; closed either way.

    Raises:
        WarehouseError: connecting failed, or a database error ended the block; the
            message starts with `what` and has every secret of the URL scrubbed out.
    """
    import psycopg

    connection = connect_postgres(url)
    try:
        with connection.transaction():
            yield connection
    except psycopg.Error as error:
        raise WarehouseError(scrubbed(f"{what}: {error}", url).strip()) from None
    finally:
        connection.close()
