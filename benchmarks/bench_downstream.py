"""Downstream walk at depth 0: lineage listed in batches against one request per resource.

Issue 23. Builds (once) `.sandbox/small-lineage.sqlite`: the `small` workspace plus a
layered lineage graph (see `lineage_graph`). The graph has 4,101 more tables, for 5,101 in
all, and 260 more dashboards, for 300. It has 10,000 or more DOWNSTREAM edges, each stored
with its UPSTREAM mirror. The sandbox runs in its own process, serving a copy of the file
held in memory, with 20 ms latency per request. Its request log counts the requests. Each
run is `check_contract(client, 50 staging tables by database.schema.table, depth=0)` in a
fresh child process:

1. per resource: `batch=1, listing_threshold=10**9`. That is two `lineage/manual/` listings
   per resource (`from_entity=`, `to_entity=`), then one GET per reached resource that the
   listing of every table (read anyway to resolve the 50 names) does not hold;
2. batched: the defaults. That is two listings per 50 ids of a level (`from_entity__in=`,
   `to_entity__in=`), then the reached resources' titles from that listing of every table
   and one listing of every dashboard.

Both runs must reach the same (table, resource, depth) rows, those a walk over the generated
edges finds here; the script exits 1 if not, or if the client's count of its responses
differs from the server's log. It
prints, for each run, the requests (lineage listings, detail GETs, other listings), the
seconds and the rows. The last line is `request_ratio=<x> seconds_ratio=<x>`.

    python benchmarks/bench_downstream.py [--latency-ms 20] [--changed 50]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from _harness import REPO, run_in_child

from secoda_pipelines.lineage.contract import check_contract
from secoda_pipelines.sandbox import COLLECTIONS, SCHEMA_VERSION, Sandbox, SandboxSettings, seed
from secoda_pipelines.sandbox.store import Store
from secoda_pipelines.secoda import SecodaClient

GRAPH_VERSION = "1"  # bump when the generated graph changes: the file is rebuilt
DB = REPO / ".sandbox" / "small-lineage.sqlite"
LINEAGE = "lineage/manual/"
PER_RESOURCE = {"batch": 1, "listing_threshold": 10**9}

# Subject areas: a model reads mostly models of its own area.
DOMAINS = (
    "orders",
    "customers",
    "payments",
    "billing",
    "marketing",
    "product",
    "sales",
    "support",
    "finance",
    "inventory",
    "shipping",
    "people",
)
LAYERS = ("raw", "stg", "int", "mart")
# Tables of each layer, the small scale's included (its schemas mapped by SMALL_LAYERS).
LAYER_SIZES = {"raw": 1_200, "stg": 1_200, "int": 1_400, "mart": 1_200}
DASHBOARDS_TOTAL = 300
SMALL_LAYERS = {
    "stripe": "raw",
    "salesforce": "raw",
    "hubspot": "raw",
    "events": "raw",
    "ledger": "raw",
    "staging": "stg",
    "core": "int",
    "marts": "mart",
    "reporting": "mart",
}  # "archive": no lineage
SAME_DOMAIN = 0.9  # share of a model's parents taken from its own subject area
DATABASE = "dwh"  # where the added tables live: schema <layer>_<domain>


@dataclass
class Graph:
    """The nodes by layer and the edges (upstream, downstream) in insertion order."""

    layer: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in LAYERS})
    domain: dict[str, int] = field(default_factory=dict)
    dashboards: list[str] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    cycles: list[str] = field(default_factory=list)


def _new_ids(rng: random.Random) -> Callable[[], str]:
    return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))


class _Picker:
    """Draws parents for a model: from given layers, mostly of its own subject area, and
    with a skew (a few models in each area, such as a customers dimension, feed many)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pools: dict[tuple[str, int], list[str]] = {}
        self.weights: dict[tuple[str, int], list[float]] = {}

    def add(self, kind: str, node: str, domain: int, skew: bool = True) -> None:
        pool = self.pools.setdefault((kind, domain), [])
        pool.append(node)
        # Zipf-like: the n-th model of an area is picked with weight 1 / (n + 3).
        weight = 1 / (len(pool) + 2) if skew else 1.0
        self.weights.setdefault((kind, domain), []).append(weight)

    def pick(self, kinds: tuple[tuple[str, float], ...], domain: int, count: int) -> list[str]:
        chosen: dict[str, None] = {}
        for _ in range(count * 4):
            if len(chosen) == count:
                break
            kind = self.rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
            area = domain if self.rng.random() < SAME_DOMAIN else self.rng.randrange(len(DOMAINS))
            pool = self.pools.get((kind, area))
            if pool:
                chosen[self.rng.choices(pool, self.weights[(kind, area)])[0]] = None
        return list(chosen)


def lineage_graph(
    small_tables: list[dict[str, Any]],
    small_dashboards: list[str],
    new_table: Callable[[str, int], str],
    new_dashboard: Callable[[int], str],
    changed: int,
) -> Graph:
    """Returns the benchmark's lineage graph over the small scale's tables and dashboards,
    adding tables (`new_table(layer, domain)` -> id) and dashboards up to the sizes above,
    and the `changed` staging tables a run checks.

    Layers, 90 % of a model's parents in its own subject area: raw (loaded sources, no
    parents) -> stg (one raw table each, as dbt's staging convention has it; 15 % union a
    second) -> int (1 to 4 of stg and earlier int) -> mart (2 to 5 of int, stg and earlier
    marts) -> dashboards (2 to 6 marts). Two cycles, both downstream of the changed tables:
    a mart synced back into the raw table a changed model reads (reverse ETL), and an int
    model that reads its own snapshot.
    """
    rng = random.Random(f"bench-downstream:{GRAPH_VERSION}:graph")
    graph = Graph()
    picker = _Picker(rng)
    for n, table in enumerate(small_tables):
        kind = SMALL_LAYERS.get(table["schema"])
        if kind is not None:
            graph.layer[kind].append(table["id"])
            graph.domain[table["id"]] = n % len(DOMAINS)
    for kind in LAYERS:
        while len(graph.layer[kind]) < LAYER_SIZES[kind]:
            domain = len(graph.layer[kind]) % len(DOMAINS)
            node = new_table(kind, domain)
            graph.layer[kind].append(node)
            graph.domain[node] = domain
    graph.dashboards = list(small_dashboards)
    while len(graph.dashboards) < DASHBOARDS_TOTAL:
        graph.dashboards.append(new_dashboard(len(graph.dashboards) % len(DOMAINS)))
    for i, node in enumerate(graph.dashboards):
        graph.domain[node] = i % len(DOMAINS)

    def link(node: str, parents: list[str]) -> None:
        graph.edges.extend((parent, node) for parent in parents)

    sources: dict[int, list[str]] = {}
    for node in graph.layer["raw"]:
        sources.setdefault(graph.domain[node], []).append(node)
        picker.add("raw", node, graph.domain[node], skew=False)
    for n, node in enumerate(graph.layer["stg"]):
        area = sources[graph.domain[node]]
        own = area[n // len(DOMAINS) % len(area)]
        extra = picker.pick((("raw", 1.0),), graph.domain[node], 1) if rng.random() < 0.15 else []
        link(node, list(dict.fromkeys([own, *extra])))
        picker.add("stg", node, graph.domain[node])
    for node in graph.layer["int"]:
        count = rng.choice((1, 2, 2, 3, 3, 4))
        link(node, picker.pick((("stg", 0.7), ("int", 0.3)), graph.domain[node], count))
        picker.add("int", node, graph.domain[node])
    for node in graph.layer["mart"]:
        count = rng.choice((2, 3, 3, 4, 5))
        kinds = (("int", 0.7), ("stg", 0.15), ("mart", 0.15))
        link(node, picker.pick(kinds, graph.domain[node], count))
        picker.add("mart", node, graph.domain[node])
    for node in graph.dashboards:
        link(node, picker.pick((("mart", 1.0),), graph.domain[node], rng.randint(2, 6)))

    children = _children(graph.edges)
    staging = [n for n in graph.layer["stg"] if children.get(n)]
    graph.changed = rng.sample(staging, changed)
    first, second = graph.changed[:2]
    raw = next(up for up, down in graph.edges if down == first)
    mart = next(m for m in _reach(first, children) if m in set(graph.layer["mart"]))
    graph.edges.append((mart, raw))  # reverse ETL: raw -> first -> ... -> mart -> raw
    graph.cycles.append(f"{raw} > {first} > ... > {mart} > {raw}")
    model = next(m for m in _reach(second, children) if m in set(graph.layer["int"]))
    snapshot = new_table("snapshot", graph.domain[model])
    graph.edges += [(model, snapshot), (snapshot, model)]
    graph.cycles.append(f"{model} > {snapshot} > {model}")
    return graph


def _children(edges: list[tuple[str, str]]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for up, down in edges:
        children.setdefault(up, []).append(down)
    return children


def _reach(start: str, children: dict[str, list[str]]) -> list[str]:
    """Returns what is downstream of start, breadth first, start excluded."""
    seen, order, frontier = {start}, [], [start]
    while frontier:
        fresh = []
        for node in frontier:
            for child in children.get(node, ()):
                if child not in seen:
                    seen.add(child)
                    fresh.append(child)
        order += fresh
        frontier = fresh
    return order


# ---- the workspace ---------------------------------------------------------------------


@dataclass
class Workspace:
    """The sections to store, the graph, and the changed tables' database.schema.table."""

    sections: list[tuple[str, list[dict[str, Any]]]]
    graph: Graph
    changed: list[str]
    seeded_edges: list[tuple[str, str]]  # the small scale's own lineage, as pairs


def workspace(changed: int) -> Workspace:
    """Returns the small workspace with the benchmark's tables, dashboards and lineage."""
    sections = [(path, list(objects)) for path, objects in seed.workspace("small")]
    of = {path: objects for path, objects in sections}
    integrations = {i["type"]: i["id"] for i in of[seed.INTEGRATIONS]}
    rng = random.Random(f"bench-downstream:{GRAPH_VERSION}:objects")
    new_id = _new_ids(rng)
    created = seed.at(300, 10)
    tables: list[dict[str, Any]] = []
    dashboards: list[dict[str, Any]] = []
    schemas: dict[str, str] = {}
    per_schema: Counter[str] = Counter()

    def new_table(layer: str, domain: int) -> str:
        schema = f"{layer}_{DOMAINS[domain]}"
        parent = schemas.setdefault(schema, new_id())
        title = f"{schema}_{per_schema[schema]:04d}"
        per_schema[schema] += 1
        tables.append(
            {
                "id": new_id(),
                "title": title,
                "entity_type": "table",
                "integration": integrations["snowflake"],
                "parent": parent,
                "database": DATABASE,
                "schema": schema,
                "description": None,
                "definition": None,
                "tags": [],
                "pii": False,
                "owners": [],
                "verified": False,
                "created_at": created,
                "updated_at": created,
            }
        )
        return tables[-1]["id"]

    def new_dashboard(domain: int) -> str:
        title = f"{DOMAINS[domain].capitalize()} report {len(dashboards) + 1:03d}"
        views = rng.choice((0, 0, 3, 12, 40, 250))
        dashboards.append(
            {
                "id": new_id(),
                "title": title,
                "entity_type": "dashboard",
                "integration": integrations["tableau"],
                "parent": None,
                "url": f"https://tableau.example.com/#/views/report-{len(dashboards) + 1:03d}",
                "description": "",
                "definition": None,
                "owners": [],
                "tags": [],
                "pii": False,
                "verified": False,
                "external_usage": views,
                "external_users": [],
                "internal_usage": views // 4,
                "internal_users": [],
                "external_updated_at": seed.at(rng.randint(1, 90), 6),
                "created_at": created,
                "updated_at": created,
            }
        )
        return dashboards[-1]["id"]

    small_dashboards = [d["id"] for d in of[seed.DASHBOARDS]]
    graph = lineage_graph(of[seed.TABLES], small_dashboards, new_table, new_dashboard, changed)
    edges: list[dict[str, Any]] = []
    for i, (up, down) in enumerate(graph.edges):
        edges += seed.edge_objects(up, down, new_id, seed.at(200 - i / 100, 15))
    sections += [(seed.TABLES, tables), (seed.DASHBOARDS, dashboards), (LINEAGE, edges)]
    names = {t["id"]: f"{t['database']}.{t['schema']}.{t['title']}" for t in of[seed.TABLES]}
    names.update({t["id"]: f"{t['database']}.{t['schema']}.{t['title']}" for t in tables})
    seeded = [
        (e["from_entity"], e["to_entity"])
        for e in of[seed.LINEAGE]
        if e["direction"] == "DOWNSTREAM"
    ]
    return Workspace(sections, graph, [names[t] for t in graph.changed], seeded)


def build(space: Workspace) -> float:
    """Writes the workspace to DB unless it holds this version; returns the seconds taken."""
    started = time.perf_counter()
    store = Store(DB)
    wanted = {
        "scale": "small",
        "seed_version": seed.SEED_VERSION,
        "schema_version": SCHEMA_VERSION,
        "bench_downstream": f"{GRAPH_VERSION}:{len(space.graph.changed)}",
    }
    if store.meta() != wanted:
        store.rebuild(wanted, space.sections)
    store.close()
    return time.perf_counter() - started


def expected_rows(space: Workspace) -> set[tuple[str, str, int]]:
    """Returns (changed table, resource, fewest hops) for everything downstream of each
    changed table, walked here over the generated edges: what both runs must find."""
    children = _children([*space.graph.edges, *space.seeded_edges])
    rows = set()
    for name, start in zip(space.changed, space.graph.changed, strict=True):
        seen, frontier, hops = {start}, [start], 0
        while frontier:
            hops += 1
            fresh = [c for n in frontier for c in children.get(n, ()) if c not in seen]
            fresh = list(dict.fromkeys(fresh))
            seen.update(fresh)
            rows.update((name, node, hops) for node in fresh)
            frontier = fresh
    return rows


def describe(space: Workspace) -> list[str]:
    """Returns lines describing the graph: size, degrees, cycles."""
    of = Counter()
    for path, objects in space.sections:
        of[path] += len(objects)
    pairs = set(space.graph.edges) | set(space.seeded_edges)
    out, into = Counter(up for up, _ in pairs), Counter(down for _, down in pairs)
    nodes = of[seed.TABLES] + of[seed.DASHBOARDS]
    touched = set(out) | set(into)
    degrees = sorted(out[n] for n in touched)
    return [
        f"graph: {of[seed.TABLES]:,} tables and {of[seed.DASHBOARDS]:,} dashboards "
        f"({len(touched):,} with lineage); {len(pairs):,} DOWNSTREAM edges "
        f"({len(space.seeded_edges)} of them the small scale's own), "
        f"{of[LINEAGE]:,} lineage objects stored with the UPSTREAM mirrors",
        f"  degree (in + out) {2 * len(pairs) / nodes:.2f} a node on average; out-degree "
        f"median {degrees[len(degrees) // 2]}, 90th percentile "
        f"{degrees[len(degrees) * 9 // 10]}, max {degrees[-1]}; in-degree max "
        f"{max(into.values())}",
        *(f"  cycle: {cycle}" for cycle in space.graph.cycles),
    ]


# ---- the sandbox, and the runs ---------------------------------------------------------

KINDS = ("lineage listings", "detail GETs", "other listings", "other requests")


def kind_of(method: str, path: str) -> str:
    """Returns which of KINDS a request is (path relative to /api/v1/)."""
    if method != "GET":
        return KINDS[3]
    if path == LINEAGE:
        return KINDS[0]
    return KINDS[2] if path in COLLECTIONS else KINDS[1]


def serve(db: str, latency_ms: float, conn: Connection) -> None:
    """Serves the workspace in this process until told "stop"; answers "clear" (forget the
    request log) and "requests" (the log's (method, path, status) since the last clear)."""
    settings = SandboxSettings(latency_ms=latency_ms)
    with Sandbox(db, scale="small", settings=settings, in_memory=True) as sandbox:
        conn.send((sandbox.base_url, settings.api_key))
        while (command := conn.recv()) != "stop":
            if command == "clear":
                sandbox.clear_log()
                conn.send(None)
            else:
                conn.send([(r.method, r.path, r.status) for r in sandbox.requests])


class SandboxProcess:
    """The sandbox in a process of its own (its own core and GIL, as a real server would
    be elsewhere), with its request log within reach."""

    def __init__(self, db: Path, latency_ms: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=serve, args=(str(db), latency_ms, theirs))

    def __enter__(self) -> SandboxProcess:
        self.process.start()
        try:
            self.base_url, self.api_key = self.conn.recv()
        except EOFError:
            self.process.join()
            raise RuntimeError(
                f"the sandbox exited before serving (exit {self.process.exitcode}; its "
                "traceback is above)"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.send("stop")
        self.process.join(timeout=30)

    def clear(self) -> None:
        """Forgets the requests received so far."""
        self.conn.send("clear")
        self.conn.recv()

    def requests(self) -> Counter[str]:
        """Returns the requests received since the last clear, counted by KINDS, with
        "failed" for those answered 400 or more, but a GET's 404 (a lookup trying the next
        collection)."""
        self.conn.send("requests")
        counts: Counter[str] = Counter()
        for method, path, status in self.conn.recv():
            counts[kind_of(method, path)] += 1
            counts["failed"] += status >= 400 and not (method == "GET" and status == 404)
        return counts


def walk(
    base_url: str, api_key: str, names: list[str], options: dict[str, int]
) -> tuple[list[tuple[str, str, int]], dict[tuple[str, str], str], Counter[str]]:
    """Returns (rows as (table, resource, depth), the (table, resource) → path of each,
    responses the client received by KINDS) of check_contract at depth 0."""
    counts: Counter[str] = Counter()
    prefix = urlsplit(base_url).path
    lock = threading.Lock()

    def count(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = urlsplit(response.request.url).path.removeprefix(prefix)
        with lock:
            counts[kind_of(response.request.method or "", path)] += 1

    with SecodaClient(api_key, base_url) as client:
        client.session.hooks["response"].append(count)
        check = check_contract(client, names, depth=0, **options)
    rows = [(row.table, row.resource_id, row.depth) for row in check.rows]
    paths = {(row.table, row.resource_id): row.path for row in check.rows}
    return rows, paths, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--changed", type=int, default=50, help="changed staging tables")
    args = parser.parse_args()

    space = workspace(args.changed)
    built = build(space)
    for line in describe(space):
        print(line)
    expected = expected_rows(space)
    asked = {node for _, node, _ in expected} | set(space.graph.changed)
    degree = Counter(node for pair in {*space.graph.edges, *space.seeded_edges} for node in pair)
    print(
        f"workspace ready in {built:.1f} s: {DB}; {len(space.changed)} changed staging tables "
        f"reach {len(asked - set(space.graph.changed)):,} resources at depth 0 "
        f"({len(expected):,} downstream rows); the {len(asked):,} resources the walk lists "
        f"edges of have degree {sum(degree[n] for n in asked) / len(asked):.2f} on average"
    )
    results = {}
    ok = True
    with SandboxProcess(DB, args.latency_ms) as sandbox:
        print(f"sandbox: at {sandbox.base_url}, {args.latency_ms:g} ms latency per request")
        for name, options in (("per-resource", PER_RESOURCE), ("batched", {})):
            sandbox.clear()
            (rows, paths, client_counts), seconds, rss = run_in_child(
                walk, sandbox.base_url, sandbox.api_key, space.changed, options
            )
            server = sandbox.requests()
            total = sum(server[k] for k in KINDS)
            results[name] = (total, seconds, set(rows), paths)
            split = " ".join(f"{k.replace(' ', '_')}={server[k]}" for k in KINDS[:3])
            print(
                f"{name:12s} requests={total} ({split}) seconds={seconds:.2f} "
                f"rows={len(rows)} peak_rss_mib={rss:.0f}"
            )
            if server["failed"] or server[KINDS[3]]:
                print(f"  FAILED: the server answered {server['failed']} with an error")
                ok = False
            if any(client_counts[k] != server[k] for k in KINDS):
                print(f"  MISMATCH: the client counted {dict(client_counts)}")
                ok = False
            if set(rows) != expected or len(rows) != len(expected):
                missing, extra = len(expected - set(rows)), len(set(rows) - expected)
                print(f"  WRONG ROWS: {missing} expected rows missing, {extra} unexpected")
                ok = False
    (base, base_s, base_rows, base_paths), (ours, ours_s, our_rows, our_paths) = (
        results["per-resource"],
        results["batched"],
    )
    if base_rows != our_rows:
        print("MISMATCH: the two runs reached different (table, resource, depth) rows")
        ok = False
    same = sum(base_paths[key] == our_paths.get(key) for key in base_paths)
    print(
        f"same (table, resource, depth) rows: {base_rows == our_rows}; same paths: {same} "
        f"of {len(base_paths)}"
    )
    print(f"request_ratio={base / ours:.2f} seconds_ratio={base_s / ours_s:.2f}")
    sys.stdout.flush()
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
