"""Lineage read through the Secoda client, outside Dagster.

`lookups`: what both lineage jobs share: resolving a reference (an id, or
``database.schema.table``) to an entity, and listing the lineage edges around a set of ids.
`downstream`: the data-contract walk, what is downstream of some tables, used by the
`check_downstream_impact` job and by `secoda-pipelines check-downstream`.

The rules themselves (name matching, edge pairs, the breadth-first walk) are pure functions
in `secoda_pipelines.catalog` (`catalog.edges`, `catalog.reports.downstream`); this package
feeds them with what the API answers.
"""

from secoda_pipelines.lineage.downstream import (
    ROW_COLUMNS,
    DownstreamResult,
    DownstreamRow,
    LineageInputError,
    find_downstream,
)
from secoda_pipelines.lineage.lookups import (
    Entity,
    EntityLookup,
    edges_around,
    list_edges,
    resolve_references,
)

__all__ = [
    "ROW_COLUMNS",
    "DownstreamResult",
    "DownstreamRow",
    "Entity",
    "EntityLookup",
    "LineageInputError",
    "edges_around",
    "find_downstream",
    "list_edges",
    "resolve_references",
]
