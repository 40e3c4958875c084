"""A `MigrationMatcher`'s plan as frames, for tests: the whole plan held at once, which
the job never does (it copies the plan in SQL and reads the updates back in order)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence

import pandas as pd

from secoda_pipelines.catalog.planners import migration_match
from secoda_pipelines.catalog.planners.migration import PLAN_COLUMNS, Renames, Row
from secoda_pipelines.catalog.planners.migration_match import MigrationMatcher


def plan_chunks(matcher: MigrationMatcher) -> Iterator[pd.DataFrame]:
    """Plans (`matcher.plan`), then yields the plan in order, `FETCH_ROWS` rows a chunk,
    read through the matcher's public surface (`report_query`, `updates`).

    Each chunk has PLAN_COLUMNS, with `fields` and `kept_fields` as JSON text (as a report
    stores them) and `patch` and `expected` as dicts on update rows only (None elsewhere).
    """
    matcher.plan()
    updates = {update.item: update for update in matcher.updates()}
    query = f"{matcher.report_query()} WHERE item >= ? ORDER BY item LIMIT ?"
    start = 0
    while True:
        chunk = matcher.connection.execute(query, [start, migration_match.FETCH_ROWS]).df()
        if chunk.empty:
            return
        start += len(chunk)
        planned = [updates.get(item) for item in chunk["item"]]
        chunk["patch"] = [u.patch if u else None for u in planned]
        chunk["expected"] = [u.expected if u else None for u in planned]
        for column in ("target_id", "detail"):
            chunk[column] = chunk[column].astype(object).where(chunk[column].notna(), None)
        chunk["documented"] = chunk["documented"].astype(bool)
        yield chunk[list(PLAN_COLUMNS)]


def as_plan_frame(chunks: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Returns plan chunks (`plan_chunks`) as one frame: PLAN_COLUMNS, lists for fields and
    kept_fields, dicts for patch and expected on every row (empty but on updates), None
    for a missing target_id or detail."""
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
    """Returns the plan of these rows made by `MigrationMatcher`, as one frame
    (`as_plan_frame`).

    Raises:
        ValueError: a field name is not one a migration can carry.
    """
    with MigrationMatcher(fields, overwrite=overwrite, renames=renames) as matcher:
        matcher.add_rows("source", "table", source_tables)
        matcher.add_rows("source", "column", source_columns)
        matcher.add_rows("target", "table", target_tables)
        matcher.add_rows("target", "column", target_columns)
        return as_plan_frame(plan_chunks(matcher))
