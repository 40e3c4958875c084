"""The deployment on the PostgreSQL warehouse (SECODA_WAREHOUSE_URL): a backfill over eight
partitions and a catalog refresh, run at once by the code server, webserver and daemon as
separate processes, write every table to PostgreSQL while a reader queries it.

The module starts its own deployment (the session's one writes DuckDB) with the `secoda_api`
pool at 8, so the eight backfill runs can read the API at once, and a warehouse URL holding
a random password that no log may show. `concurrent_refresh` drives the runs once; each
test checks one side of what happened.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from dagster._serdes import serialize_value

from secoda_pipelines.defs.assets.catalog import catalog_assets, columns, tables
from secoda_pipelines.defs.assets.reports import adoption_monthly_report, report_assets
from secoda_pipelines.defs.assets.usage import dashboard_usage
from secoda_pipelines.sandbox import Sandbox
from secoda_pipelines.store.postgres.connection import scrubbed
from secoda_pipelines_tests.deployment.conftest import WRITE_LIMIT, instance_yaml
from secoda_pipelines_tests.deployment.harness import (
    PARTITIONED_ASSETS,
    PARTITIONS,
    Deployment,
    SeededIntegration,
    add_integration,
    lock_failures,
    run_partitions,
    running_deployment,
    start_sandbox,
    statuses,
    stored,
)
from secoda_pipelines_tests.deployment.processes import wait_until
from secoda_pipelines_tests.postgres import fresh_database, pg_rows, with_password

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(600)]

BACKFILL_PARTITIONS = 8
POOL_LIMIT = 16  # `secoda_api` slots: two steps per run, so all 8 backfill runs may go at once
MIN_READS = 50  # successful reads the reader must make while the runs go
READ_INTERVAL = 0.05  # seconds between two reads

# Per partition: (rows, distinct ids). A table not created yet is None.
Counts = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Seen:
    """One read of the warehouse, all from one snapshot (REPEATABLE READ)."""

    tables: Counts | None
    columns: Counts | None
    integrations: tuple[int, int] | None  # (rows, distinct ids) of secoda.integrations


def snapshot_connection(url: str) -> psycopg.Connection:
    """Returns a psycopg 3 connection whose transactions are REPEATABLE READ (each reads
    one snapshot).

    Raises:
        psycopg.Error: the server could not be reached.
    """
    connection = psycopg.connect(url)
    connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return connection


class WarehouseReader:
    """Reads the warehouse in a background thread, every READ_INTERVAL seconds until
    stopped, over its own psycopg 3 connection; keeps what each read saw and the text of
    every error (password scrubbed)."""

    def __init__(self, url: str) -> None:
        """Prepares the reader of the warehouse at url; nothing connects until start()."""
        self.url = url
        self.seen: list[Seen] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="warehouse-reader")

    def start(self) -> WarehouseReader:
        """Starts reading; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops reading and waits for the thread (at most 30 s)."""
        self._stop.set()
        self._thread.join(timeout=30)

    def read_once(self, connection: psycopg.Connection) -> Seen:
        """Returns what the warehouse holds now, read in one REPEATABLE READ transaction.

        Raises:
            psycopg.Error: a query failed.
        """
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT to_regclass('secoda.tables'), to_regclass('secoda.columns'), "
                "to_regclass('secoda.integrations')"
            )
            have_tables, have_columns, have_integrations = cursor.fetchone()  # type: ignore[misc]
            return Seen(
                self._per_partition(cursor, "tables") if have_tables else None,
                self._per_partition(cursor, "columns") if have_columns else None,
                self._rows_and_ids(cursor) if have_integrations else None,
            )

    @staticmethod
    def _per_partition(cursor: psycopg.Cursor, table: str) -> Counts:
        cursor.execute(
            f"SELECT integration_id, count(*), count(DISTINCT id) FROM secoda.{table} "
            "GROUP BY integration_id"
        )
        return {str(key): (int(rows), int(ids)) for key, rows, ids in cursor.fetchall()}

    @staticmethod
    def _rows_and_ids(cursor: psycopg.Cursor) -> tuple[int, int]:
        cursor.execute("SELECT count(*), count(DISTINCT id) FROM secoda.integrations")
        rows, ids = cursor.fetchone()  # type: ignore[misc]
        return int(rows), int(ids)

    def _loop(self) -> None:
        connection: psycopg.Connection | None = None
        while not self._stop.is_set():
            try:
                if connection is None or connection.closed:
                    connection = snapshot_connection(self.url)
                self.seen.append(self.read_once(connection))
            except psycopg.Error as error:
                self.errors.append(scrubbed(f"{type(error).__name__}: {error}", self.url))
                if connection is not None:
                    connection.close()
                connection = None
            self._stop.wait(READ_INTERVAL)
        if connection is not None:
            connection.close()


@dataclass
class PostgresDeployment:
    """The module's deployment, its sandbox and its warehouse."""

    deployment: Deployment
    sandbox: Sandbox
    warehouse_url: str = field(repr=False)  # holds the password
    password: str = field(repr=False)


@dataclass(frozen=True)
class ConcurrentRefresh:
    """What the backfill and the catalog refresh did, and what the reader saw meanwhile."""

    seeded: tuple[SeededIntegration, ...]
    integration_ids: frozenset[str]  # every integration the sandbox lists
    backfill: Any  # the PartitionBackfill, ended
    backfill_runs: tuple[Any, ...]  # RunRecords
    refresh_runs: tuple[Any, ...]
    seen: tuple[Seen, ...]  # every read, the last one made after all runs ended
    read_errors: tuple[str, ...]


@pytest.fixture(scope="module")
def pg_deployment(
    tmp_path_factory: pytest.TempPathFactory, postgres_server_url: str
) -> Iterator[PostgresDeployment]:
    """Returns a running deployment whose runs use a fresh PostgreSQL warehouse (its URL
    with a random password in SECODA_WAREHOUSE_URL), with its own sandbox and the
    `secoda_api` pool at POOL_LIMIT."""
    root = tmp_path_factory.mktemp("postgres-warehouse")
    key = secrets.token_urlsafe(18)
    password = "pw-" + secrets.token_hex(12)
    sandbox = start_sandbox(root / "sandbox", key, WRITE_LIMIT)
    try:
        with fresh_database(postgres_server_url, "secoda_wh") as database:
            url = with_password(database, password)
            with running_deployment(
                root / "deployment",
                postgres_server_url,
                sandbox,
                key,
                WRITE_LIMIT,
                instance_yaml(),
                pool_limit=POOL_LIMIT,
                extra_env={"SECODA_WAREHOUSE_URL": url},
                redact=(url, password),
            ) as deployment:
                yield PostgresDeployment(deployment, sandbox, url, password)
    finally:
        sandbox.stop()


@pytest.fixture(scope="module")
def concurrent_refresh(pg_deployment: PostgresDeployment) -> ConcurrentRefresh:
    """Returns what happened when a GraphQL backfill of secoda/tables and secoda/columns
    over BACKFILL_PARTITIONS new partitions and a secoda_catalog_refresh run were launched
    together, with the reader querying the warehouse from before the launch until after
    every run had ended.

    Raises:
        TimeoutError: the reader made no first read in 60 s, or the runs did not end in time.
    """
    deployment, sandbox = pg_deployment.deployment, pg_deployment.sandbox
    seeded = tuple(
        add_integration(sandbox, f"Postgres warehouse {i}", tables=3, columns_per_table=2)
        for i in range(BACKFILL_PARTITIONS)
    )
    for integration in seeded:
        deployment.add_dynamic_partition(PARTITIONS, integration.id)
    listed = frozenset(str(i["id"]) for i in stored(sandbox, "integration/integrations/"))

    reader = WarehouseReader(pg_deployment.warehouse_url).start()
    try:
        wait_until(lambda: reader.seen or reader.errors, 60, "the reader's first read")
        backfill_id = deployment.launch_asset_backfill(PARTITIONED_ASSETS, [s.id for s in seeded])
        # The daemon creates the backfill's runs at its next backfill iteration (up to ~30 s
        # later); a refresh launched at once would be over by then, so it waits for them.
        wait_until(
            lambda: deployment.runs(tags={"dagster/backfill": backfill_id}),
            120,
            "the backfill's first run",
            check=deployment.check,
        )
        refresh_id = deployment.launch_run("secoda_catalog_refresh")
        backfill = deployment.wait_for_backfill(backfill_id, timeout=300)
        refresh_runs = deployment.wait_for_runs(timeout=120, run_ids=[refresh_id])
    finally:
        reader.stop()
    # A last read once nothing writes: the state every earlier read must lead up to.
    with snapshot_connection(pg_deployment.warehouse_url) as connection:
        final = reader.read_once(connection)
    return ConcurrentRefresh(
        seeded=seeded,
        integration_ids=listed,
        backfill=backfill,
        backfill_runs=tuple(deployment.runs(tags={"dagster/backfill": backfill_id})),
        refresh_runs=tuple(refresh_runs),
        seen=(*reader.seen, final),
        read_errors=tuple(reader.errors),
    )


def test_the_backfill_and_the_refresh_succeed_covering_every_partition_once(
    pg_deployment: PostgresDeployment, concurrent_refresh: ConcurrentRefresh
) -> None:
    """The backfill completes, every run it launched and the refresh run succeed, its runs
    (several partitions each) cover every partition once, the refresh ran while backfill
    runs did, and no run failed or retried on a lock."""
    done = concurrent_refresh
    every_run = [*done.backfill_runs, *done.refresh_runs]
    assert done.backfill.status.value == "COMPLETED_SUCCESS", done.backfill.status
    deployment = pg_deployment.deployment
    failed = {
        run_id: deployment.failure_messages(run_id)
        for run_id, status in statuses(every_run).items()
        if status != "SUCCESS"
    }
    assert failed == {}, failed
    covered = sorted(p for r in done.backfill_runs for p in run_partitions(deployment, r))
    assert covered == sorted(s.id for s in done.seeded), "every partition, each once"
    assert {r.dagster_run.job_name for r in done.refresh_runs} == {"secoda_catalog_refresh"}
    [refresh] = done.refresh_runs
    beside = [
        r.dagster_run.run_id
        for r in done.backfill_runs
        if r.start_time < refresh.end_time and refresh.start_time < r.end_time
    ]
    assert beside, "the refresh run ran while no backfill run did"
    assert lock_failures(pg_deployment.deployment, statuses(every_run)) == {}


def test_every_partition_and_every_catalog_table_is_in_postgresql(
    pg_deployment: PostgresDeployment, concurrent_refresh: ConcurrentRefresh
) -> None:
    """Each partition of secoda.tables and secoda.columns holds exactly its integration's
    seeded ids, once each; the catalog refresh's tables exist in schemas secoda and
    reports, secoda.integrations holding every listed integration."""
    url, done = pg_deployment.warehouse_url, concurrent_refresh
    for table, wanted in (("tables", "table_ids"), ("columns", "column_ids")):
        stored_ids: dict[str, list[str]] = {}
        for partition, row_id in pg_rows(url, f"SELECT integration_id, id FROM secoda.{table}"):
            stored_ids.setdefault(partition, []).append(row_id)
        expected = {s.id: sorted(getattr(s, wanted)) for s in done.seeded}
        assert {p: sorted(ids) for p, ids in stored_ids.items()} == expected, table

    refresh_tables = {
        tuple(key.path)
        for asset in [*catalog_assets, dashboard_usage, *report_assets]
        for key in asset.keys
        if key not in (tables.key, columns.key, adoption_monthly_report.key)
    }
    present = set(
        pg_rows(
            url,
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('secoda', 'reports')",
        )
    )
    assert present == {*refresh_tables, ("secoda", "tables"), ("secoda", "columns")}
    integrations = [row_id for (row_id,) in pg_rows(url, "SELECT id FROM secoda.integrations")]
    assert sorted(integrations) == sorted(done.integration_ids)
    for schema, table in sorted(refresh_tables):
        if schema == "secoda":
            [(rows,)] = pg_rows(url, f'SELECT count(*) FROM "{schema}"."{table}"')
            assert rows > 0, f"{schema}.{table} is empty"


def test_the_reader_only_ever_saw_whole_partitions(concurrent_refresh: ConcurrentRefresh) -> None:
    """Reading all along, the reader never failed and never saw a partition (or
    secoda.integrations) partly written or with a row twice: each was absent, or held
    exactly its seeded rows. Its first read saw nothing, its last read everything, and
    reads in between saw states in between."""
    done = concurrent_refresh
    assert done.read_errors == (), done.read_errors[:5]
    assert len(done.seen) > MIN_READS, f"only {len(done.seen)} reads"

    whole = {
        "tables": {s.id: len(s.table_ids) for s in done.seeded},
        "columns": {s.id: len(s.column_ids) for s in done.seeded},
    }
    partial = []
    for number, seen in enumerate(done.seen):
        for name, counts in (("tables", seen.tables), ("columns", seen.columns)):
            for partition, (rows, ids) in (counts or {}).items():
                if partition not in whole[name] or rows != whole[name][partition] or ids != rows:
                    partial.append((number, name, partition, rows, ids))
        if seen.integrations not in (None, (0, 0), (len(done.integration_ids),) * 2):
            partial.append((number, "integrations", None, *seen.integrations))
    assert partial == [], f"{len(partial)} partial states seen, e.g. {partial[:5]}"

    first, last = done.seen[0], done.seen[-1]
    assert (first.tables, first.columns, first.integrations) == (None, None, None)
    assert last.tables == {p: (n, n) for p, n in whole["tables"].items()}
    assert last.columns == {p: (n, n) for p, n in whole["columns"].items()}
    states = {
        (
            frozenset(seen.tables or {}),
            frozenset(seen.columns or {}),
            seen.integrations is not None,
        )
        for seen in done.seen
    }
    assert len(states) > 2, "the reads all came before or after the writes"


def test_the_warehouse_password_is_in_no_event_and_no_log_file(
    pg_deployment: PostgresDeployment, concurrent_refresh: ConcurrentRefresh
) -> None:
    """No run's record or event (messages, metadata, errors: the whole serialized entry)
    and no file the processes wrote (their logs, the runs' compute logs, DAGSTER_HOME)
    holds the warehouse password."""
    deployment, password = pg_deployment.deployment, pg_deployment.password
    records = deployment.runs()
    assert len(records) >= len(concurrent_refresh.backfill_runs) + 1
    leaks = []
    for record in records:
        run_id = record.dagster_run.run_id
        if password in serialize_value(record.dagster_run):
            leaks.append(f"run {run_id}")
        entries = deployment.instance.all_logs(run_id)
        assert entries, f"run {run_id} has events"
        leaks += [
            f"run {run_id} event {entry.dagster_event_type or entry.user_message[:40]}"
            for entry in entries
            if password in serialize_value(entry)
        ]
    files = [p for p in deployment.root.rglob("*") if p.is_file()]
    assert any(p.parent == deployment.logs for p in files), "the processes wrote logs"
    leaks += [str(p) for p in files if password.encode() in p.read_bytes()]
    assert leaks == []


def test_nothing_went_to_the_duckdb_file(
    pg_deployment: PostgresDeployment, concurrent_refresh: ConcurrentRefresh
) -> None:
    """The DuckDB file SECODA_DUCKDB_PATH names was never created (nor its WAL)."""
    path = Path(pg_deployment.deployment.env["SECODA_DUCKDB_PATH"])
    assert concurrent_refresh.backfill_runs, "runs happened"
    assert sorted(p.name for p in path.parent.glob(f"{path.name}*")) == []
