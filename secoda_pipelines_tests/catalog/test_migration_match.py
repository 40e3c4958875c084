"""The DuckDB planner (`catalog.migration_match`) against the reference planner
(`catalog.migration.plan_migration`): the same plan, row for row, on the demo workspace and
on generated workspaces full of the cases that matter."""

from __future__ import annotations

import itertools
import json
import math
import random
from typing import Any

import pandas as pd
import pytest

from secoda_pipelines.catalog import migration_match
from secoda_pipelines.catalog.coverage import (
    coverage_of_counts,
    migration_coverage,
    plan_counts,
)
from secoda_pipelines.catalog.migration import (
    MIGRATABLE_FIELDS,
    PLAN_COLUMNS,
    Renames,
    plan_migration,
    unused_rename_keys,
    unused_rename_keys_of,
)
from secoda_pipelines.catalog.migration_match import (
    MigrationMatcher,
    as_plan_frame,
    plan_in_duckdb,
)

DEFAULT = ("description", "definition", "tags", "pii")


def records(plan: pd.DataFrame) -> list[dict[str, Any]]:
    """The plan's rows as plain dicts, a missing value (None or NaN) as None."""
    assert list(plan.columns) == list(PLAN_COLUMNS)
    rows = plan.to_dict("records")
    for row in rows:
        for name, value in row.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                row[name] = None
    return rows


def assert_same_plan(source_tables, target_tables, source_columns, target_columns, **options):
    expected = plan_migration(
        source_tables, target_tables, source_columns, target_columns, **options
    )
    actual = plan_in_duckdb(source_tables, target_tables, source_columns, target_columns, **options)
    assert len(actual) == len(expected)
    for at, (mine, theirs) in enumerate(zip(records(actual), records(expected), strict=True)):
        assert mine == theirs, f"plan row {at} differs"
    assert actual["documented"].dtype == bool
    return actual


# ------------------------------------------------------------------------- generated

DATABASES = ["Analytics", " ANALYTICS ", "raw", None, "a.b", "a", "Straße", "STRASSE", ""]
SCHEMAS = ["core", "Core", " public", "b.c", "c", "", None, "finance"]
TITLES = ["orders", "Orders ", "customers", "x", "b.c", "ïnvoices", "None", "", None]
VALUES = {
    "description": [None, "", "Orders", "orders", "x", 1, 1.0, "None", "  "],
    "definition": [None, "", "`id`: key.", "md", True],
    "tags": [None, [], ["t1"], ["t1", "t2"], ["t2", "t1"], ["t3", "t1", "t2"], "t1"],
    "pii": [None, False, True, 1, 0],
    "owners": [None, [], ["u1"], ["u2", "u1"], [{"id": 1}], [{"id": 1}, {"id": 2}]],
    "verified": [None, False, True],
}


def _docs(rng: random.Random) -> dict[str, Any]:
    docs = {}
    for field, values in VALUES.items():
        if rng.random() < 0.85:  # now and then the API leaves a field out
            docs[field] = rng.choice(values)
    return docs


def _table(rng: random.Random, number: int, ids: str) -> dict[str, Any]:
    row = {
        "id": f"{ids}{number}" if rng.random() < 0.8 else number,
        "database": rng.choice(DATABASES),
        "schema": rng.choice(SCHEMAS),
        "title": rng.choice(TITLES),
        "integration": ids,
        **_docs(rng),
    }
    if rng.random() < 0.05:
        del row["schema"]
    return row


def _column(rng: random.Random, number: int, ids: str) -> dict[str, Any]:
    return {
        "id": f"{ids}c{number}",
        "table_database": rng.choice(DATABASES),
        "table_schema": rng.choice(SCHEMAS),
        "table_title": rng.choice(TITLES),
        "title": rng.choice(["id", "ID", "amount", " email", "a.b", None]),
        "type": "text",
        **_docs(rng),
    }


def _like(rng: random.Random, row: dict[str, Any], ids: str, number: int) -> dict[str, Any]:
    """A target copy of a source row: same key (re-cased, re-spaced), docs mostly alike."""
    copy = {**row, "id": f"{ids}{number}"}
    for name in ("database", "schema", "title", "table_database", "table_title"):
        if isinstance(copy.get(name), str) and rng.random() < 0.5:
            copy[name] = f" {copy[name].upper()} "
    for field, values in VALUES.items():
        if rng.random() < 0.3:
            copy[field] = rng.choice(values)
        elif isinstance(copy.get(field), list) and rng.random() < 0.5:
            copy[field] = list(reversed(copy[field]))
    return copy


def generated_workspace(seed: int, size: int = 120) -> tuple[list, list, list, list]:
    """A source and target with duplicates on either side, unmatched resources, keys
    differing only in case and spaces, keys whose parts hold dots, empty values of every
    kind, tags and owners in another order, missing fields and integer ids."""
    rng = random.Random(seed)
    sides = []
    for make in (_table, _column):
        source = [make(rng, n, "s") for n in range(size)]
        target = [_like(rng, row, "t", n) for n, row in enumerate(source) if rng.random() < 0.7]
        target += [make(rng, size + n, "t") for n in range(size // 4)]  # unmatched, dups
        target += [_like(rng, rng.choice(source), "td", n) for n in range(size // 10)]
        rng.shuffle(target)
        sides.append((source, target))
    (source_tables, target_tables), (source_columns, target_columns) = sides
    return source_tables, target_tables, source_columns, target_columns


def _listings(workspace: tuple[list, list, list, list]) -> list[tuple[str, str, list]]:
    """The four listings of a generated workspace: (side, kind, rows), sources first."""
    source_tables, target_tables, source_columns, target_columns = workspace
    return [
        ("source", "table", source_tables),
        ("source", "column", source_columns),
        ("target", "table", target_tables),
        ("target", "column", target_columns),
    ]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("overwrite", [False, True])
def test_generated_workspace_gives_the_same_plan_row_for_row(seed, overwrite):
    workspace = generated_workspace(seed)
    plan = assert_same_plan(*workspace, fields=DEFAULT, overwrite=overwrite)
    assert set(plan["action"]) == {"update", "kept", "unchanged", "unmatched", "ambiguous"} - (
        {"kept"} if overwrite else set()
    )


@pytest.mark.parametrize("seed", range(3))
def test_every_field_and_renames_give_the_same_plan(seed):
    renames = Renames.from_maps({"raw": "Analytics", "a.b": "a"}, {" Public ": "core", "b.c": "c"})
    plan = assert_same_plan(
        *generated_workspace(seed), fields=MIGRATABLE_FIELDS, overwrite=False, renames=renames
    )
    assert (plan["key"] != plan["matched_as"]).any()


@pytest.mark.parametrize(
    "fields", [("description",), ("tags",), ("owners", "verified"), ("pii", "description")]
)
def test_any_field_order_and_subset_gives_the_same_plan(fields):
    assert_same_plan(*generated_workspace(11), fields=fields)


def test_tables_only_and_empty_sides_give_the_same_plan():
    source_tables, target_tables, _, _ = generated_workspace(5)
    assert_same_plan(source_tables, target_tables, [], [])
    assert_same_plan(source_tables, [], [], [])
    assert_same_plan([], target_tables, [], [])
    assert_same_plan([], [], [], [])


def test_many_chunks_in_and_out_give_the_same_plan(monkeypatch):
    """Rows go in 7 at a time and come out 2,048 at a time: the plan is still the same."""
    monkeypatch.setattr(migration_match, "CHUNK_ROWS", 7)
    monkeypatch.setattr(migration_match, "FETCH_ROWS", 2_048)
    workspace = generated_workspace(3, size=1_500)
    with MigrationMatcher(DEFAULT) as matcher:
        for side, kind, rows in _listings(workspace):
            assert matcher.add_rows(side, kind, iter(rows)) == len(rows)
        chunks = list(matcher.plan_chunks())
    assert len(chunks) == 2  # 3,000 source rows: 2,048 then 952
    expected = plan_migration(*workspace[:2], workspace[2], workspace[3])
    assert records(as_plan_frame(chunks)) == records(expected)


def test_counts_updates_and_report_rows_read_the_same_plan():
    """What the job reads of a plan (its counts, its updates, the rows a report copies) is
    the reference plan's, whatever the page sizes the rows came in."""
    workspace = generated_workspace(7, size=400)
    expected = plan_migration(*workspace, fields=DEFAULT)
    with MigrationMatcher(DEFAULT) as matcher:
        for side, kind, rows in _listings(workspace):
            pages = [rows[at : at + 37] for at in range(0, len(rows), 37)]
            assert matcher.add_pages(side, kind, iter([[], *pages, []])) == len(rows)
        matcher.plan()
        counts = matcher.counts()
        updates = list(matcher.updates())
        report = matcher.connection.execute(matcher.report_query(["1 AS one"])).df()
        assert matcher.update_count() == len(updates)

    keys = ["kind", "action", "documented"]
    reference = plan_counts(expected).sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(counts.sort_values(keys).reset_index(drop=True), reference)
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


def test_a_listing_that_fails_midway_raises_and_leaves_the_matcher_usable():
    source = generated_workspace(1)[0]

    def pages():
        yield source[:50]
        raise ConnectionError("the listing broke")

    with MigrationMatcher(DEFAULT) as matcher:
        with pytest.raises(ConnectionError, match="the listing broke"):
            matcher.add_pages("source", "table", pages())
        matcher.clear("source")
        assert matcher.add_pages("source", "table", [source]) == len(source)
        assert matcher.count("source", "table") == len(source)
        with pytest.raises(KeyError, match="kind 'view'"):
            matcher.add_pages("source", "view", [source])


def test_chunks_carry_report_text_and_dicts_only_where_needed():
    source = [{"id": "s1", "database": "d", "schema": "s", "title": "t", "description": "x"}]
    target = [{"id": "t1", "database": "D", "schema": "S", "title": "T", "tags": ["a"]}]
    source.append({**source[0], "id": "s2", "title": "u"})
    with MigrationMatcher(["description", "tags"]) as matcher:
        matcher.add_rows("source", "table", source)
        matcher.add_rows("target", "table", target)
        (chunk,) = matcher.plan_chunks()
    assert chunk["fields"].tolist() == ['["description"]', "[]"]
    assert chunk["kept_fields"].tolist() == ["[]", "[]"]
    assert chunk["patch"].tolist() == [{"description": "x"}, None]
    assert chunk["expected"].tolist() == [{"description": None}, None]
    assert json.loads(chunk["fields"][0]) == ["description"]


def test_counts_give_the_same_coverage_as_the_plan():
    workspace = generated_workspace(2)
    plan = plan_migration(*workspace)
    counts = plan_counts(plan)
    kinds = ["table", "column"]
    expected = migration_coverage(plan, kinds, "plan")
    pd.testing.assert_frame_equal(coverage_of_counts(counts, kinds, "plan"), expected)
    assert int(counts["resources"].sum()) == len(plan)


def test_source_names_give_the_same_unused_rename_keys():
    source_tables = generated_workspace(4)[0]
    maps = ({"raw": "x", "nowhere": "y", " ANALYTICS": "z"}, {"core": "a", "typo": "b"})
    with MigrationMatcher(DEFAULT) as matcher:
        matcher.add_rows("source", "table", source_tables)
        used = matcher.source_names
    assert unused_rename_keys_of(*maps, used) == unused_rename_keys(*maps, source_tables)
    assert len(unused_rename_keys_of(*maps, used)) == 2


def test_clear_replaces_one_side_only():
    source = [{"id": "s1", "database": "d", "schema": "s", "title": "t", "description": "x"}]
    target = [{"id": "t1", "database": "d", "schema": "s", "title": "t"}]
    with MigrationMatcher(DEFAULT) as matcher:
        matcher.add_rows("source", "table", source)
        matcher.add_rows("target", "table", target)
        assert as_plan_frame(matcher.plan_chunks())["action"].tolist() == ["update"]
        matcher.clear("target")
        assert (matcher.count("source", "table"), matcher.count("target", "table")) == (1, 0)
        matcher.add_rows("target", "table", [{**target[0], "description": "x"}])
        assert as_plan_frame(matcher.plan_chunks())["action"].tolist() == ["unchanged"]


def test_unknown_field_is_refused():
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['colour'\]"):
        MigrationMatcher(["description", "colour"])


# ------------------------------------------------------------------------------ demo


def _listed(client, integration_id):
    params = {"integration_id": integration_id}
    return client.list("table/tables/", params), client.list("table/columns/", params)


def test_demo_workspace_gives_the_same_plan_for_every_pair_of_integrations(sandbox, make_client):
    """Every ordered pair of the demo's integrations with tables, listed through the
    client as the job lists them, with and without overwrite, with every field."""
    client = make_client(sandbox)
    integrations = client.list("integration/integrations/")
    listed = {i["id"]: _listed(client, i["id"]) for i in integrations}
    with_tables = [i for i, (tables, _) in listed.items() if tables]
    assert len(with_tables) >= 3
    pairs = 0
    for source, target in itertools.permutations(with_tables, 2):
        (source_tables, source_columns), (target_tables, target_columns) = (
            listed[source],
            listed[target],
        )
        for overwrite, fields in ((False, DEFAULT), (True, MIGRATABLE_FIELDS)):
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
        _listed(client, integrations["Redshift"]),
        _listed(client, integrations["BigQuery"]),
    )
    renames = Renames.from_maps({"PROD": "Acme-Analytics"}, {" Public ": "CORE"})
    plan = assert_same_plan(source[0], target[0], source[1], target[1], renames=renames)
    assert {"update", "unmatched"} <= set(plan["action"])
    assert (plan["key"] != plan["matched_as"]).any()
