"""Lineage objects read as (upstream, downstream) pairs, and table names."""

from __future__ import annotations

from secoda_pipelines.catalog.edges import (
    downstream_links,
    edge_ends,
    edge_pair,
    existing_pairs,
    resolve_table_names,
    split_table_name,
)
from secoda_pipelines_tests.catalog.frames.schema_frames import tables_frame

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
