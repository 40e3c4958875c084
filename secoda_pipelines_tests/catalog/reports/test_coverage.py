"""Migration coverage and the verdict `safe_to_delete_source`: on hand-made counts, counted
by hand, and on hand-made plans made by the package's planner, held to the tests' oracle
of SPEC B (`migration_oracle.coverage_by_spec`)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from secoda_pipelines.catalog.planners import COUNT_COLUMNS, MigrationMatcher
from secoda_pipelines.catalog.reports.coverage import (
    coverage_figures,
    coverage_line,
    coverage_of_counts,
    safe_to_delete_source,
)
from secoda_pipelines_tests.catalog.planners.migration_oracle import coverage_by_spec
from secoda_pipelines_tests.catalog.planners.plan_frames import as_plan_frame, plan_chunks

DEFAULT = ["description", "definition", "tags", "pii"]


def counts_of(*rows: tuple[str, str, bool], table_fields=("description",), column_fields=()):
    """Counts of a plan with one resource per row (kind, action, documented), the source's
    fields in use per kind as given."""
    frame = pd.DataFrame(rows, columns=["kind", "action", "documented"])
    counts = frame.groupby(["kind", "action", "documented"]).size().rename("resources")
    counts = counts.reset_index()
    in_use = {"table": list(table_fields), "column": list(column_fields)}
    counts["source_fields"] = [json.dumps(in_use[kind]) for kind in counts["kind"]]
    return counts[list(COUNT_COLUMNS)]


def coverage(counts, fields=DEFAULT, include_columns=True, basis="plan"):
    return coverage_of_counts(counts, basis, fields=fields, include_columns=include_columns)


def test_each_action_of_a_documented_resource_is_counted_once():
    counts = counts_of(
        ("table", "unchanged", True),  # carried
        ("table", "unchanged", True),  # carried
        ("table", "unchanged", False),  # nothing to carry: not documented
        ("table", "update", True),  # pending
        ("table", "kept", True),
        ("table", "unmatched", True),
        ("table", "unmatched", False),  # an undocumented table may go
        ("table", "ambiguous", False),
        ("column", "unchanged", True),
        ("column", "kept", True),
        ("column", "kept", True),
        ("column", "unmatched", False),
    )
    found = coverage(counts).set_index("kind")
    verdict = {
        "safe_to_delete_source": False,
        "blocked_by": "1 table(s) pending; 1 table(s) kept; 1 table(s) unmatched; 2 column(s) kept",
    }
    assert found.loc["table"].to_dict() == {
        "basis": "plan",
        "resources": 8,
        "documented": 5,  # 2 carried + 1 pending + 1 kept + 1 unmatched
        "carried": 2,
        "pending": 1,
        "kept": 1,
        "unmatched": 1,
        "ambiguous": 0,
        **verdict,
    }
    assert found.loc["column"].to_dict() == {
        "basis": "plan",
        "resources": 4,
        "documented": 3,
        "carried": 1,
        "pending": 0,
        "kept": 2,  # the source's different values would be lost with it
        "unmatched": 0,
        "ambiguous": 0,
        **verdict,  # the run's verdict: deleting the source deletes both kinds
    }
    assert not safe_to_delete_source(found)


@pytest.mark.parametrize(
    ("action", "blocker"),
    [
        ("update", "1 table(s) pending"),
        ("kept", "1 table(s) kept"),
        ("unmatched", "1 table(s) unmatched"),
        ("ambiguous", "1 table(s) ambiguous"),
    ],
)
def test_one_documented_pending_kept_unmatched_or_ambiguous_resource_blocks(action, blocker):
    found = coverage(counts_of(("table", "unchanged", True), ("table", action, True)))
    assert found[["safe_to_delete_source", "blocked_by"]].values.tolist() == [
        [False, blocker],
        [False, blocker],
    ]
    undocumented = coverage(counts_of(("table", "unchanged", True), ("table", action, False)))
    assert undocumented["safe_to_delete_source"].tolist() == [True, True]
    assert undocumented["blocked_by"].tolist() == [None, None]


def test_everything_carried_with_every_documented_field_migrated_is_safe():
    counts = counts_of(
        ("table", "unchanged", True),
        ("column", "unchanged", True),
        ("column", "unmatched", False),
        table_fields=("description", "tags"),
        column_fields=("pii",),
    )
    found = coverage(counts)
    assert safe_to_delete_source(found)
    figures = coverage_figures(found)
    assert (figures["safe_to_delete_source"], figures["blocked_by"]) == (True, "")
    assert coverage_line(found).endswith("Safe to delete the source: yes")


def test_columns_left_out_block_deletion_whatever_the_tables_say():
    counts = counts_of(("table", "unchanged", True))
    found = coverage(counts, include_columns=False)
    assert found["kind"].tolist() == ["table"]
    assert found.loc[0, ["safe_to_delete_source", "blocked_by"]].tolist() == [
        False,
        "columns not included",
    ]


@pytest.mark.parametrize(
    ("fields", "in_use", "blockers"),
    [
        (["description"], ("description", "tags", "owners"), ["tags", "owners"]),
        (DEFAULT, ("description", "verified"), ["verified"]),
        (DEFAULT, ("description", "owners", "verified"), ["owners", "verified"]),
        (["description", "owners", "verified"], ("owners", "verified"), []),
        (["description"], (), []),  # nothing documented: nothing to lose
    ],
)
def test_a_documented_field_the_run_leaves_out_blocks_deletion(fields, in_use, blockers):
    # Fields in use on tables or on columns alike.
    half = len(in_use) // 2
    counts = counts_of(
        ("table", "unchanged", True),
        ("column", "unchanged", True),
        table_fields=in_use[:half],
        column_fields=in_use[half:],
    )
    found = coverage(counts, fields=fields)
    expected = "; ".join(f"field {field} not migrated" for field in blockers) or None
    assert found["blocked_by"].tolist() == [expected, expected]
    assert found["safe_to_delete_source"].tolist() == [not blockers] * 2


def test_a_kind_without_rows_counts_zeros_and_only_planned_kinds_are_reported():
    counts = counts_of(("table", "update", True))
    found = coverage(counts, basis="target after writes")
    assert found["kind"].tolist() == ["table", "column"]
    column = found.iloc[1]
    assert (column["resources"], column["documented"], column["pending"]) == (0, 0, 0)
    assert column["blocked_by"] == "1 table(s) pending"
    assert coverage(counts, include_columns=False)["kind"].tolist() == ["table"]


def test_figures_and_line_for_the_run():
    counts = counts_of(("table", "unchanged", True), ("column", "update", True))
    found = coverage(counts, include_columns=True)
    figures = coverage_figures(found)
    assert figures["safe_to_delete_source"] is False
    assert figures["blocked_by"] == "1 column(s) pending"
    assert figures["coverage_basis"] == "plan"
    assert (figures["tables_carried"], figures["columns_pending"]) == (1, 1)
    assert all(isinstance(v, int) for k, v in figures.items() if k.startswith(("tables_", "col")))
    line = coverage_line(found)
    assert line.startswith("Coverage (plan): tables 1 documented of 1 (1 carried")
    assert line.endswith("Safe to delete the source: no (1 column(s) pending)")


def test_an_unknown_action_or_missing_count_column_is_refused():
    with pytest.raises(ValueError, match=r"unknown plan action\(s\) \['deleted'\]"):
        coverage(counts_of(("table", "deleted", True)))
    counts = counts_of(("table", "unchanged", True)).drop(columns="source_fields")
    with pytest.raises(KeyError, match=r"lack the column\(s\) \['source_fields'\]"):
        coverage(counts)


# --- real plans, made by the package's planner ------------------------------------------


def table(id_, title, **docs):
    return {"id": id_, "database": "db", "schema": "s", "title": title, **docs}


def column(id_, table_title, title, **docs):
    return {
        "id": id_,
        "table_database": "db",
        "table_schema": "s",
        "table_title": table_title,
        "title": title,
        **docs,
    }


def planned_coverage(workspace, *, fields, include_columns, overwrite=False):
    """(the package's coverage of the matcher's plan, the oracle's coverage of it)."""
    source_tables, target_tables, source_columns, target_columns = workspace
    if not include_columns:  # the run lists no columns
        source_columns, target_columns = [], []
    with MigrationMatcher(fields, overwrite=overwrite) as matcher:
        matcher.add_rows("source", "table", source_tables)
        matcher.add_rows("source", "column", source_columns)
        matcher.add_rows("target", "table", target_tables)
        matcher.add_rows("target", "column", target_columns)
        plan = as_plan_frame(plan_chunks(matcher))
        found = coverage(matcher.counts(), fields=fields, include_columns=include_columns)
    expected = coverage_by_spec(
        plan, [*source_tables, *source_columns], fields=fields, include_columns=include_columns
    )
    return found, expected


# For description: a carried; b pending; c unmatched but undocumented (it has owners
# only); d kept (the target says otherwise); b.id carried. The source also has tags on a,
# owners on c and on c.id.
WORKSPACE = (
    [
        table("s1", "a", description="A", tags=["t1"]),
        table("s2", "b", description="B"),
        table("s3", "c", description="", owners=["u1"]),
        table("s4", "d", description="D"),
    ],
    [
        table("t1", "a", description="A", tags=["t1"]),
        table("t2", "b", description=None),
        table("t4", "d", description="Something else"),
    ],
    [column("c1", "b", "id", description="key"), column("c2", "c", "id", owners=["u1"])],
    [column("tc1", "b", "id", description="key"), column("tc2", "c", "id")],
)


def test_a_real_plan_gives_its_coverage_and_each_blocker():
    found, expected = planned_coverage(WORKSPACE, fields=["description"], include_columns=False)
    row = found.iloc[0]
    assert [row[k] for k in ("resources", "documented", "carried", "pending", "kept")] == [
        4,
        3,
        1,
        1,
        1,
    ]
    # include_columns false, fields [description] while the source's tables carry tags
    # and owners, and a kept value: each named.
    assert not row["safe_to_delete_source"]
    assert row["blocked_by"] == (
        "1 table(s) pending; 1 table(s) kept; columns not included; "
        "field tags not migrated; field owners not migrated"
    )
    assert expected["blocked_by"] == row["blocked_by"].split("; ")
    assert {k: row[k] for k in expected["table"]} == expected["table"]


def test_a_documented_column_of_an_unmatched_table_counts_as_unmatched():
    # c.id has owners; its table c has no match in the target, though tc2's key is its own.
    found, expected = planned_coverage(WORKSPACE, fields=["owners"], include_columns=True)
    columns = found.set_index("kind").loc["column"]
    assert (columns["documented"], columns["unmatched"], columns["carried"]) == (1, 1, 0)
    assert columns["blocked_by"] == (
        "1 table(s) unmatched; 1 column(s) unmatched; field description not migrated; "
        "field tags not migrated"
    )
    assert expected["column"] == {k: columns[k] for k in expected["column"]}
    assert expected["blocked_by"] == columns["blocked_by"].split("; ")


def test_with_columns_and_every_documented_field_only_the_plan_blocks():
    fields = ["description", "tags", "owners"]
    found, expected = planned_coverage(WORKSPACE, fields=fields, include_columns=True)
    assert (
        found["blocked_by"].tolist()
        == ["1 table(s) pending; 1 table(s) kept; 1 table(s) unmatched; 1 column(s) unmatched"] * 2
    )
    assert expected["blocked_by"] == found["blocked_by"][0].split("; ")
    # Overwrite the kept value: the plan still has to be written (a dry run's verdict).
    found, _ = planned_coverage(WORKSPACE, fields=fields, include_columns=True, overwrite=True)
    assert found["blocked_by"][0] == (
        "2 table(s) pending; 1 table(s) unmatched; 1 column(s) unmatched"
    )
