"""Migration coverage on hand-made plans, counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from secoda_pipelines.catalog.coverage import (
    coverage_figures,
    coverage_line,
    migration_coverage,
    safe_to_delete_source,
)
from secoda_pipelines.catalog.migration import plan_migration


def plan_of(*rows: tuple[str, str, bool]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["kind", "action", "documented"])


def test_each_action_of_a_documented_resource_is_counted_once():
    plan = plan_of(
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
        ("column", "unmatched", False),
    )
    coverage = migration_coverage(plan, ["table", "column"], "plan").set_index("kind")
    assert coverage.loc["table"].to_dict() == {
        "basis": "plan",
        "resources": 8,
        "documented": 5,  # 2 carried + 1 pending + 1 kept + 1 unmatched
        "carried": 2,
        "pending": 1,
        "kept": 1,
        "unmatched": 1,
        "ambiguous": 0,
        "safe_to_delete_source": False,
    }
    assert coverage.loc["column"].to_dict() == {
        "basis": "plan",
        "resources": 3,
        "documented": 2,
        "carried": 1,
        "pending": 0,
        "kept": 1,
        "unmatched": 0,
        "ambiguous": 0,
        "safe_to_delete_source": True,  # kept values are the target's own choice
    }
    assert not safe_to_delete_source(coverage)


@pytest.mark.parametrize("blocking", ["update", "unmatched", "ambiguous"])
def test_one_documented_pending_unmatched_or_ambiguous_resource_blocks_deletion(blocking):
    plan = plan_of(("table", "unchanged", True), ("table", blocking, True))
    assert not migration_coverage(plan, ["table"], "plan")["safe_to_delete_source"][0]
    plan = plan_of(("table", "unchanged", True), ("table", blocking, False))
    assert migration_coverage(plan, ["table"], "plan")["safe_to_delete_source"][0]


def test_a_kind_without_rows_counts_zeros_and_only_asked_kinds_are_reported():
    plan = plan_of(("table", "update", True))
    coverage = migration_coverage(plan, ["table", "column"], "target after writes")
    assert coverage["kind"].tolist() == ["table", "column"]
    column = coverage.iloc[1]
    assert (column["resources"], column["documented"], column["safe_to_delete_source"]) == (
        0,
        0,
        True,
    )
    assert migration_coverage(plan, ["table"], "plan")["kind"].tolist() == ["table"]


def test_a_real_plan_gives_its_coverage():
    source = [
        {"id": "s1", "database": "db", "schema": "s", "title": "a", "description": "A"},
        {"id": "s2", "database": "db", "schema": "s", "title": "b", "description": "B"},
        {"id": "s3", "database": "db", "schema": "s", "title": "c", "description": ""},
    ]
    target = [
        {"id": "t1", "database": "db", "schema": "s", "title": "a", "description": "A"},
        {"id": "t2", "database": "db", "schema": "s", "title": "b", "description": None},
    ]
    coverage = migration_coverage(plan_migration(source, target), ["table"], "plan")
    row = coverage.iloc[0]
    # a: carried; b: pending; c: unmatched but undocumented.
    assert [row[k] for k in ("resources", "documented", "carried", "pending", "unmatched")] == [
        3,
        2,
        1,
        1,
        0,
    ]


def test_figures_and_line_for_the_run():
    plan = plan_of(("table", "unchanged", True), ("column", "update", True))
    coverage = migration_coverage(plan, ["table", "column"], "plan")
    figures = coverage_figures(coverage)
    assert figures["safe_to_delete_source"] is False
    assert figures["coverage_basis"] == "plan"
    assert (figures["tables_carried"], figures["columns_pending"]) == (1, 1)
    assert all(isinstance(v, int) for k, v in figures.items() if k.startswith(("tables_", "col")))
    line = coverage_line(coverage)
    assert line.startswith("Coverage (plan): tables 1 documented of 1 (1 carried")
    assert line.endswith("Safe to delete the source: no")


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match=r"unknown plan action\(s\) \['deleted'\]"):
        migration_coverage(plan_of(("table", "deleted", True)), ["table"], "plan")
