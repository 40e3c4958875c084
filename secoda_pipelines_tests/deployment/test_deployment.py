"""The code location as a real deployment (issue 9, section 3): `dagster code-server start`,
`dagster-webserver` and `dagster-daemon run` as separate processes on deploy/dagster.yaml
over PostgreSQL, against the sandbox with 20 ms latency, driven only through the GraphQL
API and the instance.

The tests share one deployment (conftest.py) and run in this order: the sensor first (its
first tick requests a run per integration Secoda lists, so it goes before the backfill adds
eight more), the PostgreSQL rows last. Each waits until its runs have ended, so the DuckDB
file is read only while no run writes it.
"""

from __future__ import annotations

import itertools
import math
import secrets
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from secoda_pipelines.defs.assets.catalog import PARTITIONS_PER_RUN
from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.sandbox import Sandbox, SandboxSettings
from secoda_pipelines.sandbox.routes import collection_path
from secoda_pipelines_tests.catalog.planners.migration_oracle import empty
from secoda_pipelines_tests.deployment.conftest import (
    SENSOR,
    WRITE_LIMIT,
    SensorActivity,
    instance_yaml,
)
from secoda_pipelines_tests.deployment.harness import (
    PARTITIONED_ASSETS,
    PARTITIONS,
    Deployment,
    add_integration,
    lock_failures,
    over_limit_windows,
    run_partitions,
    running_deployment,
    start_sandbox,
    statuses,
    stored,
)
from secoda_pipelines_tests.helpers import independent_adoption, job_resources, query
from secoda_pipelines_tests.postgres import pg_rows

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(600)]

DOC_FIELDS = ("description", "definition", "tags", "pii", "owners", "verified")
WRITE_BACK_TAG = "secoda/writes"


def integration_named(sandbox: Sandbox, name: str) -> str:
    """Returns the id of the sandbox's integration called `name`."""
    return next(
        str(i["id"]) for i in stored(sandbox, "integration/integrations/") if i["name"] == name
    )


def stored_ids(warehouse: Path, table: str, integration_ids: Iterable[str]) -> dict[str, set[str]]:
    """Returns integration id → the ids stored in DuckDB `secoda.<table>` for it."""
    wanted = sorted(set(integration_ids))
    frame = query(
        warehouse,
        f"SELECT integration_id, id FROM secoda.{table} WHERE integration_id IN "
        f"({', '.join(repr(i) for i in wanted)})",
    )
    found: dict[str, set[str]] = {i: set() for i in wanted}
    for row in frame.itertuples():
        found[str(row.integration_id)].add(str(row.id))
    return found


def applied_writes(sandbox: Sandbox, since: int) -> list[Any]:
    """Returns the writes the sandbox applied (as Sandbox.writes() counts them) among the
    requests it received after the first `since`."""
    return [
        r
        for r in sandbox.requests[since:]
        if r.method != "GET" and 200 <= r.status < 300 and r.fault in (None, "truncated")
    ]


# ---- 2. the sensor ---------------------------------------------------------------------


def test_the_sensor_adds_the_partitions_and_launches_their_runs(
    deployment: Deployment, sensor_activity: SensorActivity, warehouse: Path
) -> None:
    """Turned on with GraphQL startSensor, the sensor's first daemon tick adds a partition
    per integration and launches one run per integration, which all succeed and store the
    new integrations' tables and columns."""
    activity = sensor_activity
    expected = set(activity.integration_ids)
    assert {s.id for s in activity.seeded} <= expected

    partitions = set(deployment.instance.get_dynamic_partitions(PARTITIONS))
    assert expected <= partitions, "every listed integration became a partition"
    added = {
        key
        for result in activity.tick["dynamicPartitionsRequestResults"]
        if result["partitionsDefName"] == PARTITIONS
        for key in result["partitionKeys"]
    }
    assert {s.id for s in activity.seeded} <= added, "the tick itself added the new ones"

    by_sensor = deployment.runs(tags={"dagster/sensor_name": SENSOR})
    assert {r.dagster_run.run_id for r in by_sensor} == set(activity.tick["runIds"])
    assert sorted(r.dagster_run.tags["dagster/partition"] for r in by_sensor) == sorted(expected)
    assert {r.dagster_run.job_name for r in by_sensor} == {"secoda_integration_refresh"}
    assert set(statuses(activity.runs).values()) == {"SUCCESS"}, statuses(activity.runs)

    for seeded in activity.seeded:
        assert stored_ids(warehouse, "tables", [seeded.id])[seeded.id] == set(seeded.table_ids)
        assert stored_ids(warehouse, "columns", [seeded.id])[seeded.id] == set(seeded.column_ids)


# ---- 1. a backfill beside the catalog refresh ------------------------------------------


def test_a_backfill_beside_the_catalog_refresh_succeeds_without_lock_failures(
    deployment: Deployment, deployment_sandbox: Sandbox, warehouse: Path
) -> None:
    """A GraphQL backfill over eight partitions, launched with a catalog refresh run: every
    run succeeds, none failed or retried a step on the DuckDB lock, every partition's rows
    are stored."""
    seeded = [add_integration(deployment_sandbox, f"Backfill warehouse {i}") for i in range(8)]
    for integration in seeded:
        deployment.add_dynamic_partition(PARTITIONS, integration.id)
    assert {s.id for s in seeded} <= set(deployment.instance.get_dynamic_partitions(PARTITIONS))

    backfill_id = deployment.launch_asset_backfill(PARTITIONED_ASSETS, [s.id for s in seeded])
    refresh_id = deployment.launch_run("secoda_catalog_refresh")

    backfill = deployment.wait_for_backfill(backfill_id, timeout=420)
    backfill_runs = deployment.runs(tags={"dagster/backfill": backfill_id})
    refresh = deployment.wait_for_runs(timeout=240, run_ids=[refresh_id])
    every_run = [*backfill_runs, *refresh]

    assert backfill.status.value == "COMPLETED_SUCCESS", backfill.status
    assert backfill_runs, "the backfill launched runs"
    assert set(statuses(every_run).values()) == {"SUCCESS"}, statuses(every_run)
    covered = [p for r in backfill_runs for p in run_partitions(deployment, r)]
    assert sorted(covered) == sorted(s.id for s in seeded), "every partition, each once"
    # The backfill policy: up to PARTITIONS_PER_RUN partitions a run, not one run each.
    assert len(backfill_runs) == math.ceil(len(seeded) / PARTITIONS_PER_RUN)
    assert lock_failures(deployment, statuses(every_run)) == {}

    tables = stored_ids(warehouse, "tables", [s.id for s in seeded])
    columns = stored_ids(warehouse, "columns", [s.id for s in seeded])
    for integration in seeded:
        assert tables[integration.id] == set(integration.table_ids), integration.name
        assert columns[integration.id] == set(integration.column_ids), integration.name
    listed = set(query(warehouse, "SELECT id FROM secoda.integrations")["id"])
    assert {s.id for s in seeded} <= listed, "the catalog refresh ran beside the backfill"


# ---- 1b. a monthly report backfilled from the UI ----------------------------------------

BACKFILLED_MONTHS = ("2025-08-01", "2025-09-01", "2025-10-01")


def test_three_months_of_adoption_backfilled_through_graphql_run_as_three_runs(
    deployment: Deployment, deployment_sandbox: Sandbox, warehouse: Path
) -> None:
    """The UI's backfill (GraphQL launchPartitionBackfill) over three months of
    reports/adoption_monthly launches one run per month; each stores its month's rows,
    the adoption rule applied to that month's replies, and its figures as numbers."""
    refresh_id = deployment.launch_run("secoda_catalog_refresh")
    [refresh] = deployment.wait_for_runs(timeout=240, run_ids=[refresh_id])
    assert refresh.dagster_run.status.value == "SUCCESS"

    backfill_id = deployment.launch_asset_backfill(["reports/adoption_monthly"], BACKFILLED_MONTHS)
    backfill = deployment.wait_for_backfill(backfill_id, timeout=300)
    runs = deployment.runs(tags={"dagster/backfill": backfill_id})
    assert backfill.status.value == "COMPLETED_SUCCESS", backfill.status
    assert sorted(r.dagster_run.tags["dagster/partition"] for r in runs) == list(BACKFILLED_MONTHS)
    assert set(statuses(runs).values()) == {"SUCCESS"}

    replies = stored(deployment_sandbox, "question/replies/")
    questions = stored(deployment_sandbox, "question/questions/")
    users = stored(deployment_sandbox, "user/")
    report = query(warehouse, "SELECT * FROM reports.adoption_monthly")
    key = dg.AssetKey(["reports", "adoption_monthly"])
    for month in BACKFILLED_MONTHS:
        in_month = [r for r in replies if r["created_at"][:7] == month[:7]]
        assert in_month, f"the demo workspace has replies in {month}"
        expected = independent_adoption(in_month, questions, users)
        rows = report[report["month"].dt.strftime("%Y-%m-%d") == month]
        got = {r.user_id: (r.email, r.replies, r.accepted_answers) for r in rows.itertuples()}
        assert got == {u: (e, n, a) for u, (e, n, a) in expected.items()}, month
        [event] = deployment.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[month]), limit=1
        ).records
        metadata = event.asset_materialization.metadata
        assert metadata["replies"].value == len(in_month)
        assert isinstance(metadata["acceptance_rate"], dg.FloatMetadataValue)


# ---- 3. one write-back run at a time ---------------------------------------------------


def test_two_write_back_runs_submitted_at_once_run_one_after_the_other(
    deployment: Deployment, deployment_sandbox: Sandbox
) -> None:
    """Two write-back jobs submitted together: the second starts only after the first has
    ended (the `secoda/writes` tag limit), both write everything, no 429, no 60-second
    window over the limit."""
    sandbox = deployment_sandbox
    lineage_home = add_integration(sandbox, "Lineage warehouse", tables=5, columns_per_table=0)
    ends = lineage_home.table_ids
    edges = [{"from_entity": a, "to_entity": b} for a, b in itertools.pairwise(ends)]
    emails = [f"deploy-{uuid.uuid4().hex[:8]}@example.com" for _ in range(4)]
    users = [{"email": e, "role": "viewer", "first_name": "Deploy"} for e in emails]
    mark = len(sandbox.requests)

    client = deployment.graphql_client()
    submitted = [
        client.submit_job_execution(
            "provision_users", run_config={"users": users, "dry_run": False}
        ),
        client.submit_job_execution(
            "create_manual_lineage", run_config={"edges": edges, "dry_run": False}
        ),
    ]
    records = deployment.wait_for_runs(timeout=240, expected=2, run_ids=submitted)

    assert {client.get_run_status(run_id).value for run_id in submitted} == {"SUCCESS"}
    assert all(WRITE_BACK_TAG in r.dagster_run.tags for r in records)
    first, second = sorted(records, key=lambda r: r.start_time)
    assert second.start_time >= first.end_time, (
        f"{second.dagster_run.job_name} started {first.end_time - second.start_time:.1f} s "
        f"before {first.dagster_run.job_name} ended"
    )

    requests = sandbox.requests[mark:]
    writes = [r for r in requests if r.method != "GET"]
    assert [r.status for r in requests if r.status == 429] == []
    assert over_limit_windows([w.started_at for w in writes], WRITE_LIMIT) == []
    created_users = {u["email"] for u in stored(sandbox, "user/")}
    assert set(emails) <= created_users
    edges_stored = {
        (
            e.get("from_entity") or e.get("from_entity_id"),
            e.get("to_entity") or e.get("to_entity_id"),
        )
        for e in stored(sandbox, "lineage/manual/")
    }
    assert {(e["from_entity"], e["to_entity"]) for e in edges} <= edges_stored
    assert len(writes) == len(emails) + len(edges), "one write per user and per edge"


TIGHT_LIMIT = 10  # writes a minute: each run below writes less, both together more


def test_back_to_back_write_back_runs_stay_within_one_write_budget(
    postgres_server_url: str, tmp_path: Path
) -> None:
    """Two write-back runs back to back, each writing under the limit and both together
    over it: no 429 and no 60-second window over the limit, so the write budget spans
    runs (each run's client starting a fresh window would send 12 writes in one minute)."""
    key = secrets.token_urlsafe(18)
    sandbox = start_sandbox(tmp_path / "sandbox", key, TIGHT_LIMIT)
    try:
        ends = add_integration(sandbox, "Lineage warehouse", tables=7, columns_per_table=0)
        edges = [{"from_entity": a, "to_entity": b} for a, b in itertools.pairwise(ends.table_ids)]
        users = [
            {"email": f"budget-{uuid.uuid4().hex[:8]}@example.com", "role": "viewer"}
            for _ in range(6)
        ]
        with running_deployment(
            tmp_path / "deployment", postgres_server_url, sandbox, key, TIGHT_LIMIT, instance_yaml()
        ) as deployment:
            submitted = [
                deployment.launch_run("provision_users", {"users": users, "dry_run": False}),
                deployment.launch_run("create_manual_lineage", {"edges": edges, "dry_run": False}),
            ]
            records = deployment.wait_for_runs(timeout=300, expected=2, run_ids=submitted)
        assert set(statuses(records).values()) == {"SUCCESS"}
        first, second = sorted(records, key=lambda r: r.start_time)
        assert second.start_time >= first.end_time
        writes = [r for r in sandbox.requests if r.method != "GET"]
        assert [r.status for r in writes if r.status == 429] == []
        assert over_limit_windows([w.started_at for w in writes], TIGHT_LIMIT) == []
    finally:
        sandbox.stop()


# ---- 4. re-execution from failure ------------------------------------------------------


def target_docs(sandbox: Sandbox, integration_id: str) -> dict[str, dict[str, Any]]:
    """Returns resource id → its documentation fields, for the integration's tables and
    columns in the sandbox's store."""
    docs = {}
    for path in ("table/tables/", "table/columns/"):
        for row in stored(sandbox, path):
            if row.get("integration") == integration_id:
                docs[row["id"]] = {f: row.get(f) for f in DOC_FIELDS}
    return docs


def edit_in_secoda(sandbox: Sandbox, path: str, resource_id: str, field: str, value: Any) -> None:
    """Changes one field of a stored resource directly, as a person editing in Secoda."""
    store = sandbox.open_store()
    obj = store.get_object(collection_path(path), resource_id)
    assert obj is not None, resource_id
    obj[field] = value
    with store.transaction():
        store.update(collection_path(path), obj)


def test_a_failed_migration_re_executed_from_failure_ends_as_a_clean_run_and_keeps_edits(
    deployment: Deployment,
    deployment_sandbox: Sandbox,
    sandbox_key: str,
    tmp_path: Path,
) -> None:
    """A migration that fails after 39 PATCHes (key revoked), re-executed from failure
    through GraphQL after a person edited one written and one pending value: it succeeds,
    ends as a clean run except the two edits, which are kept, and PATCHes nothing twice."""
    sandbox = deployment_sandbox
    source = integration_named(sandbox, "Snowflake (legacy)")
    target = integration_named(sandbox, "Snowflake")
    config = {"source_integration_id": source, "target_integration_id": target, "dry_run": False}

    # The clean run: a second sandbox from the same seed, migrated in one go.
    no_limit = SandboxSettings(write_rate_limit=0)
    with Sandbox(tmp_path / "reference.sqlite", scale="demo", settings=no_limit) as reference:
        assert integration_named(reference, "Snowflake") == target, "the same seed"
        clean = migrate_documentation.execute_in_process(
            run_config=config,
            resources=job_resources(
                reference, tmp_path / "reference.duckdb", write_limit_per_minute=100_000
            ),
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
        assert clean.success
        final = target_docs(reference, target)
    before = target_docs(sandbox, target)
    assert set(before) == set(final)

    k = 40
    patches: list[Any] = []

    def revoke_key_at_patch_k(record: Any) -> None:  # a fatal fault mid-way through writes
        if record.method == "PATCH":
            patches.append(record)
            if len(patches) == k:
                sandbox.settings.api_key = "revoked"

    mark = len(sandbox.requests)
    sandbox.settings.on_request = revoke_key_at_patch_k
    try:
        failed_id = deployment.launch_run("migrate_documentation", config)
        [failed] = deployment.wait_for_runs(timeout=240, run_ids=[failed_id])
    finally:
        sandbox.settings.on_request = None
        sandbox.settings.api_key = sandbox_key
    assert failed.dagster_run.status.value == "FAILURE"
    first_writes = [w for w in applied_writes(sandbox, mark) if w.method == "PATCH"]
    assert len(first_writes) == k - 1, "the run stopped at the revoked key"

    # A person edits Secoda between the two runs: one value the failed run wrote, and one
    # the migration has still to fill.
    written = next(w for w in first_writes if "description" in w.body)
    written_path, written_id = written.path.rsplit("/", 2)[0] + "/", written.path.split("/")[-2]
    edit_in_secoda(sandbox, written_path, written_id, "description", "Edited after the failure")
    now = target_docs(sandbox, target)
    pending_id, pending_field = next(
        (resource, field)
        for resource, fields in final.items()
        for field in ("description", "definition")
        if resource != written_id
        and now[resource] != final[resource]
        and empty(now[resource][field])
        and not empty(fields[field])
    )
    pending_path = (
        "table/tables/"
        if pending_id in {r["id"] for r in stored(sandbox, "table/tables/")}
        else "table/columns/"
    )
    edit_in_secoda(sandbox, pending_path, pending_id, pending_field, "Typed before the retry")

    retry_id = deployment.reexecute_from_failure(failed_id)
    [retry] = deployment.wait_for_runs(timeout=240, run_ids=[retry_id])
    assert retry.dagster_run.status.value == "SUCCESS", deployment.failure_messages(retry_id)
    assert retry.dagster_run.parent_run_id == failed_id

    expected = {resource: dict(fields) for resource, fields in final.items()}
    expected[written_id]["description"] = "Edited after the failure"
    expected[pending_id][pending_field] = "Typed before the retry"
    got = target_docs(sandbox, target)
    differing = sorted(r for r in expected if got[r] != expected[r])
    assert differing == [], {r: (got[r], expected[r]) for r in differing[:5]}

    patched = [w.path for w in applied_writes(sandbox, mark) if w.method == "PATCH"]
    twice = sorted({p for p in patched if patched.count(p) > 1})
    assert twice == [], "no resource is PATCHed successfully twice"


# ---- 5. the instance's records in PostgreSQL -------------------------------------------


def test_runs_event_logs_and_sensor_ticks_are_rows_in_postgresql(
    deployment: Deployment, sensor_activity: SensorActivity
) -> None:
    """The session's runs, their events and the sensor's tick are rows of the PostgreSQL
    tables runs, event_logs and job_ticks."""
    url = deployment.postgres_url
    known = statuses(deployment.runs())
    assert known, "the session launched runs"
    in_postgres = dict(pg_rows(url, "SELECT run_id, status FROM runs"))
    assert in_postgres == known

    ended = dict(
        pg_rows(
            url,
            "SELECT run_id, max(dagster_event_type) FROM event_logs WHERE dagster_event_type "
            "IN ('PIPELINE_SUCCESS', 'PIPELINE_FAILURE') GROUP BY run_id",
        )
    )
    assert set(ended) == set(known), "every run's end is an event_logs row"
    assert all(
        ended[run_id] == ("PIPELINE_SUCCESS" if status == "SUCCESS" else "PIPELINE_FAILURE")
        for run_id, status in known.items()
    )
    counts = dict(pg_rows(url, "SELECT run_id, count(*) FROM event_logs GROUP BY run_id"))
    assert all(counts[run_id] > 5 for run_id in known)

    ticks = {
        str(tick_id): (status, body)
        for tick_id, status, body in pg_rows(
            url, "SELECT id, status, tick_body FROM job_ticks WHERE type = 'SENSOR'"
        )
    }
    tick = sensor_activity.tick
    assert str(tick["tickId"]) in ticks
    status, body = ticks[str(tick["tickId"])]
    assert status == "SUCCESS"
    assert all(run_id in body for run_id in tick["runIds"]), "the tick names its runs"
