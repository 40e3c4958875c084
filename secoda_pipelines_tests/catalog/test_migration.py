"""Migration planning rules on hand-made rows."""

from __future__ import annotations

import pytest

from secoda_pipelines.catalog.migration import (
    decide_fields,
    is_empty,
    plan_migration,
    preview_source,
    slim,
)


def table(id_, title, db="Analytics", schema="Core", **docs):
    return {"id": id_, "database": db, "schema": schema, "title": title, **docs}


def column(id_, table_title, title, **docs):
    return {
        "id": id_,
        "table_database": "analytics",
        "table_schema": "core",
        "table_title": table_title,
        "title": title,
        **docs,
    }


@pytest.mark.parametrize("value", [None, "", [], False])
def test_empty_values(value):
    assert is_empty(value)


@pytest.mark.parametrize("value", ["x", ["t"], True, 0.0 + 1])
def test_non_empty_values(value):
    assert not is_empty(value)


def test_each_field_rule():
    source = {
        "description": "Orders",  # target empty -> filled
        "definition": "same",  # equal -> nothing
        "tags": ["a", "b"],  # equal as sets -> nothing
        "pii": True,  # target differs (False is empty) -> filled
        "owners": None,  # empty source -> never carried
        "verified": True,  # target differs... but verified not requested below
    }
    target = {
        "description": None,
        "definition": "same",
        "tags": ["b", "a"],
        "pii": False,
        "owners": ["u1"],
        "verified": False,
    }
    decision = decide_fields(
        source, target, ["description", "definition", "tags", "pii", "owners"], False
    )
    assert decision.patch == {"description": "Orders", "pii": True}
    assert decision.kept == []
    assert decision.action == "update"


def test_different_target_value_is_kept_unless_overwrite():
    source, target = {"description": "new"}, {"description": "old"}
    kept = decide_fields(source, target, ["description"], overwrite=False)
    assert (kept.patch, kept.kept, kept.action) == ({}, ["description"], "kept")
    replaced = decide_fields(source, target, ["description"], overwrite=True)
    assert (replaced.patch, replaced.action) == ({"description": "new"}, "update")


def test_plan_matches_case_insensitively_and_marks_ambiguous_and_unmatched():
    source_tables = [
        table("s1", "Orders", description="o"),
        table("s2", "customers", description="c"),
        table("s3", "legacy", description="l"),
        table("s4", "same", description="d"),
    ]
    target_tables = [
        table("t1", " orders ", db="ANALYTICS", schema="core"),
        table("t2", "customers"),
        table("t3", "CUSTOMERS"),
        table("t4", "same", description="d"),
    ]
    source_columns = [column("c1", "orders", "id", description="key"), column("c2", "legacy", "x")]
    target_columns = [column("tc1", "ORDERS", "ID")]
    plan = plan_migration(source_tables, target_tables, source_columns, target_columns)
    by_source = plan.set_index("source_id")
    assert by_source.loc["s1", ["action", "target_id"]].tolist() == ["update", "t1"]
    assert by_source.loc["s1", "patch"] == {"description": "o"}
    assert by_source.loc["s2", "action"] == "ambiguous"
    assert "t2" in by_source.loc["s2", "detail"] and "t3" in by_source.loc["s2", "detail"]
    assert by_source.loc["s3", "action"] == "unmatched"
    assert by_source.loc["s4", "action"] == "unchanged"
    assert by_source.loc["c1", ["kind", "action", "target_id"]].tolist() == [
        "column",
        "update",
        "tc1",
    ]
    assert by_source.loc["c2", "action"] == "unmatched"
    assert plan["kind"].tolist() == ["table"] * 4 + ["column"] * 2


def test_unknown_field_is_refused():
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['colour'\]"):
        plan_migration([], [], fields=["description", "colour"])


def test_preview_source_is_the_most_recent_older_integration_of_the_same_type():
    integrations = [
        {"id": "a", "type": "snowflake", "created_at": "2023-01-01T00:00:00Z"},
        {"id": "b", "type": "snowflake", "created_at": "2025-01-01T00:00:00Z"},
        {"id": "c", "type": "tableau", "created_at": "2025-06-01T00:00:00Z"},
        {"id": "d", "type": "snowflake", "created_at": "2026-01-01T00:00:00Z"},
    ]
    assert preview_source(integrations[3], integrations)["id"] == "b"
    assert preview_source(integrations[1], integrations)["id"] == "a"
    assert preview_source(integrations[0], integrations) is None
    assert preview_source(integrations[2], integrations) is None


def test_slim_keeps_only_what_planning_reads():
    row = column("c1", "orders", "id", description="key", tags=["t"], pii=True, url="x", extra=1)
    assert slim([row], "column", ["description", "tags"]) == [
        {
            "id": "c1",
            "table_database": "analytics",
            "table_schema": "core",
            "table_title": "orders",
            "title": "id",
            "description": "key",
            "tags": ["t"],
        }
    ]
