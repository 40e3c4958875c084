"""A PostgreSQL session advisory lock on a connection of its own: the one writer per
Secoda workspace of `workspace_lock` when the warehouse is PostgreSQL (`PostgresWriterLock`).

The lock lives as long as the session: released by `unlock`, and by the server when the
connection ends, so also when the process holding it dies (its socket closes). The
session's `application_name` names the holder, so a waiter finds it in `pg_locks` joined
to `pg_stat_activity`. A session pooler in transaction mode (PgBouncer's default) would
hand the session to others: the warehouse URL must reach the server, or a session-mode
pool.

A holder whose host vanishes without closing its connection (powered off, cut off the
network) leaves no socket to close: so the session sets the server's TCP keepalives
(`SET tcp_keepalives_idle = 30`, `tcp_keepalives_interval = 10`, `tcp_keepalives_count
= 3`), and the server drops it, freeing the lock, within about a minute (30 + 3 x 10 s)
instead of the system's default of two hours; the client's keepalives are the same, so a
holder cut off from the server notices too. The holder's write journal
(`postgres.journal.PostgresJournal`) is written on this same session (`session`), so a run
that has lost its lock can no longer record, hence no longer send, a write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from secoda_pipelines.store.errors import WarehouseError
from secoda_pipelines.store.postgres.connection import (
    connect_postgres,
    scrubbed,
    warehouse_name,
)
from secoda_pipelines.store.postgres.journal import PostgresJournal
from secoda_pipelines.store.workspace_lock import Holder, utc_text
from secoda_pipelines.store.write_journal import WorkspaceJournal

if TYPE_CHECKING:
    import psycopg

# The holder's session is named this, then its run id (PostgreSQL keeps 63 bytes: a
# Dagster run id, 36 characters, fits whole).
WRITER_PREFIX = "secoda-pipelines writer "
# The server notices a vanished client host (not a dead process: its socket closes at once)
# after about 30 + 3 x 10 s instead of the system's default of two hours (module docstring).
SERVER_KEEPALIVE = (
    "SET tcp_keepalives_idle = 30",
    "SET tcp_keepalives_interval = 10",
    "SET tcp_keepalives_count = 3",
)
CLIENT_KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
# A bigint key shows in pg_locks as classid (high 32 bits) and objid (low), objsubid 1.
HOLDER_QUERY = """
SELECT a.pid, a.application_name, a.query_start, host(a.client_addr)
FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid
LIMIT 1
"""


@dataclass(frozen=True)
class Session:
    """The server session that holds an advisory lock, as pg_stat_activity shows it."""

    backend_pid: int
    application_name: str | None
    since: datetime | None  # its last query's start: the lock it took (nothing runs after)
    client: str | None  # the client's address, None over a Unix socket


class AdvisoryLock:
    """A session-level `pg_try_advisory_lock(key)` on a connection this object opens (in
    autocommit, so it never holds a transaction open while it waits or holds)."""

    def __init__(self, url: str, key: int):
        self._url = url
        self.key = key
        self._connection: psycopg.Connection | None = None
        self._held = False

    def __repr__(self) -> str:
        return f"AdvisoryLock({warehouse_name(self._url)!r}, {self.key})"

    def describe(self) -> str:
        """Returns the lock, named for a log line: its key and the warehouse (no
        password)."""
        return f"advisory lock {self.key} in the PostgreSQL warehouse {warehouse_name(self._url)}"

    def try_lock(self, holder_name: str) -> bool:
        """Takes the lock if no session holds it; returns whether this object holds it now.
        The first call connects and names the session `holder_name` (application_name).

        Raises:
            WarehouseError: connecting or the query failed (password scrubbed).
        """
        if self._held:
            return True
        connection = self._connect(holder_name)
        row = self._fetch(connection, "SELECT pg_try_advisory_lock(%s)", [self.key])
        self._held = bool(row and row[0])
        return self._held

    def holder(self) -> Session | None:
        """Returns the session holding the lock, or None when none does (it was released
        since, or this object has no connection yet).

        Raises:
            WarehouseError: the query failed (password scrubbed).
        """
        if self._connection is None:
            return None
        high, low = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        row = self._fetch(self._connection, HOLDER_QUERY, [high, low])
        if row is None:
            return None
        pid, name, since, client = row
        return Session(int(pid), name, since, client)

    @contextmanager
    def session(self, what: str) -> Iterator[psycopg.Cursor]:
        """Yields a cursor on the session that holds the lock (autocommit: each statement
        commits on its own, unless the block opens `cursor.connection.transaction()`).

        Raises:
            WarehouseError: this object does not hold the lock, or a statement failed; the
                message starts with `what` (password scrubbed).
        """
        import psycopg

        connection = self._connection
        if connection is None or not self._held:
            raise WarehouseError(
                f"{what}: the {self.describe()} is not held by this run (any more)"
            )
        try:
            with connection.cursor() as cursor:
                yield cursor
        except psycopg.Error as error:
            raise WarehouseError(
                f"{what} in {warehouse_name(self._url)}: {scrubbed(str(error), self._url).strip()}"
            ) from None

    def unlock(self) -> bool:
        """Releases the lock and closes the connection; returns False when the session had
        ended before (the server had released the lock already: a dropped connection or a
        restarted server), True otherwise. Raises nothing."""
        import psycopg

        connection, self._connection = self._connection, None
        held, self._held = self._held, False
        if connection is None:
            return not held
        try:
            if held:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])
                    row = cursor.fetchone()
                    return bool(row and row[0])
            return True
        except psycopg.Error:
            return False
        finally:
            connection.close()

    def _connect(self, holder_name: str) -> psycopg.Connection:
        if self._connection is not None:
            return self._connection
        import psycopg

        connection = connect_postgres(self._url, autocommit=True, **CLIENT_KEEPALIVE)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('application_name', %s, false)", [holder_name])
                for statement in SERVER_KEEPALIVE:
                    cursor.execute(statement)
        except psycopg.Error as error:
            connection.close()
            raise WarehouseError(
                f"cannot open the write lock's session in {warehouse_name(self._url)}: "
                f"{scrubbed(str(error), self._url).strip()}"
            ) from None
        self._connection = connection
        return connection

    def _fetch(self, connection: psycopg.Connection, query: str, params: list[int]) -> tuple | None:
        import psycopg

        try:
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchone()
        except psycopg.Error as error:
            raise WarehouseError(
                f"the write lock's query failed in {warehouse_name(self._url)}: "
                f"{scrubbed(str(error), self._url).strip()}"
            ) from None


class PostgresWriterLock:
    """The workspace's session advisory lock in the PostgreSQL warehouse (a `WriterLock`),
    the session named after the run."""

    def __init__(self, url: str, key: int, run_id: str):
        self._lock = AdvisoryLock(url, key)
        self._key = key
        self._run_id = run_id
        self._prefix = WRITER_PREFIX
        self._name = WRITER_PREFIX + run_id

    def describe(self) -> str:
        return self._lock.describe()

    def try_lock(self) -> bool:
        return self._lock.try_lock(self._name)

    def holder(self) -> Holder:
        session = self._lock.holder()
        if session is None:  # released between the two queries
            return Holder(None, "a session that has just ended", None)
        name = session.application_name or ""
        run_id = name[len(self._prefix) :] if name.startswith(self._prefix) else None
        where = f"PostgreSQL backend pid {session.backend_pid}"
        if session.client:
            where += f" for a client at {session.client}"
        if run_id is None:
            where += f", application_name {name!r}"
        since = utc_text(session.since) if session.since is not None else None
        return Holder(run_id or None, where, since)

    def open_journal(self, clock: Callable[[], float]) -> WorkspaceJournal:
        return PostgresJournal(self._lock, self._key, self._run_id, clock)

    def release(self) -> bool:
        return self._lock.unlock()
