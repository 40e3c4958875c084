"""Markdown previews and column schemas for asset metadata."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from secoda_pipelines.defs.column_descriptions import COLUMN_DESCRIPTIONS
from secoda_pipelines.defs.column_types import (
    BOOLEAN,
    HUMAN_TYPES,
    ID,
    ID_LIST,
    INTEGER,
    NUMBER,
    TEXT,
    TIMESTAMP,
)
from secoda_pipelines.defs.metadata import (
    INLINE_MARKDOWN_LIMIT,
    PREVIEW_CELL_WIDTH,
    PREVIEW_ROWS,
    asset_column_schema,
    definition_metadata,
    frame_metadata,
    human_type,
    inline_preview,
    markdown_preview,
    report_preview,
)
from secoda_pipelines_tests.catalog.frames.schema_frames import tables_frame


def sample() -> pd.DataFrame:
    return tables_frame(
        [
            {
                "id": 1,
                "integration": "i1",
                "database": "db",
                "schema": "public",
                "title": "a|b",
                "description": "line one\nline two",
                "tags": ["x", "y"],
                "pii": True,
            },
            {"id": 2, "title": "plain", "tags": []},
            {"id": 3, "title": "third"},
        ]
    ).loc[:, ["id", "title", "description", "tags", "pii"]]


def test_preview_is_a_markdown_table_with_json_text_as_is() -> None:
    assert markdown_preview(sample()) == "\n".join(
        [
            "| id | title | description | tags | pii |",
            "| --- | --- | --- | --- | --- |",
            '| 1 | a\\|b | line one line two | ["x","y"] | True |',
            "| 2 | plain |  | [] |  |",
            "| 3 | third |  |  |  |",
        ]
    )


def test_preview_shows_only_the_first_rows() -> None:
    lines = markdown_preview(sample(), rows=1).splitlines()
    assert len(lines) == 3
    assert lines[2].startswith("| 1 |")
    assert markdown_preview(sample(), rows=0).splitlines() == [
        "| id | title | description | tags | pii |",
        "| --- | --- | --- | --- | --- |",
    ]


def test_preview_formats_numbers_timestamps_and_python_lists() -> None:
    frame = pd.DataFrame(
        {
            "rate": [1 / 3, float("nan")],
            "at": pd.to_datetime(["2024-01-02T03:04:05Z", None], utc=True),
            "raw": [["a", 1], None],
        }
    )
    assert markdown_preview(frame).splitlines()[2:] == [
        '| 0.333333 | 2024-01-02T03:04:05+00:00 | ["a", 1] |',
        "|  |  |  |",
    ]


def test_preview_of_a_frame_without_columns_is_empty() -> None:
    assert markdown_preview(pd.DataFrame()) == ""


def test_preview_refuses_negative_rows() -> None:
    with pytest.raises(ValueError, match="-1"):
        markdown_preview(sample(), rows=-1)


def test_preview_does_not_need_tabulate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tabulate", None)
    assert markdown_preview(sample(), rows=1).splitlines()[0] == (
        "| id | title | description | tags | pii |"
    )


def test_frame_metadata_says_each_thing_once_with_declared_types_and_descriptions() -> None:
    frame = sample().assign(extra=[1.5, 2.0, None])
    metadata = frame_metadata(frame, "secoda/tables")
    assert sorted(metadata) == ["dagster/column_schema", "dagster/row_count", "preview"]
    assert metadata["dagster/row_count"] == 3
    columns = metadata["dagster/column_schema"].columns
    assert [(c.name, c.type) for c in columns] == [
        ("id", ID),
        ("title", TEXT),
        ("description", TEXT),
        ("tags", ID_LIST),
        ("pii", BOOLEAN),
        ("extra", NUMBER),  # declared nowhere: its type from the dtype, no description
    ]
    described = {c.name: c.description for c in columns}
    assert described["tags"] == COLUMN_DESCRIPTIONS["secoda/tables"]["tags"]
    assert described["extra"] is None
    # The preview holds the columns a person reads first, those the frame has.
    assert metadata["preview"].value.splitlines()[0] == "| title | description |"


def test_an_assets_definition_declares_every_column() -> None:
    metadata = definition_metadata("secoda/columns", partition_expr="integration_id")
    assert metadata["partition_expr"] == "integration_id"
    schema = metadata["dagster/column_schema"]
    assert [c.name for c in schema.columns] == list(COLUMN_DESCRIPTIONS["secoda/columns"])
    assert all(c.type in HUMAN_TYPES and c.description for c in schema.columns)
    assert asset_column_schema("secoda/columns") == schema


def test_human_types_of_undeclared_columns() -> None:
    frame = pd.DataFrame(
        {
            "n": pd.Series([1], dtype="Int64"),
            "x": [0.5],
            "b": pd.Series([True], dtype="boolean"),
            "t": pd.to_datetime(["2024-01-01"], utc=True),
            "s": ["a"],
        }
    )
    assert [human_type(t) for t in frame.dtypes] == [INTEGER, NUMBER, BOOLEAN, TIMESTAMP, TEXT]


def wide_frame(rows: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "title": [f"dashboard {i} " + "x" * 80 for i in range(rows)],
            "note": ["a|b\nc"] * rows,
            "share": [1 / 3] * rows,
            "day": pd.to_datetime(["2024-01-02"] * rows, utc=True),
            "at": pd.to_datetime(["2024-01-02T03:04:05Z"] * rows, utc=True),
            "owner": ["someone.with.a.long.name@example.com"] * rows,
        }
    )


def test_inline_preview_stays_under_the_limit_by_cutting_cells_then_rows() -> None:
    text = inline_preview(wide_frame())
    assert len(text) < INLINE_MARKDOWN_LIMIT
    lines = text.splitlines()
    assert lines[0] == "| title | note | share | day | at | owner |"
    assert lines[1] == "| --- | --- | --- | --- | --- | --- |"
    first = lines[2].split(" | ")
    assert first[0] == "| dashboard 0 " + "x" * (PREVIEW_CELL_WIDTH - len("dashboard 0 ") - 1) + "…"
    assert first[1:] == [
        "a\\|b c",
        "0.3333",
        "2024-01-02",
        "2024-01-02 03:04",
        "someone.with.a.long.name@example.com |",
    ]
    # The rows that fit, in order, fewer than the 10 asked for.
    assert 2 < len(lines) - 2 < PREVIEW_ROWS
    assert [line.split(" ")[2] for line in lines[2:]] == [str(i) for i in range(len(lines) - 2)]


def test_inline_preview_shows_the_named_columns_and_every_row_that_fits() -> None:
    text = inline_preview(wide_frame(3), ["share", "missing", "day"])
    assert text.splitlines() == [
        "| share | day |",
        "| --- | --- |",
        *["| 0.3333 | 2024-01-02 |"] * 3,
    ]
    assert inline_preview(wide_frame(3), ["missing"]).startswith("| title | note |")
    assert inline_preview(pd.DataFrame()) == ""


def test_inline_preview_drops_columns_when_the_header_alone_is_too_long() -> None:
    frame = pd.DataFrame({f"column_{i:03d}_with_a_long_name": [i] for i in range(60)})
    text = inline_preview(frame)
    assert 0 < len(text) < INLINE_MARKDOWN_LIMIT
    assert text.splitlines()[0].startswith("| column_000_with_a_long_name |")


def test_report_preview_is_inline_sized_or_says_nothing_to_report() -> None:
    rows = pd.DataFrame(
        {
            "kind": ["table"] * 30,
            "key": ["analytics.public." + "t" * 60] * 30,
            "action": ["update"] * 30,
            "source_id": ["s"] * 30,
        }
    )
    text = report_preview(rows, "migration_plan").value
    assert len(text) < INLINE_MARKDOWN_LIMIT
    assert text.splitlines()[0] == "| kind | key | action |"
    assert report_preview(rows.head(0), "migration_plan").value == "(nothing to report)"
