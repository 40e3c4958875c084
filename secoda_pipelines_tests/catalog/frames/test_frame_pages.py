"""Frames built page by page (`frame_from_pages`): the same frame as from one list of rows,
without holding the pages' rows."""

from __future__ import annotations

import random
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pandas as pd
import pytest

from secoda_pipelines.catalog.frames import (
    COLUMNS_SCHEMA,
    DASHBOARDS_SCHEMA,
    INTEGRATIONS_SCHEMA,
    QUESTION_REPLIES_SCHEMA,
    QUESTIONS_SCHEMA,
    TABLES_SCHEMA,
    USERS_SCHEMA,
    FrameSchema,
    frame_from_pages,
    to_bool,
    to_id,
    to_int,
    to_json_list,
    to_lower,
    to_text,
    to_timestamp,
    unreadable_counts,
)
from secoda_pipelines_tests.catalog.frames.schema_frames import (
    columns_frame,
    dashboards_frame,
    integrations_frame,
    question_replies_frame,
    questions_frame,
    tables_frame,
    users_frame,
)

FRAMES: dict[str, tuple[Callable[[Sequence[dict[str, Any]]], pd.DataFrame], FrameSchema]] = {
    "integrations": (integrations_frame, INTEGRATIONS_SCHEMA),
    "users": (users_frame, USERS_SCHEMA),
    "dashboards": (dashboards_frame, DASHBOARDS_SCHEMA),
    "questions": (questions_frame, QUESTIONS_SCHEMA),
    "question_replies": (question_replies_frame, QUESTION_REPLIES_SCHEMA),
    "tables": (tables_frame, TABLES_SCHEMA),
    "columns": (columns_frame, COLUMNS_SCHEMA),
}

CONVERTERS = {
    "id": to_id,
    "text": to_text,
    "lower": to_lower,
    "int": to_int,
    "bool": to_bool,
    "timestamp": to_timestamp,
    "list": to_json_list,
    "unreadable": unreadable_counts,
}

# What the API has been seen to send, and worse: every kind of field gets every value.
ODD_VALUES: tuple[Any, ...] = (
    None,
    "",
    "None",
    "x",
    "  Admin ",
    "é",
    12,
    "12",
    1.0,
    1.5,
    "1.5",
    True,
    False,
    "True",
    "yes",
    "0",
    [],
    ["a", None, 3],
    '["a"]',
    "[bad",
    ("t",),
    {"k": 1},
    "2024-01-01T00:00:00Z",
    "2024-01-01T00:00:00",
    "2024-06-01T12:00:00+00:00",
    "not a date",
)
# Not "+02:00": pandas (2.3) reads a naive timestamp that follows one with a non-UTC offset
# in that offset, so such a mix depends on which rows share a batch, whatever the batching.
MISSING = object()


def reference_frame(rows: list[dict[str, Any]], fields: tuple) -> pd.DataFrame:
    """The frame as built before pages were framed one by one: each field's converter over
    every row's value (a multi-key field takes its first key that is set and not blank)."""

    def value(row: dict[str, Any], keys: tuple[str, ...]) -> Any:
        if len(keys) == 1:
            return row.get(keys[0])
        return next((row[k] for k in keys if row.get(k) is not None and row[k] != ""), None)

    columns = {f.name: CONVERTERS[f.kind]([value(row, f.keys) for row in rows]) for f in fields}
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def odd_rows(fields: tuple, count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    keys = sorted({key for field in fields for key in field.keys})
    rows = []
    for _ in range(count):
        values = {key: rng.choice((*ODD_VALUES, MISSING)) for key in keys}
        rows.append({key: value for key, value in values.items() if value is not MISSING})
    return rows


def paged(rows: list[dict[str, Any]], seed: int) -> Iterator[list[dict[str, Any]]]:
    """Yields the rows in pages of 0 to 17 rows (an empty page now and then)."""
    rng = random.Random(seed)
    start = 0
    while start < len(rows):
        size = rng.randint(0, 17)
        yield rows[start : start + size]
        start += size


@pytest.mark.parametrize("batch_rows", [1, 7, 50, 50_000])
@pytest.mark.parametrize("asset", sorted(FRAMES))
def test_pages_give_the_frame_of_all_rows_at_once(asset: str, batch_rows: int) -> None:
    to_frame, schema = FRAMES[asset]
    rows = odd_rows(schema.fields, 300, seed=len(asset))
    expected = reference_frame(rows, schema.fields)

    frame = frame_from_pages(paged(rows, seed=batch_rows), schema=schema, batch_rows=batch_rows)

    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    pd.testing.assert_frame_equal(to_frame(rows), expected, check_exact=True)


@pytest.mark.parametrize("asset", sorted(FRAMES))
def test_no_pages_or_empty_pages_give_the_empty_frame(asset: str) -> None:
    _, schema = FRAMES[asset]
    expected = reference_frame([], schema.fields)
    pd.testing.assert_frame_equal(frame_from_pages(iter(()), schema=schema), expected)
    pd.testing.assert_frame_equal(frame_from_pages([[], []], schema=schema, batch_rows=1), expected)


class Row(dict):
    """A dict that can be watched with a weak reference."""


def test_a_pages_rows_are_released_once_the_next_page_is_read() -> None:
    # With the default batch (50,000 rows) all 2,000 rows fit in one batch: the frame is
    # typed only at the end, yet no page but the last one read may still be alive.
    page_size, pages = 50, 40
    watched: list[weakref.ref] = []
    alive_counts: list[int] = []

    def pages_of_rows() -> Iterator[list[Row]]:
        for number in range(pages):
            alive_counts.append(sum(ref() is not None for ref in watched))
            page = [
                Row(
                    id=f"c{number}-{i}",
                    parent=f"t{number}",
                    table_schema="public",
                    tags=["a", str(i)],
                    sort_order=i,
                )
                for i in range(page_size)
            ]
            watched.extend(weakref.ref(row) for row in page)
            yield page
            del page

    frame = frame_from_pages(pages_of_rows(), schema=COLUMNS_SCHEMA)

    assert len(frame) == page_size * pages
    assert max(alive_counts) <= page_size, alive_counts
    assert sum(ref() is not None for ref in watched) == 0
    assert frame["tags"].iloc[-1] == f'["a","{page_size - 1}"]'


def test_equal_strings_of_a_column_are_held_once() -> None:
    # Each row gets its own string objects, as a JSON decoder makes them.
    rows = [
        {"id": f"c{i}", "table_schema": "".join(["pub", "lic"]), "type": "".join(["var", "char"])}
        for i in range(200)
    ]

    frame = frame_from_pages((rows[i : i + 50] for i in range(0, 200, 50)), schema=COLUMNS_SCHEMA)

    for name in ("schema", "type"):
        values = frame[name].to_numpy(dtype=object)
        assert len({id(value) for value in values}) == 1, name
    assert frame["schema"].tolist() == ["public"] * 200
