"""`migrate_documentation`'s planner, at catalog scale: both sides streamed into DuckDB
and matched in SQL, so that neither side is ever held as Python objects.

`MigrationMatcher` takes each listing's pages as they arrive (`add_pages`) and keeps, per
resource, only what planning reads: its id, the parts of its match key (folded as
`migration.fold_name` folds them, the source's database and schema renamed), whether it is
documented, and the migrated fields' values as one JSON text. A writer thread has DuckDB
parse and store the pages beside the listing, without the GIL. `plan` matches in SQL
(SPEC B's rules: key counts, one join, the plan's order) and hands Python only the pairs
whose values differ, decided by `migration.decide_fields`. The plan stays in DuckDB (the
view `plan`, one row per source resource numbered `item`): a report is copied from it in
SQL (`report_query`) and the apply step reads the updates back in order (`updates`).

DuckDB rather than Arrow: it is already a dependency, it works in its own threads, and it
spills to a temporary folder past its memory limit. In memory rather than a file: a file
would write every row twice for a plan thrown away with the run. The rules and the
figures are told in docs/migration.md ("At catalog scale").
"""

from __future__ import annotations

import ctypes
import gc
import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pandas as pd

from secoda_pipelines.catalog.planners.migration import (
    COUNT_COLUMNS,
    KEY_FIELDS,
    MIGRATABLE_FIELDS,
    PLAN_COLUMNS,
    Renames,
    Row,
    decide_fields,
    fold_name,
    is_empty,
    unknown_fields,
)

KINDS = ("table", "column")  # a kind's index is its `kind_index` in the database, and its order
SIDES = ("source", "target")
CHUNK_ROWS = 10_000  # rows whose page documents go to DuckDB in one insert
FETCH_ROWS = 16_384  # rows read back out of DuckDB at a time
MEMORY_LIMIT = "160MB"  # DuckDB's own buffer pool; past it, tables spill to the folder
FOLDED_NAMES_KEPT = 200_000  # folded names remembered (then forgotten and folded again)
EMPTY_LIST = "[]"
_OBJECT_SIZE = "<object size>"  # in a chunk's INSERT, replaced by the document's size
# The columns of `report_query`'s rows: `item`, then the plan's columns but the PATCH and
# what it expects (patch, expected: read with `updates`).
REPORT_COLUMNS = ("item", *(c for c in PLAN_COLUMNS if c not in ("patch", "expected")))

# The tables each side is listed into: per resource, its kind (`kind_index`: its index in
# KINDS), its place in the side's listing (`position`), its id, the parts of its match key
# (folded; the source's database and schema renamed; `key_column` "" for a table) and the
# migrated fields' values as one JSON text (`field_values`). The source also keeps its own
# key when renaming changed it (`source_key`, else null) and whether it is documented.
_KEY_PARTS = ("kind_index", "key_database", "key_schema", "key_table", "key_column")
_SCHEMA = """
CREATE TABLE source (
    kind_index UTINYINT, position BIGINT, id VARCHAR, source_key VARCHAR,
    key_database VARCHAR, key_schema VARCHAR, key_table VARCHAR, key_column VARCHAR,
    documented BOOLEAN, field_values VARCHAR
);
CREATE TABLE target (
    kind_index UTINYINT, position BIGINT, id VARCHAR,
    key_database VARCHAR, key_schema VARCHAR, key_table VARCHAR, key_column VARCHAR,
    field_values VARCHAR
);
"""
_KEY = ", ".join(_KEY_PARTS)
_ON = " AND ".join(f"{{a}}.{part} = {{b}}.{part}" for part in _KEY_PARTS)
_KEY_OF_COUNTS = ", ".join(f"counts.{part}" for part in _KEY_PARTS)
_KIND = "CASE kind_index WHEN 0 THEN 'table' ELSE 'column' END"
_TABLE_LABEL = "concat_ws('.', {a}.key_database, {a}.key_schema, {a}.key_table)"
_MATCHED_AS = (
    f"CASE s.kind_index WHEN 0 THEN {_TABLE_LABEL.format(a='s')} "
    "ELSE concat_ws('.', s.key_database, s.key_schema, s.key_table, s.key_column) END"
)
# A key found more than once on either side: ambiguous.
_REPEATED = "counts.source_count > 1 OR counts.target_count > 1"
# Planning, step by step (each materialized step fits the memory limit on its own):
# 1. every key's counts on either side, its first source row and its first target row
#    (every key of the source's, and every table key of either side's: a column's table
#    may be found in the target only);
# 2. the ids of keys found more than once, for the ambiguity's detail;
# 3. each table key's verdict for the columns under it: ambiguous (found twice on either
#    side) or unmatched (not in the target), with the detail that names the table; null
#    when the table is matched once (its columns are matched by their own keys);
# 4. each source row with its key's counts and, when the match is one to one (and, for a
#    column, its table's too), its target: unchanged when both values are the same JSON
#    text, undecided (null) when they differ;
# 5. the plan in plan order (tables first; source rows grouped by the key they are
#    matched as, groups in the order of their first row), numbered from 0.
_PLAN_STEPS = (
    "SET preserve_insertion_order = false",  # the joins need not keep any order
    f"""CREATE OR REPLACE TABLE key_counts AS
    SELECT {_KEY},
        count(*) FILTER (WHERE on_source) AS source_count,
        count(*) FILTER (WHERE NOT on_source) AS target_count,
        min(position) FILTER (WHERE on_source) AS first_position,
        min(position) FILTER (WHERE NOT on_source) AS target_position
    FROM (SELECT true AS on_source, {_KEY}, position FROM source
          UNION ALL SELECT false AS on_source, {_KEY}, position FROM target)
    GROUP BY ALL HAVING source_count > 0 OR kind_index = 0""",
    f"""CREATE OR REPLACE TABLE repeated_keys AS
    SELECT {_KEY_OF_COUNTS}, 'source' AS side, counts.source_count AS occurrences,
        string_agg(s.id, ', ' ORDER BY s.position) AS ids
    FROM key_counts AS counts JOIN source AS s ON {_ON.format(a="s", b="counts")}
    WHERE counts.source_count > 1 GROUP BY ALL
    UNION ALL
    SELECT {_KEY_OF_COUNTS}, 'target' AS side, counts.target_count AS occurrences,
        string_agg(t.id, ', ' ORDER BY t.position) AS ids
    FROM key_counts AS counts JOIN target AS t ON {_ON.format(a="t", b="counts")}
    WHERE counts.source_count <= 1 AND counts.target_count > 1 GROUP BY ALL""",
    f"""CREATE OR REPLACE TABLE column_tables AS
    SELECT counts.key_database, counts.key_schema, counts.key_table,
        CASE WHEN {_REPEATED} THEN 'ambiguous' WHEN counts.target_count = 0 THEN 'unmatched'
        END AS action,
        CASE WHEN {_REPEATED} THEN 'its table ' || {_TABLE_LABEL.format(a="counts")}
                 || ' is ambiguous: ' || {_TABLE_LABEL.format(a="counts")} || ' occurs '
                 || CAST(r.occurrences AS VARCHAR) || ' times in the ' || r.side || ': '
                 || r.ids
             WHEN counts.target_count = 0 THEN 'its table '
                 || {_TABLE_LABEL.format(a="counts")} || ' is unmatched: no table '
                 || {_TABLE_LABEL.format(a="counts")} || ' in the target'
        END AS detail
    FROM key_counts AS counts LEFT JOIN repeated_keys AS r ON {_ON.format(a="r", b="counts")}
    WHERE counts.kind_index = 0""",
    f"""CREATE OR REPLACE TABLE paired AS
    SELECT kind_index, first_position, position, source_id, key, matched_as, documented,
        CASE WHEN table_action IS NULL THEN target_id END AS target_id,
        coalesce(table_action, action) AS action, table_detail,
        occurrences, repeated_on, repeated_ids,
        CASE WHEN table_action IS NULL THEN source_values END AS source_values,
        CASE WHEN table_action IS NULL THEN target_values END AS target_values
    FROM (
        SELECT s.kind_index, counts.first_position, s.position, s.id AS source_id,
            s.source_key AS key, {_MATCHED_AS} AS matched_as, s.documented,
            t.id AS target_id,
            CASE WHEN {_REPEATED} THEN 'ambiguous'
                 WHEN counts.target_count = 0 THEN 'unmatched'
                 WHEN s.field_values = t.field_values THEN 'unchanged' END AS action,
            -- A column whose table key no side lists: its table is not in the target.
            CASE WHEN s.kind_index = 0 THEN NULL WHEN c.key_database IS NULL THEN 'unmatched'
                 ELSE c.action END AS table_action,
            CASE WHEN s.kind_index = 0 THEN NULL
                 WHEN c.key_database IS NULL THEN 'its table ' || {_TABLE_LABEL.format(a="s")}
                     || ' is unmatched: no table ' || {_TABLE_LABEL.format(a="s")}
                     || ' in the target'
                 ELSE c.detail END AS table_detail,
            CASE WHEN {_REPEATED} THEN r.occurrences END AS occurrences,
            CASE WHEN {_REPEATED} THEN r.side END AS repeated_on,
            CASE WHEN {_REPEATED} THEN r.ids END AS repeated_ids,
            CASE WHEN s.field_values <> t.field_values THEN s.field_values END AS source_values,
            CASE WHEN s.field_values <> t.field_values THEN t.field_values END AS target_values
        FROM source AS s JOIN key_counts AS counts ON {_ON.format(a="s", b="counts")}
        LEFT JOIN column_tables AS c
            ON s.kind_index = 1 AND c.key_database = s.key_database
            AND c.key_schema = s.key_schema AND c.key_table = s.key_table
        LEFT JOIN target AS t ON counts.source_count = 1 AND counts.target_count = 1
            AND t.position = counts.target_position
        LEFT JOIN repeated_keys AS r ON {_ON.format(a="r", b="counts")}
    )""",
    "DROP TABLE key_counts; DROP TABLE repeated_keys; DROP TABLE column_tables",
    # Sorted as it is stored (preserve_insertion_order), so that a row's position, its
    # rowid, is its item. Kept narrow (what reads the same on every row is filled in by
    # the view `plan`): the sort is the plan's largest step.
    "SET preserve_insertion_order = true",
    f"""CREATE OR REPLACE TABLE plan_rows AS
    SELECT kind_index, key, matched_as, documented, source_id, target_id, action,
        CASE WHEN table_detail IS NOT NULL THEN table_detail
             WHEN repeated_on IS NOT NULL THEN matched_as || ' occurs '
                 || CAST(occurrences AS VARCHAR) || ' times in the ' || repeated_on || ': '
                 || repeated_ids
             WHEN action = 'unmatched'
                 THEN 'no ' || {_KIND} || ' ' || matched_as || ' in the target' END AS detail,
        CAST(NULL AS VARCHAR) AS fields, CAST(NULL AS VARCHAR) AS kept_fields,
        source_values, target_values
    FROM paired ORDER BY kind_index, first_position, position""",
    "SET preserve_insertion_order = false",
    "DROP TABLE paired",
    f"""CREATE OR REPLACE VIEW plan AS
    SELECT rowid AS item, {_KIND} AS kind, coalesce(key, matched_as) AS key, matched_as,
        documented, source_id, target_id, action, coalesce(fields, '{EMPTY_LIST}') AS fields,
        coalesce(kept_fields, '{EMPTY_LIST}') AS kept_fields, detail
    FROM plan_rows""",
    """CREATE OR REPLACE TABLE decided (
        item BIGINT, action VARCHAR, fields VARCHAR, kept_fields VARCHAR,
        patch VARCHAR, expected VARCHAR
    )""",
)
_UNDECIDED_SQL = """
SELECT rowid AS item, source_values, target_values FROM plan_rows
WHERE action IS NULL AND rowid > ? ORDER BY rowid LIMIT ?
"""
_DECIDED_SQL = """
UPDATE plan_rows AS p SET action = d.action, fields = d.fields, kept_fields = d.kept_fields
FROM decided AS d WHERE p.rowid = d.item
"""
_COUNTS_SQL = """
SELECT kind, action, documented, count(*) AS resources FROM plan GROUP BY ALL
ORDER BY kind, action, documented
"""
_UPDATES_SQL = """
SELECT d.item, p.kind, p.key, p.target_id, d.patch, d.expected
FROM decided AS d JOIN plan AS p USING (item)
WHERE d.action = 'update' AND d.item > ? ORDER BY d.item LIMIT ?
"""


class PlannedUpdate(NamedTuple):
    """One update of a plan: what the apply step needs of its row."""

    item: int  # the row's place in the plan (and in its report)
    kind: str
    key: str
    target_id: str
    patch: dict[str, Any]  # the PATCH body
    expected: dict[str, Any]  # the target's values of the patched fields when planned


class _FoldedNames(dict):
    """Names trimmed and case-folded (`migration.fold_name`), each text folded once.

    A database, schema or table name repeats on every row below it, so a page's column is
    folded with a dict lookup a row. Only text is remembered, so 1, 1.0 and True (equal as
    dict keys) are each folded anew.
    """

    def __missing__(self, name: Any) -> str:
        if type(name) is not str:
            return fold_name(name)
        if len(self) >= FOLDED_NAMES_KEPT:
            self.clear()
        folded = self[name] = name.strip().casefold()
        return folded

    def column(self, names: list[Any]) -> list[str]:
        """Returns `names` folded. Raises nothing."""
        try:
            if names and type(names[0]) is str and len(set(names)) == 1:  # one database
                return [self[names[0]]] * len(names)
            return [self[name] for name in names]
        except TypeError:  # a list or an object where a name belongs: not a dict key
            return [fold_name(name) for name in names]


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


# Compact JSON, key order kept. Built once: json.dumps with any option builds a new encoder
# on every call.
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class MigrationMatcher:
    """Both sides of a migration in a DuckDB database (in memory, spilling to a temporary
    folder deleted on `close`), and the plan of one onto the other.

    Use it as a context manager. Rows go in with `add_pages` (a listing's pages) or
    `add_rows`; `plan` makes the plan, which `counts`, `updates` and `report_query` read.

    Attributes:
        fields: the migrated fields, in order.
        source_names: {"database"|"schema": {folded name: name as first seen}} of the
            source's tables, for `catalog.planners.migration.unused_rename_keys_of`.
        source_fields: {"table"|"column": the fields of MIGRATABLE_FIELDS (all six,
            whatever `fields` holds) that at least one source resource of the kind has
            non-empty}: what deleting the source would lose (`counts`' `source_fields`).
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
        self.source_fields: dict[str, set[str]] = {kind: set() for kind in KINDS}
        self.memory_limit = memory_limit
        self._folder = tempfile.TemporaryDirectory(prefix="secoda-migration-", dir=directory)
        self._con = self._connect()
        self._con.execute(_SCHEMA)
        (catalog,) = self._con.execute("SELECT current_database()").fetchone() or ("memory",)
        self._catalog = f'"{catalog}"'
        self._position = dict.fromkeys(SIDES, 0)
        self._folded = _FoldedNames()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="migration-match")
        self._pending: Future[None] | None = None
        self._chunks = 0
        self._insert_sql = {side: self._insert_statement(side) for side in SIDES}

    def _connect(self) -> duckdb.DuckDBPyConnection:
        connection = duckdb.connect(":memory:")  # spilling to the folder past the limit
        connection.execute(f"SET memory_limit = '{self.memory_limit}'")
        connection.execute("SET threads = 2")
        connection.execute("SET preserve_insertion_order = false")
        connection.execute("SET enable_progress_bar = false")
        connection.execute(f"SET temp_directory = '{Path(self._folder.name) / 'spill'}'")
        return connection

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

    def _insert_statement(self, side: str) -> str:
        """Returns the INSERT that unpacks a file of page documents (see `_document`), one
        a line, into `side`. Parameters: the kind's index, the file's path."""
        values = [f"value_{field}" for field in self.fields]
        lists = [
            "ids",
            *_KEY_PARTS[1:],
            *values,
            *(["source_key"] if side == "source" else []),
        ]
        columns = {"first_position": "BIGINT", **{name: "VARCHAR[]" for name in lists}}
        columns.update({name: "JSON[]" for name in values})
        columns_sql = ", ".join(f"{name}: '{kind}'" for name, kind in columns.items())
        unnested = ", ".join(f"unnest({name}) AS {name}" for name in lists)
        # A JSON null arrives as SQL NULL; an empty value is null, false, "", [] or "None"
        # (the text DuckDB writes a parsed value back as), as `migration.is_empty` says.
        field_values = "'[' || concat_ws(',', "
        field_values += ", ".join(f"coalesce({v}, 'null')" for v in values) + ") || ']'"
        empty = " AND ".join(
            f"({v} IS NULL OR {v} IN ('false', '\"\"', '[]', '\"None\"'))" for v in values
        )
        pages = (
            "SELECT unnest(range(first_position, first_position + len(ids))) AS position, "
            f"{unnested} FROM read_json($2, format = 'newline_delimited', "
            f"maximum_object_size = {_OBJECT_SIZE}, columns = {{{columns_sql}}})"
        )
        key = ", ".join(_KEY_PARTS[1:])
        if side == "source":
            picked = f"$1, position, ids, source_key, {key}, NOT ({empty}), {field_values}"
        else:
            picked = f"$1, position, ids, {key}, {field_values}"
        return f"INSERT INTO {side} SELECT {picked} FROM ({pages})"

    def add_rows(self, side: str, kind: str, rows: Iterable[Row]) -> int:
        """Adds `rows` (API rows of `kind`, table or column) to `side` (source or target);
        returns how many were added. See `add_pages`.

        Raises:
            KeyError: `side` or `kind` is unknown.
            duckdb.Error: the database refused the rows.
        """
        iterator = iter(rows)
        return self.add_pages(side, kind, iter(lambda: list(islice(iterator, CHUNK_ROWS)), []))

    def add_pages(self, side: str, kind: str, pages: Iterable[list[Row]]) -> int:
        """Adds the rows of `pages` (a listing's pages of API rows of `kind`, table or
        column, as `SecodaClient.iter_pages` yields them) to `side` (source or target);
        returns how many were added. Only what planning reads is kept: id, match key,
        documented, and the migrated fields' values as JSON text.

        Each page is picked apart as it arrives, into a small JSON document of columns:
        the listing asks for more pages as each is taken, so the work done between two
        pages is kept small (a whole chunk's at once would leave it idle meanwhile, and a
        thread of its own would compete for the GIL with the listing's). Every CHUNK_ROWS
        rows the documents go to DuckDB, inserted by a writer thread while the listing
        goes on (DuckDB parses them without the GIL).

        Raises:
            KeyError: `side` or `kind` is unknown.
            duckdb.Error: the database refused the rows.
        """
        if side not in SIDES or kind not in KINDS:
            raise KeyError(f"side {side!r} of {SIDES}, kind {kind!r} of {KINDS}")
        first = self._position[side]
        insert, kind_index = self._insert_sql[side], KINDS.index(kind)
        documents: list[str] = []
        buffered = 0
        try:
            for page in pages:
                if not page:
                    continue
                documents.append(_dumps(self._document(side, kind, page)))
                buffered += len(page)
                if buffered >= CHUNK_ROWS:
                    self._send(insert, kind_index, documents)
                    documents, buffered = [], 0
            if documents:
                self._send(insert, kind_index, documents)
        finally:
            self._wait()
        return self._position[side] - first

    def _document(self, side: str, kind: str, rows: list[Row]) -> dict[str, Any]:
        """Returns a page of rows as columns, numbered on from the side's last row:
        first_position (the first row's place in the side's listing), ids (as text),
        key_database, key_schema, key_table, key_column (the key's parts as matched:
        folded, the source's renamed; key_column is "" for a table), source_key (the
        source's own key text, only when it is renamed, else null), value_<field> (each
        migrated field's values)."""
        ids = [row.get("id") for row in rows]
        if set(map(type, ids)) != {str}:
            ids = [i if type(i) is str else str(i) for i in ids]
        names = [[row.get(name) for row in rows] for name in KEY_FIELDS[kind]]
        parts = [self._folded.column(column) for column in names]
        if len(parts) == 3:
            parts.append([""] * len(rows))
        document: dict[str, Any] = {"first_position": self._position[side], "ids": ids}
        self._position[side] += len(rows)
        if side == "source":
            if kind == "table":
                self._note_source_names(names[0], parts[0], names[1], parts[1])
            self._note_source_fields(kind, rows)
            renames = self.renames
            document["source_key"] = [None] * len(rows)
            if renames.databases or renames.schemas:
                own = parts[:3] if kind == "table" else parts
                document["source_key"] = list(map(".".join, zip(*own, strict=True)))
                parts[0] = list(map(renames.databases.get, parts[0], parts[0]))
                parts[1] = list(map(renames.schemas.get, parts[1], parts[1]))
        document.update(zip(_KEY_PARTS[1:], parts, strict=True))
        for field in self.fields:
            document[f"value_{field}"] = [row.get(field) for row in rows]
        return document

    def _note_source_fields(self, kind: str, rows: list[Row]) -> None:
        """Remembers which migratable fields the source's resources of `kind` have
        non-empty. A field is looked for only until one row has it, so a page costs next
        to nothing once every documented field has been seen."""
        seen = self.source_fields[kind]
        for field in MIGRATABLE_FIELDS:
            if field not in seen and any(not is_empty(row.get(field)) for row in rows):
                seen.add(field)

    def _note_source_names(
        self,
        databases: list[Any],
        folded_databases: list[str],
        schemas: list[Any],
        folded_schemas: list[str],
    ) -> None:
        """Remembers each database and schema name of the source's tables as first seen."""
        for level, raw, folded in (
            ("database", databases, folded_databases),
            ("schema", schemas, folded_schemas),
        ):
            seen = self.source_names[level]
            if seen.keys() >= set(folded):
                continue
            for name, key in zip(raw, folded, strict=True):
                if key not in seen:
                    seen[key] = str(name or "").strip()

    def _send(self, insert: str, kind_index: int, documents: list[str]) -> None:
        """Hands page documents to the writer thread (after the previous ones are in)."""
        self._wait()
        self._chunks += 1
        path = Path(self._folder.name) / f"pages-{self._chunks % 2}.json"
        self._pending = self._writer.submit(self._insert, insert, kind_index, path, documents)

    def _insert(self, insert: str, kind_index: int, path: Path, documents: list[str]) -> None:
        """Has DuckDB insert page documents (one a line in a file) with `insert`."""
        path.write_text("\n".join(documents), encoding="utf-8")
        # DuckDB reads a document of at most maximum_object_size bytes (16 MB by default):
        # room for the largest of these, whatever the pages hold.
        largest = max(map(len, documents)) * 4 + 1  # characters, as UTF-8 bytes at most
        statement = insert.replace(_OBJECT_SIZE, str(max(largest, 1 << 24)))
        self._con.execute(statement, [kind_index, str(path)])

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def count(self, side: str, kind: str) -> int:
        """Returns how many rows of `kind` `side` holds.

        Raises:
            KeyError: `side` or `kind` is unknown.
        """
        table = {"source": "source", "target": "target"}[side]
        row = self._con.execute(
            f"SELECT count(*) FROM {table} WHERE kind_index = ?", [KINDS.index(kind)]
        ).fetchone()
        return int(row[0]) if row else 0

    def clear(self, side: str) -> None:
        """Deletes every row of `side` (to list it again), and for the source what was
        noted of it (`source_names`, `source_fields`).

        Raises:
            KeyError: `side` is unknown.
        """
        table = {"source": "source", "target": "target"}[side]
        self._con.execute(f"DELETE FROM {table}")
        if side == "source":
            self.source_names = {"database": {}, "schema": {}}
            self.source_fields = {kind: set() for kind in KINDS}

    # ------------------------------------------------------------------------ planning

    def plan(self) -> None:
        """Plans the source onto the target as they are now: the view `plan` holds one row
        per source resource (REPORT_COLUMNS, `item` from 0 in plan order), the
        pairs whose values differ decided in Python (`decide_fields`). Replaces any
        earlier plan.

        Raises:
            duckdb.Error: a query failed.
        """
        _return_freed_memory()
        for step in _PLAN_STEPS:
            self._con.execute(step)
        self._decide()

    def _decide(self) -> None:
        """Decides every undecided pair, FETCH_ROWS at a time, into `decided`, then sets
        their action, fields and kept_fields on `plan_rows`."""
        fields, last, decided = self.fields, -1, 0
        while rows := self._con.execute(_UNDECIDED_SQL, [last, FETCH_ROWS]).fetchall():
            out: dict[str, list[Any]] = {name: [] for name in ("item", "action", "fields")}
            out.update(kept_fields=[], patch=[], expected=[])
            for item, source_values, target_values in rows:
                source = dict(zip(fields, json.loads(source_values), strict=True))
                target = dict(zip(fields, json.loads(target_values), strict=True))
                decision = decide_fields(source, target, fields, self.overwrite)
                out["item"].append(item)
                out["action"].append(decision.action)
                out["fields"].append(json.dumps(sorted(decision.patch)))
                out["kept_fields"].append(json.dumps(decision.kept))
                out["patch"].append(_dumps(decision.patch) if decision.patch else None)
                out["expected"].append(
                    _dumps({name: target.get(name) for name in decision.patch})
                    if decision.patch
                    else None
                )
            last = rows[-1][0]
            frame = pd.DataFrame(out)
            self._con.register("decisions", frame)
            self._con.execute("INSERT INTO decided SELECT * FROM decisions")
            self._con.unregister("decisions")
            decided += len(rows)
        if decided:
            self._con.execute(_DECIDED_SQL)

    def counts(self) -> pd.DataFrame:
        """Returns the plan's rows counted by (kind, action, documented): COUNT_COLUMNS, one
        row per combination present, what `catalog.reports.coverage.coverage_of_counts` reads.
        `source_fields` is the same on every row of a kind: the kind's `source_fields`, as
        a JSON list in MIGRATABLE_FIELDS' order.

        Raises:
            duckdb.Error: there is no plan (call `plan` first).
        """
        frame = self._con.execute(_COUNTS_SQL).df()
        frame["source_fields"] = frame["kind"].map(
            {
                kind: json.dumps([f for f in MIGRATABLE_FIELDS if f in fields])
                for kind, fields in self.source_fields.items()
            }
        )
        return frame.astype({"documented": bool, "resources": "int64"})[list(COUNT_COLUMNS)]

    def updates(self) -> Iterator[PlannedUpdate]:
        """Yields the plan's updates in plan order, read FETCH_ROWS at a time (so that a
        plan of many updates is never whole in memory).

        Raises:
            duckdb.Error: there is no plan (call `plan` first).
        """
        last = -1
        while rows := self._con.execute(_UPDATES_SQL, [last, FETCH_ROWS]).fetchall():
            for item, kind, key, target_id, patch, expected in rows:
                yield PlannedUpdate(
                    item, kind, key, target_id, json.loads(patch), json.loads(expected)
                )
            last = rows[-1][0]

    def update_count(self) -> int:
        """Returns how many updates the plan holds. Raises duckdb.Error without a plan."""
        row = self._con.execute("SELECT count(*) FROM decided WHERE action = 'update'").fetchone()
        return int(row[0]) if row else 0

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The matcher's DuckDB connection, on which `report_query` runs."""
        return self._con

    def report_query(self, extra: Sequence[str] = ()) -> str:
        """Returns the SQL that reads the plan as report rows, on `connection`:
        REPORT_COLUMNS, then the `extra` SQL expressions (each with its alias). The rows
        come in no particular order (a sort at this size would spill; `item` numbers
        them). The view is named in full, so the query reads the same with another
        database attached and in use. Raises nothing."""
        columns = ", ".join([*REPORT_COLUMNS, *extra])
        return f"SELECT {columns} FROM {self._catalog}.main.plan"

    def write_report(self, path: Path, extra: Sequence[str] = ()) -> Path:
        """Writes the plan as report rows (`report_query`) to the Parquet file at `path`, in
        SQL, for the store to copy; returns `path`. Raises duckdb.Error."""
        target = str(path).replace("'", "''")
        self.connection.execute(f"COPY ({self.report_query(extra)}) TO '{target}' (FORMAT parquet)")
        return path
