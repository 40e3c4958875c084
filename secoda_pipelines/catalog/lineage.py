"""Manual lineage without HTTP: table names, edge normalisation, edge planning and the
downstream walk.

Direction. ``{"from_entity": A, "to_entity": B, "direction": "DOWNSTREAM"}`` means B is
downstream of A; ``UPSTREAM`` means B is upstream of A, i.e. A is downstream of B. Every
edge is reduced to its *pair* ``(upstream, downstream)``, so an edge and the mirror the
server stores beside it (B→A, UPSTREAM) are the same pair, whichever key spelling
(``from_entity`` or ``from_entity_id``) the server used. Lineage objects are rows as the
client returns them (the API's ``"None"`` already null); an empty id is no id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

DOWNSTREAM, UPSTREAM = "DOWNSTREAM", "UPSTREAM"
DIRECTIONS = (DOWNSTREAM, UPSTREAM)
CREATE, EXISTS, INVALID = "create", "exists", "invalid"
PATH_SEPARATOR = " > "
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

Pair = tuple[str, str]


# --- table names ---------------------------------------------------------------------------


def is_table_name(reference: str) -> bool:
    """Returns whether a reference is meant as ``database.schema.table`` (ids have no dots)."""
    return "." in reference


def split_table_name(reference: str) -> tuple[str, str, str] | None:
    """Returns (database, schema, table), lowercased, or None when not three non-empty parts.

    The table part keeps any further dots (``db.schema.a.b`` is table ``a.b``).
    """
    parts = [part.strip().lower() for part in reference.strip().split(".", 2)]
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True)
class TableMatch:
    """A table a name resolved to."""

    id: str
    integration_id: str | None
    name: str  # database.schema.title as stored
    title: str | None


def resolve_table_names(
    names: Iterable[str], tables: pd.DataFrame
) -> tuple[dict[str, TableMatch], dict[str, str]]:
    """Returns (name → its one table, name → why it does not resolve).

    `tables` is a ``tables_frame`` of every integration (columns id, integration_id,
    database, schema, title). Names match database, schema and title case-insensitively.
    No match, or more than one (in several integrations, or twice in one), is an error
    naming the candidates' ids. Raises nothing.
    """
    index: dict[tuple[str, str, str], list[TableMatch]] = defaultdict(list)
    for row in tables.itertuples(index=False):
        parts = (row.database, row.schema, row.title)
        if any(pd.isna(part) for part in parts) or pd.isna(row.id):
            continue
        key = tuple(str(part).strip().lower() for part in parts)
        index[key].append(  # type: ignore[index]
            TableMatch(
                id=str(row.id),
                integration_id=None if pd.isna(row.integration_id) else str(row.integration_id),
                name=".".join(str(part) for part in parts),
                title=str(row.title),
            )
        )
    resolved: dict[str, TableMatch] = {}
    errors: dict[str, str] = {}
    for name in names:
        key = split_table_name(name)
        if key is None:
            errors[name] = f"{name!r} is neither an id nor database.schema.table"
            continue
        found = index.get(key, [])
        if len(found) == 1:
            resolved[name] = found[0]
        elif not found:
            errors[name] = f"no table is named {name!r} in any integration"
        else:
            candidates = ", ".join(
                f"{m.id} ({m.name}, integration {m.integration_id})" for m in found
            )
            errors[name] = (
                f"{name!r} matches {len(found)} tables: {candidates}; give the id instead"
            )
    return resolved, errors


# --- edges ---------------------------------------------------------------------------------


def _id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def edge_ends(edge: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Returns (from, to) of a lineage object spelled ``from_entity`` or ``from_entity_id``."""
    ends = []
    for end in ("from_entity", "to_entity"):
        value = _id(edge.get(end))
        ends.append(value if value is not None else _id(edge.get(f"{end}_id")))
    return ends[0], ends[1]


def normalize_direction(direction: Any) -> str | None:
    """Returns DOWNSTREAM or UPSTREAM for any case (None or ``""`` → DOWNSTREAM), else None.

    Directions come from the client (``"None"`` already null) and from run config, where
    the text ``"None"`` is not a direction and so is refused like any other.
    """
    if direction is None or direction == "":
        return DOWNSTREAM
    text = str(direction).strip().upper()
    return text if text in DIRECTIONS else None


def downstream_pair(source: str, target: str, direction: str) -> Pair:
    """Returns (upstream, downstream) for an edge source→target with this direction."""
    return (source, target) if direction == DOWNSTREAM else (target, source)


def edge_pair(edge: Mapping[str, Any]) -> Pair | None:
    """Returns the (upstream, downstream) pair of a lineage object, or None if malformed."""
    source, target = edge_ends(edge)
    direction = normalize_direction(edge.get("direction"))
    if source is None or target is None or direction is None:
        return None
    return downstream_pair(source, target, direction)


def existing_pairs(edges: Iterable[Mapping[str, Any]]) -> dict[Pair, str | None]:
    """Returns each (upstream, downstream) pair present in `edges` → one of its edge ids.

    An edge and its mirror give one pair; the DOWNSTREAM spelling's id is preferred.
    """
    pairs: dict[Pair, str | None] = {}
    for edge in edges:
        pair = edge_pair(edge)
        if pair is None:
            continue
        is_downstream = normalize_direction(edge.get("direction")) == DOWNSTREAM
        if pair not in pairs or is_downstream:
            pairs[pair] = _id(edge.get("id"))
    return pairs


def downstream_links(
    edges: Iterable[Mapping[str, Any]], nodes: Iterable[str]
) -> dict[str, list[str]]:
    """Returns node → the resources directly downstream of it, for each of `nodes`.

    Every edge counts by its pair, so A→B DOWNSTREAM and B→A UPSTREAM both put B under A.
    Edges not touching `nodes` upstream are ignored (a server that ignored the listing's
    filter is harmless). Order: first seen; no repeats; no self-links.
    """
    wanted = set(nodes)
    links: dict[str, dict[str, None]] = {node: {} for node in wanted}
    for edge in edges:
        pair = edge_pair(edge)
        if pair is not None and pair[0] in wanted and pair[0] != pair[1]:
            links[pair[0]][pair[1]] = None
    return {node: list(children) for node, children in links.items()}


# --- planning new edges ----------------------------------------------------------------------


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


def create_body(row: Mapping[str, Any]) -> dict[str, str]:
    """Returns the ``POST lineage/manual/`` body of a planned edge (the server mirrors it)."""
    return {
        "from_entity": str(row["from_id"]),
        "to_entity": str(row["to_id"]),
        "direction": str(row["direction"]),
    }


# --- the downstream walk ---------------------------------------------------------------------


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
