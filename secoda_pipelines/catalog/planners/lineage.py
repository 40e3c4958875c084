"""Write-back planner of `create_manual_lineage`: which requested edges to create, which
exist already (in either direction or spelling) and which are bad.

Edges are read as (upstream, downstream) pairs (`catalog.edges`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from secoda_pipelines.catalog.edges import (
    DIRECTIONS,
    DOWNSTREAM,
    Pair,
    downstream_pair,
    existing_pairs,
    normalize_direction,
)
from secoda_pipelines.catalog.planners.actions import CREATE, EXISTS, INVALID

PLAN_COLUMNS = (
    "source",
    "from_entity",
    "to_entity",
    "direction",
    "from_id",
    "to_id",
    "action",
    "detail",
    "lineage_id",
)


@dataclass(frozen=True)
class EdgeInput:
    """One requested edge, as given; `source` says where (``edges[0]``)."""

    source: str
    from_entity: str
    to_entity: str
    direction: str = DOWNSTREAM


def plan_lineage(
    edges: Sequence[EdgeInput],
    resolved: Mapping[str, str],
    unresolved: Mapping[str, str],
    existing: Iterable[Mapping[str, Any]],
) -> tuple[pd.DataFrame, list[str]]:
    """Returns (the plan, one message per bad value) for the requested edges.

    `resolved` maps each end reference (id or ``database.schema.table``) to the entity id
    it names; `unresolved` maps the others to why; `existing` is the lineage objects listed
    around the ends. The plan has one row per edge with PLAN_COLUMNS: `action` is
    ``create``, ``exists`` (the pair is already there, in either direction or spelling;
    `lineage_id` names it) or ``invalid``. Bad: an unknown direction, an end that does not
    resolve, an edge from a resource to itself, the same pair twice in the input.
    Raises nothing.
    """
    present = existing_pairs(existing)
    pairs: list[Pair | None] = []
    for edge in edges:
        direction = normalize_direction(edge.direction)
        ends = resolved.get(edge.from_entity), resolved.get(edge.to_entity)
        ok = direction is not None and None not in ends
        pairs.append(downstream_pair(*ends, direction) if ok else None)  # type: ignore[arg-type]
    sources_by_pair: dict[Pair, list[str]] = defaultdict(list)
    for edge, pair in zip(edges, pairs, strict=True):
        if pair is not None:
            sources_by_pair[pair].append(edge.source)

    records = []
    errors = []
    for edge, pair in zip(edges, pairs, strict=True):
        direction = normalize_direction(edge.direction)
        from_id, to_id = resolved.get(edge.from_entity), resolved.get(edge.to_entity)
        problems = []
        if direction is None:
            problems.append(f"direction {edge.direction!r} is not one of {', '.join(DIRECTIONS)}")
        for end, reference in (("from_entity", edge.from_entity), ("to_entity", edge.to_entity)):
            if not reference.strip():
                problems.append(f"{end} is missing")
            elif reference in unresolved:
                problems.append(f"{end}: {unresolved[reference]}")
            elif reference not in resolved:
                problems.append(f"{end} {reference!r} was not looked up")
        if from_id is not None and from_id == to_id:
            problems.append(
                f"{edge.from_entity!r} → {edge.to_entity!r} is an edge from {from_id} to itself"
            )
        elif pair is not None and len(sources_by_pair[pair]) > 1:
            problems.append(
                f"the same edge is given {len(sources_by_pair[pair])} times "
                f"({', '.join(sources_by_pair[pair])})"
            )
        lineage_id = None
        if problems:
            action, detail = INVALID, "; ".join(problems)
            errors.extend(f"{edge.source}: {problem}" for problem in problems)
        elif pair in present:
            action, lineage_id = EXISTS, present[pair]
            detail = f"{pair[1]} is already downstream of {pair[0]} (edge {lineage_id})"
        else:
            action, detail = CREATE, f"{to_id} {direction} of {from_id}"
        records.append(
            {
                "source": edge.source,
                "from_entity": edge.from_entity,
                "to_entity": edge.to_entity,
                "direction": direction or edge.direction,
                "from_id": from_id,
                "to_id": to_id,
                "action": action,
                "detail": detail,
                "lineage_id": lineage_id,
            }
        )
    frame = pd.DataFrame(records, columns=list(PLAN_COLUMNS))
    return frame.astype("string"), errors


def edge_body(row: Mapping[str, Any]) -> dict[str, str]:
    """Returns the ``POST lineage/manual/`` body of a planned edge (the server mirrors it)."""
    return {
        "from_entity": str(row["from_id"]),
        "to_entity": str(row["to_id"]),
        "direction": str(row["direction"]),
    }
