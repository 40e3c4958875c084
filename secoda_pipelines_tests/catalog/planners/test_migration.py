"""Migration planning rules on hand-made rows: the package's rule functions, and the plan
as both the package's planner (`MigrationMatcher`) and the tests' oracle of SPEC B
(`migration_oracle.plan_by_spec`) make it, each checked against what was worked out by
hand."""

from __future__ import annotations

import re

import pytest

from secoda_pipelines.catalog.planners.migration import (
    Renames,
    decide_fields,
    is_empty,
    preview_source,
    rename_map_errors,
    unused_rename_keys_of,
)
from secoda_pipelines.catalog.planners.migration_match import MigrationMatcher
from secoda_pipelines_tests.catalog.planners import migration_oracle
from secoda_pipelines_tests.catalog.planners.plan_frames import plan_in_duckdb


def matcher(*sides, database_map=None, schema_map=None, **options):
    renames = Renames.from_maps(database_map, schema_map)
    return plan_in_duckdb(*sides, renames=renames, **options)


PLANNERS = {"matcher": matcher, "oracle": migration_oracle.plan_by_spec}


@pytest.fixture(params=sorted(PLANNERS))
def plan_migration(request):
    """The plan of the rows given, made by the package's planner or by the oracle."""
    return PLANNERS[request.param]


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


@pytest.mark.parametrize("value", [None, "None", "", [], False])
def test_empty_values(value):
    assert is_empty(value)
    assert migration_oracle.empty(value)


@pytest.mark.parametrize("value", ["x", ["t"], True, 0.0 + 1, 0, "none", " "])
def test_non_empty_values(value):
    assert not is_empty(value)
    assert not migration_oracle.empty(value)


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
    fields = ["description", "definition", "tags", "pii", "owners"]
    assert migration_oracle.decide(source, target, fields, False) == (decision.patch, [])


def test_different_target_value_is_kept_unless_overwrite():
    source, target = {"description": "new"}, {"description": "old"}
    kept = decide_fields(source, target, ["description"], overwrite=False)
    assert (kept.patch, kept.kept, kept.action) == ({}, ["description"], "kept")
    replaced = decide_fields(source, target, ["description"], overwrite=True)
    assert (replaced.patch, replaced.action) == ({"description": "new"}, "update")


def test_plan_matches_case_insensitively_and_marks_ambiguous_and_unmatched(plan_migration):
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


# --- columns of unmatched and ambiguous tables --------------------------------------------


def by_source(plan):
    return plan.set_index("source_id")


def assert_held_back(row, action, detail):
    """The column is neither matched nor written, and its reason names its table."""
    assert (row["action"], row["target_id"], row["detail"]) == (action, None, detail)
    assert (row["patch"], row["expected"], row["fields"], row["kept_fields"]) == ({}, {}, [], [])


def test_a_column_of_an_unmatched_table_is_unmatched_though_its_key_is_in_the_target(
    plan_migration,
):
    # The target lists a column under "legacy" but no table "legacy" (the table went
    # between the two listings): the column's own key matches, its table does not.
    source_tables = [table("s1", "Legacy", description="old"), table("s2", "orders")]
    target_tables = [table("t2", "orders")]
    source_columns = [
        column("c1", "legacy", "id", description="key"),
        column("c2", "orders", "id", description="key"),
    ]
    target_columns = [column("tc1", "LEGACY", "ID"), column("tc2", "orders", "id")]
    plan = by_source(plan_migration(source_tables, target_tables, source_columns, target_columns))
    assert plan.loc["s1", "action"] == "unmatched"
    assert_held_back(
        plan.loc["c1"],
        "unmatched",
        "its table analytics.core.legacy is unmatched: no table analytics.core.legacy in the "
        "target",
    )
    assert plan.loc["c1", "documented"]  # it counts against deleting the source
    assert plan.loc["c2", ["action", "target_id", "patch"]].tolist() == [
        "update",
        "tc2",
        {"description": "key"},
    ]


def test_a_column_of_a_table_found_twice_in_the_target_is_ambiguous(plan_migration):
    # Only one of the two target tables has the column: its own key is found once.
    source_tables = [table("s1", "customers", description="people")]
    target_tables = [table("t1", "customers"), table("t2", " CUSTOMERS")]
    source_columns = [column("c1", "customers", "email", pii=True)]
    target_columns = [column("tc1", "Customers", "email")]
    plan = by_source(plan_migration(source_tables, target_tables, source_columns, target_columns))
    assert plan.loc["s1", "action"] == "ambiguous"
    assert_held_back(
        plan.loc["c1"],
        "ambiguous",
        "its table analytics.core.customers is ambiguous: analytics.core.customers occurs 2 "
        "times in the target: t1, t2",
    )


def test_a_column_of_tables_renamed_onto_one_key_is_ambiguous(plan_migration):
    source_tables = [table("s1", "orders", db="eu"), table("s2", "orders", db="us")]
    target_tables = [table("t1", "orders", db="global")]
    source_columns = [column("c1", "orders", "id", db="EU", description="key")]
    target_columns = [column("tc1", "orders", "id", db="global")]
    maps = {"database_map": {"eu": "global", "us": "global"}}
    plan = by_source(
        plan_migration(source_tables, target_tables, source_columns, target_columns, **maps)
    )
    assert plan.loc["c1", ["key", "matched_as"]].tolist() == [
        "eu.core.orders.id",
        "global.core.orders.id",
    ]
    assert_held_back(
        plan.loc["c1"],
        "ambiguous",
        "its table global.core.orders is ambiguous: global.core.orders occurs 2 times in the "
        "source: s1, s2",
    )


def test_the_table_rule_comes_before_the_columns_own_key(plan_migration):
    # The column's own key is found twice in the target, and its table not at all: it is
    # unmatched, for its table.
    source_tables = [table("s1", "gone")]
    source_columns = [column("c1", "gone", "id", description="key")]
    target_columns = [column("tc1", "gone", "id"), column("tc2", "GONE", "Id")]
    plan = by_source(
        plan_migration(source_tables, [table("t9", "x")], source_columns, target_columns)
    )
    assert_held_back(
        plan.loc["c1"],
        "unmatched",
        "its table analytics.core.gone is unmatched: no table analytics.core.gone in the target",
    )


def test_a_column_whose_table_the_source_does_not_list_follows_the_target_table(
    plan_migration,
):
    # The table was created between the two listings: the column is matched when the
    # target has its table once, and unmatched (naming the table) when it has none.
    target_tables = [table("t1", "fresh")]
    source_columns = [
        column("c1", "fresh", "id", description="key"),
        column("c2", "other", "id", description="key"),
    ]
    target_columns = [column("tc1", "fresh", "id"), column("tc2", "other", "id")]
    plan = by_source(plan_migration([], target_tables, source_columns, target_columns))
    assert plan.loc["c1", ["action", "target_id"]].tolist() == ["update", "tc1"]
    assert_held_back(
        plan.loc["c2"],
        "unmatched",
        "its table analytics.core.other is unmatched: no table analytics.core.other in the target",
    )


@pytest.mark.parametrize(
    ("source", "target", "action", "patch"),
    [
        ("None", None, "unchanged", {}),  # the API's null is never carried
        ("Orders", "None", "update", {"description": "Orders"}),  # ... and is filled
        ("Orders", "Other", "kept", {}),
    ],
)
def test_the_api_null_is_an_empty_value(plan_migration, source, target, action, patch):
    plan = plan_migration(
        [table("s1", "t", description=source)], [table("t1", "t", description=target)]
    )
    assert plan.loc[0, ["action", "patch"]].tolist() == [action, patch]
    assert plan.loc[0, "documented"] == (source != "None")


def test_unknown_field_is_refused():
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['colour'\]"):
        matcher([], [], fields=["description", "colour"])


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


# --- database_map and schema_map ---------------------------------------------------------


def test_a_rename_matches_what_plain_names_cannot_case_insensitively(plan_migration):
    source_tables = [table("s1", "Orders", db="PROD", schema="Public", description="o")]
    target_tables = [table("t1", "orders", db="acme-analytics", schema="core")]
    source_columns = [column("c1", "ORDERS", "Id", db="Prod", schema="PUBLIC", description="k")]
    target_columns = [column("tc1", "orders", "id", db="ACME-ANALYTICS", schema="Core")]
    plain = plan_migration(source_tables, target_tables, source_columns, target_columns)
    assert plain["action"].tolist() == ["unmatched", "unmatched"]

    plan = plan_migration(
        source_tables,
        target_tables,
        source_columns,
        target_columns,
        database_map={" prod ": "ACME-Analytics"},
        schema_map={"PUBLIC": "Core"},
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


def test_two_sources_renamed_onto_one_key_are_ambiguous(plan_migration):
    source_tables = [table("s1", "orders", db="eu"), table("s2", "orders", db="us")]
    target_tables = [table("t1", "orders", db="global")]
    maps = {"database_map": {"EU": "global", "us": "Global"}}
    plan = plan_migration(source_tables, target_tables, **maps)
    assert plan["action"].tolist() == ["ambiguous", "ambiguous"]
    assert plan["key"].tolist() == ["eu.core.orders", "us.core.orders"]
    assert "global.core.orders occurs 2 times in the source: s1, s2" in plan["detail"][0]


def test_no_renames_match_as_the_source_key(plan_migration):
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
    with MigrationMatcher(["description"]) as planner:
        planner.add_rows("source", "table", tables)
        used = planner.source_names
    errors = unused_rename_keys_of({"PROD": "x", "prd": "x"}, {"FIN": "y", "pubilc": "z"}, used)
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
        ({"description": "None", "definition": "None"}, False),  # the API's null
        ({"pii": 0}, True),  # 0 is not false
    ],
)
def test_a_resource_is_documented_by_a_non_empty_migrated_field(plan_migration, docs, documented):
    plan = plan_migration([table("s1", "t", **docs)], [])
    assert plan.loc[0, "documented"] == documented
