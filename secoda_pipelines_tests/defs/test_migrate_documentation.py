"""migrate_documentation on the demo workspace, over HTTP, with a real Dagster instance."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import requests

from secoda_pipelines.catalog.planners import MIGRATABLE_FIELDS
from secoda_pipelines.defs.column_types import HUMAN_TYPES
from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines.store import report_table
from secoda_pipelines_tests.catalog.planners.migration_oracle import empty
from secoda_pipelines_tests.helpers import (
    api_rows,
    failure_message,
    job_resources,
    output_metadata,
    query,
    report_rows,
)
from secoda_pipelines_tests.sandbox.helpers import insert_object

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


def expected_plan(sandbox, overwrite=False, fields=FIELDS, include_columns=True):
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
    blocked = {}  # table key -> unmatched or ambiguous: its columns are too
    kinds = (("table", "table/tables/"), ("column", "table/columns/"))
    for kind, path in kinds if include_columns else kinds[:1]:
        source = api_rows(sandbox, path, integration_id=legacy)
        target = api_rows(sandbox, path, integration_id=new)
        source_keys = Counter(key(r, kind) for r in source)
        target_by_key = {}
        for row in target:
            target_by_key.setdefault(key(row, kind), []).append(row)
        for row in source:
            k = key(row, kind)
            candidates = target_by_key.get(k, [])
            if kind == "column" and k[:3] in blocked:
                plan[row["id"]] = (blocked[k[:3]], None, [], [])
                continue
            if source_keys[k] > 1 or len(candidates) > 1:
                plan[row["id"]] = ("ambiguous", None, [], [])
                blocked[k] = "ambiguous"
                continue
            if not candidates:
                plan[row["id"]] = ("unmatched", None, [], [])
                blocked[k] = "unmatched"
                continue
            other = candidates[0]
            written, kept = [], []
            for field in fields:
                mine, theirs = row.get(field), other.get(field)
                if empty(mine):
                    continue
                listed = field in ("tags", "owners") and isinstance(theirs, list)
                if listed and set(mine) == set(theirs):
                    continue
                if mine == theirs:
                    continue
                (written if empty(theirs) or overwrite else kept).append(field)
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
        if e.event_type_value == "STEP_OUTPUT" and e.step_key == "documentation_migration"
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
    planned_coverage = expected_coverage(sandbox, expected)
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
    outcome = query(
        warehouse,
        "SELECT action, write_status, count(*) n, count(DISTINCT source_id) AS resources "
        f"FROM reports.migration_plan WHERE run_id = '{result.run_id}' GROUP BY ALL",
    )
    assert (outcome.n == outcome.resources).all(), "one row per resource per run"
    by_action = {(r.action, r.write_status): r.n for r in outcome.itertuples()}
    counts = Counter(v[0] for v in expected.values())
    assert by_action == {
        ("update", "written"): len(planned),
        **{(action, None): n for action, n in counts.items() if action != "update"},
    }
    progress = [
        record.user_message
        for record in instance.all_logs(result.run_id)
        if record.user_message.startswith("Target resources: ")
    ]
    total = len(planned)
    assert [p.split(",")[0] for p in progress] == [
        *(f"Target resources: {done} of {total} done" for done in range(50, total, 50)),
        f"Target resources: {total} written",
    ]
    assert f"Target resources: 50 of {total} done, {total - 50} remaining" in progress[0]
    assert all("to go" in p for p in progress[:-1])
    # Coverage from the target read again: nothing pending, but the source's documented
    # unmatched and ambiguous resources still stand in the way of deleting it.
    # An update that also kept a field is `kept` once written, any other one `carried`.
    coverage = coverage_rows(warehouse, result.run_id)
    for kind, before in planned_coverage.items():
        ids = tables if kind == "table" else set(expected) - tables
        updates = [v for k, v in expected.items() if k in ids and v[0] == "update"]
        also_kept = sum(1 for v in updates if v[3])
        after = coverage[kind]
        assert after["basis"] == "target after writes" and not after["dry_run"]
        assert after["pending"] == 0
        assert after["carried"] == before["carried"] + len(updates) - also_kept
        assert after["kept"] == before["kept"] + also_kept
        for figure in ("resources", "documented", "unmatched", "ambiguous"):
            assert after[figure] == before[figure], (kind, figure)
        assert after["safe_to_delete_source"] is False
    assert planned_coverage["table"]["unmatched"] > 0
    md = output_metadata(result, "documentation_migration")
    assert md["safe_to_delete_source"].value is False
    assert md["tables_pending"].value == 0


@pytest.mark.slow
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


@pytest.mark.slow
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
                sandbox.settings.api_key = "revoked"

    sandbox.settings.on_request = revoke_key_at_write_k
    crashed = run(sandbox, warehouse, instance, dry_run=False)
    sandbox.settings.on_request = None
    sandbox.settings.api_key = DEFAULT_API_KEY
    assert not crashed.success
    assert len(sandbox.writes()) == k - 1
    # The revoked key cannot read the target again either: no coverage, the run says why.
    assert report_rows(warehouse, "migration_coverage", crashed.run_id).empty
    warnings = [r.user_message for r in instance.all_logs(crashed.run_id)]
    assert any(m.startswith("No coverage reported: the writes stopped") for m in warnings)
    rerun = run(sandbox, warehouse, instance, dry_run=False)
    assert rerun.success
    assert {r["pending"] for r in coverage_rows(warehouse, rerun.run_id).values()} == {0}
    targets = [w.path for w in sandbox.writes()]
    assert len(targets) == len(set(targets)), "no resource written twice"
    assert stored_docs(sandbox, new) == final


@pytest.mark.slow
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
    sandbox.settings.fault_rate = 0  # the run is over: read its end state without faults
    assert stored_docs(sandbox, new) == stored_docs(reference, new)


@pytest.mark.slow  # one job run per bad value
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source_integration_id": "nope"}, "source_integration_id 'nope' is not an integration"),
        ({"target_integration_id": "gone"}, "target_integration_id 'gone' is not an integration"),
        ({"target_integration_id": "SOURCE"}, "a migration needs two integrations"),
        ({"target_integration_id": "BI"}, "has no tables in Secoda: run its sync"),
        ({"fields": ["description", "colour"]}, "unknown field(s) ['colour']"),
        ({"fields": []}, "fields is empty: name at least one of"),
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
    failure = failure_message(result)
    assert message in failure
    for value in change.values():
        if isinstance(value, str):
            assert value in failure
    assert sandbox.writes() == []
    assert all(r.method == "GET" for r in sandbox.requests)
    assert report_rows(warehouse, "migration_plan").empty, "a rejected run reports nothing"


def test_both_sides_without_tables_are_named_together(sandbox, warehouse, instance):
    _, _, bi = warehouses(sandbox)
    other = insert_object(
        sandbox, "integration/integrations/", {"name": "Looker", "type": "looker"}
    )
    result = run(
        sandbox,
        warehouse,
        instance,
        source_integration_id=bi,
        target_integration_id=other["id"],
        dry_run=False,
    )
    failure = failure_message(result)
    assert "2 bad value(s)" in failure
    assert f"source integration {bi} (Tableau) has no tables" in failure
    assert f"target integration {other['id']} (Looker) has no tables" in failure
    assert sandbox.writes() == [] and report_rows(warehouse, "migration_plan").empty


def _pair_without_detail(sandbox):
    """Two new integrations whose tables match one to one: every plan row's detail is null."""
    ids = []
    for name in ("Warehouse A", "Warehouse B"):
        ids.append(
            insert_object(sandbox, "integration/integrations/", {"name": name, "type": "pg"})["id"]
        )
    for integration, description in zip(ids, ("Orders, one row each", None), strict=True):
        for title in ("orders", "customers"):
            insert_object(
                sandbox,
                "table/tables/",
                {
                    "title": title,
                    "database": "shop",
                    "schema": "public",
                    "integration": integration,
                    "description": description,
                },
            )
    return ids


def test_reports_keep_their_column_types_across_plans_of_any_shape(sandbox, warehouse, instance):
    a, b = _pair_without_detail(sandbox)
    first = run(sandbox, warehouse, instance, source_integration_id=a, target_integration_id=b)
    assert first.success
    assert report_rows(warehouse, "migration_plan")["detail"].isna().all()
    # A plan with unmatched and ambiguous rows (text in detail) into the same file.
    second = run(sandbox, warehouse, instance)
    assert second.success, failure_message(second)
    applied = run(
        sandbox,
        warehouse,
        instance,
        source_integration_id=a,
        target_integration_id=b,
        dry_run=False,
    )
    assert applied.success, failure_message(applied)
    details = report_rows(warehouse, "migration_plan", second.run_id)["detail"].dropna()
    assert details.str.contains("in the target").any()
    written = report_rows(warehouse, "migration_plan", applied.run_id)
    assert sorted(written["write_status"].dropna()) == ["written", "written"]


def test_include_columns_false_plans_and_writes_tables_only(sandbox, warehouse, instance):
    expected = expected_plan(sandbox, include_columns=False)
    result = run(sandbox, warehouse, instance, include_columns=False, dry_run=False)
    assert result.success
    assert "table/columns/" not in {r.path for r in sandbox.requests}
    report = report_rows(warehouse, "migration_plan", result.run_id)
    assert set(report["kind"]) == {"table"}
    assert dict(zip(report.source_id, report.action, strict=True)) == {
        k: v[0] for k, v in expected.items()
    }
    updates = [v for v in expected.values() if v[0] == "update"]
    assert updates and len(sandbox.writes()) == len(updates)
    assert all(w.path.startswith("table/tables/") for w in sandbox.writes())


@pytest.mark.slow
def test_overwrite_replaces_the_values_a_plain_run_keeps(sandbox, warehouse, instance):
    _, new, _ = warehouses(sandbox)
    plain = expected_plan(sandbox)
    kept = {(v[1], field) for v in plain.values() for field in v[3]}
    assert kept, "the demo workspace has differing target values"
    expected = expected_plan(sandbox, overwrite=True)
    assert "kept" not in {v[0] for v in expected.values()}
    source = {
        r["id"]: r for path in ("table/tables/", "table/columns/") for r in api_rows(sandbox, path)
    }
    result = run(sandbox, warehouse, instance, overwrite=True, dry_run=False)
    assert result.success
    report = report_rows(warehouse, "migration_plan", result.run_id)
    assert dict(zip(report.source_id, report.action, strict=True)) == {
        k: v[0] for k, v in expected.items()
    }
    after = stored_docs(sandbox, new)
    source_of = {v[1]: k for k, v in expected.items() if v[1]}
    for target, field in kept:
        assert after[target][field] == source[source_of[target]][field]


@pytest.mark.slow
def test_owners_and_verified_are_carried_when_named_in_fields(sandbox, warehouse, instance):
    _, new, _ = warehouses(sandbox)
    fields = ["owners", "verified"]
    expected = expected_plan(sandbox, fields=fields)
    written = {f for v in expected.values() if v[0] == "update" for f in v[2]}
    assert written == set(fields), "the demo workspace needs both fields carried"
    source = {
        r["id"]: r for path in ("table/tables/", "table/columns/") for r in api_rows(sandbox, path)
    }
    result = run(sandbox, warehouse, instance, fields=fields, dry_run=False)
    assert result.success
    bodies = [w.body for w in sandbox.writes()]
    assert bodies and all(set(body) <= set(fields) for body in bodies)
    after = stored_docs(sandbox, new)
    for source_id, (_, target, carried, _) in expected.items():
        for field in carried:
            assert after[target][field] == source[source_id][field]
    assert len(bodies) == sum(1 for v in expected.values() if v[0] == "update")


def test_a_400_and_a_404_are_recorded_and_every_other_write_is_made(sandbox, warehouse, instance):
    expected = expected_plan(sandbox)
    tables = table_ids(sandbox)
    updates = [
        (source_id, target)
        for source_id, (action, target, fields, _) in expected.items()
        if action == "update" and "description" in fields and source_id in tables
    ]
    (bad_source, bad_target), (_, gone_target) = updates[0], updates[-1]
    store = sandbox.open_store()
    broken = store.get_object("table/tables/", bad_source)
    broken["description"] = 12345  # not text: the PATCH carrying it is refused with a 400
    with store.transaction():
        store.update("table/tables/", broken)

    def delete_a_target_once_writes_start(record):  # someone deletes it after the plan
        if record.method == "PATCH" and store.get_object("table/tables/", gone_target):
            with store.transaction():
                store.delete("table/tables/", gone_target)

    sandbox.settings.on_request = delete_a_target_once_writes_start
    result = run(sandbox, warehouse, instance, dry_run=False)
    sandbox.settings.on_request = None
    assert not result.success
    failure = failure_message(result)
    assert "2 of " in failure and bad_target in failure and gone_target in failure
    report = report_rows(warehouse, "migration_plan", result.run_id).set_index("target_id")
    assert report.loc[bad_target, "write_status"] == "failed"
    assert "(400)" in report.loc[bad_target, "write_detail"]
    assert report.loc[gone_target, "write_status"] == "failed"
    assert "404" in report.loc[gone_target, "write_detail"]
    planned = sum(1 for v in expected.values() if v[0] == "update")
    statuses = Counter(report["write_status"].dropna())
    assert statuses == {"written": planned - 2, "failed": 2}
    patched = Counter(r.path for r in sandbox.requests if r.method == "PATCH")
    # The deleted target's 404 came from reading it again before its PATCH.
    assert f"table/tables/{gone_target}/" not in patched
    assert len(patched) == planned - 1 and set(patched.values()) == {1}, "each tried once"
    assert len(sandbox.writes()) == planned - 2


@pytest.mark.slow
def test_a_value_changed_after_the_plan_is_kept_not_overwritten(sandbox, warehouse, instance):
    expected = expected_plan(sandbox)
    tables = table_ids(sandbox)
    only_description = [
        (source_id, target)
        for source_id, (action, target, fields, _) in expected.items()
        if action == "update" and fields == ["description"] and source_id in tables
    ]
    _, edited = only_description[-1]
    store = sandbox.open_store()
    edits = []

    def a_person_edits_it_once_writes_start(record):
        if record.method == "PATCH" and not edits:
            obj = store.get_object("table/tables/", edited)
            obj["description"] = "Edited by a person during the run"
            with store.transaction():
                store.update("table/tables/", obj)
            edits.append(record.path)

    sandbox.settings.on_request = a_person_edits_it_once_writes_start
    result = run(sandbox, warehouse, instance, dry_run=False)
    sandbox.settings.on_request = None
    assert result.success and edits
    assert store.get_object("table/tables/", edited)["description"] == (
        "Edited by a person during the run"
    )
    assert f"table/tables/{edited}/" not in {w.path for w in sandbox.writes()}
    row = report_rows(warehouse, "migration_plan", result.run_id).set_index("target_id")
    assert row.loc[edited, "write_status"] == "skipped"
    assert "kept description: changed in Secoda since the plan" in row.loc[edited, "write_detail"]
    planned = sum(1 for v in expected.values() if v[0] == "update")
    assert len(sandbox.writes()) == planned - 1


# --- coverage -----------------------------------------------------------------------------

OUTCOME_OF_ACTION = {
    "unchanged": "carried",
    "update": "pending",
    "kept": "kept",
    "unmatched": "unmatched",
    "ambiguous": "ambiguous",
}
COVERAGE_FIGURES = ("resources", "documented", "carried", "pending", "kept", "unmatched")


def expected_coverage(sandbox, expected, fields=FIELDS, include_columns=True):
    """SPEC B's coverage counted with plain loops over the API rows and `expected_plan`:
    per kind, the documented source resources by what the plan does with them; and the
    run's verdict, the same on both rows: safe only when no documented resource is pending,
    kept, unmatched or ambiguous and the run covered every field the source documents."""
    legacy, _, _ = warehouses(sandbox)
    coverage, blockers, documents = {}, [], set()
    for kind, path in (("table", "table/tables/"), ("column", "table/columns/")):
        counts = Counter()
        for row in api_rows(sandbox, path, integration_id=legacy):
            documents |= {f for f in DOC_FIELDS if not empty(row.get(f))}
            if kind == "column" and not include_columns:
                continue
            counts["resources"] += 1
            if any(not empty(row.get(field)) for field in fields):
                counts["documented"] += 1
                counts[OUTCOME_OF_ACTION[expected[row["id"]][0]]] += 1
        if kind == "column" and not include_columns:
            continue
        coverage[kind] = {f: counts[f] for f in (*COVERAGE_FIGURES, "ambiguous")}
        blockers += [
            f"{counts[outcome]} {kind}(s) {outcome}"
            for outcome in ("pending", "kept", "unmatched", "ambiguous")
            if counts[outcome]
        ]
    if not include_columns:
        blockers.append("columns not included")
    blockers += [f"field {f} not migrated" for f in DOC_FIELDS if f in documents - set(fields)]
    for figures in coverage.values():
        figures["safe_to_delete_source"] = not blockers
        figures["blocked_by"] = "; ".join(blockers) or None
    return coverage


def coverage_rows(warehouse, run_id):
    """Returns {kind: the run's reports.migration_coverage row as a dict}."""
    rows = report_rows(warehouse, "migration_coverage", run_id)
    assert rows["kind"].is_unique, "one row per kind per run"
    return {
        row["kind"]: {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in rows.to_dict("records")
    }


def test_dry_run_coverage_counts_the_documented_source_resources(sandbox, warehouse, instance):
    legacy, new, _ = warehouses(sandbox)
    expected = expected_coverage(sandbox, expected_plan(sandbox))
    result = run(sandbox, warehouse, instance)
    assert result.success
    coverage = coverage_rows(warehouse, result.run_id)
    assert set(coverage) == {"table", "column"}
    for kind, figures in expected.items():
        row = coverage[kind]
        assert {k: row[k] for k in figures} == figures, kind
        assert row["documented"] == sum(row[o] for o in OUTCOME_OF_ACTION.values())
        assert (row["basis"], row["dry_run"]) == ("plan", True)
        assert (row["source_integration_id"], row["target_integration_id"]) == (legacy, new)
    md = output_metadata(result, "documentation_migration")
    assert md["safe_to_delete_source"].value is False
    assert md["coverage_basis"].value == "plan"
    for kind, figures in expected.items():
        for figure in COVERAGE_FIGURES:
            assert md[f"{kind}s_{figure}"].value == figures[figure]
    logs = [r.user_message for r in instance.all_logs(result.run_id)]
    assert any(m.startswith("Coverage (plan): tables ") for m in logs)
    assert sandbox.writes() == []


def test_include_columns_false_reports_table_coverage_only(sandbox, warehouse, instance):
    result = run(sandbox, warehouse, instance, include_columns=False)
    assert result.success
    coverage = coverage_rows(warehouse, result.run_id)
    assert set(coverage) == {"table"}
    assert coverage["table"]["safe_to_delete_source"] is False
    assert "columns not included" in coverage["table"]["blocked_by"]


def test_a_narrow_field_list_never_says_the_source_is_safe_to_delete(sandbox, warehouse, instance):
    # The demo source documents owners and verified too: carrying only descriptions leaves
    # them behind, whatever the descriptions' figures say.
    expected = expected_coverage(
        sandbox, expected_plan(sandbox, fields=("description",)), fields=("description",)
    )
    result = run(sandbox, warehouse, instance, fields=["description"])
    assert result.success
    coverage = coverage_rows(warehouse, result.run_id)
    for kind, figures in expected.items():
        assert {k: coverage[kind][k] for k in figures} == figures, kind
    assert "field tags not migrated" in coverage["table"]["blocked_by"]
    assert "field owners not migrated" in coverage["table"]["blocked_by"]


# --- a migration across renamed databases and schemas -----------------------------------

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
RENAMES = {"database_map": {"PROD": "Acme-Analytics"}, "schema_map": {" Public ": "CORE"}}


def post(sandbox, path, body):
    """Creates a resource through the sandbox's HTTP API; returns it."""
    response = requests.post(sandbox.base_url + path, json=body, headers=AUTH, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def renamed_pair(sandbox, bad_column_description=False):
    """A Redshift-like source (database prod; schemas public, finance) and a BigQuery-like
    target (database acme-analytics; schemas core, finance), built over HTTP.

    By hand, for fields description/definition/tags/pii with RENAMES:

    - tables: orders pending (target description blank), customers carried (same
      description), invoices pending (pii), budgets kept (target describes it otherwise),
      scratch unmatched but undocumented: 5 resources, 4 documented.
    - columns: orders.id pending, orders.amount undocumented, customers.email carried (pii
      on both), scratch.tmp unmatched and undocumented: 4 resources, 2 documented.

    Returns (source id, target id, {name: source table id}, {name: target table id}).
    """
    source = post(
        sandbox, "integration/integrations/", {"name": "Redshift (t)", "type": "redshift"}
    )
    target = post(
        sandbox, "integration/integrations/", {"name": "BigQuery (t)", "type": "bigquery"}
    )
    tables = {  # title: (source schema, source docs, target schema or None, target docs)
        "orders": ("public", {"description": "Orders, one row each"}, "core", {}),
        "customers": ("Public", {"description": "Customers"}, "core", {"description": "Customers"}),
        "invoices": ("finance", {"pii": True}, "finance", {}),
        "budgets": ("finance", {"description": "Budgets"}, "finance", {"description": "Lines"}),
        "scratch": ("public", {}, None, {}),
    }
    columns = {  # (table, column): (source docs, target docs or None)
        ("orders", "id"): ({"description": "Order id"}, {}),
        ("orders", "amount"): ({}, {"description": "Amount, in cents"}),
        ("customers", "email"): ({"pii": True}, {"pii": True}),
        ("scratch", "tmp"): ({}, None),
    }
    source_ids, target_ids = {}, {}
    for title, (schema, docs, target_schema, target_docs) in tables.items():
        body = {"title": title, "integration": source["id"], "database": "prod", "schema": schema}
        source_ids[title] = post(sandbox, "table/tables/", {**body, **docs})["id"]
        if target_schema:
            body = {
                "title": title.capitalize(),
                "integration": target["id"],
                "database": "acme-analytics",
                "schema": target_schema,
            }
            target_ids[title] = post(sandbox, "table/tables/", {**body, **target_docs})["id"]
    for (table, title), (docs, target_docs) in columns.items():
        if bad_column_description and docs.get("description"):
            # Not text: the PATCH carrying it is refused with a 400.
            insert_object(
                sandbox,
                "table/columns/",
                {
                    "title": title,
                    "parent": source_ids[table],
                    "integration": source["id"],
                    "table_title": table,
                    "table_schema": tables[table][0],
                    "table_database": "prod",
                    "description": 12345,
                },
            )
        else:
            post(sandbox, "table/columns/", {"title": title, "parent": source_ids[table], **docs})
        if target_docs is not None:
            body = {"title": title.upper(), "parent": target_ids[table], **target_docs}
            post(sandbox, "table/columns/", body)
    sandbox.clear_log()
    return source["id"], target["id"], source_ids, target_ids


def run_pair(sandbox, warehouse, instance, pair, **config):
    return run(
        sandbox,
        warehouse,
        instance,
        source_integration_id=pair[0],
        target_integration_id=pair[1],
        **config,
    )


def figures(coverage, kind):
    return {k: coverage[kind][k] for k in (*COVERAGE_FIGURES, "ambiguous")}


def test_maps_match_renamed_databases_and_schemas(sandbox, warehouse, instance):
    pair = renamed_pair(sandbox)
    _, _, source_ids, target_ids = pair
    plain = run_pair(sandbox, warehouse, instance, pair)
    assert plain.success
    assert set(report_rows(warehouse, "migration_plan", plain.run_id)["action"]) == {"unmatched"}

    result = run_pair(sandbox, warehouse, instance, pair, **RENAMES)
    assert result.success, failure_message(result)
    plan = report_rows(warehouse, "migration_plan", result.run_id)
    tables = plan[plan["kind"] == "table"].set_index("source_id")
    orders = tables.loc[source_ids["orders"]]
    assert (orders["key"], orders["matched_as"]) == (
        "prod.public.orders",
        "acme-analytics.core.orders",
    )
    assert (orders["action"], orders["target_id"]) == ("update", target_ids["orders"])
    by_title = {t: tables.loc[i, "action"] for t, i in source_ids.items()}
    assert by_title == {
        "orders": "update",
        "customers": "unchanged",
        "invoices": "update",
        "budgets": "kept",
        "scratch": "unmatched",
    }
    assert tables.loc[source_ids["invoices"], "matched_as"] == "acme-analytics.finance.invoices"
    columns = plan[plan["kind"] == "column"].set_index("key")
    assert columns.loc["prod.public.orders.id", "matched_as"] == "acme-analytics.core.orders.id"
    assert dict(columns["action"]) == {
        "prod.public.orders.id": "update",
        "prod.public.orders.amount": "unchanged",
        "prod.public.customers.email": "unchanged",
        "prod.public.scratch.tmp": "unmatched",
    }
    assert columns["documented"].tolist() == [True, False, True, False]
    assert sandbox.writes() == []


def test_coverage_before_and_after_an_apply(sandbox, warehouse, instance):
    pair = renamed_pair(sandbox)
    dry = run_pair(sandbox, warehouse, instance, pair, **RENAMES)
    assert dry.success
    before = coverage_rows(warehouse, dry.run_id)
    # Counted by hand from renamed_pair's docstring.
    assert figures(before, "table") == {
        "resources": 5,
        "documented": 4,
        "carried": 1,
        "pending": 2,
        "kept": 1,
        "unmatched": 0,
        "ambiguous": 0,
    }
    assert figures(before, "column") == {
        "resources": 4,
        "documented": 2,
        "carried": 1,
        "pending": 1,
        "kept": 0,
        "unmatched": 0,
        "ambiguous": 0,
    }
    assert {k: (r["basis"], r["safe_to_delete_source"]) for k, r in before.items()} == {
        "table": ("plan", False),
        "column": ("plan", False),
    }

    applied = run_pair(sandbox, warehouse, instance, pair, dry_run=False, **RENAMES)
    assert applied.success, failure_message(applied)
    assert len(sandbox.writes()) == 3
    last_patch = max(i for i, r in enumerate(sandbox.requests) if r.method == "PATCH")
    relisted = [r for r in sandbox.requests[last_patch:] if r.path == "table/tables/"]
    assert relisted, "the coverage comes from listing the target again after the writes"
    after = coverage_rows(warehouse, applied.run_id)
    for kind in ("table", "column"):
        assert after[kind]["basis"] == "target after writes"
        assert after[kind]["pending"] == 0
        assert after[kind]["carried"] == before[kind]["carried"] + before[kind]["pending"]
        assert after[kind]["kept"] == before[kind]["kept"]
        # A kept value is one the source holds and the target does not: not yet safe.
        assert after[kind]["safe_to_delete_source"] is False
        assert after[kind]["blocked_by"] == "1 table(s) kept"
    md = output_metadata(applied, "documentation_migration")
    assert md["safe_to_delete_source"].value is False
    assert md["blocked_by"].value == "1 table(s) kept"
    assert md["coverage_basis"].value == "target after writes"
    assert (md["tables_carried"].value, md["columns_carried"].value) == (3, 2)

    # A documented source table the target lacks: deleting the source would lose it.
    source_id = pair[0]
    post(
        sandbox,
        "table/tables/",
        {
            "title": "refunds",
            "integration": source_id,
            "database": "prod",
            "schema": "public",
            "description": "Refunds",
        },
    )
    again = run_pair(sandbox, warehouse, instance, pair, dry_run=False, **RENAMES)
    assert again.success
    final = coverage_rows(warehouse, again.run_id)
    assert figures(final, "table") == {
        "resources": 6,
        "documented": 5,
        "carried": 3,
        "pending": 0,
        "kept": 1,
        "unmatched": 1,
        "ambiguous": 0,
    }
    assert final["table"]["safe_to_delete_source"] is False
    assert final["column"]["safe_to_delete_source"] is False  # the run's verdict, on each row
    assert {r["blocked_by"] for r in final.values()} == {"1 table(s) kept; 1 table(s) unmatched"}
    assert output_metadata(again, "documentation_migration")["safe_to_delete_source"].value is False
    history = report_rows(warehouse, "migration_coverage")
    assert history.groupby("run_id").size().to_dict() == {
        dry.run_id: 2,
        applied.run_id: 2,
        again.run_id: 2,
    }, "coverage is appended, one row per kind per run"


def test_a_run_stopped_by_failing_writes_still_reports_what_is_pending(
    sandbox, warehouse, instance
):
    pair = renamed_pair(sandbox)
    # Every attempt of the column's PATCH answers 500: its retries run out, the run stops.
    sandbox.fail_next("500", count=20, method="PATCH", path_contains="table/columns/")
    result = run_pair(sandbox, warehouse, instance, pair, dry_run=False, **RENAMES)
    sandbox.clear_faults()
    assert not result.success
    assert [w.path.split("/")[1] for w in sandbox.writes()] == ["tables", "tables"]
    coverage = coverage_rows(warehouse, result.run_id)
    assert coverage["table"]["basis"] == coverage["column"]["basis"] == "target after writes"
    assert (coverage["table"]["pending"], coverage["table"]["carried"]) == (0, 3)
    assert (coverage["column"]["pending"], coverage["column"]["carried"]) == (1, 1)
    assert coverage["column"]["safe_to_delete_source"] is False
    logs = [r.user_message for r in instance.all_logs(result.run_id)]
    assert any(m.startswith("Coverage (target after writes): ") for m in logs)


def test_failed_writes_carry_the_coverage_in_the_failure(sandbox, warehouse, instance):
    pair = renamed_pair(sandbox, bad_column_description=True)
    result = run_pair(sandbox, warehouse, instance, pair, dry_run=False, **RENAMES)
    assert not result.success
    assert "1 of 3 target resource write(s) failed" in failure_message(result)
    coverage = coverage_rows(warehouse, result.run_id)
    assert (coverage["table"]["pending"], coverage["column"]["pending"]) == (0, 1)
    failure = next(e for e in result.all_events if e.is_step_failure)
    md = failure.step_failure_data.user_failure_data.metadata
    assert md["safe_to_delete_source"].value is False
    assert (md["tables_pending"].value, md["columns_pending"].value) == (0, 1)


@pytest.mark.slow  # one job run per bad value
@pytest.mark.parametrize(
    ("maps", "messages"),
    [
        (
            {"database_map": {"": "acme-analytics"}},
            ["database_map has an empty database name '' (mapped to 'acme-analytics')"],
        ),
        ({"schema_map": {"public": " "}}, ["schema_map['public'] is empty (' ')"]),
        (
            {"database_map": {"Prod": "acme-analytics", "PROD ": "acme"}},
            ["database_map keys 'Prod' and 'PROD ' are the same database"],
        ),
        (
            {"database_map": {"prd": "acme-analytics"}},
            ["database_map key 'prd' is no database of the source's tables; its databases: prod"],
        ),
        (
            {"database_map": {"prd": "acme-analytics"}, "schema_map": {"pubilc": "core"}},
            [
                "2 bad value(s)",
                "database_map key 'prd' is no database",
                "schema_map key 'pubilc' is no schema of the source's tables; its schemas: "
                "finance, public",
            ],
        ),
    ],
)
def test_bad_maps_are_named_and_nothing_is_written_or_reported(
    sandbox, warehouse, instance, maps, messages
):
    pair = renamed_pair(sandbox)
    result = run_pair(sandbox, warehouse, instance, pair, dry_run=False, **maps)
    assert not result.success
    failure = failure_message(result)
    for message in messages:
        assert message in failure
    assert sandbox.writes() == []
    assert all(r.method == "GET" for r in sandbox.requests)
    assert report_rows(warehouse, "migration_plan").empty
    assert report_rows(warehouse, "migration_coverage").empty


def test_the_report_is_the_plan_copied_row_for_row(sandbox, warehouse, instance, make_client):
    """The plan goes from the matcher's DuckDB to reports.migration_plan in SQL: the
    report holds the plan that catalog.migration_match makes of the same listings (itself
    tested against the reference planner), row for row with items 0..n-1 in plan order,
    one reported_at, write_status planned on exactly the updates, and the preview and
    counts in the run's metadata taken from it."""
    from secoda_pipelines_tests.catalog.planners.plan_frames import plan_in_duckdb

    legacy, new, _ = warehouses(sandbox)
    client = make_client(sandbox)  # listed as the job lists them ("None" read as null)
    listed = {
        (side, kind): client.list(path, {"integration_id": integration})
        for side, integration in (("source", legacy), ("target", new))
        for kind, path in (("table", "table/tables/"), ("column", "table/columns/"))
    }
    plan = plan_in_duckdb(
        listed["source", "table"],
        listed["target", "table"],
        listed["source", "column"],
        listed["target", "column"],
        fields=FIELDS,
    )
    result = run(sandbox, warehouse, instance)
    assert result.success, failure_message(result)
    stored = report_rows(warehouse, "migration_plan", result.run_id)
    assert stored["item"].tolist() == list(range(len(plan)))
    assert stored["reported_at"].nunique() == 1
    assert set(stored["source_integration_id"]) == {legacy}
    assert set(stored["target_integration_id"]) == {new}
    compared = ["kind", "key", "matched_as", "documented", "source_id", "target_id", "action"]
    mine = stored[compared].astype(object).where(stored[compared].notna(), None)
    assert mine.to_dict("records") == plan[compared].to_dict("records")
    assert [json.loads(v) for v in stored["fields"]] == plan["fields"].tolist()
    assert [json.loads(v) for v in stored["kept_fields"]] == plan["kept_fields"].tolist()
    assert stored["detail"].fillna("-").tolist() == [d or "-" for d in plan["detail"]]
    planned = stored["write_status"].fillna("-").tolist()
    assert planned == ["planned" if a == "update" else "-" for a in plan["action"]]
    metadata = output_metadata(result, "documentation_migration")
    assert metadata["dagster/row_count"].value == len(plan)
    assert metadata["writes_planned"].value == int((plan["action"] == "update").sum())
    assert metadata["action_counts"].value == plan["action"].value_counts().to_dict()
    # The columns a person reads first, the rows Dagster's UI shows inline (under 1,000
    # characters), and the report's columns with their types and descriptions.
    preview = metadata["preview"].value
    lines = preview.splitlines()
    assert len(preview) < 1000
    assert lines[0] == "| kind | key | action | fields | write_status |"
    assert 2 < len(lines) <= 2 + min(20, len(plan))
    assert lines[2].startswith(f"| {plan['kind'][0]} | ") and plan["action"][0] in lines[2]
    schema = metadata["dagster/column_schema"].value
    assert [c.name for c in schema.columns] == list(report_table("migration_plan").column_names)
    assert all(c.description and c.type in HUMAN_TYPES for c in schema.columns)


# ---- integrations given by name -----------------------------------------------------------


def run_logs(instance, result) -> list[str]:
    """Returns the messages of the run's event log, in order."""
    return [record.user_message for record in instance.all_logs(result.run_id)]


def known_integrations(sandbox) -> str:
    """Returns the list of known integrations as the job's errors give it."""
    return ", ".join(
        f"{i['id']} ({i['name']}, {i['type']})"
        for i in api_rows(sandbox, "integration/integrations/")
    )


def test_integrations_given_by_exact_name_are_resolved_to_their_ids(sandbox, warehouse, instance):
    legacy, new, _ = warehouses(sandbox)
    expected = expected_plan(sandbox)
    planned = sum(1 for action, *_ in expected.values() if action == "update")
    sandbox.clear_log()

    result = run(
        sandbox,
        warehouse,
        instance,
        source_integration_id="Snowflake (legacy)",
        target_integration_id="Snowflake",
        dry_run=False,
    )

    assert result.success, failure_message(result)
    logs = run_logs(instance, result)
    assert (
        f"source_integration_id 'Snowflake (legacy)' is the name of integration {legacy} "
        "(snowflake); using that id"
    ) in logs
    assert (
        f"target_integration_id 'Snowflake' is the name of integration {new} (snowflake); "
        "using that id"
    ) in logs
    plan = report_rows(warehouse, "migration_plan", result.run_id)
    assert set(plan["source_integration_id"]) == {legacy}
    assert set(plan["target_integration_id"]) == {new}
    assert dict(zip(plan["source_id"], plan["action"], strict=True)) == {
        k: v[0] for k, v in expected.items()
    }
    assert len(sandbox.writes()) == planned
    # The coverage after the writes lists the target again by its id (not by the name).
    coverage = coverage_rows(warehouse, result.run_id)
    assert {
        (c["source_integration_id"], c["target_integration_id"]) for c in coverage.values()
    } == {(legacy, new)}
    assert {c["basis"] for c in coverage.values()} == {"target after writes"}
    assert {c["pending"] for c in coverage.values()} == {0}
    listed = {
        r.query.get("integration_id")
        for r in sandbox.requests
        if r.path in ("table/tables/", "table/columns/")
    }
    assert listed == {legacy, new}


def test_an_id_stays_an_id_when_another_integration_is_named_like_it(sandbox, warehouse, instance):
    legacy, _, _ = warehouses(sandbox)
    insert_object(sandbox, "integration/integrations/", {"name": legacy, "type": "dbt"})

    result = run(sandbox, warehouse, instance)

    assert result.success, failure_message(result)
    assert not any("is the name of" in m for m in run_logs(instance, result))
    plan = report_rows(warehouse, "migration_plan", result.run_id)
    assert set(plan["source_integration_id"]) == {legacy}


def test_a_name_and_an_id_of_one_integration_are_the_same_integration(sandbox, warehouse, instance):
    legacy, _, _ = warehouses(sandbox)

    result = run(
        sandbox,
        warehouse,
        instance,
        source_integration_id="Snowflake (legacy)",
        target_integration_id=legacy,
    )

    assert not result.success
    assert failure_message(result) == (
        "1 bad value(s); nothing was planned or written:\n"
        f"- source_integration_id and target_integration_id are both {legacy!r}: a migration "
        "needs two integrations"
    )
    assert report_rows(warehouse, "migration_plan").empty


def test_a_name_held_by_several_integrations_is_refused_naming_each(sandbox, warehouse, instance):
    legacy, new, _ = warehouses(sandbox)
    other = insert_object(
        sandbox, "integration/integrations/", {"name": "Snowflake", "type": "bigquery"}
    )
    sandbox.clear_log()

    result = run(
        sandbox,
        warehouse,
        instance,
        source_integration_id=legacy,
        target_integration_id="Snowflake",
        dry_run=False,
    )

    assert not result.success
    assert failure_message(result) == (
        "1 bad value(s); nothing was planned or written:\n"
        "- target_integration_id 'Snowflake' is the name of 2 integrations: "
        f"{new} (snowflake), {other['id']} (bigquery); give the id of the one you mean"
    )
    assert {r.path for r in sandbox.requests} == {"integration/integrations/"}
    assert sandbox.writes() == []
    assert report_rows(warehouse, "migration_plan").empty
    assert report_rows(warehouse, "migration_coverage").empty


def test_an_unknown_name_is_refused_listing_the_known_integrations(sandbox, warehouse, instance):
    sandbox.clear_log()

    result = run(
        sandbox,
        warehouse,
        instance,
        source_integration_id="snowflake (legacy)",  # the name differs in case
        fields=["colour"],
        dry_run=False,
    )

    assert not result.success
    assert failure_message(result) == (
        "2 bad value(s); nothing was planned or written:\n"
        "- source_integration_id 'snowflake (legacy)' is not an integration (give an id or "
        f"an exact name); known: {known_integrations(sandbox)}\n"
        f"- unknown field(s) ['colour']: choose from {list(MIGRATABLE_FIELDS)}"
    )
    assert {r.path for r in sandbox.requests} == {"integration/integrations/"}
    assert sandbox.writes() == []
    assert report_rows(warehouse, "migration_plan").empty
    assert report_rows(warehouse, "migration_coverage").empty
