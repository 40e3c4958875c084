"""The downstream walk (`find_downstream`), through the real client against the sandbox."""

from __future__ import annotations

import pytest

from secoda_pipelines.lineage.downstream import LineageInputError, find_downstream
from secoda_pipelines.secoda import SecodaResponseError
from secoda_pipelines_tests.helpers import dashboard_id, table_id
from secoda_pipelines_tests.sandbox.helpers import insert_object


def test_each_resource_is_reported_once_at_its_fewest_hops_with_its_path(sandbox, client):
    page_views = table_id(sandbox, "product.events.page_views")

    result = find_downstream(client, ["product.events.page_views"], 0)

    assert list(result.tables) == ["product.events.page_views"]
    assert result.tables["product.events.page_views"].id == page_views
    assert [row.depth for row in result.rows] == [1, 2, 3, 4]
    assert len({row.resource_id for row in result.rows}) == 4
    last = result.rows[-1]
    assert (last.resource_id, last.entity_type) == (
        dashboard_id(sandbox, "Product Engagement"),
        "dashboard",
    )
    assert last.path.startswith("product.events.page_views > ")
    assert last.path.endswith(" > Product Engagement")
    assert all(row.table_id == page_views for row in result.rows)


def test_depth_limits_the_levels(sandbox, client):
    result = find_downstream(client, ["product.events.page_views"], 2)
    assert [row.depth for row in result.rows] == [1, 2]


def test_every_bad_input_is_named_at_once(sandbox, client):
    with pytest.raises(LineageInputError) as raised:
        find_downstream(client, ["nowhere.at.all", "no-such-id"], -1)
    errors = raised.value.errors
    assert len(errors) == 3
    assert any("depth -1 is negative" in e for e in errors)
    assert any("'nowhere.at.all'" in e for e in errors)
    assert any("'no-such-id'" in e for e in errors)
    with pytest.raises(LineageInputError, match="no table given"):
        find_downstream(client, [" "], 1)


def test_an_edge_whose_direction_cannot_be_read_stops_the_check(sandbox, client):
    # Skipping it could answer "nothing downstream" for a table that has dependants.
    leaf = table_id(sandbox, "finance.reporting.arr_by_segment")
    other = table_id(sandbox, "analytics.core.orders")
    edge = insert_object(
        sandbox,
        "lineage/manual/",
        {"from_entity": leaf, "to_entity": other, "direction": "SIDEWAYS"},
    )
    with pytest.raises(SecodaResponseError, match=f"listed an edge \\({edge['id']}\\)"):
        find_downstream(client, [leaf], 1)
