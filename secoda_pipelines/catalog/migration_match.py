"""Documentation migration planned at catalog scale: both sides streamed into DuckDB and
matched in SQL, so that neither side is ever held as Python objects.

`MigrationMatcher` takes each listing's rows as they are paged (`add_rows`, a chunk of
rows at a time) and keeps, per resource, only what planning reads: the id, the match key
(trimmed and case-folded; the source's database and schema renamed), whether it is
documented, and the migrated fields' values as one JSON text. The key counts (ambiguity),
the join and the plan's order are SQL; only matched pairs whose values differ are decided
in Python (`catalog.migration.decide_fields`), over the streamed result, a chunk at a time.
The plan is the one `catalog.migration.plan_migration` makes, row for row.

Why DuckDB rather than Arrow: DuckDB is a dependency (the warehouse) and pyarrow is not
installed; a grouping, a join and a sort over 1.1 million rows are what a SQL engine does
in its own threads without the GIL; and its database file lets the tables spill past a
fixed memory limit, so the plan's memory does not grow with the workspace.
"""

from __future__ import annotations

import ctypes
import gc
import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from secoda_pipelines.catalog.migration import (
    KEY_FIELDS,
    MIGRATABLE_FIELDS,
    PLAN_COLUMNS,
    Renames,
    Row,
    _norm,
    decide_fields,
    is_empty,
    unknown_fields,
)

KINDS = ("table", "column")
SIDES = ("source", "target")
CHUNK_ROWS = 10_000  # rows buffered in Python before they go into DuckDB
VECTORS_PER_CHUNK = 8  # plan rows streamed out per chunk, in DuckDB vectors of 2,048
MEMORY_LIMIT = "192MB"  # DuckDB's own buffer pool; past it tables spill to the file
KEY_PARTS = ("m1", "m2", "m3", "m4")  # a table's key has three parts, m4 is then ""
EMPTY_LIST = "[]"
# A plan chunk: PLAN_COLUMNS, with `fields` and `kept_fields` as JSON text (as a report
# stores them) and `patch` and `expected` as dicts on update rows only (None elsewhere).
CHUNK_COLUMNS = PLAN_COLUMNS

_SCHEMA = """
CREATE TABLE source (
    kind VARCHAR, seq BIGINT, id VARCHAR, key VARCHAR,
    m1 VARCHAR, m2 VARCHAR, m3 VARCHAR, m4 VARCHAR, documented BOOLEAN, docs VARCHAR
);
CREATE TABLE target (
    kind VARCHAR, seq BIGINT, id VARCHAR,
    m1 VARCHAR, m2 VARCHAR, m3 VARCHAR, m4 VARCHAR, docs VARCHAR
);
"""
# A chunk's JSON rows: seq, id, key (source only), the key's four parts as matched,
# documented (source only) and the fields' values as JSON text (kept as sent, to the byte).
_JSON_COLUMNS = (
    "{s: 'BIGINT', i: 'VARCHAR', k: 'VARCHAR', a: 'VARCHAR', b: 'VARCHAR', c: 'VARCHAR', "
    "d: 'VARCHAR', o: 'BOOLEAN', j: 'VARCHAR'}"
)

_KEY = "kind, m1, m2, m3, m4"
_ON = (
    "{a}.kind = {b}.kind AND {a}.m1 = {b}.m1 AND {a}.m2 = {b}.m2 AND {a}.m3 = {b}.m3 "
    "AND {a}.m4 = {b}.m4"
)
# Each source row with its match, action and detail; the pairs to decide keep both
# sides' values.
_PAIRED_SQL = f"""
CREATE OR REPLACE TABLE plan_rows AS
WITH paired AS (
    SELECT p.*, t.id AS single_target_id, t.docs AS target_docs,
           si.ids AS source_ids, ti.ids AS target_ids,
           CASE p.kind WHEN 'table' THEN concat_ws('.', p.m1, p.m2, p.m3)
                ELSE concat_ws('.', p.m1, p.m2, p.m3, p.m4) END AS matched_as
    FROM planned AS p
    LEFT JOIN target AS t ON t.seq = p.target_seq
    LEFT JOIN s_ids AS si ON {_ON.format(a="si", b="p")}
    LEFT JOIN t_ids AS ti ON {_ON.format(a="ti", b="p")}
)
SELECT kind, key, matched_as, documented, source_id,
    CASE WHEN source_n = 1 AND target_n = 1 THEN single_target_id END AS target_id,
    CASE WHEN source_n > 1 OR target_n > 1 THEN 'ambiguous'
         WHEN target_n IS NULL THEN 'unmatched'
         WHEN docs = target_docs THEN 'unchanged' END AS action,
    CASE WHEN source_n > 1 THEN matched_as || ' occurs ' || CAST(source_n AS VARCHAR)
            || ' times in the source: ' || source_ids
         WHEN target_n > 1 THEN matched_as || ' occurs ' || CAST(target_n AS VARCHAR)
            || ' times in the target: ' || target_ids
         WHEN target_n IS NULL THEN 'no ' || kind || ' ' || matched_as || ' in the target'
    END AS detail,
    CASE WHEN source_n = 1 AND target_n = 1 AND docs <> target_docs THEN docs END
        AS source_docs,
    CASE WHEN source_n = 1 AND target_n = 1 AND docs <> target_docs THEN target_docs END
        AS target_docs,
    CASE kind WHEN 'table' THEN 0 ELSE 1 END AS kind_order, first_seq, seq
FROM paired
"""
# Planning runs in materialized steps, each small enough for DuckDB's memory limit: key
# counts per side, ids of keys found twice, each source row with its counts and (a single
# match) its target, then _PAIRED_SQL.
_PLAN_STEPS = (
    f"CREATE OR REPLACE TABLE sg AS SELECT {_KEY}, count(*) AS n, min(seq) AS first_seq "
    f"FROM source {{where}} GROUP BY {_KEY}",
    f"CREATE OR REPLACE TABLE tg AS SELECT {_KEY}, count(*) AS n, min(seq) AS first_seq "
    f"FROM target GROUP BY {_KEY}",
    f"CREATE OR REPLACE TABLE s_ids AS SELECT s.kind, s.m1, s.m2, s.m3, s.m4, "
    f"string_agg(s.id, ', ' ORDER BY s.seq) AS ids FROM source AS s "
    f"SEMI JOIN (SELECT * FROM sg WHERE n > 1) AS g ON {_ON.format(a='s', b='g')} "
    f"GROUP BY s.kind, s.m1, s.m2, s.m3, s.m4",
    f"CREATE OR REPLACE TABLE t_ids AS SELECT t.kind, t.m1, t.m2, t.m3, t.m4, "
    f"string_agg(t.id, ', ' ORDER BY t.seq) AS ids FROM target AS t "
    f"SEMI JOIN (SELECT * FROM tg WHERE n > 1) AS g ON {_ON.format(a='t', b='g')} "
    f"GROUP BY t.kind, t.m1, t.m2, t.m3, t.m4",
    "CREATE OR REPLACE TABLE planned AS "
    "SELECT s.kind, s.key, s.documented, s.id AS source_id, s.seq, s.docs, "
    "s.m1, s.m2, s.m3, s.m4, sg.n AS source_n, sg.first_seq, tg.n AS target_n, "
    "CASE WHEN sg.n = 1 AND tg.n = 1 THEN tg.first_seq END AS target_seq "
    f"FROM source AS s JOIN sg ON {_ON.format(a='s', b='sg')} "
    f"LEFT JOIN tg ON {_ON.format(a='s', b='tg')}",
    "CHECKPOINT",
    _PAIRED_SQL,
)
# One row per source resource, in plan_migration's order: tables, then columns; source
# rows grouped by the key they are matched as, groups in the order of their first row.
# Sorted apart from the joins (_PAIRED_SQL): each step then fits the memory limit alone.
_PLAN_SQL = """
SELECT kind, key, matched_as, documented, source_id, target_id, action, detail,
    source_docs, target_docs
FROM plan_rows ORDER BY kind_order, first_seq, seq
"""


def _return_freed_memory() -> None:
    """Hands the memory freed since the listings back to the OS. glibc keeps freed blocks in
    the arena of the thread that freed them (the listings run on several threads), so
    without this the process holds the listings' high water through the planning. Does
    nothing where there is no glibc. Raises nothing."""
    gc.collect()
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


# Compact JSON, key order kept: the text two values are compared by, so both sides go
# through it. Built once: json.dumps with any option builds a new encoder on every call.
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class MigrationMatcher:
    """Both sides of a migration in a DuckDB database (a temporary file, deleted on
    `close`), and the plan of one onto the other.

    Use it as a context manager. Rows go in with `add_rows`; `plan_chunks` streams the plan.
    Attributes:
        fields: the migrated fields, in order.
        source_names: {"database"|"schema": {folded name: name as first seen}} of the
            source's tables, for `catalog.migration.unused_rename_keys_of`.
    """

    def __init__(
        self,
        fields: Sequence[str],
        *,
        overwrite: bool = False,
        renames: Renames | None = None,
        memory_limit: str = MEMORY_LIMIT,
        directory: str | None = None,
    ) -> None:
        """Creates the empty database in a new temporary folder (under `directory`, else
        the system's).

        Raises:
            ValueError: a field name is not one a migration can carry.
            duckdb.Error: the database cannot be created.
        """
        bad = unknown_fields(fields)
        if bad:
            raise ValueError(f"unknown field(s) {bad}: choose from {list(MIGRATABLE_FIELDS)}")
        self.fields = tuple(fields)
        self.overwrite = overwrite
        self.renames = renames or Renames()
        self.source_names: dict[str, dict[str, str]] = {"database": {}, "schema": {}}
        self._folder = tempfile.TemporaryDirectory(prefix="secoda-migration-", dir=directory)
        self._con = duckdb.connect(str(Path(self._folder.name) / "plan.duckdb"))
        self._con.execute(f"SET memory_limit = '{memory_limit}'")
        self._con.execute("SET threads = 2")
        self._con.execute("SET preserve_insertion_order = false")
        self._con.execute("SET enable_progress_bar = false")
        self._con.execute(f"SET temp_directory = '{Path(self._folder.name) / 'spill'}'")
        self._con.execute(_SCHEMA)
        self._seq = dict.fromkeys(SIDES, 0)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="migration-match")
        self._pending: Future[None] | None = None
        self._chunks = 0

    def __enter__(self) -> MigrationMatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the database and deletes its folder. Raises nothing."""
        try:
            self._writer.shutdown(wait=True, cancel_futures=True)
            self._con.close()
        finally:
            self._folder.cleanup()

    # ------------------------------------------------------------------------- loading

    def add_rows(self, side: str, kind: str, rows: Iterable[Row]) -> int:
        """Adds `rows` (API rows of `kind`, table or column) to `side` (source or target),
        CHUNK_ROWS at a time; returns how many were added. Only what planning reads is
        kept: id, match key, documented, and the migrated fields' values as JSON text.

        Each chunk goes to DuckDB as one JSON document, inserted by a writer thread while
        the next chunk is read (DuckDB parses it without the GIL, so the listing's own
        threads go on meanwhile).

        Raises:
            KeyError: `side` or `kind` is unknown.
            duckdb.Error: the database refused the rows.
        """
        key_fields = KEY_FIELDS[kind]
        source = {"source": True, "target": False}[side]
        fields = self.fields
        renames = self.renames
        renaming = bool(renames.databases or renames.schemas)
        names = self.source_names if source and kind == "table" else None
        norm = _norm
        chunk: list[dict[str, Any]] = []
        first = seq = self._seq[side]
        try:
            for row in rows:
                get = row.get
                parts = [
                    v.strip().casefold() if type(v) is str else norm(v)
                    for v in map(get, key_fields)
                ]
                if names is not None:
                    for level, folded in (("database", parts[0]), ("schema", parts[1])):
                        if folded not in names[level]:
                            names[level][folded] = str(get(level) or "").strip()
                values = list(map(get, fields))
                row_id = get("id")
                out = {
                    "s": seq,
                    "i": row_id if type(row_id) is str else str(row_id),
                    "j": _dumps(values),
                }
                if source:
                    out["k"] = ".".join(parts)
                    out["o"] = not all(map(is_empty, values))
                    if renaming:
                        parts = list(renames.key(tuple(parts)))
                out["a"], out["b"], out["c"] = parts[0], parts[1], parts[2]
                out["d"] = parts[3] if len(parts) > 3 else ""
                chunk.append(out)
                seq += 1
                if len(chunk) >= CHUNK_ROWS:
                    self._send(side, kind, chunk)
                    chunk = []
            self._send(side, kind, chunk)
        finally:
            self._seq[side] = seq
            self._wait()
        return seq - first

    def _send(self, side: str, kind: str, chunk: list[dict[str, Any]]) -> None:
        """Hands one chunk to the writer thread (after the previous one is in)."""
        self._wait()
        if not chunk:
            return
        self._chunks += 1
        path = Path(self._folder.name) / f"chunk-{self._chunks % 2}.json"
        path.write_text(_dumps(chunk), encoding="utf-8")
        self._pending = self._writer.submit(self._insert, side, kind, path)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _insert(self, side: str, kind: str, path: Path) -> None:
        names = "seq, id, key, m1, m2, m3, m4, documented, docs"
        picked = "s, i, k, a, b, c, d, o, j"
        if side == "target":
            names, picked = "seq, id, m1, m2, m3, m4, docs", "s, i, a, b, c, d, j"
        self._con.execute(
            f"INSERT INTO {side} (kind, {names}) SELECT ?, {picked} "
            f"FROM read_json(?, format = 'array', columns = {_JSON_COLUMNS})",
            [kind, str(path)],
        )

    def count(self, side: str, kind: str) -> int:
        """Returns how many rows of `kind` `side` holds.

        Raises:
            KeyError: `side` is unknown.
        """
        table = {"source": "source", "target": "target"}[side]
        row = self._con.execute(f"SELECT count(*) FROM {table} WHERE kind = ?", [kind]).fetchone()
        return int(row[0]) if row else 0

    def clear(self, side: str) -> None:
        """Deletes every row of `side` (to list it again).

        Raises:
            KeyError: `side` is unknown.
        """
        table = {"source": "source", "target": "target"}[side]
        self._con.execute(f"DELETE FROM {table}")

    # ------------------------------------------------------------------------ planning

    def plan_chunks(self, kinds: Sequence[str] = KINDS) -> Iterator[pd.DataFrame]:
        """Yields the plan of the source onto the target, in order, a chunk at a time.

        Each chunk has CHUNK_COLUMNS: plan_migration's columns, with `fields` and
        `kept_fields` as JSON text (as a report stores them) and `patch` and `expected` as
        dicts on update rows only (None on the others). Only `kinds` are planned.

        Raises:
            duckdb.Error: the query failed.
        """
        listed = ", ".join(f"'{kind}'" for kind in kinds if kind in KINDS) or "NULL"
        self._con.execute("CHECKPOINT")  # the listed rows to the file: evictable from memory
        _return_freed_memory()
        for step in _PLAN_STEPS:
            self._con.execute(step.format(where=f"WHERE kind IN ({listed})"))
        cursor = self._con.cursor()
        try:
            cursor.execute(_PLAN_SQL)
            while True:
                chunk = cursor.fetch_df_chunk(VECTORS_PER_CHUNK)
                if chunk.empty:
                    return
                yield self._decided(chunk)
        finally:
            cursor.close()

    def _decided(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """Returns the chunk with every matched pair decided, in CHUNK_COLUMNS."""
        size = len(chunk)
        actions = chunk["action"].to_numpy(dtype=object, copy=True)
        written: list[Any] = [EMPTY_LIST] * size
        kept: list[Any] = [EMPTY_LIST] * size
        patches: list[Any] = [None] * size
        expected: list[Any] = [None] * size
        pending = chunk["action"].isna().to_numpy().nonzero()[0]
        source_docs = chunk["source_docs"].to_numpy(dtype=object)
        target_docs = chunk["target_docs"].to_numpy(dtype=object)
        fields = self.fields
        for at in pending:
            source = dict(zip(fields, json.loads(source_docs[at]), strict=True))
            target = dict(zip(fields, json.loads(target_docs[at]), strict=True))
            decision = decide_fields(source, target, fields, self.overwrite)
            actions[at] = decision.action
            if decision.patch:
                written[at] = json.dumps(sorted(decision.patch))
                patches[at] = decision.patch
                expected[at] = {name: target.get(name) for name in decision.patch}
            if decision.kept:
                kept[at] = json.dumps(decision.kept)
        out = chunk.drop(columns=["source_docs", "target_docs"])
        out["action"] = actions
        out["fields"] = written
        out["kept_fields"] = kept
        out["patch"] = patches
        out["expected"] = expected
        out["documented"] = out["documented"].astype(bool)
        return out[list(CHUNK_COLUMNS)]


def as_plan_frame(chunks: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Returns plan chunks (`MigrationMatcher.plan_chunks`) as one frame in exactly
    plan_migration's form: lists for fields and kept_fields, dicts for patch and expected
    on every row, None for a missing target_id or detail. Raises nothing."""
    frames = list(chunks)
    if not frames:
        return pd.DataFrame(columns=list(PLAN_COLUMNS)).astype({"documented": bool})
    plan = pd.concat(frames, ignore_index=True)
    for column in ("fields", "kept_fields"):
        plan[column] = plan[column].map(json.loads)
    for column in ("patch", "expected"):
        plan[column] = plan[column].map(lambda v: v if isinstance(v, dict) else {})
    for column in ("target_id", "detail"):
        plan[column] = plan[column].astype(object).where(plan[column].notna(), None)
    return plan


def plan_in_duckdb(
    source_tables: Iterable[Row],
    target_tables: Iterable[Row],
    source_columns: Iterable[Row] = (),
    target_columns: Iterable[Row] = (),
    *,
    fields: Sequence[str] = ("description", "definition", "tags", "pii"),
    overwrite: bool = False,
    renames: Renames | None = None,
) -> pd.DataFrame:
    """Returns plan_migration's plan of the same rows, made by `MigrationMatcher` (for
    tests and small workspaces: the whole plan is returned as one frame).

    Raises:
        ValueError: a field name is not one a migration can carry.
    """
    with MigrationMatcher(fields, overwrite=overwrite, renames=renames) as matcher:
        matcher.add_rows("source", "table", source_tables)
        matcher.add_rows("source", "column", source_columns)
        matcher.add_rows("target", "table", target_tables)
        matcher.add_rows("target", "column", target_columns)
        return as_plan_frame(matcher.plan_chunks())
