"""The package's planner (`catalog.planners.migration_match.MigrationMatcher`) against SPEC B's
rules as the tests' oracle states them (`migration_oracle.plan_by_spec`): the same plan, row
for row, on the demo and small sandbox workspaces and on generated workspaces full of the
cases that matter; and the same coverage."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from typing import Any

import pandas as pd
import pytest

from secoda_pipelines.catalog.planners import migration_match
from secoda_pipelines.catalog.planners.migration import (
    COUNT_COLUMNS,
    Renames,
    unused_rename_keys_of,
)
from secoda_pipelines.catalog.planners.migration_match import MigrationMatcher
from secoda_pipelines.catalog.reports.coverage import coverage_of_counts
from secoda_pipelines_tests.catalog.planners.migration_oracle import (
    PLAN_COLUMNS,
    SPEC_DEFAULT_FIELDS,
    SPEC_FIELDS,
    coverage_by_spec,
    empty,
    fold,
    plan_by_spec,
)
from secoda_pipelines_tests.catalog.planners.migration_workspaces import (
    generated_workspace,
    listed,
    listings,
)
from secoda_pipelines_tests.catalog.planners.plan_frames import (
    as_plan_frame,
    plan_chunks,
    plan_in_duckdb,
)

DEFAULT = SPEC_DEFAULT_FIELDS
RENAMES = {
    "database_map": {"raw": "Analytics", "a.b": "a"},
    "schema_map": {" Public ": "core", "b.c": "c"},
}


def records(plan: pd.DataFrame) -> list[dict[str, Any]]:
    """The plan's rows as plain dicts, a missing value (None or NaN) as None."""
    assert list(plan.columns) == list(PLAN_COLUMNS)
    rows = plan.to_dict("records")
    for row in rows:
        for name, value in row.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                row[name] = None
    return rows


def matcher_plan(
    source_tables,
    target_tables,
    source_columns,
    target_columns,
    *,
    database_map=None,
    schema_map=None,
    **options,
):
    renames = Renames.from_maps(database_map, schema_map)
    return plan_in_duckdb(
        source_tables, target_tables, source_columns, target_columns, renames=renames, **options
    )


def assert_same_plan(source_tables, target_tables, source_columns, target_columns, **options):
    """Asserts that the matcher's plan is SPEC B's, row for row; returns it."""
    expected = plan_by_spec(source_tables, target_tables, source_columns, target_columns, **options)
    actual = matcher_plan(source_tables, target_tables, source_columns, target_columns, **options)
    assert len(actual) == len(expected)
    for at, (mine, theirs) in enumerate(zip(records(actual), records(expected), strict=True)):
        assert mine == theirs, f"plan row {at} differs"
    assert actual["documented"].dtype == bool
    return actual


def fields_in_use(rows) -> set[str]:
    """The SPEC fields that some row has non-empty."""
    return {field for field in SPEC_FIELDS if any(not empty(row.get(field)) for row in rows)}


# ------------------------------------------------------------------------- generated


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("overwrite", [False, True])
def test_generated_workspace_gives_the_same_plan_row_for_row(seed, overwrite):
    workspace = generated_workspace(seed)
    plan = assert_same_plan(*workspace, fields=DEFAULT, overwrite=overwrite)
    assert set(plan["action"]) == {"update", "kept", "unchanged", "unmatched", "ambiguous"} - (
        {"kept"} if overwrite else set()
    )
    columns = plan[plan["kind"] == "column"]
    # Both rules on columns are exercised: some are held back by their table, some
    # matched on their own keys and written.
    assert columns["detail"].fillna("").str.startswith("its table ").any()
    assert (columns["action"] == "update").any()


def test_columns_of_generated_unmatched_and_ambiguous_tables_are_never_written():
    """Every column the plan writes sits under a table key found once in the target and
    at most once in the source: the plan never writes a column whose table is unmatched or
    ambiguous (checked on the plan itself, not only against the oracle)."""
    for seed in range(6):
        source_tables, target_tables, source_columns, target_columns = generated_workspace(seed)
        plan = matcher_plan(source_tables, target_tables, source_columns, target_columns)
        in_source = Counter(_key(r, ("database", "schema", "title")) for r in source_tables)
        in_target = Counter(_key(r, ("database", "schema", "title")) for r in target_tables)
        columns = {str(r["id"]): r for r in source_columns}
        written = plan[(plan["kind"] == "column") & plan["target_id"].notna()]
        assert len(written)
        for source_id in written["source_id"]:
            table = _key(columns[source_id], ("table_database", "table_schema", "table_title"))
            assert (in_source[table], in_target[table]) in ((0, 1), (1, 1)), table


def _key(row, names):
    return tuple(fold(row.get(name)) for name in names)


@pytest.mark.parametrize("seed", range(3))
def test_every_field_and_renames_give_the_same_plan(seed):
    plan = assert_same_plan(
        *generated_workspace(seed), fields=SPEC_FIELDS, overwrite=False, **RENAMES
    )
    assert (plan["key"] != plan["matched_as"]).any()


@pytest.mark.parametrize(
    "fields", [("description",), ("tags",), ("owners", "verified"), ("pii", "description")]
)
def test_any_field_order_and_subset_gives_the_same_plan(fields):
    assert_same_plan(*generated_workspace(11), fields=fields)


def test_tables_only_and_empty_sides_give_the_same_plan():
    source_tables, target_tables, source_columns, _ = generated_workspace(5)
    assert_same_plan(source_tables, target_tables, [], [])
    assert_same_plan(source_tables, [], [], [])
    assert_same_plan([], target_tables, [], [])
    assert_same_plan([], [], [], [])
    # Columns whose tables the listings lack altogether: unmatched, naming the table.
    plan = assert_same_plan([], [], source_columns, [])
    assert plan["detail"].str.startswith("its table ").all()


@pytest.mark.slow
def test_many_chunks_in_and_out_give_the_same_plan(monkeypatch):
    """Rows go in 7 at a time and come out 2,048 at a time: the plan is still the same."""
    monkeypatch.setattr(migration_match, "CHUNK_ROWS", 7)
    monkeypatch.setattr(migration_match, "FETCH_ROWS", 2_048)
    workspace = generated_workspace(3, size=1_500)
    with MigrationMatcher(DEFAULT) as matcher:
        for side, kind, rows in listings(workspace):
            assert matcher.add_rows(side, kind, iter(rows)) == len(rows)
        chunks = list(plan_chunks(matcher))
    assert len(chunks) == 2  # 3,000 source rows: 2,048 then 952
    assert records(as_plan_frame(chunks)) == records(plan_by_spec(*workspace))


def spec_counts(plan: pd.DataFrame, source_tables, source_columns) -> pd.DataFrame:
    """The plan's rows counted by (kind, action, documented), with each kind's SPEC
    fields in use in the source: what `MigrationMatcher.counts` must give."""
    in_use = {"table": fields_in_use(source_tables), "column": fields_in_use(source_columns)}
    counts = plan.groupby(["kind", "action", "documented"]).size().rename("resources")
    counts = counts.reset_index()
    counts["source_fields"] = [
        json.dumps([f for f in SPEC_FIELDS if f in in_use[kind]]) for kind in counts["kind"]
    ]
    return counts[list(COUNT_COLUMNS)]


def test_counts_updates_and_report_rows_read_the_same_plan():
    """What the job reads of a plan (its counts, its updates, the rows a report copies) is
    SPEC B's plan, whatever the page sizes the rows came in."""
    workspace = generated_workspace(7, size=400)
    expected = plan_by_spec(*workspace, fields=DEFAULT)
    with MigrationMatcher(DEFAULT) as matcher:
        for side, kind, rows in listings(workspace):
            pages = [rows[at : at + 37] for at in range(0, len(rows), 37)]
            assert matcher.add_pages(side, kind, iter([[], *pages, []])) == len(rows)
        matcher.plan()
        counts = matcher.counts()
        updates = list(matcher.updates())
        report = matcher.connection.execute(matcher.report_query(["1 AS one"])).df()
        assert matcher.update_count() == len(updates)

    keys = ["kind", "action", "documented"]
    reference = spec_counts(expected, workspace[0], workspace[2])
    pd.testing.assert_frame_equal(
        counts.sort_values(keys).reset_index(drop=True),
        reference.sort_values(keys).reset_index(drop=True),
    )
    wanted = expected[expected["action"] == "update"]
    assert [u.item for u in updates] == wanted.index.tolist()
    assert [(u.kind, u.key, u.target_id) for u in updates] == list(
        wanted[["kind", "key", "target_id"]].itertuples(index=False, name=None)
    )
    assert [u.patch for u in updates] == wanted["patch"].tolist()
    assert [u.expected for u in updates] == wanted["expected"].tolist()
    assert list(report.columns) == [*migration_match.REPORT_COLUMNS, "one"]
    assert report["item"].tolist() == list(range(len(expected)))
    same = ["kind", "key", "matched_as", "source_id", "action"]
    assert report[same].to_dict("records") == expected[same].to_dict("records")
    assert [json.loads(v) for v in report["fields"]] == expected["fields"].tolist()


@pytest.mark.parametrize(
    ("fields", "include_columns", "overwrite"),
    [
        (DEFAULT, True, False),
        (SPEC_FIELDS, True, True),
        (("description",), True, True),
        (SPEC_FIELDS, False, True),
    ],
)
def test_the_coverage_of_the_counts_is_spec_b_coverage(fields, include_columns, overwrite):
    source_tables, target_tables, source_columns, target_columns = generated_workspace(2)
    if not include_columns:
        source_columns, target_columns = [], []  # the run never lists them
    workspace = (source_tables, target_tables, source_columns, target_columns)
    plan = plan_by_spec(*workspace, fields=fields, overwrite=overwrite)
    with MigrationMatcher(fields, overwrite=overwrite) as matcher:
        for side, kind, rows in listings(workspace):
            matcher.add_rows(side, kind, rows)
        matcher.plan()
        coverage = coverage_of_counts(
            matcher.counts(), "plan", fields=fields, include_columns=include_columns
        )
    expected = coverage_by_spec(
        plan,
        [*source_tables, *source_columns],
        fields=fields,
        include_columns=include_columns,
    )
    assert coverage["kind"].tolist() == (["table", "column"] if include_columns else ["table"])
    for row in coverage.to_dict("records"):
        figures = {k: row[k] for k in expected[row["kind"]]}
        assert figures == expected[row["kind"]], row["kind"]
        assert row["safe_to_delete_source"] is expected["safe_to_delete_source"]
        assert row["blocked_by"] == ("; ".join(expected["blocked_by"]) or None)
    assert expected["blocked_by"]  # generated workspaces always leave something behind


def test_a_listing_that_fails_midway_raises_and_leaves_the_matcher_usable():
    source = generated_workspace(1)[0]

    def pages():
        yield source[:50]
        raise ConnectionError("the listing broke")

    with MigrationMatcher(DEFAULT) as matcher:
        with pytest.raises(ConnectionError, match="the listing broke"):
            matcher.add_pages("source", "table", pages())
        matcher.clear("source")
        assert matcher.source_fields == {"table": set(), "column": set()}
        assert matcher.add_pages("source", "table", [source]) == len(source)
        assert matcher.count("source", "table") == len(source)
        assert matcher.source_fields["table"] == fields_in_use(source)
        with pytest.raises(KeyError, match="kind 'view'"):
            matcher.add_pages("source", "view", [source])


def test_chunks_carry_report_text_and_dicts_only_where_needed():
    source = [{"id": "s1", "database": "d", "schema": "s", "title": "t", "description": "x"}]
    target = [{"id": "t1", "database": "D", "schema": "S", "title": "T", "tags": ["a"]}]
    target.append({**target[0], "id": "t2", "title": "u"})
    source.append({**source[0], "id": "s2", "title": "u"})
    with MigrationMatcher(["description", "tags"]) as matcher:
        matcher.add_rows("source", "table", source)
        matcher.add_rows("target", "table", target)
        (chunk,) = plan_chunks(matcher)
    assert chunk["fields"].tolist() == ['["description"]', '["description"]']
    assert chunk["kept_fields"].tolist() == ["[]", "[]"]
    assert chunk["patch"].tolist() == [{"description": "x"}, {"description": "x"}]
    assert chunk["expected"].tolist() == [{"description": None}, {"description": None}]
    source[1]["description"] = None
    with MigrationMatcher(["description", "tags"]) as matcher:
        matcher.add_rows("source", "table", source)
        matcher.add_rows("target", "table", target)
        (chunk,) = plan_chunks(matcher)
    assert chunk["fields"].tolist() == ['["description"]', "[]"]
    assert chunk["patch"].tolist() == [{"description": "x"}, None]


def test_the_source_fields_in_use_are_noted_per_kind_whatever_the_run_migrates():
    workspace = generated_workspace(4)
    with MigrationMatcher(["description"]) as matcher:
        for side, kind, rows in listings(workspace):
            matcher.add_pages(side, kind, [rows[at : at + 10] for at in range(0, len(rows), 10)])
        assert matcher.source_fields == {
            "table": fields_in_use(workspace[0]),
            "column": fields_in_use(workspace[2]),
        }
    assert matcher.source_fields["table"] == set(SPEC_FIELDS)
    none_documented = [{"id": "s1", "title": "t", "owners": [], "pii": False, "tags": "None"}]
    with MigrationMatcher(["description"]) as matcher:
        matcher.add_rows("source", "table", none_documented)
        assert matcher.source_fields == {"table": set(), "column": set()}


def test_source_names_give_the_unused_rename_keys_of_the_source_tables():
    source_tables = generated_workspace(4)[0]
    maps = ({"raw": "x", "nowhere": "y", " ANALYTICS": "z"}, {"core": "a", "typo": "b"})
    with MigrationMatcher(DEFAULT) as matcher:
        matcher.add_rows("source", "table", source_tables)
        used = matcher.source_names
    first_seen: dict[str, dict[str, str]] = {"database": {}, "schema": {}}
    for row in source_tables:
        for level, names in first_seen.items():
            names.setdefault(fold(row.get(level)), str(row.get(level) or "").strip())
    assert used == first_seen
    errors = unused_rename_keys_of(*maps, used)
    assert [e.split(" is no ")[0] for e in errors] == [
        "database_map key 'nowhere'",
        "schema_map key 'typo'",
    ]


def test_clear_replaces_one_side_only():
    source = [{"id": "s1", "database": "d", "schema": "s", "title": "t", "description": "x"}]
    target = [{"id": "t1", "database": "d", "schema": "s", "title": "t"}]
    with MigrationMatcher(DEFAULT) as matcher:
        matcher.add_rows("source", "table", source)
        matcher.add_rows("target", "table", target)
        assert as_plan_frame(plan_chunks(matcher))["action"].tolist() == ["update"]
        matcher.clear("target")
        assert (matcher.count("source", "table"), matcher.count("target", "table")) == (1, 0)
        assert matcher.source_fields["table"] == {"description"}
        matcher.add_rows("target", "table", [{**target[0], "description": "x"}])
        assert as_plan_frame(plan_chunks(matcher))["action"].tolist() == ["unchanged"]


def test_unknown_field_is_refused():
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['colour'\]"):
        MigrationMatcher(["description", "colour"])


# ---------------------------------------------------------------------- sandboxes


@pytest.mark.slow
def test_demo_workspace_gives_the_same_plan_for_every_pair_of_integrations(sandbox, make_client):
    """Every ordered pair of the demo's integrations with tables, listed through the
    client as the job lists them, with and without overwrite, with every field."""
    client = make_client(sandbox)
    integrations = client.list("integration/integrations/")
    lists = {i["id"]: listed(client, i["id"]) for i in integrations}
    with_tables = [i for i, (tables, _) in lists.items() if tables]
    assert len(with_tables) >= 3
    pairs = 0
    for source, target in itertools.permutations(with_tables, 2):
        (source_tables, source_columns), (target_tables, target_columns) = (
            lists[source],
            lists[target],
        )
        for overwrite, fields in ((False, DEFAULT), (True, SPEC_FIELDS)):
            assert_same_plan(
                source_tables,
                target_tables,
                source_columns,
                target_columns,
                fields=fields,
                overwrite=overwrite,
            )
        pairs += 1
    assert pairs == len(with_tables) * (len(with_tables) - 1)


def test_demo_renamed_pair_gives_the_same_plan_with_the_maps(sandbox, make_client):
    client = make_client(sandbox)
    integrations = {i["name"]: i["id"] for i in client.list("integration/integrations/")}
    source, target = (
        listed(client, integrations["Redshift"]),
        listed(client, integrations["BigQuery"]),
    )
    maps = {"database_map": {"PROD": "Acme-Analytics"}, "schema_map": {" Public ": "CORE"}}
    plan = assert_same_plan(source[0], target[0], source[1], target[1], **maps)
    assert {"update", "unmatched"} <= set(plan["action"])
    assert (plan["key"] != plan["matched_as"]).any()


def test_small_workspace_gives_the_same_plan_onto_an_altered_copy(make_sandbox, make_client):
    """The small workspace's bulk integration (1,000 tables, 10,000 columns) planned onto
    a copy of itself in which some tables are gone, some doubled (re-cased) and some
    values changed: every rule at a size where columns run to thousands."""
    sandbox = make_sandbox(scale="small")
    client = make_client(sandbox)
    bulk = max(
        client.list("integration/integrations/"),
        key=lambda i: len(client.list("table/tables/", {"integration_id": i["id"]})),
    )
    tables, columns = listed(client, bulk["id"])
    assert (len(tables), len(columns)) == (1_000, 10_000)
    target_tables = [
        {**row, "id": f"t{n}", "description": "changed" if n % 5 == 0 else row.get("description")}
        for n, row in enumerate(tables)
        if n % 7
    ]
    target_tables += [
        {**row, "id": f"d{n}", "title": str(row["title"]).upper()}
        for n, row in enumerate(tables)
        if n % 11 == 1
    ]
    target_columns = [
        {**row, "id": f"c{n}", "description": None if n % 3 == 0 else row.get("description")}
        for n, row in enumerate(columns)
    ]
    plan = assert_same_plan(tables, target_tables, columns, target_columns, fields=SPEC_FIELDS)
    by_kind = plan.groupby("kind")["action"].value_counts()
    assert by_kind["column"]["unmatched"] and by_kind["column"]["ambiguous"]
    assert by_kind["column"]["update"] and by_kind["table"]["kept"]
