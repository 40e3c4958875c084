"""Materializing one integration's tables and columns into DuckDB and into PostgreSQL.

The bare listing of them runs too, as the baseline.

At `large` scale (50,000 tables and 500,000 columns in one warehouse) with 20 ms latency
per request, in the same script and in this order:

1. bare listing: `SecodaClient.list` of the integration's tables, then its columns;
2. DuckDB: `secoda/tables` and `secoda/columns` for that integration's partition, through
   Dagster (a temporary instance), with a `WarehouseResource(database=<temporary file>)`;
3. PostgreSQL: the same two assets with `WarehouseResource(warehouse_url=<url>)`, into
   schema `secoda` of a fresh, empty database (binary COPY, one transaction per output).

Each runs in a fresh child process, so its peak RSS is its own (for PostgreSQL, the
client's: the server's memory is not counted). Both materializations run after the
listing, so the sandbox's workspace file is equally warm for them; DuckDB goes first. Each
materialization's time includes counting the stored rows (a `count(*)` per table).

The PostgreSQL server: `--postgres-url`, else SECODA_BENCH_POSTGRES_URL, else
SECODA_TEST_POSTGRES_URL, else a throwaway cluster from the local PostgreSQL binaries
(`secoda_pipelines_tests.postgres.postgres_server`: loopback, fsync and
synchronous_commit off). Either way the run creates a fresh database on it (the URL's
user needs CREATEDB) and drops it afterwards. The server's version and durability
settings are printed.

Prints seconds, peak RSS and the RSS the child had when the run began (its imports: the
floor no frame can go under) for each, then `overhead=<DuckDB materialization / listing>`,
`postgres_overhead=<PostgreSQL materialization / listing>` and
`postgres_vs_duckdb=<PostgreSQL seconds / DuckDB seconds>`, and whether issue 12's targets
(each materialization at most 1.15x the listing and 400 MiB peak RSS) were met. Exits 0;
exits 1 when a run stored other counts than the listing found.

    python benchmarks/bench_refresh.py [--latency-ms 20] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
from _harness import REPO, rss_mib, run_in_child, running_sandbox
from psycopg import sql

from secoda_pipelines.defs.assets.catalog import catalog_assets, columns, tables
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.secoda import SecodaClient
from secoda_pipelines.store import WAREHOUSE_URL_VARIABLE, WarehouseIOManager, WarehouseResource
from secoda_pipelines.store.postgres.connection import masked

sys.path.insert(0, str(REPO))  # the tests' PostgreSQL helpers

from secoda_pipelines_tests.postgres import fresh_database, postgres_server

WAREHOUSE_TYPE = "snowflake"
POSTGRES_URL_VARIABLE = "SECODA_BENCH_POSTGRES_URL"
DATABASE_PREFIX = "secoda_bench_refresh"
STORED = ("tables", "columns")
# Issue 12's targets for each materialization.
MAX_OVERHEAD = 1.15
MAX_PEAK_RSS_MIB = 400


def bare_listing(base_url: str, api_key: str, integration_id: str) -> tuple[str, float]:
    """Lists the integration's tables and columns; returns the row counts and the RSS (MiB)
    at the start."""
    start_rss = rss_mib()
    with SecodaClient(api_key, base_url) as client:
        params = {"integration_id": integration_id}
        table_rows = client.list("table/tables/", params)
        column_rows = client.list("table/columns/", params)
        return f"tables={len(table_rows)} columns={len(column_rows)}", start_rss


def _materialize(
    base_url: str, api_key: str, integration_id: str, warehouse_io: WarehouseIOManager
) -> None:
    """Materializes both partitioned assets for the integration through `warehouse_io`.

    Raises:
        RuntimeError: the run did not succeed.
    """
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("secoda_integrations", [integration_id])
        result = dg.materialize(
            catalog_assets,
            selection=dg.AssetSelection.assets(tables, columns),
            partition_key=integration_id,
            instance=instance,
            resources={
                "secoda": SecodaResource(api_url=base_url, api_key=api_key),
                "warehouse_io": warehouse_io,
            },
        )
        if not result.success:
            raise RuntimeError(f"materializing partition {integration_id} failed")


def duckdb_materialization(base_url: str, api_key: str, integration_id: str) -> tuple[str, float]:
    """Materializes both assets into a temporary DuckDB file; returns the stored counts and
    the RSS (MiB) at the start."""
    start_rss = rss_mib()
    # An empty warehouse_url falls back to the environment: keep this run on DuckDB.
    os.environ.pop(WAREHOUSE_URL_VARIABLE, None)
    with tempfile.TemporaryDirectory() as folder:
        database = str(Path(folder) / "warehouse.duckdb")
        _materialize(
            base_url,
            api_key,
            integration_id,
            WarehouseIOManager(warehouse=WarehouseResource(database=database)),
        )
        with duckdb.connect(database, read_only=True) as connection:
            counts = [
                connection.execute(f"SELECT count(*) FROM secoda.{name}").fetchall()[0][0]
                for name in STORED
            ]
    return f"tables={counts[0]} columns={counts[1]}", start_rss


def postgres_materialization(
    base_url: str, api_key: str, integration_id: str, url: str
) -> tuple[str, float]:
    """Materializes both assets into the PostgreSQL database at `url`; returns the stored
    counts and the RSS (MiB) at the start."""
    start_rss = rss_mib()
    _materialize(
        base_url,
        api_key,
        integration_id,
        WarehouseIOManager(warehouse=WarehouseResource(warehouse_url=url)),
    )
    with psycopg.connect(url) as connection:
        counts = [
            connection.execute(
                sql.SQL("SELECT count(*) FROM secoda.{}").format(sql.Identifier(name))
            ).fetchone()[0]  # type: ignore[index]
            for name in STORED
        ]
    return f"tables={counts[0]} columns={counts[1]}", start_rss


@contextmanager
def postgres_database(server_url: str | None) -> Iterator[str]:
    """Yields the URL of a fresh database on `server_url`, or, when None, on the server
    `postgres_server` gives (SECODA_TEST_POSTGRES_URL, else a throwaway cluster); the
    database is dropped, and a throwaway cluster stopped, afterwards."""
    if server_url:
        with fresh_database(server_url, DATABASE_PREFIX) as url:
            yield url
        return
    with postgres_server() as started, fresh_database(started, DATABASE_PREFIX) as url:
        yield url


def describe_server(url: str) -> str:
    """Returns the server's version and durability settings, e.g.
    `15.14 fsync=off synchronous_commit=off`."""
    with psycopg.connect(url) as connection:
        values = [
            connection.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0]  # type: ignore[index]
            for name in ("server_version", "fsync", "synchronous_commit")
        ]
    return f"{values[0].split()[0]} fsync={values[1]} synchronous_commit={values[2]}"


def report_targets(seconds: dict[str, float], peaks: dict[str, float]) -> None:
    """Prints the ratios and, per materialization, whether issue 12's targets were met."""
    overheads = {name: seconds[name] / seconds["listing"] for name in ("duckdb", "postgres")}
    print(f"overhead={overheads['duckdb']:.2f}")
    print(f"postgres_overhead={overheads['postgres']:.2f}")
    print(f"postgres_vs_duckdb={seconds['postgres'] / seconds['duckdb']:.2f}")
    for name, overhead in overheads.items():
        met = overhead <= MAX_OVERHEAD and peaks[name] <= MAX_PEAK_RSS_MIB
        print(
            f"target {name}: overhead {overhead:.2f} (<= {MAX_OVERHEAD}), peak_rss_mib "
            f"{peaks[name]:.0f} (<= {MAX_PEAK_RSS_MIB}): {'met' if met else 'missed'}"
        )


def main() -> None:
    """Runs the listing and both materializations; prints their figures and ratios.

    Raises:
        SystemExit: (1) a materialization stored other counts than the listing found.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_URL_VARIABLE),
        help=f"PostgreSQL server to create the benchmark's database on [{POSTGRES_URL_VARIABLE};"
        " else a throwaway cluster]",
    )
    args = parser.parse_args()

    with (
        postgres_database(args.postgres_url) as postgres_url,
        running_sandbox("large", latency_ms=args.latency_ms) as (base_url, api_key),
    ):
        with SecodaClient(api_key, base_url) as client:
            integrations = client.list("integration/integrations/")
            sizes = {
                i["id"]: client.get("table/tables/", {"integration_id": i["id"]})["count"]
                for i in integrations
                if i["type"] == WAREHOUSE_TYPE
            }
        integration_id = max(sizes, key=sizes.get)
        print(f"sandbox: large scale, {args.latency_ms:g} ms latency; integration {integration_id}")
        print(f"postgres: {describe_server(postgres_url)}; database {masked(postgres_url)}")
        runs = (
            ("listing", bare_listing, ()),
            ("duckdb", duckdb_materialization, ()),
            ("postgres", postgres_materialization, (postgres_url,)),
        )
        seconds, counts, peaks = {}, {}, {}
        for name, fn, extra in runs:
            (counts[name], start_rss), seconds[name], peaks[name] = run_in_child(
                fn, base_url, api_key, integration_id, *extra
            )
            print(
                f"{name:12s} {counts[name]} seconds={seconds[name]:.2f} "
                f"peak_rss_mib={peaks[name]:.0f} start_rss_mib={start_rss:.0f}"
            )
    report_targets(seconds, peaks)
    if len(set(counts.values())) != 1:
        raise SystemExit(f"stored counts differ from the listing's: {counts}")


if __name__ == "__main__":
    main()
