"""A backfill of `secoda/tables` + `secoda/columns` through the daemon of a real deployment
(issue 9): PostgreSQL instance, `dagster code-server start`, `dagster-webserver` and
`dagster-daemon run` as separate processes on deploy/dagster.yaml, the sandbox with 20 ms
latency per request.

N integrations (default 16), each a partition of `secoda_integrations` with 50 tables of 10
columns, backfilled with GraphQL `launchPartitionBackfill`, with 1, 4 and 8 runs at once:
`max_concurrent_runs` and the `dagster/backfill` tag limit of a copy of deploy/dagster.yaml
are both set to that number, and the `secoda_api` pool limit (deploy/init_instance.sh) to
twice it, since each run's two steps take a pool slot each and the queue holds back a run
whose steps would wait for one (with the deployed limit of 4, two integration runs run at
once whatever the run limits say; `--pool-limit 4` shows it). Each setting gets a fresh
sandbox, database and deployment.

Per setting it prints the wall time (from the launch to the last run's end, as the
instance records it), when the daemon created the first run, the CPU seconds the code
server's processes (the runs) used meanwhile, the runs, how many failed (must be 0) and how
many step retries they took, the partitions whose rows are all in DuckDB, and the peak
memory of the busiest run: the largest sum of the resident sets of the run's process and
its step processes, sampled from /proc every 100 ms. Exits 0 when every run succeeded and
every row was stored, else 1.

PostgreSQL: SECODA_TEST_POSTGRES_URL when set, else a temporary cluster from the
PostgreSQL binaries on this machine (as the deployment tests do).

    python benchmarks/bench_backfill.py [--integrations 16] [--latency-ms 20]
        [--concurrency 1 4 8] [--tables 50] [--columns 10]

With `--compare-policy` (issue 12) it measures instead, on the deployed limits, the same
partitions launched as one `secoda_integration_refresh` run each (what a backfill did
before the assets' backfill policy) against a GraphQL backfill under the policy (up to 10
partitions a run), and prints `policy_speedup=<baseline wall time / policy wall time>`:

    python benchmarks/bench_backfill.py --compare-policy --integrations 24 --tables 200
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
from dagster import DagsterEventType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' harness

from secoda_pipelines_tests.deployment.harness import (
    add_integration,
    dagster_yaml,
    running_deployment,
    set_run_limits,
    start_sandbox,
)
from secoda_pipelines_tests.deployment.processes import RunMemoryProbe, session_cpu_seconds
from secoda_pipelines_tests.postgres import postgres_server

ASSETS = ("secoda/tables", "secoda/columns")
STEP_RETRY = DagsterEventType.STEP_UP_FOR_RETRY
PARTITIONS = "secoda_integrations"
WRITE_LIMIT = 600  # irrelevant to a backfill (it only reads); kept as in the tests
DEPLOYED_RUNS_AT_ONCE = 8  # deploy/dagster.yaml: the `dagster/backfill` tag limit
DEPLOYED_POOL_LIMIT = 4  # deploy/init_instance.sh: SECODA_API_POOL_LIMIT's default


@dataclass(frozen=True)
class Figures:
    """What one backfill measured."""

    at_once: int
    pool_limit: int
    seconds: float
    first_run_after: float
    cpu_seconds: float
    runs: int
    failed: int
    step_retries: int
    partitions_stored: int
    busiest_run_mib: float
    busiest_run_processes: int
    largest_process_mib: float


HEADERS = (
    "runs at once",
    "pool limit",
    "wall time",
    "first run created",
    "runs' CPU",
    "runs",
    "failed",
    "step retries",
    "partitions stored",
    "busiest run peak",
    "its processes",
    "largest process",
)


def row(f: Figures, integrations: int) -> str:
    """Returns the markdown table row of one setting's figures."""
    cells = (
        f.at_once,
        f.pool_limit,
        f"{f.seconds:.1f} s",
        f"{f.first_run_after:.1f} s",
        f"{f.cpu_seconds:.0f} s",
        f.runs,
        f.failed,
        f.step_retries,
        f"{f.partitions_stored}/{integrations}",
        f"{f.busiest_run_mib:.0f} MiB",
        f.busiest_run_processes,
        f"{f.largest_process_mib:.0f} MiB",
    )
    return "| " + " | ".join(str(c) for c in cells) + " |"


def stored_partitions(warehouse: Path, expected: dict[str, tuple[int, int]]) -> int:
    """Returns how many integrations have exactly their (tables, columns) row counts in the
    DuckDB file (opened read-only, after every run has ended)."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        counts = {}
        for table in ("tables", "columns"):
            for integration, n in connection.execute(
                f"SELECT integration_id, count(*) FROM secoda.{table} GROUP BY 1"
            ).fetchall():
                counts.setdefault(str(integration), [0, 0])[table == "columns"] = n
    return sum(1 for i, want in expected.items() if tuple(counts.get(i, (0, 0))) == want)


def _launch(deployment, seeded, one_run_per_partition: bool) -> list[str] | str:
    """Launches the refresh of every seeded partition: a GraphQL backfill (the assets'
    backfill policy groups partitions into runs), or, as a baseline, one
    `secoda_integration_refresh` run per partition (what a backfill did before the policy);
    returns the backfill id, or the run ids."""
    if not one_run_per_partition:
        return deployment.launch_asset_backfill(ASSETS, [s.id for s in seeded])
    return [
        deployment.launch_run("secoda_integration_refresh", tags={"dagster/partition": s.id})
        for s in seeded
    ]


def backfill_once(
    server_url: str,
    root: Path,
    at_once: int,
    integrations: int,
    tables: int,
    columns: int,
    latency_ms: float,
    pool_limit: int,
    one_run_per_partition: bool = False,
) -> Figures:
    """Returns the figures of one backfill on a fresh sandbox, database and deployment whose
    instance runs at most `at_once` runs (and backfill runs) at a time, with `pool_limit`
    steps of pool `secoda_api` at once (with `one_run_per_partition`, the baseline: a run
    launched per partition instead of the backfill).

    Raises:
        DeploymentError, TimeoutError: the deployment did not start, or the backfill did not
            end within 30 minutes.
    """
    key = secrets.token_urlsafe(18)
    sandbox = start_sandbox(root / "sandbox", key, WRITE_LIMIT, latency_ms=latency_ms)
    try:
        seeded = [
            add_integration(sandbox, f"Benchmark warehouse {i}", tables, columns)
            for i in range(integrations)
        ]
        text = dagster_yaml(set_run_limits(at_once, {"dagster/backfill": at_once}))
        with running_deployment(
            root / "deployment", server_url, sandbox, key, WRITE_LIMIT, text, pool_limit
        ) as deployment:
            deployment.instance.add_dynamic_partitions(PARTITIONS, [s.id for s in seeded])
            probe = RunMemoryProbe(deployment.code_server_pid).start()
            cpu_before = session_cpu_seconds(deployment.code_server_pid)
            launched = time.time()
            launch = _launch(deployment, seeded, one_run_per_partition)
            if isinstance(launch, str):
                deployment.wait_for_backfill(launch, timeout=1800)
                runs = deployment.runs(tags={"dagster/backfill": launch})
            else:
                runs = deployment.wait_for_runs(timeout=1800, run_ids=launch)
            memory = probe.stop()
            cpu = session_cpu_seconds(deployment.code_server_pid) - cpu_before
            retries = sum(
                len(deployment.instance.all_logs(r.dagster_run.run_id, of_type=STEP_RETRY))
                for r in runs
            )
            for record in runs:
                if record.dagster_run.status.value != "SUCCESS":
                    messages = deployment.failure_messages(record.dagster_run.run_id)
                    print(f"run {record.dagster_run.run_id} failed: {messages[:2]}", flush=True)
            warehouse = Path(deployment.env["SECODA_DUCKDB_PATH"])
            expected = {s.id: (len(s.table_ids), len(s.column_ids)) for s in seeded}
            stored = stored_partitions(warehouse, expected)
    finally:
        sandbox.stop()
    ended = max(r.end_time for r in runs if r.end_time is not None)
    return Figures(
        at_once=at_once,
        pool_limit=pool_limit,
        seconds=ended - launched,
        first_run_after=min(r.create_timestamp.timestamp() for r in runs) - launched,
        cpu_seconds=cpu,
        runs=len(runs),
        failed=sum(1 for r in runs if r.dagster_run.status.value != "SUCCESS"),
        step_retries=retries,
        partitions_stored=stored,
        busiest_run_mib=memory[0].peak_kib / 1024 if memory else float("nan"),
        busiest_run_processes=memory[0].processes if memory else 0,
        largest_process_mib=max(m.largest_process_kib for m in memory) / 1024
        if memory
        else float("nan"),
    )


def compare_policy(args: argparse.Namespace) -> int:
    """Runs the baseline (one run per partition) and the backfill (the assets' backfill
    policy) on the deployed limits, prints both rows and `policy_speedup=<x>`; returns the
    exit code."""
    at_once, pool_limit = DEPLOYED_RUNS_AT_ONCE, args.pool_limit or DEPLOYED_POOL_LIMIT
    rows = {}
    with postgres_server() as server_url, tempfile.TemporaryDirectory() as tmp:
        for label, per_partition in (("one run per partition", True), ("backfill policy", False)):
            rows[label] = backfill_once(
                server_url,
                Path(tmp) / label.replace(" ", "-"),
                at_once,
                args.integrations,
                args.tables,
                args.columns,
                args.latency_ms,
                pool_limit,
                one_run_per_partition=per_partition,
            )
            print(f"{label}: {row(rows[label], args.integrations)}", flush=True)
    print()
    print(
        f"{args.integrations} integrations x {args.tables} tables x {args.columns} columns, "
        f"{args.latency_ms:g} ms latency, deployed limits ({at_once} backfill runs, pool "
        f"{pool_limit})"
    )
    print("| launched as | " + " | ".join(HEADERS) + " |")
    print("|" + "---|" * (len(HEADERS) + 1))
    for label, figures in rows.items():
        print(f"| {label} " + row(figures, args.integrations))
    baseline, policy = rows["one run per partition"], rows["backfill policy"]
    print(f"policy_speedup={baseline.seconds / policy.seconds:.2f}")
    ok = all(f.failed == 0 and f.partitions_stored == args.integrations for f in rows.values())
    return 0 if ok else 1


def main() -> int:
    """Runs the backfill at each concurrency (or, with --compare-policy, the baseline and
    the backfill policy), prints the figures; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--integrations", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--tables", type=int, default=50, help="tables per integration")
    parser.add_argument("--columns", type=int, default=10, help="columns per table")
    parser.add_argument(
        "--pool-limit",
        type=int,
        default=None,
        help="the secoda_api pool limit (default: 2 x runs at once, one slot per step)",
    )
    parser.add_argument(
        "--compare-policy",
        action="store_true",
        help="one run per partition against the backfill policy, on the deployed limits",
    )
    args = parser.parse_args()
    if args.compare_policy:
        return compare_policy(args)

    results = []
    with postgres_server() as server_url, tempfile.TemporaryDirectory() as tmp:
        for at_once in args.concurrency:
            figures = backfill_once(
                server_url,
                Path(tmp) / f"at-once-{at_once}",
                at_once,
                args.integrations,
                args.tables,
                args.columns,
                args.latency_ms,
                args.pool_limit or 2 * at_once,
            )
            results.append(figures)
            print(row(figures, args.integrations), flush=True)

    print()
    print(
        f"{args.integrations} integrations x {args.tables} tables x {args.columns} columns, "
        f"{args.latency_ms:g} ms latency"
    )
    print("| " + " | ".join(HEADERS) + " |")
    print("|" + "---|" * len(HEADERS))
    for figures in results:
        print(row(figures, args.integrations))
    ok = all(f.failed == 0 and f.partitions_stored == args.integrations for f in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
