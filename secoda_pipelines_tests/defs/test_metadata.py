"""Markdown previews and column schemas for asset metadata."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from secoda_pipelines.defs.metadata import column_schema, markdown_preview
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


def test_column_schema_names_each_column_and_dtype_in_order() -> None:
    assert column_schema(sample()) == [
        ("id", "string"),
        ("title", "string"),
        ("description", "string"),
        ("tags", "string"),
        ("pii", "boolean"),
    ]
