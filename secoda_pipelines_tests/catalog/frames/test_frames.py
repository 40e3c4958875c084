"""Frames from Secoda API rows: quirks, dtypes, and the empty case."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
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
    id_list,
    list_lengths,
    parse_list,
    rows_of_other_integrations,
    to_bool,
    to_int,
    to_json_list,
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
from secoda_pipelines_tests.helpers import duckdb_round_trip

STR, INT, BOOL, TS = "string", "Int64", "boolean", "datetime64[ns, UTC]"

SCHEMAS: dict[str, tuple[Callable[[list[dict[str, Any]]], pd.DataFrame], dict[str, str]]] = {
    "integrations": (
        integrations_frame,
        {"id": STR, "name": STR, "type": STR, "created_at": TS, "updated_at": TS},
    ),
    "users": (
        users_frame,
        {
            "id": STR,
            "email": STR,
            "first_name": STR,
            "last_name": STR,
            "role": STR,
            "pending": BOOL,
            "disabled": BOOL,
            "user_groups": STR,
            "teams": STR,
        },
    ),
    "dashboards": (
        dashboards_frame,
        {
            "id": STR,
            "title": STR,
            "integration_id": STR,
            "external_usage": INT,
            "internal_usage": INT,
            "external_users": STR,
            "internal_users": STR,
            "external_updated_at": TS,
            "parent_id": STR,
            "url": STR,
            "owners": STR,
            "tags": STR,
            "created_at": TS,
            "external_usage_unreadable": STR,
            "internal_usage_unreadable": STR,
        },
    ),
    "questions": (
        questions_frame,
        {"id": STR, "title": STR, "answer": STR, "owners": STR, "created_at": TS},
    ),
    "question_replies": (
        question_replies_frame,
        {"id": STR, "question_id": STR, "owners": STR, "accepted_answer": BOOL, "created_at": TS},
    ),
    "tables": (
        tables_frame,
        {
            "id": STR,
            "integration_id": STR,
            "database": STR,
            "schema": STR,
            "title": STR,
            "description": STR,
            "definition": STR,
            "tags": STR,
            "pii": BOOL,
            "owners": STR,
            "verified": BOOL,
            "parent_id": STR,
            "internal_usage": INT,
            "external_usage": INT,
        },
    ),
    "columns": (
        columns_frame,
        {
            "id": STR,
            "integration_id": STR,
            "table_id": STR,
            "database": STR,
            "schema": STR,
            "table_title": STR,
            "title": STR,
            "description": STR,
            "definition": STR,
            "tags": STR,
            "pii": BOOL,
            "type": STR,
            "sort_order": INT,
            "owners": STR,
            "verified": BOOL,
        },
    ),
}


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in frame.dtypes.items()}


@pytest.mark.parametrize("asset", sorted(SCHEMAS))
def test_empty_rows_give_every_column_with_its_dtype(asset: str) -> None:
    build, schema = SCHEMAS[asset]
    frame = build([])
    assert len(frame) == 0
    assert dtypes(frame) == schema


@pytest.mark.parametrize("asset", sorted(SCHEMAS))
def test_a_row_of_missing_keys_is_all_null_with_the_same_dtypes(asset: str) -> None:
    build, schema = SCHEMAS[asset]
    frame = build([{}])
    assert dtypes(frame) == schema
    assert frame.iloc[0].isna().all()


@pytest.mark.parametrize("asset", sorted(SCHEMAS))
def test_json_null_in_every_key_is_null_in_every_column(asset: str) -> None:
    # The client hands over the API's "None" strings as None, so this is that row too.
    build, schema = SCHEMAS[asset]
    keys = {"parent", "integration", "table_database", "table_schema", *schema}
    frame = build([dict.fromkeys(keys)])
    assert dtypes(frame) == schema
    assert frame.iloc[0].isna().all()


def test_integrations_ids_as_strings_and_timestamps_to_utc() -> None:
    frame = integrations_frame(
        [
            {
                "id": 7,
                "name": "Snowflake",
                "type": "snowflake",
                "created_at": "2024-03-01T10:00:00",
                "updated_at": "2024-03-01T12:00:00+02:00",
            },
            {
                "id": "b2",
                "name": None,
                "created_at": "2024-03-02T08:30:00.250Z",
                "updated_at": "not a date",
            },
        ]
    )
    assert frame["id"].tolist() == ["7", "b2"]
    assert frame["name"].tolist() == ["Snowflake", pd.NA]
    assert frame["type"].tolist() == ["snowflake", pd.NA]
    assert frame["created_at"].tolist() == [
        utc("2024-03-01 10:00:00"),
        utc("2024-03-02 08:30:00.250"),
    ]
    assert frame["updated_at"].iloc[0] == utc("2024-03-01 10:00:00")
    assert frame["updated_at"].isna().tolist() == [False, True]


def test_users_role_lowercased_flags_nullable_and_lists_as_json() -> None:
    frame = users_frame(
        [
            {
                "id": 1,
                "email": "ada@example.com",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "role": "ADMIN",
                "pending": "False",
                "disabled": False,
                "user_groups": ["g1", 2],
                "teams": [],
            },
            {
                "id": "2",
                "email": "",
                "first_name": "",
                "role": " Editor ",
                "pending": "true",
                "disabled": None,
                "user_groups": None,
                "teams": "",
            },
            {"id": "3", "role": None},
        ]
    )
    assert frame["id"].tolist() == ["1", "2", "3"]
    assert frame["email"].tolist() == ["ada@example.com", pd.NA, pd.NA]
    assert frame["first_name"].tolist() == ["Ada", "", pd.NA]
    assert frame["last_name"].tolist() == ["Lovelace", pd.NA, pd.NA]
    assert frame["role"].tolist() == ["admin", "editor", pd.NA]
    assert frame["pending"].tolist() == [False, True, pd.NA]
    assert frame["disabled"].tolist() == [False, pd.NA, pd.NA]
    assert frame["user_groups"].tolist() == ['["g1",2]', pd.NA, pd.NA]
    assert frame["teams"].tolist() == ["[]", pd.NA, pd.NA]


def test_dashboards_usage_as_nullable_ints_and_user_lists_null_vs_empty() -> None:
    frame = dashboards_frame(
        [
            {
                "id": 10,
                "title": "Revenue",
                "integration": 3,
                "parent": "folder-1",
                "url": "https://bi.example.com/d/10",
                "owners": ["u1"],
                "tags": ["finance", "kpi"],
                "external_usage": "12",
                "internal_usage": 0,
                "external_users": ["ann", "bob"],
                "internal_users": [],
                "external_updated_at": "2024-05-01T00:00:00-04:00",
                "created_at": "2023-01-01T00:00:00",
            },
            {
                "id": "11",
                "title": "Churn",
                "integration": None,
                "external_usage": None,
                "internal_usage": "1.5",
                "external_users": None,
                "external_updated_at": "",
            },
            {"id": "12", "external_usage": 4.0, "internal_usage": "lots", "url": ""},
        ]
    )
    assert frame["id"].tolist() == ["10", "11", "12"]
    assert frame["integration_id"].tolist() == ["3", pd.NA, pd.NA]
    assert frame["parent_id"].tolist() == ["folder-1", pd.NA, pd.NA]
    assert frame["url"].tolist() == ["https://bi.example.com/d/10", pd.NA, pd.NA]
    assert frame["external_usage"].tolist() == [12, pd.NA, 4]
    assert frame["internal_usage"].tolist() == [0, pd.NA, pd.NA]
    assert frame["external_users"].tolist() == ['["ann","bob"]', pd.NA, pd.NA]
    assert frame["internal_users"].tolist() == ["[]", pd.NA, pd.NA]
    assert frame["owners"].tolist() == ['["u1"]', pd.NA, pd.NA]
    assert frame["tags"].tolist() == ['["finance","kpi"]', pd.NA, pd.NA]
    assert frame["external_updated_at"].iloc[0] == utc("2024-05-01 04:00:00")
    assert frame["external_updated_at"].iloc[1:].isna().all()
    assert frame["created_at"].iloc[0] == utc("2023-01-01 00:00:00")
    # What was sent where a count belongs but is not one: kept, so it is not taken for null.
    assert frame["external_usage_unreadable"].tolist() == [pd.NA, pd.NA, pd.NA]
    assert frame["internal_usage_unreadable"].tolist() == [pd.NA, "1.5", "lots"]


def test_dashboards_accept_integration_id_when_integration_is_absent() -> None:
    frame = dashboards_frame([{"id": "1", "integration_id": "i9"}])
    assert frame["integration_id"].tolist() == ["i9"]


def test_question_replies_parent_and_the_apis_own_accepted_flag() -> None:
    frame = question_replies_frame(
        [
            {"id": "r1", "parent": "q1", "owners": ["u1", "u2"], "accepted_answer": True},
            {"id": "r2", "parent": 5, "owners": [], "accepted_answer": False},
            {"id": "r3", "parent": "q1", "owners": None, "accepted_answer": None},
            {"id": "r4", "parent": None, "accepted_answer": "false"},
            {"id": "r5", "created_at": "2024-01-02T03:04:05+00:00"},
        ]
    )
    assert frame["question_id"].tolist() == ["q1", "5", "q1", pd.NA, pd.NA]
    assert frame["owners"].tolist() == ['["u1","u2"]', "[]", pd.NA, pd.NA, pd.NA]
    assert frame["accepted_answer"].tolist() == [True, False, pd.NA, False, pd.NA]
    assert frame["created_at"].iloc[4] == utc("2024-01-02 03:04:05")


def test_questions_answer_is_the_reply_id_or_null() -> None:
    frame = questions_frame(
        [
            {"id": "q1", "title": "Where is revenue?", "answer": "r1", "owners": ["u1"]},
            {"id": "q2", "title": "Who owns churn?", "answer": None},
            {"id": "q3", "answer": 42},
        ]
    )
    assert frame["answer"].tolist() == ["r1", pd.NA, "42"]
    assert frame["title"].tolist() == ["Where is revenue?", "Who owns churn?", pd.NA]
    assert frame["owners"].tolist() == ['["u1"]', pd.NA, pd.NA]


def test_tables_fields_and_documentation_quirks() -> None:
    frame = tables_frame(
        [
            {
                "id": "t1",
                "integration": "i1",
                "database": "Analytics",
                "schema": "public",
                "title": "orders",
                "description": "",
                "definition": "# Orders\nOne row per order.",
                "tags": ["tag-a"],
                "pii": "True",
                "owners": ["u1"],
                "verified": 1,
                "parent": "s1",
            },
            {
                "id": "t2",
                "database": None,
                "schema": "",
                "description": None,
                "tags": None,
                "pii": None,
                "verified": "no",
            },
        ]
    )
    assert frame.columns.tolist()[:9] == [
        "id",
        "integration_id",
        "database",
        "schema",
        "title",
        "description",
        "definition",
        "tags",
        "pii",
    ]
    first = frame.iloc[0]
    assert (first["integration_id"], first["database"], first["schema"]) == (
        "i1",
        "Analytics",
        "public",
    )
    assert frame["description"].tolist() == ["", pd.NA]
    assert frame["definition"].iloc[0] == "# Orders\nOne row per order."
    assert frame["tags"].tolist() == ['["tag-a"]', pd.NA]
    assert frame["pii"].tolist() == [True, pd.NA]
    assert frame["verified"].tolist() == [True, False]
    assert frame["owners"].tolist() == ['["u1"]', pd.NA]
    assert frame["parent_id"].tolist() == ["s1", pd.NA]
    assert frame["database"].tolist() == ["Analytics", pd.NA]
    assert frame["schema"].tolist() == ["public", pd.NA]


def test_columns_take_table_and_location_from_the_column_fields() -> None:
    frame = columns_frame(
        [
            {
                "id": 100,
                "integration": "i1",
                "parent": "t1",
                "table_title": "orders",
                "table_schema": "public",
                "table_database": "analytics",
                "database": "ignored",
                "title": "amount",
                "type": "NUMBER(38,2)",
                "sort_order": "3",
                "tags": [],
                "pii": False,
                "description": "Order total",
            },
            {"id": "101", "parent": None, "table_schema": "", "sort_order": None},
        ]
    )
    assert frame["id"].tolist() == ["100", "101"]
    assert frame["table_id"].tolist() == ["t1", pd.NA]
    assert frame["database"].tolist() == ["analytics", pd.NA]
    assert frame["schema"].tolist() == ["public", pd.NA]
    assert frame["table_title"].tolist() == ["orders", pd.NA]
    assert frame["type"].tolist() == ["NUMBER(38,2)", pd.NA]
    assert frame["sort_order"].tolist() == [3, pd.NA]
    assert frame["tags"].tolist() == ["[]", pd.NA]
    assert frame["pii"].tolist() == [False, pd.NA]
    assert frame["description"].tolist() == ["Order total", pd.NA]


def test_list_fields_are_compact_json_never_python_reprs() -> None:
    texts = to_json_list(
        [["a", "b"], ("x",), '["already", "json"]', "solo", [], None, "", ["é", None, 3]]
    )
    assert texts.tolist() == [
        '["a","b"]',
        '["x"]',
        '["already","json"]',
        '["solo"]',
        "[]",
        pd.NA,
        pd.NA,
        '["é",null,3]',
    ]


def test_objects_in_list_fields_are_stored_as_their_ids_in_every_list_column() -> None:
    user = {"id": "u1", "email": "ann@example.com", "first_name": "Ann"}
    other = {"id": 7, "email": "bob@example.com"}
    nameless = {"email": "eve@example.com"}  # no id: kept as the object it is, as JSON
    objects = [user, other, nameless]
    dashboards = dashboards_frame(
        [
            {
                "id": "d1",
                "owners": objects,
                "tags": [{"id": "t1", "name": "finance"}],
                "external_users": objects,
                "internal_users": json.dumps([user]),
            }
        ]
    )
    users = users_frame(
        [{"id": "u1", "user_groups": [{"id": "g1", "name": "Data"}], "teams": [other]}]
    )
    tables = tables_frame([{"id": "t", "owners": [user], "tags": [{"id": "t2"}]}])
    expected = '["u1",7,{"email":"eve@example.com"}]'
    assert dashboards["owners"].tolist() == [expected]
    assert dashboards["external_users"].tolist() == [expected]
    assert dashboards["internal_users"].tolist() == ['["u1"]']
    assert dashboards["tags"].tolist() == ['["t1"]']
    assert users["user_groups"].tolist() == ['["g1"]']
    assert users["teams"].tolist() == ["[7]"]
    assert (tables["owners"].tolist(), tables["tags"].tolist()) == (['["u1"]'], ['["t2"]'])
    every_list = pd.concat(
        [dashboards[["owners", "tags", "external_users"]].stack(), users["teams"]]
    )
    assert not every_list.str.contains("'").any(), "no Python repr anywhere"
    assert parse_list(dashboards["owners"].iloc[0]) == ["u1", 7, nameless]
    assert id_list([user, other, nameless, [user]]) == ["u1", "7"]
    assert list_lengths([objects, json.dumps(objects)]).tolist() == [3, 3]


def test_list_fields_keep_lists_of_equal_length_as_elements() -> None:
    assert to_json_list([["a", "b"], ["c", "d"]]).tolist() == ['["a","b"]', '["c","d"]']
    assert list_lengths([["a", "b"], ["c", "d"]]).tolist() == [2, 2]


def test_parse_list_and_lengths_read_json_text_back() -> None:
    assert parse_list('["a","b"]') == ["a", "b"]
    assert parse_list("") is None
    assert parse_list(None) is None
    assert list_lengths(['["a","b"]', "[]", None, "", ["x"]]).tolist() == [2, 0, 0, 0, 1]


def test_to_int_reads_whole_numbers_only() -> None:
    values = [1, "12", " 7 ", 3.0, "4.0", "1.5", "", None, True, "abc", float("nan")]
    assert to_int(values).tolist() == [1, 12, 7, 3, 4, *[pd.NA] * 6]


def test_usage_values_that_are_not_counts_are_kept_as_sent_not_taken_for_null() -> None:
    values = [12, "12", " 7 ", "4.0", None, float("nan"), "", "n/a", 1.5, "1.5", True, [3]]
    assert to_int(values).tolist() == [12, 12, 7, 4, *[pd.NA] * 8]
    assert unreadable_counts(values).tolist() == [
        *[pd.NA] * 6,
        "",
        "n/a",
        "1.5",
        "1.5",
        "true",
        "[3]",
    ]


def test_to_bool_reads_the_usual_spellings() -> None:
    values = [True, False, "TRUE", "false", 1, 0, "1", "", None, "maybe", [True]]
    expected = [True, False, True, False, True, False, True, pd.NA, pd.NA, pd.NA, pd.NA]
    assert to_bool(values).tolist() == expected


DUCKDB_TYPES = {STR: "VARCHAR", INT: "BIGINT", BOOL: "BOOLEAN", TS: "TIMESTAMP WITH TIME ZONE"}
FIELDS = {
    "integrations": INTEGRATIONS_SCHEMA.fields,
    "users": USERS_SCHEMA.fields,
    "dashboards": DASHBOARDS_SCHEMA.fields,
    "questions": QUESTIONS_SCHEMA.fields,
    "question_replies": QUESTION_REPLIES_SCHEMA.fields,
    "tables": TABLES_SCHEMA.fields,
    "columns": COLUMNS_SCHEMA.fields,
}
# One value per converter kind, then its falsy value (which must not come back as null).
VALUES = {
    "id": ("x1", "0"),
    "text": ("Text | with a pipe", ""),
    "lower": ("Editor", "viewer"),
    "int": ("42", 0),
    "bool": (True, False),
    "timestamp": ("2024-03-01T10:00:00+02:00", "1970-01-01T00:00:00Z"),
    "list": (["a", 2, None], []),
}
BACK = {STR: to_text, INT: to_int, BOOL: to_bool, TS: to_timestamp}


@pytest.mark.parametrize("asset", sorted(SCHEMAS))
def test_every_frame_survives_a_duckdb_round_trip(asset: str, tmp_path: Path) -> None:
    build, schema = SCHEMAS[asset]
    # An `unreadable` column is read from another field's key: null for these counts.
    own = [field for field in FIELDS[asset] if field.kind != "unreadable"]
    derived = [field.name for field in FIELDS[asset] if field.kind == "unreadable"]
    rows = [
        {field.keys[0]: VALUES[field.kind][0] for field in own},
        {"id": "all-null"},
        {field.keys[0]: VALUES[field.kind][1] for field in own},
    ]
    frame = build(rows)
    assert frame.drop(columns=derived).iloc[[0, 2]].notna().all().all()
    assert frame[derived].isna().all().all()
    back, types = duckdb_round_trip(frame, tmp_path / "frames.duckdb")
    assert types == {name: DUCKDB_TYPES[dtype] for name, dtype in schema.items()}
    assert back.iloc[1].drop("id").isna().all(), "nulls stay null"
    recoerced = pd.DataFrame({name: BACK[dtype](back[name]) for name, dtype in schema.items()})
    pd.testing.assert_frame_equal(recoerced, frame)
    lists = [field.name for field in FIELDS[asset] if field.kind == "list"]
    for name in lists:
        assert [parse_list(text) for text in back[name]] == [["a", 2, None], None, []]


def test_out_of_range_and_numeric_timestamps_are_nat() -> None:
    stamps = to_timestamp(["0001-01-01T00:00:00", 1704067200, "2024-02-30T00:00:00"])
    assert stamps.isna().tolist() == [True, True, True]


def test_rows_of_other_integrations_name_each_integration_with_its_row_ids() -> None:
    frame = tables_frame(
        [
            {"id": "a1", "integration": "a"},
            {"id": "n1"},
            {"id": "c1", "integration_id": "c"},
            {"id": "b1", "integration": "b"},
            {"integration": "b"},
            {"id": "e1", "integration": ""},
        ]
    )
    assert rows_of_other_integrations(frame, "a") == {"b": ["b1", ""], "c": ["c1"]}
    assert rows_of_other_integrations(frame.iloc[:2], "a") == {}
