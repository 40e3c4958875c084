"""The shared lineage lookups, through the real client against the sandbox."""

from __future__ import annotations

import math
from typing import Any

import pytest

from secoda_pipelines.lineage.lookups import (
    BATCH,
    Entity,
    EntityLookup,
    edges_around,
    list_edges,
    resolve_references,
)
from secoda_pipelines.secoda import MANUAL_LINEAGE, SecodaResponseError
from secoda_pipelines_tests.helpers import api_rows, dashboard_id, table_id


def lineage_listings(sandbox) -> list[dict[str, str]]:
    return [r.query for r in sandbox.requests if r.method == "GET" and r.path == MANUAL_LINEAGE]


def test_ids_and_names_resolve_to_named_entities_and_the_rest_say_why(sandbox, client):
    page_views = table_id(sandbox, "product.events.page_views")
    engagement = dashboard_id(sandbox, "Product Engagement")
    column = api_rows(sandbox, "table/columns/", parent_id=page_views)[0]
    references = [
        " PRODUCT.Events.Page_Views ",  # names match case-insensitively, stripped
        page_views,
        engagement,
        column["id"],
        "nowhere.at.all",
        "no-such-id",
        "",
    ]

    resolved, errors = resolve_references(client, references)

    def viewed(path: str, entity_id: str) -> bool:  # usage as the API holds it now
        obj = next(o for o in api_rows(sandbox, path) if o["id"] == entity_id)
        return any((obj.get(f) or 0) > 0 for f in ("external_usage", "internal_usage"))

    table = Entity(
        page_views,
        "table",
        "page_views",
        "product.events.page_views",
        viewed("table/tables/", page_views),
    )
    assert resolved == {
        "PRODUCT.Events.Page_Views": table,
        page_views: table,
        engagement: Entity(
            engagement,
            "dashboard",
            "Product Engagement",
            "Product Engagement",
            viewed("dashboard/dashboards/", engagement),
        ),
        column["id"]: Entity(
            column["id"],
            "column",
            column["title"],
            f"product.events.page_views.{column['title']}",
        ),
    }
    assert errors == {
        "nowhere.at.all": "no table is named 'nowhere.at.all' in any integration",
        "no-such-id": "no table, column or dashboard has the id 'no-such-id'",
    }


def test_a_lookup_asks_the_server_once_per_id(sandbox, client):
    page_views = table_id(sandbox, "product.events.page_views")
    lookup = EntityLookup(client)
    sandbox.clear_log()
    assert lookup.get(page_views) == lookup.get(page_views)
    assert lookup.get("no-such-id") is None and lookup.get("no-such-id") is None
    # The table at once; the unknown id in each of the three collections, once.
    assert len(sandbox.requests) == 1 + 3


def test_past_the_threshold_one_listing_of_tables_and_dashboards_replaces_a_get_per_id(
    sandbox, client
):
    tables = api_rows(sandbox, "table/tables/")[:4]
    dashboards = api_rows(sandbox, "dashboard/dashboards/")[:3]
    column = api_rows(sandbox, "table/columns/")[0]
    ids = [t["id"] for t in tables] + [d["id"] for d in dashboards] + [column["id"], "gone"]
    lookup = EntityLookup(client, listing_threshold=5)
    sandbox.clear_log()

    lookup.prefetch(ids)

    # The listings, then GETs only for what they did not hold: the column (found after the
    # table and dashboard collections were ruled out by the listings) and the unknown id.
    paths = [r.path for r in sandbox.requests]
    assert [p for p in dict.fromkeys(paths)] == [
        "table/tables/",
        "dashboard/dashboards/",
        f"table/columns/{column['id']}/",
        "table/columns/gone/",
    ]
    assert all(r.query.get("page") for r in sandbox.requests if r.path.count("/") == 2)
    found = {i: lookup.get(i) for i in ids}
    assert [found[t["id"]].kind for t in tables] == ["table"] * 4
    assert [found[d["id"]].title for d in dashboards] == [d["title"] for d in dashboards]
    assert found[column["id"]].kind == "column" and found["gone"] is None
    sandbox.clear_log()
    lookup.prefetch(ids)  # all known now
    assert sandbox.requests == []


def test_below_the_threshold_each_id_is_one_get(sandbox, client):
    dashboards = api_rows(sandbox, "dashboard/dashboards/")[:3]
    lookup = EntityLookup(client, listing_threshold=5)
    lookup.list_tables()  # as a check by table name has done: no table GET is needed then
    sandbox.clear_log()
    lookup.prefetch([d["id"] for d in dashboards])
    assert [r.path for r in sandbox.requests] == [
        f"dashboard/dashboards/{d['id']}/" for d in dashboards
    ]


class _AnswersDetailsWith:
    """A client whose every detail GET answers `body` (as a misbehaving server would)."""

    base_url = "http://secoda.invalid/api/v1/"

    def __init__(self, body: Any):
        self.body = body

    def get(self, path: str) -> Any:
        return self.body


@pytest.mark.parametrize("body", [[{"id": "t-1"}], "t-1", 3, None], ids=repr)
def test_a_detail_that_is_not_an_object_is_a_response_error(body):
    with pytest.raises(SecodaResponseError, match=r"table/tables/t-1/ .* not the table object"):
        EntityLookup(_AnswersDetailsWith(body)).get("t-1")  # type: ignore[arg-type]


def test_edges_around_lists_each_edge_touching_the_ids_once(sandbox, client):
    ids = [
        table_id(sandbox, "product.events.page_views"),
        table_id(sandbox, "product.events.stg_page_views"),
    ]
    expected = {
        e["id"]
        for e in api_rows(sandbox, MANUAL_LINEAGE)
        if e["from_entity"] in ids or e["to_entity"] in ids
    }

    edges = edges_around(client, ids)

    assert expected  # the two tables are linked, so their edge is listed from both ends
    assert sorted(e["id"] for e in edges) == sorted(expected)


def test_list_edges_filters_one_id_exactly_and_batches_many(sandbox, client):
    real = table_id(sandbox, "product.events.page_views")
    sandbox.clear_log()
    one = list_edges(client, [real], "from_entity")
    assert lineage_listings(sandbox) == [{"from_entity": real, "page": "1"}]
    assert one and all(e["from_entity"] == real for e in one)

    ids = [real, *(f"unknown-{n}" for n in range(BATCH + 5))]
    sandbox.clear_log()
    many = list_edges(client, ids, "from_entity")
    listings = lineage_listings(sandbox)
    assert len(listings) == math.ceil(len(ids) / BATCH)
    batches = [q["from_entity__in"].split(",") for q in listings]
    assert [i for batch in batches for i in batch] == ids
    assert sorted(e["id"] for e in many) == sorted(e["id"] for e in one)


class _ListsEdges:
    """A client whose every lineage listing answers `edges`."""

    def __init__(self, edges: list[dict[str, Any]]):
        self.edges = edges

    def list(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        return self.edges


def test_edges_without_a_usable_id_are_kept_once_by_content():
    edges = [
        {"id": ["not", "hashable"], "from_entity": "a", "to_entity": "b"},
        {"id": None, "from_entity": "a", "to_entity": "c"},
        {"id": "", "from_entity": "a", "to_entity": "d"},
        {"id": "e-1", "from_entity": "a", "to_entity": "e"},
    ]
    found = edges_around(_ListsEdges(edges), ["a"])  # type: ignore[arg-type]
    assert found == edges  # listed from both ends, each kept once
