"""JSON decoding of listing pages (issue 12): the client's decoder against orjson.

Starts the sandbox at `large` scale (built once into .sandbox/large.sqlite), fetches the
first `--pages` pages of `table/columns/` and of `table/tables/` as the bytes the server
sent, then decodes them all, `--rounds` times each, in this process with:

1. baseline: what the client does: the body as text, then
   `secoda_pipelines.secoda.paging.decode_json` (the standard library's `json.loads`, with
   an object hook turning `"None"` values into null when the body holds one);
2. candidate: orjson on the bytes, with the same `"None"` handling (checked equal to the
   baseline's result on every page).

Prints the CPU time per page of each, `decode_speedup=<x>`, and what the candidate would
save on the 550,000-row refresh of one integration (11,000 pages). Needs orjson (`pip
install -e ".[bench]"`); exits 0.

    python benchmarks/bench_decode.py [--pages 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import orjson
import requests
from _harness import running_sandbox

from secoda_pipelines.secoda.paging import NONE_STRING, decode_json

REFRESH_PAGES = 11_000  # 50,000 tables and 500,000 columns at 50 a page


def _nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: None if v == NONE_STRING else _nulls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nulls(item) for item in value]
    return value


def client_decode(body: bytes) -> Any:
    """Returns the page as the client decodes it (text first, as `response.text` gives)."""
    return decode_json(body.decode("utf-8"))


def orjson_decode(body: bytes) -> Any:
    """Returns the page decoded by orjson, "None" values as null (list items kept)."""
    parsed = orjson.loads(body)
    return _nulls(parsed) if b'"None"' in body else parsed


def fetch(base_url: str, api_key: str, pages: int) -> list[bytes]:
    """Returns the raw bodies of the first `pages` pages of the columns and tables lists."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    bodies = []
    for path in ("table/columns/", "table/tables/"):
        for page in range(1, pages + 1):
            response = session.get(base_url + path, params={"page": page}, timeout=60)
            response.raise_for_status()
            bodies.append(response.content)
    return bodies


def cpu_per_page(decode: Any, bodies: list[bytes], rounds: int) -> float:
    """Returns the CPU seconds `decode` takes per body, the best of `rounds` passes."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for body in bodies:
            decode(body)
        best = min(best, time.process_time() - started)
    return best / len(bodies)


def main() -> int:
    """Fetches the pages, times both decoders, prints the figures; returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="pages of each list")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with running_sandbox("large") as (base_url, api_key):
        bodies = fetch(base_url, api_key, args.pages)
    assert all(client_decode(b) == orjson_decode(b) for b in bodies), "the decoders disagree"
    with_none = sum(1 for b in bodies if b'"None"' in b)
    baseline = cpu_per_page(client_decode, bodies, args.rounds)
    candidate = cpu_per_page(orjson_decode, bodies, args.rounds)
    size = sum(len(b) for b in bodies) / len(bodies)
    print(f"{len(bodies)} pages, {size / 1024:.1f} KiB each on average, {with_none} with 'None'")
    print(f"baseline (the client: text + json.loads): {baseline * 1e6:.0f} us CPU a page")
    print(f"candidate (orjson on the bytes):          {candidate * 1e6:.0f} us CPU a page")
    saved = (baseline - candidate) * REFRESH_PAGES
    print(f"orjson would save on a {REFRESH_PAGES:,}-page refresh: {saved:.2f} s of CPU")
    print(f"decode_speedup={baseline / candidate:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
