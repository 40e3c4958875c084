"""Lineage without HTTP: table names, edge pairs and mirrors, edge planning, the walk."""

from __future__ import annotations

import pytest

from secoda_pipelines.catalog.frames import tables_frame
from secoda_pipelines.catalog.lineage import (
    EdgeInput,
    create_body,
    downstream_links,
    edge_ends,
    edge_pair,
    existing_pairs,
    format_path,
    plan_lineage,
    resolve_table_names,
    split_table_name,
    walk_downstream,
)

TABLES = tables_frame(
    [
        {"id": "old-orders", "integration": "old", "database": "shop", "schema": "core",
         "title": "orders"},
        {"id": "new-orders", "integration": "new", "database": "shop", "schema": "core",
         "title": "orders"},
        {"id": "events", "integration_id": "new", "database": "Product", "schema": "events",
         "title": "Page_Views"},
        {"id": "c1", "integration": "new", "database": "shop", "schema": "core",
         "title": "customers"},
        {"id": "c2", "integration": "new", "database": "shop", "schema": "core",
         "title": "CUSTOMERS"},
    ]
)  # fmt: skip


def test_split_table_name():
    assert split_table_name(" Shop.Core.Orders ") == ("shop", "core", "orders")
    assert split_table_name("db.schema.a.b") == ("db", "schema", "a.b")
    assert split_table_name("db.schema") is None
    assert split_table_name("db..t") is None


def test_names_resolve_case_insensitively_across_integrations():
    resolved, errors = resolve_table_names(
        ["product.EVENTS.page_views", "shop.core.orders", "shop.core.customers", "a.b.c", "a.b"],
        TABLES,
    )
    assert {name: m.id for name, m in resolved.items()} == {"product.EVENTS.page_views": "events"}
    assert resolved["product.EVENTS.page_views"].name == "Product.events.Page_Views"
    assert errors == {
        "shop.core.orders": "'shop.core.orders' matches 2 tables: old-orders (shop.core.orders, "
        "integration old), new-orders (shop.core.orders, integration new); give the id instead",
        "shop.core.customers": "'shop.core.customers' matches 2 tables: c1 (shop.core.customers, "
        "integration new), c2 (shop.core.CUSTOMERS, integration new); give the id instead",
        "a.b.c": "no table is named 'a.b.c' in any integration",
        "a.b": "'a.b' is neither an id nor database.schema.table",
    }


def test_edges_read_in_both_spellings_and_both_directions():
    down = {"id": "e1", "from_entity": "A", "to_entity": "B", "direction": "DOWNSTREAM"}
    mirror = {"id": "e2", "from_entity_id": "B", "to_entity_id": "A", "direction": "upstream"}
    assert edge_ends(mirror) == ("B", "A")
    assert edge_pair(down) == edge_pair(mirror) == ("A", "B")
    assert edge_pair({"from_entity": "A", "to_entity": "B"}) == ("A", "B")  # default direction
    assert edge_pair({"from_entity": "A", "to_entity": None, "direction": "DOWNSTREAM"}) is None
    assert edge_pair({"from_entity": "A", "to_entity": "", "direction": "DOWNSTREAM"}) is None
    assert edge_pair({"from_entity": "A", "to_entity_id": "B", "direction": None}) == ("A", "B")
    assert edge_pair({"from_entity": "A", "to_entity": "B", "direction": "SIDEWAYS"}) is None
    assert existing_pairs([mirror, down]) == {("A", "B"): "e1"}


def test_downstream_links_use_pairs_and_ignore_unrelated_edges():
    edges = [
        {"from_entity": "A", "to_entity": "B", "direction": "DOWNSTREAM"},
        {"from_entity": "B", "to_entity": "A", "direction": "UPSTREAM"},  # the mirror: same
        {"from_entity": "C", "to_entity": "A", "direction": "UPSTREAM"},  # C downstream of A
        {"from_entity": "A", "to_entity": "Z", "direction": "UPSTREAM"},  # Z upstream of A
        {"from_entity": "X", "to_entity": "Y", "direction": "DOWNSTREAM"},  # not asked about
    ]
    assert downstream_links(edges, ["A", "Q"]) == {"A": ["B", "C"], "Q": []}


def test_plan_creates_skips_existing_in_any_spelling_and_names_bad_edges():
    existing = [
        {"id": "m1", "from_entity_id": "T2", "to_entity_id": "T1", "direction": "UPSTREAM"},
    ]
    edges = [
        EdgeInput("edges[0]", "t1", "t3"),
        EdgeInput("edges[1]", "t1", "t2", "downstream"),  # exists, as its mirror
        EdgeInput("edges[2]", "t2", "t1", "UPSTREAM"),  # the same edge again, other way round
        EdgeInput("edges[3]", "t1", "name1", "DOWNSTREAM"),  # name1 resolves to T1 itself
        EdgeInput("edges[4]", "t1", "nope", "sideways"),
    ]
    resolved = {"t1": "T1", "t2": "T2", "t3": "T3", "name1": "T1"}
    frame, errors = plan_lineage(edges, resolved, {"nope": "no table is named 'nope'"}, existing)
    assert list(frame["action"]) == ["create", "invalid", "invalid", "invalid", "invalid"]
    assert errors == [
        "edges[1]: the same edge is given 2 times (edges[1], edges[2])",
        "edges[2]: the same edge is given 2 times (edges[1], edges[2])",
        "edges[3]: 't1' → 'name1' is an edge from T1 to itself",
        "edges[4]: direction 'sideways' is not one of DOWNSTREAM, UPSTREAM",
        "edges[4]: to_entity: no table is named 'nope'",
    ]
    assert create_body(frame.iloc[0]) == {
        "from_entity": "T1",
        "to_entity": "T3",
        "direction": "DOWNSTREAM",
    }

    frame, errors = plan_lineage(edges[1:2], resolved, {}, existing)
    assert errors == []
    assert (frame.iloc[0]["action"], frame.iloc[0]["lineage_id"]) == ("exists", "m1")


def test_a_direction_given_as_the_text_none_is_refused_not_taken_as_downstream():
    # Run config is not decoded by the client: "None" there is text, and not a direction.
    frame, errors = plan_lineage(
        [EdgeInput("edges[0]", "t1", "t2", "None"), EdgeInput("edges[1]", "t1", "t3", "")],
        {"t1": "T1", "t2": "T2", "t3": "T3"},
        {},
        [],
    )
    assert list(frame["action"]) == ["invalid", "create"]
    assert errors == ["edges[0]: direction 'None' is not one of DOWNSTREAM, UPSTREAM"]
    assert frame.iloc[1]["direction"] == "DOWNSTREAM"


CHAIN = {"a": ["b"], "b": ["c"], "c": ["d"], "d": []}
CYCLE = {"j": ["g"], "g": ["k"], "k": ["j"]}
DIAMOND = {"s": ["x", "y"], "x": ["z"], "y": ["z"], "z": []}


def recording(graph):
    calls = []

    def neighbours(nodes):
        calls.append(list(nodes))
        return {node: graph.get(node, []) for node in nodes}

    return neighbours, calls


def test_walk_follows_a_chain_level_by_level_up_to_depth():
    neighbours, calls = recording(CHAIN)
    found = walk_downstream(["a"], neighbours, depth=2)
    assert [(r.node, r.hops, r.path) for r in found] == [
        ("b", 1, ("a", "b")),
        ("c", 2, ("a", "b", "c")),
    ]
    assert calls == [["a"], ["b"]]
    found = walk_downstream(["a"], recording(CHAIN)[0], depth=0)
    assert [(r.node, r.hops) for r in found] == [("b", 1), ("c", 2), ("d", 3)]


def test_walk_ends_on_a_cycle_and_never_reports_the_start():
    neighbours, calls = recording(CYCLE)
    found = walk_downstream(["j"], neighbours, depth=0)
    assert [(r.node, r.hops) for r in found] == [("g", 1), ("k", 2)]
    assert calls == [["j"], ["g"], ["k"]]


def test_walk_reports_each_resource_once_at_its_fewest_hops_and_batches_starts():
    graph = {**DIAMOND, **CHAIN}
    neighbours, calls = recording(graph)
    found = walk_downstream(["s", "a", "s"], neighbours, depth=0)
    assert [(r.start, r.node, r.hops) for r in found] == [
        ("s", "x", 1), ("s", "y", 1), ("s", "z", 2),
        ("a", "b", 1), ("a", "c", 2), ("a", "d", 3),
    ]  # fmt: skip
    assert found[2].path == ("s", "x", "z")
    # One call per level, each node asked about once, every start's frontier together.
    assert calls == [["s", "a"], ["x", "y", "b"], ["z", "c"], ["d"]]


def test_walk_rejects_a_negative_depth():
    with pytest.raises(ValueError, match="depth"):
        walk_downstream(["a"], recording(CHAIN)[0], depth=-1)


def test_format_path_uses_names_and_falls_back_to_ids():
    assert format_path(["a", "b", "c"], {"a": "db.s.a", "b": None}) == "db.s.a > b > c"
