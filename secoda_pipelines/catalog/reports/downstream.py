"""Report rule: what is downstream of some resources (SPEC B's `reports/downstream_impact`),
walked breadth first over lineage edges read as (upstream, downstream) pairs
(`catalog.edges`), and whether anyone still uses what is found (`resource_activity`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from secoda_pipelines.catalog.reports.usage import viewed_rows

PATH_SEPARATOR = " > "
FAIL_ON = ("any", "active", "none")


@dataclass(frozen=True)
class Reached:
    """A resource downstream of `start`, `hops` edges away along `path` (ids, start first)."""

    start: str
    node: str
    hops: int
    path: tuple[str, ...]


def walk_downstream(
    starts: Sequence[str],
    neighbours: Callable[[list[str]], Mapping[str, Sequence[str]]],
    depth: int,
) -> list[Reached]:
    """Returns what is downstream of each start, breadth first, up to `depth` levels (0 = all).

    `neighbours(nodes)` is called once per level with the nodes not asked about before
    (the frontiers of every start together) and returns node → its direct downstream
    resources. Each resource is reported once per start, at its fewest hops, with the first
    path found to it; a start is never reported as downstream of itself, so cycles end.
    Order: by start, then level, then discovery.

    Raises:
        ValueError: depth is negative.
    """
    if depth < 0:
        raise ValueError(f"depth must be 0 (all levels) or more, got {depth}")
    starts = list(dict.fromkeys(starts))
    adjacency: dict[str, list[str]] = {}
    paths: dict[str, dict[str, tuple[str, ...]]] = {start: {start: (start,)} for start in starts}
    frontiers: dict[str, list[str]] = {start: [start] for start in starts}
    reached: dict[str, list[Reached]] = {start: [] for start in starts}
    level = 0
    while any(frontiers.values()) and (depth == 0 or level < depth):
        level += 1
        needed = [
            node
            for node in dict.fromkeys(n for f in frontiers.values() for n in f)
            if node not in adjacency
        ]
        if needed:
            found = neighbours(needed)
            for node in needed:
                adjacency[node] = list(found.get(node, ()))
        for start in starts:
            known = paths[start]
            fresh = []
            for node in frontiers[start]:
                for child in adjacency[node]:
                    if child in known:
                        continue
                    known[child] = (*known[node], child)
                    fresh.append(child)
                    reached[start].append(Reached(start, child, level, known[child]))
            frontiers[start] = fresh
    return [row for start in starts for row in reached[start]]


def format_path(path: Sequence[str], names: Mapping[str, str | None]) -> str:
    """Returns ``A > B > C`` with each id's name (the id itself when it has none)."""
    return PATH_SEPARATOR.join(names.get(node) or node for node in path)


@dataclass(frozen=True)
class Activity:
    """Whether a resource is in use: `active` (None when it has no usage to tell) and
    `last_viewed` (the latest snapshot day showing views; None without one)."""

    active: bool | None
    last_viewed: date | None


def resource_activity(
    current: Mapping[str, bool | None],
    history: pd.DataFrame | None,
    today: date,
    active_days: int,
) -> dict[str, Activity]:
    """Returns each resource of `current` → its Activity.

    `current` maps a resource id to whether its usage fields show views now
    (external_usage or internal_usage above 0), or None for a resource without usage
    fields (a column, an unknown id). `history` holds ``secoda/dashboard_usage`` rows (any
    days; None or empty when nothing is stored). A resource with snapshots is active when
    one of the last `active_days` UTC days (`today` included) shows views, and its
    last_viewed is the latest day that does (any age); a resource without a snapshot falls
    back to its current usage, with last_viewed None.

    Raises:
        ValueError: active_days is below 1.
        KeyError: `history` is not empty and lacks dashboard_id, snapshot_date,
            external_usage or internal_usage.
    """
    if active_days < 1:
        raise ValueError(f"active_days must be 1 or more, got {active_days}")
    first_day = pd.Timestamp(today) - pd.Timedelta(days=active_days - 1)
    snapshotted: set[str] = set()
    last_viewed: dict[str, pd.Timestamp] = {}
    if history is not None and not history.empty:
        rows = viewed_rows(history)
        rows = rows[rows["dashboard_id"].isin(list(current))]
        snapshotted = set(rows["dashboard_id"])
        viewed = rows[rows["viewed"]]
        last_viewed = viewed.groupby("dashboard_id")["snapshot_date"].max().to_dict()
    found = {}
    for resource, viewed_now in current.items():
        if resource in snapshotted:
            day = last_viewed.get(resource)
            seen = None if day is None else day.date()
            found[resource] = Activity(day is not None and day >= first_day, seen)
        else:
            found[resource] = Activity(viewed_now, None)
    return found


def counted(active: bool | None, fail_on: str) -> bool:
    """Returns whether a downstream resource with this `active` blocks under `fail_on`.

    Raises:
        ValueError: fail_on is not one of FAIL_ON.
    """
    if fail_on not in FAIL_ON:
        raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    return fail_on == "any" or (fail_on == "active" and active is True)
