"""Documentation coverage at catalog scale: computing it in the warehouse against the
refresh that stored the rows, in DuckDB and in PostgreSQL.

At `large` scale (one Snowflake integration of 50,000 tables and 500,000 columns), with
20 ms latency per request, in this order, each in a fresh child process:

1. the refresh, DuckDB: `secoda/tables` and `secoda/columns` for that integration's
   partition, through Dagster (a temporary instance), into a temporary DuckDB file, as
   `bench_refresh.py` materializes them (timed: the denominator);
2. the refresh, PostgreSQL: the same into schema `secoda` of a fresh, empty database;
   after each refresh, in the same child but not timed, `secoda/integrations`,
   `secoda/users` and `secoda/teams` (a few dozen rows), which the coverage queries join
   for integration names, owners' emails and team names, as in a deployment;
3. with the sandbox stopped: `take_coverage(warehouse, today)` on DuckDB, then on
   PostgreSQL: both coverage queries (`reports/documentation_coverage` and
   `reports/documentation_coverage_by_owner`) run in the warehouse and come back as typed
   frames (timed: the numerator; peak RSS);
4. the same for `reports/undocumented_popular`'s query (`stored_catalog`,
   `undocumented_popular_sql`, `Warehouse.query`), on each backend (printed, not in the
   ratios).

The warehouse of steps 3 and 4 is `choose_warehouse(url or None, duckdb file)`. For
PostgreSQL, peak RSS is the client's: the server's memory is not counted. The PostgreSQL
server: `--postgres-url`, else SECODA_BENCH_POSTGRES_URL, else SECODA_TEST_POSTGRES_URL,
else a throwaway cluster from the local binaries (loopback, fsync and synchronous_commit
off); the run creates a fresh database on it and drops it afterwards.

Prints each run's figures, then whether issue 24's target (coverage at most 0.05x the
refresh, on each backend) was met; the last line is
`coverage_vs_refresh=<DuckDB coverage / DuckDB refresh>
postgres_coverage_vs_refresh=<PostgreSQL coverage / PostgreSQL refresh>
peak_rss_mib=<the larger of the two coverage children's peaks>` (one line). Exits 0;
exits 1 when DuckDB's and PostgreSQL's coverage frames differ, or when the coverage's
total `resources` is not the rows stored.

    python benchmarks/bench_coverage.py [--latency-ms 20] [--postgres-url URL] [--scale large]

(`--scale small`: 1,000 tables and 10,000 columns, to try the script quickly.)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import dagster as dg
import pandas as pd
from _harness import rss_mib, run_in_child, running_sandbox
from bench_refresh import (
    POSTGRES_URL_VARIABLE,
    STORED,
    WAREHOUSE_TYPE,
    _materialize,
    describe_server,
    postgres_database,
)

from secoda_pipelines.catalog.reports.documentation_coverage import (
    typed_undocumented,
    undocumented_popular_sql,
)
from secoda_pipelines.defs.assets.catalog import catalog_assets, integrations, teams, users
from secoda_pipelines.defs.assets.coverage import stored_catalog, take_coverage
from secoda_pipelines.defs.assets.usage import utc_today
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.secoda import SecodaClient
from secoda_pipelines.store import (
    WAREHOUSE_URL_VARIABLE,
    WarehouseIOManager,
    WarehouseResource,
    choose_warehouse,
)
from secoda_pipelines.store.postgres.connection import masked

MAX_RATIO = 0.05  # issue 24's target: coverage at most this share of the refresh
BACKENDS = ("duckdb", "postgres")


def _warehouse_io(url: str | None, duckdb_file: str) -> WarehouseIOManager:
    if url is None:
        # An empty warehouse_url falls back to the environment: keep this run on DuckDB.
        os.environ.pop(WAREHOUSE_URL_VARIABLE, None)
        return WarehouseIOManager(warehouse=WarehouseResource(database=duckdb_file))
    return WarehouseIOManager(warehouse=WarehouseResource(warehouse_url=url))


def _materialize_directory(base_url: str, api_key: str, warehouse_io: WarehouseIOManager) -> None:
    """Materializes `secoda/integrations`, `secoda/users` and `secoda/teams`.

    Raises:
        RuntimeError: the run did not succeed.
    """
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            catalog_assets,
            selection=dg.AssetSelection.assets(integrations, users, teams),
            instance=instance,
            resources={
                "secoda": SecodaResource(api_url=base_url, api_key=api_key),
                "warehouse_io": warehouse_io,
            },
        )
        if not result.success:
            raise RuntimeError("materializing integrations, users and teams failed")


def refresh(
    base_url: str, api_key: str, integration_id: str, url: str | None, duckdb_file: str
) -> tuple[dict[str, int], float, float, float]:
    """Materializes the partition's tables and columns into the warehouse (PostgreSQL at
    `url`, else the DuckDB file), then the directory assets.

    Returns the stored row count of each `secoda` table, the refresh's seconds (tables
    and columns only), the directory's seconds and the RSS (MiB) at the start.

    Raises:
        RuntimeError: a run did not succeed.
    """
    start_rss = rss_mib()
    start = time.perf_counter()
    _materialize(base_url, api_key, integration_id, _warehouse_io(url, duckdb_file))
    refresh_seconds = time.perf_counter() - start
    start = time.perf_counter()
    _materialize_directory(base_url, api_key, _warehouse_io(url, duckdb_file))
    directory_seconds = time.perf_counter() - start
    warehouse = choose_warehouse(url, duckdb_file)
    counts = {
        name: int(warehouse.query(f"SELECT count(*) AS n FROM secoda.{name}")["n"].iloc[0])
        for name in (*STORED, "integrations", "users", "teams")
    }
    return counts, refresh_seconds, directory_seconds, start_rss


def coverage(
    url: str | None, duckdb_file: str, day: str
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Returns the day's two coverage frames as `take_coverage` computes them in the
    warehouse, and the RSS (MiB) at the start."""
    start_rss = rss_mib()
    if url is None:
        os.environ.pop(WAREHOUSE_URL_VARIABLE, None)
    snapshot = take_coverage(choose_warehouse(url, duckdb_file), day)
    return snapshot.coverage, snapshot.by_owner, start_rss


def undocumented(url: str | None, duckdb_file: str) -> tuple[pd.DataFrame, float]:
    """Returns `reports/undocumented_popular`'s frame as its asset computes it, and the
    RSS (MiB) at the start."""
    start_rss = rss_mib()
    if url is None:
        os.environ.pop(WAREHOUSE_URL_VARIABLE, None)
    store = choose_warehouse(url, duckdb_file)
    stored = stored_catalog(store)
    return typed_undocumented(store.query(undocumented_popular_sql(store.kind, stored))), start_rss


def _largest_integration(base_url: str, api_key: str) -> str:
    """Returns the id of the Snowflake integration with the most tables."""
    with SecodaClient(api_key, base_url) as client:
        sizes = {
            i["id"]: client.get("table/tables/", {"integration_id": i["id"]})["count"]
            for i in client.list("integration/integrations/")
            if i["type"] == WAREHOUSE_TYPE
        }
    return max(sizes, key=sizes.get)


def _differences(frames: dict[str, tuple[pd.DataFrame, ...]], stored: dict) -> list[str]:
    """Returns what is wrong: the backends' frames differ, or a coverage's resources do not
    add up to the rows stored."""
    problems = []
    names = ("documentation_coverage", "documentation_coverage_by_owner", "undocumented_popular")
    for index, name in enumerate(names):
        try:
            pd.testing.assert_frame_equal(
                frames["duckdb"][index], frames["postgres"][index], check_exact=True
            )
        except AssertionError as error:
            problems.append(f"{name}: DuckDB's and PostgreSQL's frames differ:\n{error}")
    for backend in BACKENDS:
        resources = int(frames[backend][0]["resources"].sum())
        rows = stored[backend]["tables"] + stored[backend]["columns"]
        if resources != rows:
            problems.append(f"{backend}: coverage counts {resources} resources, {rows} rows stored")
    return problems


def main() -> None:
    """Runs both refreshes, then coverage on each backend; prints figures and ratios.

    Raises:
        SystemExit: (1) the backends' frames differ, or coverage's resources are not the
            rows stored.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--scale", choices=("small", "large"), default="large")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_URL_VARIABLE),
        help=f"PostgreSQL server to create the benchmark's database on [{POSTGRES_URL_VARIABLE};"
        " else a throwaway cluster]",
    )
    args = parser.parse_args()
    day = utc_today()

    with (
        postgres_database(args.postgres_url) as postgres_url,
        tempfile.TemporaryDirectory() as folder,
    ):
        duckdb_file = str(Path(folder) / "warehouse.duckdb")
        urls = {"duckdb": None, "postgres": postgres_url}
        refresh_seconds, stored = {}, {}
        with running_sandbox(args.scale, latency_ms=args.latency_ms) as (base_url, api_key):
            integration_id = _largest_integration(base_url, api_key)
            print(
                f"sandbox: {args.scale} scale, {args.latency_ms:g} ms latency; "
                f"integration {integration_id}"
            )
            print(f"postgres: {describe_server(postgres_url)}; database {masked(postgres_url)}")
            for backend in BACKENDS:
                (counts, seconds, directory, start_rss), _, peak = run_in_child(
                    refresh, base_url, api_key, integration_id, urls[backend], duckdb_file
                )
                refresh_seconds[backend], stored[backend] = seconds, counts
                print(
                    f"refresh {backend:9s} tables={counts['tables']} columns={counts['columns']} "
                    f"seconds={seconds:.2f} peak_rss_mib={peak:.0f} start_rss_mib={start_rss:.0f} "
                    f"(then integrations={counts['integrations']} users={counts['users']} "
                    f"teams={counts['teams']} in {directory:.2f} s, not timed)"
                )
        coverage_seconds, peaks, frames = {}, {}, {}
        for backend in BACKENDS:
            (table, by_owner, start_rss), seconds, peak = run_in_child(
                coverage, urls[backend], duckdb_file, day
            )
            coverage_seconds[backend], peaks[backend] = seconds, peak
            print(
                f"coverage {backend:8s} rows={len(table)} by_owner_rows={len(by_owner)} "
                f"resources={int(table['resources'].sum())} seconds={seconds:.2f} "
                f"peak_rss_mib={peak:.0f} start_rss_mib={start_rss:.0f}"
            )
            frames[backend] = (table, by_owner)
        for backend in BACKENDS:
            (work_list, start_rss), seconds, peak = run_in_child(
                undocumented, urls[backend], duckdb_file
            )
            frames[backend] += (work_list,)
            print(
                f"undocumented_popular {backend:8s} rows={len(work_list)} seconds={seconds:.2f} "
                f"peak_rss_mib={peak:.0f} start_rss_mib={start_rss:.0f}"
            )

    ratios = {b: coverage_seconds[b] / refresh_seconds[b] for b in BACKENDS}
    for backend, ratio in ratios.items():
        met = "met" if ratio <= MAX_RATIO else "missed"
        print(f"target {backend}: coverage_vs_refresh {ratio:.4f} (<= {MAX_RATIO}): {met}")
    problems = _differences(frames, stored)
    print(
        f"coverage_vs_refresh={ratios['duckdb']:.4f} "
        f"postgres_coverage_vs_refresh={ratios['postgres']:.4f} "
        f"peak_rss_mib={max(peaks.values()):.0f}"
    )
    if problems:
        raise SystemExit("\n".join(problems))


if __name__ == "__main__":
    main()
