"""The sandbox's SQLite store: one table per resource, each object kept as pre-serialized JSON.

Every resource table has ``seq`` (INTEGER PRIMARY KEY: insertion order, the list order),
``id`` (the API id), ``body`` (the object's JSON text) and one column per filterable field.
One connection is shared by every handler thread behind a re-entrant lock; each query is
short, and latency is slept outside the lock by the server.

Paging is O(page size): for each (resource, filters) the store caches the count and the
``seq`` that starts every page, so page N is ``WHERE ... AND seq >= start LIMIT size``
through an index. The cache is rebuilt only when a row is inserted or deleted, or a
filterable value changes, in that resource's table.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "2"  # 2: the tags table
_PAGE_CACHE_LIMIT = 512


@dataclass(frozen=True)
class Resource:
    """Where one API collection lives in SQLite.

    Attributes:
        path: the API path of the collection, e.g. ``table/tables/``.
        table: the SQLite table name.
        columns: (SQLite column, object field) pairs kept alongside the body for filtering.
        lowered: the columns stored lowercased (case-insensitive lookups such as email).
    """

    path: str
    table: str
    columns: tuple[tuple[str, str], ...] = ()
    lowered: frozenset[str] = frozenset()

    def column_values(self, obj: dict[str, Any]) -> tuple[Any, ...]:
        """Returns the values of the filter columns for obj, in ``columns`` order."""
        values = []
        for column, field in self.columns:
            value = obj.get(field)
            if column in self.lowered and isinstance(value, str):
                value = value.lower()
            elif value is not None and not isinstance(value, str):
                value = str(value)
            values.append(value)
        return tuple(values)


RESOURCES: dict[str, Resource] = {
    r.path: r
    for r in (
        Resource("integration/integrations/", "integrations", (("type", "type"),)),
        Resource(
            "dashboard/dashboards/",
            "dashboards",
            (("integration_id", "integration"), ("title", "title")),
        ),
        Resource("question/questions/", "questions"),
        Resource("question/replies/", "replies"),
        Resource(
            "table/tables/",
            "tables",
            (("integration_id", "integration"), ("parent_id", "parent"), ("title", "title")),
        ),
        Resource(
            "table/columns/",
            "columns",
            (
                ("integration_id", "integration"),
                ("parent_id", "parent"),
                ("title", "title"),
                ("table_title", "table_title"),
            ),
        ),
        Resource(
            "lineage/manual/",
            "lineage",
            (("from_entity", "from_entity"), ("to_entity", "to_entity")),
        ),
        Resource("user/", "users", (("email", "email"),), frozenset({"email"})),
        Resource("auth/group/", "groups"),
        Resource("auth/teams/", "teams"),
        Resource("tag/", "tags", (("name", "name"),), frozenset({"name"})),
    )
}

# A filter: (column, values); one value is equality, several are IN.
Filter = tuple[str, tuple[str, ...]]


class InvalidPage(Exception):
    """The requested page is past the end of the list."""


def dumps(obj: Any) -> str:
    """Returns obj as compact JSON text (the form bodies are stored and served in)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def remove_database(path: Path) -> None:
    """Deletes the SQLite file and its WAL/SHM companions; missing files are fine."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")


class Store:
    """Thread-safe access to the sandbox database (one connection behind a lock)."""

    def __init__(self, path: str | Path, in_memory: bool = False) -> None:
        """Opens (creating if needed) the SQLite file at path; with `in_memory`, serves a
        copy of it held in memory (writes then last as long as the store).

        Raises:
            sqlite3.Error: the file cannot be opened as a database.
        """
        self.path = Path(path)
        self.in_memory = in_memory
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._versions: dict[str, int] = {}
        self._touched: set[str] = set()  # tables whose lists changed in this transaction
        self._pages: dict[
            tuple[str, tuple[Filter, ...], int, bool], tuple[int, int, Sequence[int]]
        ] = {}
        self._conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.in_memory:
            # Read once, never from disk again: where the machine reclaims the page cache,
            # a large workspace would otherwise be read from disk at every listing, as
            # fast as the disk happens to be.
            memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            conn.backup(memory)
            conn.close()
            return memory
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA cache_size=-65536")
        return conn

    def close(self) -> None:
        """Closes the connection; later calls on this store raise sqlite3.ProgrammingError."""
        with self._lock:
            self._conn.close()

    # ---- seeding -------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """Returns the meta table (scale, seed version, schema version); empty when unseeded."""
        with self._lock:
            try:
                rows = self._conn.execute("SELECT key, value FROM meta").fetchall()
            except sqlite3.OperationalError:
                return {}
        return dict(rows)

    def rebuild(
        self, meta: dict[str, str], data: Iterable[tuple[str, Iterable[dict[str, Any]]]]
    ) -> None:
        """Replaces the whole database with data, then records meta (written last).

        data yields (resource path, objects in list order); a path may appear more than once.
        The build runs without a journal in one transaction; an interrupted build leaves no
        meta row, so the next start rebuilds.
        """
        with self._lock:
            self._conn.close()
            remove_database(self.path)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA cache_size=-262144")
            conn.execute("BEGIN")
            for resource in RESOURCES.values():
                conn.execute(_create_table_sql(resource))
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for path, objects in data:
                resource = RESOURCES[path]
                conn.executemany(_insert_sql(resource), (_row(resource, o) for o in objects))
            for resource in RESOURCES.values():
                for sql in _index_sql(resource):
                    conn.execute(sql)
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", sorted(meta.items()))
            conn.execute("COMMIT")
            conn.close()
            self._conn = self._connect()
            self._versions.clear()
            self._pages.clear()

    # ---- reads ---------------------------------------------------------------------------

    def get(self, path: str, object_id: str) -> str | None:
        """Returns the stored JSON text of the object, or None when there is none."""
        resource = RESOURCES[path]
        with self._lock:
            row = self._conn.execute(
                f"SELECT body FROM {resource.table} WHERE id = ?", (object_id,)
            ).fetchone()
        return row[0] if row else None

    def get_object(self, path: str, object_id: str) -> dict[str, Any] | None:
        """Returns the stored object as a dict, or None when there is none."""
        text = self.get(path, object_id)
        return json.loads(text) if text is not None else None

    def find(self, path: str, filters: Iterable[Filter]) -> list[dict[str, Any]]:
        """Returns every object matching the filters, in list order (for small lookups)."""
        resource = RESOURCES[path]
        where, params = _where(tuple(filters))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT body FROM {resource.table} WHERE {where} ORDER BY seq", params
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def containing(self, path: str, text: str) -> list[dict[str, Any]]:
        """Returns every object whose stored JSON text contains text, in list order.

        A full scan (no index holds list fields such as ``tags``): for rare writes only.
        """
        resource = RESOURCES[path]
        with self._lock:
            rows = self._conn.execute(
                f"SELECT body FROM {resource.table} WHERE instr(body, ?) > 0 ORDER BY seq",
                (text,),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, path: str, filters: Iterable[Filter] = ()) -> int:
        """Returns how many objects match the filters."""
        count, _ = self._page_starts(RESOURCES[path], tuple(filters), 50)
        return count

    def page(
        self,
        path: str,
        filters: Iterable[Filter],
        page: int,
        page_size: int,
        newest_first: bool = False,
    ) -> tuple[int, list[str]]:
        """Returns (count, JSON texts of page ``page``) for the filtered list, 1-based.

        Ordered by insertion, oldest first unless newest_first. Page 1 of an empty list is
        valid and empty.

        Raises:
            InvalidPage: page < 1, or past the last page.
        """
        resource = RESOURCES[path]
        key = tuple(filters)
        with self._lock:
            count, starts = self._page_starts(resource, key, page_size, newest_first)
            if page < 1 or page > max(1, len(starts)):
                raise InvalidPage(page)
            if count == 0:
                return 0, []
            where, params = _where(key)
            bound, order = ("<=", "DESC") if newest_first else (">=", "ASC")
            rows = self._conn.execute(
                f"SELECT body FROM {resource.table} WHERE {where} AND seq {bound} ? "
                f"ORDER BY seq {order} LIMIT ?",
                (*params, starts[page - 1], page_size),
            ).fetchall()
        return count, [r[0] for r in rows]

    def _page_starts(
        self,
        resource: Resource,
        filters: tuple[Filter, ...],
        page_size: int,
        newest_first: bool = False,
    ) -> tuple[int, Sequence[int]]:
        """Returns (count, the seq of each page's first row), cached until the list changes."""
        key = (resource.table, filters, page_size, newest_first)
        with self._lock:
            version = self._versions.get(resource.table, 0)
            cached = self._pages.get(key)
            if cached is not None and cached[0] == version:
                return cached[1], cached[2]
            where, params = _where(filters)
            # Three queries: together SQLite would scan; apart, MIN/MAX are index lookups.
            count, low, high = (
                self._conn.execute(
                    f"SELECT {agg} FROM {resource.table} WHERE {where}", params
                ).fetchone()[0]
                for agg in ("COUNT(*)", "MIN(seq)", "MAX(seq)")
            )
            starts: Sequence[int]
            if count and high - low + 1 == count:
                # Contiguous seqs (the usual case: nothing deleted in between): no scan needed.
                starts = (
                    range(high, low - 1, -page_size)
                    if newest_first
                    else range(low, high + 1, page_size)
                )
            else:
                order = "DESC" if newest_first else "ASC"
                starts = [
                    r[0]
                    for r in self._conn.execute(
                        f"SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER (ORDER BY seq {order}) "
                        f"AS rn FROM {resource.table} WHERE {where}) WHERE (rn - 1) % ? = 0 "
                        f"ORDER BY seq {order}",
                        (*params, page_size),
                    )
                ]
            if len(self._pages) >= _PAGE_CACHE_LIMIT:
                self._pages.clear()
            self._pages[key] = (version, count, starts)
        return count, starts

    # ---- writes --------------------------------------------------------------------------

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[None]:
        """Holds the lock for a write transaction; commits, or rolls back when commit is False.

        Rolling back is how a faulted ("truncated") write computes its real answer without
        being applied. Any exception rolls back and propagates.
        """
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._touched.clear()
            try:
                yield
            except BaseException:
                self._rollback()
                raise
            if commit:
                self._conn.execute("COMMIT")
            else:
                self._rollback()

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")
        # Page starts cached inside the transaction saw rows that are now gone.
        for table in self._touched:
            self._versions[table] = self._versions.get(table, 0) + 1

    def insert(self, path: str, obj: dict[str, Any]) -> None:
        """Stores a new object (which must carry its id) at the end of its list.

        Raises:
            sqlite3.IntegrityError: an object with this id already exists.
        """
        resource = RESOURCES[path]
        with self._lock:
            if self._conn.execute(
                f"SELECT 1 FROM {resource.table} WHERE id = ?", (obj["id"],)
            ).fetchone():
                raise sqlite3.IntegrityError(f"duplicate id {obj['id']}")
            self._conn.execute(_insert_sql(resource), _row(resource, obj))
            self._bump(resource)

    def update(self, path: str, obj: dict[str, Any]) -> None:
        """Replaces the stored object with the same id (its list position is kept)."""
        resource = RESOURCES[path]
        names = [c for c, _ in resource.columns]
        sets = "".join(f", {c} = ?" for c in names)
        with self._lock:
            before = self._conn.execute(
                f"SELECT {', '.join(['id', *names])} FROM {resource.table} WHERE id = ?",
                (obj["id"],),
            ).fetchone()
            values = resource.column_values(obj)
            self._conn.execute(
                f"UPDATE {resource.table} SET body = ?{sets} WHERE id = ?",
                (dumps(obj), *values, obj["id"]),
            )
            if before is None or tuple(before[1:]) != values:
                self._bump(resource)

    def delete(self, path: str, object_id: str) -> bool:
        """Deletes the object; returns whether it existed."""
        resource = RESOURCES[path]
        with self._lock:
            cursor = self._conn.execute(f"DELETE FROM {resource.table} WHERE id = ?", (object_id,))
            self._bump(resource)
        return cursor.rowcount > 0

    def _bump(self, resource: Resource) -> None:
        self._versions[resource.table] = self._versions.get(resource.table, 0) + 1
        self._touched.add(resource.table)


def _create_table_sql(resource: Resource) -> str:
    columns = "".join(f", {c} TEXT" for c, _ in resource.columns)
    return (
        f"CREATE TABLE {resource.table} "
        f"(seq INTEGER PRIMARY KEY, id TEXT NOT NULL, body TEXT NOT NULL{columns})"
    )


def _index_sql(resource: Resource) -> list[str]:
    # An index on (col) also orders by rowid (= seq), which is what keyset paging needs.
    t = resource.table
    return [f"CREATE UNIQUE INDEX {t}_id ON {t} (id)"] + [
        f"CREATE INDEX {t}_{c} ON {t} ({c})" for c, _ in resource.columns
    ]


def _insert_sql(resource: Resource) -> str:
    names = ["id", "body", *(c for c, _ in resource.columns)]
    marks = ", ".join("?" for _ in names)
    return f"INSERT INTO {resource.table} ({', '.join(names)}) VALUES ({marks})"


def _row(resource: Resource, obj: dict[str, Any]) -> tuple[Any, ...]:
    return (obj["id"], dumps(obj), *resource.column_values(obj))


def _where(filters: tuple[Filter, ...]) -> tuple[str, tuple[str, ...]]:
    """Returns (SQL condition, parameters) for the filters; ``1`` when there are none."""
    clauses: list[str] = []
    params: list[str] = []
    for column, values in filters:
        if len(values) == 1:
            clauses.append(f"{column} = ?")
        else:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
        params.extend(values)
    return (" AND ".join(clauses) or "1"), tuple(params)
