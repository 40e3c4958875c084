"""Materializing one integration's tables and columns, beside the bare listing of them.

At `large` scale (50,000 tables and 500,000 columns in one warehouse) with 20 ms latency
per request, in the same script:

1. bare listing: `SecodaClient.list` of the integration's tables, then its columns;
2. materialization: `secoda/tables` and `secoda/columns` for that integration's partition,
   through Dagster (a temporary instance) into DuckDB.

Each runs in a fresh child process, so its peak RSS is its own. Prints seconds and peak
RSS for each, then `overhead=<materialization / listing>`. Exits 0.

    python benchmarks/bench_refresh.py [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import dagster as dg
import duckdb
from _harness import run_in_child, running_sandbox

from secoda_pipelines.defs.assets.catalog import catalog_assets, columns, tables
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.secoda import SecodaClient
from secoda_pipelines.store.duckdb_io import SecodaDuckDBIOManager

WAREHOUSE_TYPE = "snowflake"


def bare_listing(base_url: str, api_key: str, integration_id: str) -> str:
    """Lists the integration's tables and columns; returns the row counts."""
    with SecodaClient(api_key, base_url) as client:
        params = {"integration_id": integration_id}
        table_rows = client.list("table/tables/", params)
        column_rows = client.list("table/columns/", params)
        return f"tables={len(table_rows)} columns={len(column_rows)}"


def materialization(base_url: str, api_key: str, integration_id: str) -> str:
    """Materializes both partitioned assets for the integration; returns the stored counts."""
    with tempfile.TemporaryDirectory() as folder, dg.instance_for_test() as instance:
        database = str(Path(folder) / "warehouse.duckdb")
        instance.add_dynamic_partitions("secoda_integrations", [integration_id])
        result = dg.materialize(
            catalog_assets,
            selection=dg.AssetSelection.assets(tables, columns),
            partition_key=integration_id,
            instance=instance,
            resources={
                "secoda": SecodaResource(api_url=base_url, api_key=api_key),
                "duckdb_io": SecodaDuckDBIOManager(database=database),
            },
        )
        assert result.success
        with duckdb.connect(database, read_only=True) as connection:
            counts = [
                connection.execute(f"SELECT count(*) FROM secoda.{name}").fetchall()[0][0]
                for name in ("tables", "columns")
            ]
        return f"tables={counts[0]} columns={counts[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()

    with running_sandbox("large", latency_ms=args.latency_ms) as (base_url, api_key):
        with SecodaClient(api_key, base_url) as client:
            integrations = client.list("integration/integrations/")
            sizes = {
                i["id"]: client.get("table/tables/", {"integration_id": i["id"]})["count"]
                for i in integrations
                if i["type"] == WAREHOUSE_TYPE
            }
        integration_id = max(sizes, key=sizes.get)
        print(f"sandbox: large scale, {args.latency_ms:g} ms latency; integration {integration_id}")
        seconds = {}
        for name, fn in (("listing", bare_listing), ("materialize", materialization)):
            counts, seconds[name], rss = run_in_child(fn, base_url, api_key, integration_id)
            print(f"{name:12s} {counts} seconds={seconds[name]:.2f} peak_rss_mib={rss:.0f}")
    print(f"overhead={seconds['materialize'] / seconds['listing']:.2f}")


if __name__ == "__main__":
    main()
