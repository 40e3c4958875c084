"""Migration planning rules on hand-made rows."""

from __future__ import annotations

import re

import pytest

from secoda_pipelines.catalog.migration import (
    Renames,
    decide_fields,
    is_documented,
    is_empty,
    plan_migration,
    preview_source,
    rename_map_errors,
    slim,
    unused_rename_keys,
)


def table(id_, title, db="Analytics", schema="Core", **docs):
    return {"id": id_, "database": db, "schema": schema, "title": title, **docs}


def column(id_, table_title, title, db="analytics", schema="core", **docs):
    return {
        "id": id_,
        "table_database": db,
        "table_schema": schema,
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


# --- database_map and schema_map ---------------------------------------------------------


def test_a_rename_matches_what_plain_names_cannot_case_insensitively():
    source_tables = [table("s1", "Orders", db="PROD", schema="Public", description="o")]
    target_tables = [table("t1", "orders", db="acme-analytics", schema="core")]
    source_columns = [column("c1", "ORDERS", "Id", db="Prod", schema="PUBLIC", description="k")]
    target_columns = [column("tc1", "orders", "id", db="ACME-ANALYTICS", schema="Core")]
    plain = plan_migration(source_tables, target_tables, source_columns, target_columns)
    assert plain["action"].tolist() == ["unmatched", "unmatched"]

    renames = Renames.from_maps({" prod ": "ACME-Analytics"}, {"PUBLIC": "Core"})
    plan = plan_migration(
        source_tables, target_tables, source_columns, target_columns, renames=renames
    ).set_index("source_id")
    assert plan.loc["s1", ["action", "target_id"]].tolist() == ["update", "t1"]
    assert plan.loc["c1", ["action", "target_id"]].tolist() == ["update", "tc1"]
    # `key` stays the source's own (folded) key; `matched_as` is what the target was searched for.
    assert plan.loc["s1", ["key", "matched_as"]].tolist() == [
        "prod.public.orders",
        "acme-analytics.core.orders",
    ]
    assert plan.loc["c1", ["key", "matched_as"]].tolist() == [
        "prod.public.orders.id",
        "acme-analytics.core.orders.id",
    ]


def test_a_schema_rename_applies_in_every_database_and_renames_are_not_chained():
    renames = Renames.from_maps({"a": "b", "b": "c"}, {"public": "core"})
    assert renames.key(("a", "public", "t")) == ("b", "core", "t")
    assert renames.key(("b", "public", "t")) == ("c", "core", "t")
    assert renames.key(("other", "public", "t", "col")) == ("other", "core", "t", "col")
    assert renames.key(("other", "finance", "t")) == ("other", "finance", "t")


def test_two_sources_renamed_onto_one_key_are_ambiguous():
    source_tables = [table("s1", "orders", db="eu"), table("s2", "orders", db="us")]
    target_tables = [table("t1", "orders", db="global")]
    renames = Renames.from_maps({"EU": "global", "us": "Global"}, {})
    plan = plan_migration(source_tables, target_tables, renames=renames)
    assert plan["action"].tolist() == ["ambiguous", "ambiguous"]
    assert plan["key"].tolist() == ["eu.core.orders", "us.core.orders"]
    assert "global.core.orders occurs 2 times in the source: s1, s2" in plan["detail"][0]


def test_no_renames_match_as_the_source_key():
    plan = plan_migration([table("s1", "Orders")], [table("t1", "orders")])
    assert plan.loc[0, "key"] == plan.loc[0, "matched_as"] == "analytics.core.orders"


@pytest.mark.parametrize(
    ("name", "mapping", "messages"),
    [
        ("database_map", {"": "x"}, ["database_map has an empty database name '' (mapped to 'x')"]),
        ("schema_map", {"  ": "x"}, ["schema_map has an empty schema name '  '"]),
        ("schema_map", {"public": " "}, ["schema_map['public'] is empty (' '): give the schema"]),
        (
            "database_map",
            {"Prod": "a", " PROD": "b"},
            ["database_map keys 'Prod' and ' PROD' are the same database", "'a' and 'b'"],
        ),
    ],
)
def test_bad_rename_maps_are_named(name, mapping, messages):
    errors = rename_map_errors(name, mapping)
    assert len(errors) == 1
    for message in messages:
        assert message in errors[0]
    with pytest.raises(ValueError, match=re.escape(errors[0])):
        Renames.from_maps(**{name: mapping})


def test_keys_folding_to_one_name_with_one_target_are_fine():
    assert rename_map_errors("database_map", {"Prod": "New", "PROD": "new "}) == []
    assert Renames.from_maps({"Prod": "New", "PROD": "new "}).databases == {"prod": "new"}


def test_a_map_key_no_source_table_uses_is_named_with_the_names_in_use():
    tables = [
        table("s1", "a", db="Prod", schema="public"),
        table("s2", "b", db="prod", schema="Fin"),
    ]
    errors = unused_rename_keys({"PROD": "x", "prd": "x"}, {"FIN": "y", "pubilc": "z"}, tables)
    assert errors == [
        "database_map key 'prd' is no database of the source's tables; its databases: Prod",
        "schema_map key 'pubilc' is no schema of the source's tables; its schemas: Fin, public",
    ]


@pytest.mark.parametrize(
    ("docs", "documented"),
    [
        ({}, False),
        ({"description": "", "tags": [], "pii": False, "definition": None}, False),
        ({"pii": True}, True),
        ({"tags": ["t"]}, True),
        ({"owners": ["u1"]}, False),  # not one of the fields asked for
    ],
)
def test_a_resource_is_documented_by_a_non_empty_migrated_field(docs, documented):
    assert is_documented(docs, ["description", "definition", "tags", "pii"]) is documented
    plan = plan_migration([table("s1", "t", **docs)], [])
    assert plan.loc[0, "documented"] == documented
