"""Lineage read through the Secoda client, outside Dagster.

`lookups`: what both lineage jobs share: resolving a reference (an id, or
``database.schema.table``) to an entity, and listing the lineage edges around a set of ids.
`downstream`: the data-contract walk, what is downstream of some tables, used by the
`check_downstream_impact` job and by `secoda-pipelines check-downstream`, and whether what
it finds is in use (`with_activity`).
`contract`: the whole check behind `check-downstream` and the demo: the tables a dbt pull
request changes (`secoda_pipelines.dbt`), the walk, who uses what, and the verdict.

The rules themselves (name matching, edge pairs, the breadth-first walk) are pure functions
in `secoda_pipelines.catalog` (`catalog.edges`, `catalog.reports.downstream`); this package
feeds them with what the API answers.
"""

from secoda_pipelines.lineage.contract import CheckedTable, ContractCheck, check_contract
from secoda_pipelines.lineage.downstream import (
    ROW_COLUMNS,
    DownstreamResult,
    DownstreamRow,
    LineageInputError,
    find_downstream,
    with_activity,
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
    "CheckedTable",
    "ContractCheck",
    "DownstreamResult",
    "DownstreamRow",
    "Entity",
    "EntityLookup",
    "LineageInputError",
    "check_contract",
    "edges_around",
    "find_downstream",
    "list_edges",
    "resolve_references",
    "with_activity",
]
