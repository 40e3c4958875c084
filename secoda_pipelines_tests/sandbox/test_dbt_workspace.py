"""The demo workspace holds the tables of the demo dbt project (sandbox/dbt), as the real
`dbt parse` of manifests/production.json names them, with lineage along its ref graph."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from secoda_pipelines.dbt import read_manifest
from secoda_pipelines.lineage import resolve_references
from secoda_pipelines.sandbox import DEMO_DBT_MANIFESTS, Sandbox
from secoda_pipelines.secoda import SecodaClient
from secoda_pipelines_tests.helpers import api_rows

PRODUCTION = DEMO_DBT_MANIFESTS / "production.json"


def test_each_model_snapshot_and_seed_names_one_table_of_the_current_snowflake(
    sandbox: Sandbox, make_client: Callable[..., SecodaClient]
) -> None:
    manifest = read_manifest(PRODUCTION)
    relations = sorted(n.relation for n in manifest.nodes.values() if n.relation is not None)
    assert len(relations) == len(manifest.nodes) - 1 == 10  # all but the ephemeral model
    resolved, errors = resolve_references(make_client(sandbox), relations)
    assert errors == {}  # neither missing nor in two places
    assert sorted(resolved) == relations
    assert all(entity.kind == "table" and entity.name == r for r, entity in resolved.items())
    integrations = {i["id"]: i["name"] for i in api_rows(sandbox, "integration/integrations/")}
    tables = {t["id"]: t for t in api_rows(sandbox, "table/tables/")}
    placed = {integrations[tables[e.id]["integration"]] for e in resolved.values()}
    assert placed == {"Snowflake"}
    # A model the pull request would add has no table yet.
    _, missing = resolve_references(make_client(sandbox), ["analytics.shop_marts.new_model"])
    assert list(missing) == ["analytics.shop_marts.new_model"]


def ref_graph(manifest: dict[str, Any]) -> set[tuple[str, str]]:
    """Returns (parent relation, child relation) for each ref between nodes with a table,
    an ephemeral model's parents standing in for it (dbt compiles it into its children)."""
    nodes = manifest["nodes"]

    def relation(unique_id: str) -> str | None:
        node = nodes[unique_id]
        if node["config"]["materialized"] == "ephemeral":
            return None
        return f"{node['database']}.{node['schema']}.{node['alias']}"

    def parents(unique_id: str) -> set[str]:
        found: set[str] = set()
        for parent in manifest["parent_map"][unique_id]:
            found |= {relation(parent)} if relation(parent) else parents(parent)
        return found

    built = [u for u in nodes if u.split(".")[0] in ("model", "seed", "snapshot")]
    return {(p, child) for u in built if (child := relation(u)) for p in parents(u)}


def test_the_lineage_follows_the_ref_graph_then_reaches_dashboards(sandbox: Sandbox) -> None:
    manifest = json.loads(PRODUCTION.read_text())
    graph = ref_graph(manifest)
    assert ("analytics.shop_staging.stg_payments", "analytics.shop_marts.orders") in graph
    tables = api_rows(sandbox, "table/tables/")
    names = {t["id"]: f"{t['database']}.{t['schema']}.{t['title']}" for t in tables}
    dashboards = {d["id"]: d for d in api_rows(sandbox, "dashboard/dashboards/")}
    edges = [
        (e["from_entity"], e["to_entity"])
        for e in api_rows(sandbox, "lineage/manual/")
        if e["direction"] == "DOWNSTREAM"
    ]
    relations = {name for _, name in graph} | {name for name, _ in graph}
    between_models = {
        (names[a], names[b])
        for a, b in edges
        if names.get(a) in relations and names.get(b) in relations
    }
    assert between_models == graph

    def used(dashboard: dict[str, Any]) -> bool:
        counts = (dashboard["external_usage"], dashboard["internal_usage"])
        return any(isinstance(c, int) and c > 0 for c in counts)

    below: dict[str, set[tuple[str, bool] | str]] = {}
    for a, b in edges:
        if names.get(a) in relations and names.get(b) not in relations:
            reader = (dashboards[b]["title"], used(dashboards[b])) if b in dashboards else names[b]
            below.setdefault(names[a].split(".")[-1], set()).add(reader)
    assert below == {
        "orders": {("Daily Orders", True), ("Legacy Revenue (v1)", False)},
        "customers": {("Customer Health", True), ("Customer Segments", True)},
        "customer_lifetime_value": {
            ("Customer Segments", True),  # the diamond's second path
            ("Deprecated Churn Model", False),
            "analytics.reverse_etl.hubspot_customer_sync",
        },
        "orders_snapshot": {("Q3 2024 Planning", False)},
    }
