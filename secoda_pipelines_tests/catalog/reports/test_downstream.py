"""The downstream walk: breadth first, each resource once at its fewest hops."""

from __future__ import annotations

import pytest

from secoda_pipelines.catalog.reports.downstream import format_path, walk_downstream

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
