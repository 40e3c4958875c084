"""Report rule: what is downstream of some resources (SPEC B's `reports/downstream_impact`),
walked breadth first over lineage edges read as (upstream, downstream) pairs
(`catalog.edges`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

PATH_SEPARATOR = " > "


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
