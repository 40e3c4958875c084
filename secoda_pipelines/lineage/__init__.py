"""Lineage read through the Secoda client, outside Dagster.

`lookups`: what both lineage jobs share: resolving a reference (an id, or
``database.schema.table``) to an entity, and listing the lineage edges around a set of ids.
`downstream`: the data-contract walk, what is downstream of some tables, used by the
`check_downstream_impact` job and by `secoda-pipelines check-downstream`.

The rules themselves (name matching, edge pairs, the breadth-first walk) are pure functions
in `secoda_pipelines.catalog.lineage`; this package feeds them with what the API answers.
"""
