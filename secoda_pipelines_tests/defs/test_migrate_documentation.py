"""migrate_documentation on the demo workspace, over HTTP, with a real Dagster instance."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines_tests.helpers import api_rows, job_resources, query

FIELDS = ("description", "definition", "tags", "pii")
DOC_FIELDS = (*FIELDS, "owners", "verified")


@pytest.fixture
def sandbox(make_sandbox):
    """The demo workspace without a write limit (pacing is tested in the client's tests)."""
    return make_sandbox(write_rate_limit=0)


def warehouses(sandbox):
    integrations = api_rows(sandbox, "integration/integrations/")
    legacy = next(i["id"] for i in integrations if i["name"] == "Snowflake (legacy)")
    new = next(i["id"] for i in integrations if i["name"] == "Snowflake")
    bi = next(i["id"] for i in integrations if i["type"] == "tableau")
    return legacy, new, bi


def run(sandbox, warehouse, instance, **config):
    legacy, new, _ = warehouses(sandbox)
    run_config = {"source_integration_id": legacy, "target_integration_id": new, **config}
    return migrate_documentation.execute_in_process(
        run_config=run_config,
        resources=job_resources(
            sandbox, warehouse, write_limit_per_minute=100_000, retry_backoff_seconds=0.01
        ),
        instance=instance,
        raise_on_error=False,
    )


def _blank(value):
    return value is None or value is False or value in ("None", "", [])


def expected_plan(sandbox, overwrite=False):
    """The plan worked out from the API rows with plain loops (not catalog.migration)."""
    legacy, new, _ = warehouses(sandbox)

    def key(row, kind):
        parts = (
            ("database", "schema", "title")
            if kind == "table"
            else ("table_database", "table_schema", "table_title", "title")
        )
        return tuple(str(row.get(p) or "").strip().lower() for p in parts)

    plan = {}
    for kind, path in (("table", "table/tables/"), ("column", "table/columns/")):
        source = api_rows(sandbox, path, integration_id=legacy)
        target = api_rows(sandbox, path, integration_id=new)
        source_keys = Counter(key(r, kind) for r in source)
        target_by_key = {}
        for row in target:
            target_by_key.setdefault(key(row, kind), []).append(row)
        for row in source:
            k = key(row, kind)
            candidates = target_by_key.get(k, [])
            if source_keys[k] > 1 or len(candidates) > 1:
                plan[row["id"]] = ("ambiguous", None, [], [])
                continue
            if not candidates:
                plan[row["id"]] = ("unmatched", None, [], [])
                continue
            other = candidates[0]
            written, kept = [], []
            for field in FIELDS:
                mine, theirs = row.get(field), other.get(field)
                if _blank(mine):
                    continue
                if field == "tags" and isinstance(theirs, list) and set(mine) == set(theirs):
                    continue
                if mine == theirs:
                    continue
                (written if _blank(theirs) or overwrite else kept).append(field)
            action = "update" if written else "kept" if kept else "unchanged"
            plan[row["id"]] = (action, other["id"], sorted(written), kept)
    return plan


def stored_docs(sandbox, integration_id):
    docs = {}
    for path in ("table/tables/", "table/columns/"):
        for row in api_rows(sandbox, path, integration_id=integration_id):
            docs[row["id"]] = {f: row.get(f) for f in DOC_FIELDS}
    return docs


def test_dry_run_reports_the_plan_and_writes_nothing(sandbox, warehouse, instance):
    expected = expected_plan(sandbox)
    result = run(sandbox, warehouse, instance)
    assert result.success
    assert sandbox.writes() == []
    report = query(warehouse, "SELECT * FROM reports.migration_plan")
    assert report["dry_run"].all() and set(report["run_id"]) == {result.run_id}
    got = {
        r.source_id: (
            r.action,
            r.target_id,
            sorted(json.loads(r.fields)),
            json.loads(r.kept_fields),
        )
        for r in report.itertuples()
    }
    assert {k: v[0] for k, v in got.items()} == {k: v[0] for k, v in expected.items()}
    assert got == expected
    counts = Counter(v[0] for v in expected.values())
    assert counts["update"] and counts["kept"] and counts["unchanged"]
    assert counts["ambiguous"] and counts["unmatched"]
    # Two bulk listings per side, never one lookup per resource.
    paths = {r.path for r in sandbox.requests}
    assert paths == {"integration/integrations/", "table/tables/", "table/columns/"}
    plan_event = next(
        e
        for e in result.all_events
        if e.event_type_value == "STEP_OUTPUT" and e.step_key == "documentation_migration_plan"
    )
    md = plan_event.event_specific_data.metadata
    assert md["writes_planned"].value == counts["update"]
    assert "writes a minute" in md["estimated_write_time"].value
    assert md["actions_by_kind"].value["table"]["update"] == sum(
        1 for k, v in expected.items() if v[0] == "update" and k in table_ids(sandbox)
    )


def table_ids(sandbox):
    return {r["id"] for r in api_rows(sandbox, "table/tables/")}


def test_apply_writes_exactly_the_planned_patches(sandbox, warehouse, instance):
    _, new, _ = warehouses(sandbox)
    expected = expected_plan(sandbox)
    before = stored_docs(sandbox, new)
    source = {
        **{r["id"]: r for r in api_rows(sandbox, "table/tables/")},
        **{r["id"]: r for r in api_rows(sandbox, "table/columns/")},
    }
    result = run(sandbox, warehouse, instance, dry_run=False)
    assert result.success
    writes = sandbox.writes()
    assert all(w.method == "PATCH" for w in writes)
    got = {(w.path, tuple(sorted(w.body))) for w in writes}
    tables = table_ids(sandbox)
    planned = {
        (f"table/{'tables' if source_id in tables else 'columns'}/{target}/", tuple(fields))
        for source_id, (action, target, fields, _) in expected.items()
        if action == "update"
    }
    assert got == planned and len(writes) == len(planned)
    after = stored_docs(sandbox, new)
    for source_id, (action, target, fields, kept) in expected.items():
        if action not in ("update", "kept"):
            continue
        for field in fields:
            assert after[target][field] == source[source_id][field]
        for field in kept:  # pre-filled target values were left alone
            assert after[target][field] == before[target][field]
    outcome = query(warehouse, "SELECT status, count(*) n FROM reports.migration_writes GROUP BY 1")
    assert outcome.set_index("status")["n"].to_dict() == {"written": len(planned)}
    progress = [
        record.user_message
        for record in instance.all_logs(result.run_id)
        if record.user_message.startswith("Migration: ")
    ]
    total = len(planned)
    assert [p.split(",")[0] for p in progress] == [
        f"Migration: {done} of {total} written" for done in [*range(50, total, 50), total]
    ]
    assert f"Migration: 50 of {total} written, {total - 50} remaining" in progress[0]
    assert all("to go" in p for p in progress)


def test_rerun_after_apply_writes_nothing(sandbox, warehouse, instance):
    assert run(sandbox, warehouse, instance, dry_run=False).success
    sandbox.clear_log()
    again = run(sandbox, warehouse, instance, dry_run=False)
    assert again.success
    assert sandbox.writes() == []
    report = query(
        warehouse, f"SELECT action FROM reports.migration_plan WHERE run_id = '{again.run_id}'"
    )
    assert "update" not in set(report["action"])
    runs = query(warehouse, "SELECT count(DISTINCT run_id) AS n FROM reports.migration_plan")
    assert runs.n[0] == 2, "reports are appended, never replaced"


def test_a_run_killed_after_k_writes_then_rerun_ends_in_the_same_state(
    make_sandbox, warehouse, instance, tmp_path
):
    reference = make_sandbox(write_rate_limit=0)
    assert run(reference, tmp_path / "reference.duckdb", instance, dry_run=False).success
    _, new, _ = warehouses(reference)
    final = stored_docs(reference, new)

    sandbox = make_sandbox(write_rate_limit=0)
    k = 40
    patches = []

    def revoke_key_at_write_k(record):  # a fatal fault: every later request is refused
        if record.method == "PATCH":
            patches.append(record)
            if len(patches) == k:
                sandbox.api_key = "revoked"

    sandbox.on_request = revoke_key_at_write_k
    crashed = run(sandbox, warehouse, instance, dry_run=False)
    sandbox.on_request = None
    sandbox.api_key = DEFAULT_API_KEY
    assert not crashed.success
    assert len(sandbox.writes()) == k - 1
    rerun = run(sandbox, warehouse, instance, dry_run=False)
    assert rerun.success
    targets = [w.path for w in sandbox.writes()]
    assert len(targets) == len(set(targets)), "no resource written twice"
    assert stored_docs(sandbox, new) == final


def test_twenty_percent_faults_end_in_the_fault_free_state(
    make_sandbox, warehouse, instance, tmp_path
):
    reference = make_sandbox(write_rate_limit=0)
    assert run(reference, tmp_path / "reference.duckdb", instance, dry_run=False).success
    _, new, _ = warehouses(reference)

    sandbox = make_sandbox(write_rate_limit=0, fault_rate=0.2, fault_methods=("GET", "PATCH"))
    result = run(sandbox, warehouse, instance, dry_run=False)
    assert result.success
    assert sum(1 for r in sandbox.requests if r.fault) > 20
    assert stored_docs(sandbox, new) == stored_docs(reference, new)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source_integration_id": "nope"}, "source_integration_id 'nope' is not an integration"),
        ({"target_integration_id": "gone"}, "target_integration_id 'gone' is not an integration"),
        ({"target_integration_id": "SOURCE"}, "a migration needs two integrations"),
        ({"target_integration_id": "BI"}, "has no tables in Secoda: run its sync"),
        ({"fields": ["description", "colour"]}, "unknown field(s) ['colour']"),
    ],
)
def test_bad_input_is_named_and_nothing_is_written(sandbox, warehouse, instance, change, message):
    legacy, _, bi = warehouses(sandbox)
    change = {
        k: {"SOURCE": legacy, "BI": bi}.get(v, v) if isinstance(v, str) else v
        for k, v in change.items()
    }
    result = run(sandbox, warehouse, instance, dry_run=False, **change)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error.to_string()
    assert message in failure
    for value in change.values():
        assert str(value if isinstance(value, str) else "colour") in failure
    assert sandbox.writes() == []
    assert all(r.method == "GET" for r in sandbox.requests)
