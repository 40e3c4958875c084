"""The journal of a workspace's writes (`write_journal`) when the warehouse is PostgreSQL:
the table `reports.write_journal`, written on the workspace lock's own session
(`postgres.lock`), so a run that lost its lock can no longer record, hence send, a write."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from secoda_pipelines.store.postgres.frames import ensure_table
from secoda_pipelines.store.report_tables import REPORTS_SCHEMA
from secoda_pipelines.store.write_journal import (
    IN_FLIGHT_SECONDS,
    KEEP_SECONDS,
    WorkspaceJournal,
    recent_ages,
)

JOURNAL_TABLE = "write_journal"


class LockSession(Protocol):
    """The session that holds a workspace's advisory lock (`postgres.lock.AdvisoryLock`)."""

    def session(self, what: str) -> AbstractContextManager[Any]:
        """Yields a cursor on the lock's own (autocommit) session; raises WarehouseError."""
        ...


class PostgresJournal(WorkspaceJournal):
    """The journal as rows of `reports.write_journal` (workspace key, run id, token, sent
    at, answered at), written on the lock's own autocommit session: each event is a
    one-statement transaction, committed before the write is sent."""

    def __init__(
        self,
        lock: LockSession,
        workspace_key: int,
        run_id: str,
        clock: Callable[[], float] = time.time,
    ):
        """Opens the journal for run `run_id`, which holds the lock: creates the table
        when missing and drops this workspace's entries of more than KEEP_SECONDS ago.

        Raises:
            WarehouseError: the table cannot be created or pruned.
        """
        super().__init__(run_id, clock)
        self._lock = lock
        self._key = workspace_key
        self._run_id = run_id
        self._table = f"{REPORTS_SCHEMA}.{JOURNAL_TABLE}"
        with (
            self._lock.session(f"creating {self._table}") as cursor,
            cursor.connection.transaction(),
        ):
            ensure_table(
                cursor,
                REPORTS_SCHEMA,
                JOURNAL_TABLE,
                [
                    ("workspace", "bigint NOT NULL"),
                    ("run_id", "text NOT NULL"),
                    ("token", "text NOT NULL"),
                    ("sent_at", "timestamptz NOT NULL"),
                    ("answered_at", "timestamptz"),
                ],
                indexed=("workspace",),
            )
        with self._lock.session(f"pruning {self._table}") as cursor:
            cursor.execute(
                f"DELETE FROM {self._table} WHERE workspace = %s "
                "AND coalesce(answered_at, sent_at) < to_timestamp(%s)",
                [self._key, self._clock() - KEEP_SECONDS],
            )

    def __repr__(self) -> str:
        return f"PostgresJournal({self._table}, workspace {self._key})"

    def sent(self, at: float) -> str:
        token = self._next_token()
        with self._lock.session(f"recording a write in {self._table}") as cursor:
            cursor.execute(
                f"INSERT INTO {self._table} (workspace, run_id, token, sent_at) "
                "VALUES (%s, %s, %s, to_timestamp(%s))",
                [self._key, self._run_id, token, at],
            )
        return token

    def answered(self, token: Hashable, at: float) -> None:
        self._refuse_if_closed()
        with self._lock.session(f"recording an answer in {self._table}") as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET answered_at = to_timestamp(%s) "
                "WHERE workspace = %s AND token = %s",
                [at, self._key, str(token)],
            )

    def recent_ages(self, window: float) -> list[float]:
        now = self._clock()
        with self._lock.session(f"reading {self._table}") as cursor:
            cursor.execute(
                "SELECT extract(epoch FROM sent_at)::float8, "
                f"extract(epoch FROM answered_at)::float8 FROM {self._table} "
                "WHERE workspace = %s AND coalesce(answered_at, sent_at) >= to_timestamp(%s)",
                [self._key, now - window - IN_FLIGHT_SECONDS],
            )
            rows = cursor.fetchall()
        return recent_ages(rows, window, now)
