"""Listing 50,000 tables: a plain sequential page loop against our client.

Starts the sandbox at `large` scale (built once into .sandbox/large.sqlite, reused after)
in its own process with 20 ms of latency per request, then lists `table/tables/` twice,
each run in a fresh child process so its peak RSS is its own:

1. baseline: a `requests.Session` asking for ?page=1, 2, ... until `next` is null, one
   page at a time, which is what every existing Secoda client does;
2. ours: `SecodaClient.list`, page 1 then the rest 8 in flight.

Prints pages, rows, seconds and peak RSS for each, then `speedup=<x>`. Exits 0.

    python benchmarks/bench_listing.py [--latency-ms 20] [--in-flight 8]
"""

from __future__ import annotations

import argparse
from typing import Any

import requests
from _harness import run_in_child, running_sandbox

from secoda_pipelines.secoda import SecodaClient

PATH = "table/tables/"


def baseline(base_url: str, api_key: str, _: int) -> tuple[int, int]:
    """Returns (pages, rows) listed one page at a time over a plain session."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        response = session.get(base_url + PATH, params={"page": page}, timeout=(10, 60))
        response.raise_for_status()
        body = response.json()
        rows.extend(body["results"])
        if not body["links"]["next"]:
            return page, len(rows)
        page += 1


def ours(base_url: str, api_key: str, in_flight: int) -> tuple[int, int]:
    """Returns (pages, rows) listed by SecodaClient, holding every row as the baseline does."""
    with SecodaClient(api_key, base_url, max_in_flight=in_flight) as client:
        pages = list(client.iter_pages(PATH))
        return len(pages), sum(len(page) for page in pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--in-flight", type=int, default=8)
    args = parser.parse_args()

    with running_sandbox("large", latency_ms=args.latency_ms) as (base_url, api_key):
        print(f"sandbox: large scale at {base_url}, {args.latency_ms:g} ms latency per request")
        results = {}
        for name, fn in (("baseline", baseline), ("ours", ours)):
            (pages, rows), seconds, rss = run_in_child(fn, base_url, api_key, args.in_flight)
            results[name] = seconds
            print(
                f"{name:9s} pages={pages} rows={rows} seconds={seconds:.2f} peak_rss_mib={rss:.0f}"
            )
    print(f"speedup={results['baseline'] / results['ours']:.2f}")


if __name__ == "__main__":
    main()
