"""Planning new lineage edges: create, exists in any spelling, or bad (each named)."""

from __future__ import annotations

from secoda_pipelines.catalog.planners.lineage import EdgeInput, edge_body, plan_lineage


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
    assert edge_body(frame.iloc[0]) == {
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
