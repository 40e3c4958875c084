"""The downstream walk: breadth first, each resource once at its fewest hops; and whether
what it finds is in use."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from secoda_pipelines.catalog.reports.downstream import (
    Activity,
    counted,
    format_path,
    resource_activity,
    walk_downstream,
)

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


# --- who still uses what is downstream ------------------------------------------------------

TODAY = date(2026, 6, 30)


def history(*rows):
    """``secoda/dashboard_usage`` rows: (dashboard_id, day, external_usage, internal_usage)."""
    return pd.DataFrame(
        [
            {
                "dashboard_id": dashboard,
                "snapshot_date": pd.Timestamp(day, tz="UTC"),
                "external_usage": external,
                "internal_usage": internal,
            }
            for dashboard, day, external, internal in rows
        ]
    )


def test_snapshots_decide_for_the_resources_they_hold_and_current_usage_for_the_rest():
    stored = history(
        ("recent", "2026-06-01", 0, 3),  # day 30 counting today: inside 30 days
        ("recent", "2026-06-20", 0, 0),
        ("old", "2026-05-31", 5, 0),  # day 31: outside, but still its last view
        ("old", "2026-06-29", None, 0),
        ("never", "2026-06-30", 0, None),
        ("twice", "2026-06-10", 0, 0),  # a day snapshotted twice is viewed if either was
        ("twice", "2026-06-10", 1, 0),
        ("elsewhere", "2026-06-30", 9, 9),  # not asked about: ignored
    )
    current = {
        "recent": False,  # snapshots win over what the API says now
        "old": True,
        "never": True,
        "twice": False,
        "table-in-use": True,  # no snapshot: current usage decides
        "table-unused": False,
        "column": None,  # no usage fields: unknown
    }

    found = resource_activity(current, stored, TODAY, active_days=30)

    assert found == {
        "recent": Activity(True, date(2026, 6, 1)),
        "old": Activity(False, date(2026, 5, 31)),
        "never": Activity(False, None),
        "twice": Activity(True, date(2026, 6, 10)),
        "table-in-use": Activity(True, None),
        "table-unused": Activity(False, None),
        "column": Activity(None, None),
    }


def test_without_any_snapshot_current_usage_decides_and_nothing_was_last_viewed():
    current = {"a": True, "b": False, "c": None}
    for empty in (None, pd.DataFrame()):
        found = resource_activity(current, empty, TODAY, active_days=1)
        assert found == {
            "a": Activity(True, None),
            "b": Activity(False, None),
            "c": Activity(None, None),
        }


def test_one_active_day_means_today_only():
    stored = history(("d", "2026-06-29", 4, 0), ("d", "2026-06-30", 0, 0))
    assert resource_activity({"d": False}, stored, TODAY, 1) == {
        "d": Activity(False, date(2026, 6, 29))
    }
    assert resource_activity({"d": False}, stored, TODAY, 2)["d"].active is True


def test_active_days_below_one_is_refused():
    with pytest.raises(ValueError, match="active_days must be 1 or more, got 0"):
        resource_activity({}, None, TODAY, 0)


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [("any", [True, True, True]), ("active", [True, False, False]), ("none", [False] * 3)],
)
def test_fail_on_counts_every_resource_only_those_in_use_or_none(fail_on, expected):
    assert [counted(active, fail_on) for active in (True, False, None)] == expected


def test_an_unknown_fail_on_names_the_choices():
    with pytest.raises(ValueError, match="one of any, active, none, got 'some'"):
        counted(True, "some")
