"""Lineage objects and the tables they join, as the rules read them: the (upstream,
downstream) pair of an edge, and ``database.schema.table`` names.

Direction. ``{"from_entity": A, "to_entity": B, "direction": "DOWNSTREAM"}`` means B is
downstream of A; ``UPSTREAM`` means B is upstream of A, i.e. A is downstream of B. Every
edge is reduced to its *pair* ``(upstream, downstream)``, so an edge and the mirror the
server stores beside it (B→A, UPSTREAM) are the same pair, whichever key spelling
(``from_entity`` or ``from_entity_id``) the server used. Lineage objects are rows as the
client returns them (the API's ``"None"`` already null); an empty id is no id.

Shared by the downstream report (`catalog.reports.downstream`) and the lineage planner
(`catalog.planners.lineage`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

DOWNSTREAM, UPSTREAM = "DOWNSTREAM", "UPSTREAM"
DIRECTIONS = (DOWNSTREAM, UPSTREAM)

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

    `tables` is a frame of TABLES_SCHEMA (`catalog.frames`) of every integration (columns
    id, integration_id, database, schema, title). Names match database, schema and title
    case-insensitively.
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
