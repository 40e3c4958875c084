"""Every write-back job against every fault SPEC A says Secoda and its proxies produce.

For each job and each kind of fault, the job runs (dry_run false) on the demo workspace
with that fault on its first write (or on a later page of a listing it reads), and:
- the end state equals the fault-free end state (the same run on a sandbox without faults),
- nothing was applied twice (counted from the writes the sandbox applied),
- every report row that writes says what happened: written or skipped, never planned or
  failed, and the row the fault hit names the failed attempt.
Then an edit someone makes between two attempts is kept, and a run that stops after its
k-th write is finished by a rerun that writes nothing twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from secoda_pipelines.defs.jobs.create_manual_lineage import create_manual_lineage
from secoda_pipelines.defs.jobs.flag_stale_dashboards import flag_stale_dashboards
from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.defs.jobs.provision_users import provision_users
from secoda_pipelines.defs.jobs.writeback import MAX_ATTEMPTS
from secoda_pipelines.sandbox import RequestRecord, Sandbox, SandboxSettings
from secoda_pipelines_tests.helpers import api_rows, job_resources, report_rows
from secoda_pipelines_tests.sandbox.helpers import insert_object, stored_object, update_object

pytestmark = pytest.mark.slow  # every job against every fault: minutes

# A write fault on the first write: applied then answered 5xx or cut off, not applied and
# answered 5xx, a redirect, a proxy's page, or throttled.
WRITE_KINDS = (
    "applied_500",
    "applied_503",
    "applied_reset",
    "truncated",
    "500",
    "503",
    "reset",
    "redirect",
    "html_200",
    "429",
)
# Kinds the client itself waits out: nothing about the write is unknown.
CLIENT_RETRIED = ("429",)
# A later page of a listing the job plans from comes back empty, or 404.
READ_KINDS = ("empty_page", "page_404")
PAGE_SIZE = 10  # every listing the jobs read has several pages
USER_EMAILS = ("fm0@example.com", "fm1@example.com", "fm2@example.com")
HUMAN_TAG = "human-tag"
DAU = "product.marts.daily_active_users"


@dataclass(frozen=True)
class Case:
    """One write-back job as the matrix runs it.

    Attributes:
        job: the job.
        table: its report table.
        method, path: its writes the fault hits (the first one matching).
        config: its run config on a sandbox.
        state: the part of Secoda the job changes, comparable across sandboxes.
        write_key: what one applied write changes (two applied writes with one key: written
            twice).
    """

    job: dg.JobDefinition
    table: str
    method: str
    path: str
    config: Callable[[Sandbox], dict[str, Any]]
    state: Callable[[Sandbox], Any]
    write_key: Callable[[RequestRecord], Any]


def _integration(sandbox: Sandbox, name: str) -> str:
    return next(
        i["id"] for i in api_rows(sandbox, "integration/integrations/") if i["name"] == name
    )


def _migration_config(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "source_integration_id": _integration(sandbox, "Snowflake (legacy)"),
        "target_integration_id": _integration(sandbox, "Snowflake"),
    }


def _migration_state(sandbox: Sandbox) -> dict[str, tuple]:
    target = _integration(sandbox, "Snowflake")
    fields = ("description", "definition", "pii")
    return {
        row["id"]: (*(row.get(f) for f in fields), sorted(row.get("tags") or []))
        for path in ("table/tables/", "table/columns/")
        for row in api_rows(sandbox, path, integration_id=target)
    }


def _flag_state(sandbox: Sandbox) -> tuple:
    tags = {t["id"]: t["name"].casefold() for t in api_rows(sandbox, "tag/")}
    dashboards = {
        d["id"]: sorted(tags.get(t, t) for t in d.get("tags") or [])
        for d in api_rows(sandbox, "dashboard/dashboards/")
    }
    return sorted(Counter(tags.values()).items()), dashboards


def _users_state(sandbox: Sandbox) -> list[tuple]:
    return sorted(
        (u["email"].casefold(), str(u.get("role")).casefold(), sorted(u.get("teams") or []))
        for u in api_rows(sandbox, "user/")
    )


def _edges(sandbox: Sandbox) -> list[str]:
    target = _integration(sandbox, "Snowflake")
    return [t["id"] for t in api_rows(sandbox, "table/tables/", integration_id=target)[:4]]


def _lineage_config(sandbox: Sandbox) -> dict[str, Any]:
    t = _edges(sandbox)
    # One end named database.schema.table: resolving it lists the tables (several pages).
    edges = [{"from_entity": DAU, "to_entity": t[0]}]
    return {"edges": edges + [{"from_entity": t[i], "to_entity": t[i + 1]} for i in range(2)]}


def _lineage_state(sandbox: Sandbox) -> list[tuple]:
    return sorted(
        (e["from_entity"], e["to_entity"], e["direction"])
        for e in api_rows(sandbox, "lineage/manual/")
    )


CASES = {
    "migrate_documentation": Case(
        migrate_documentation,
        "migration_plan",
        "PATCH",
        "table/",
        _migration_config,
        _migration_state,
        lambda w: w.path,
    ),
    "flag_stale_dashboards (tag)": Case(
        flag_stale_dashboards,
        "stale_dashboard_flags",
        "POST",
        "tag/",
        lambda sb: {},
        _flag_state,
        lambda w: w.path if w.method == "PATCH" else ("tag", w.body["name"].casefold()),
    ),
    "flag_stale_dashboards (dashboards)": Case(
        flag_stale_dashboards,
        "stale_dashboard_flags",
        "PATCH",
        "dashboard/dashboards/",
        lambda sb: {},
        _flag_state,
        lambda w: w.path if w.method == "PATCH" else ("tag", w.body["name"].casefold()),
    ),
    "provision_users": Case(
        provision_users,
        "user_provisioning",
        "POST",
        "user/",
        lambda sb: {"users": [{"email": e, "role": "viewer"} for e in USER_EMAILS]},
        _users_state,
        lambda w: w.body["email"].casefold(),
    ),
    "create_manual_lineage": Case(
        create_manual_lineage,
        "lineage_changes",
        "POST",
        "lineage/manual/",
        _lineage_config,
        _lineage_state,
        lambda w: (w.body["from_entity"], w.body["to_entity"]),
    ),
}


def _sandbox(directory: Path, name: str) -> Sandbox:
    settings = SandboxSettings(page_size=PAGE_SIZE, write_rate_limit=0)
    return Sandbox(directory / f"{name}.sqlite", settings=settings).start()


def _run(case: Case, sandbox: Sandbox, warehouse: Path, instance) -> dg.ExecuteInProcessResult:
    return case.job.execute_in_process(
        run_config={**case.config(sandbox), "dry_run": False},
        resources=job_resources(
            sandbox, warehouse, write_limit_per_minute=100_000, retry_backoff_seconds=0.01
        ),
        instance=instance,
        raise_on_error=False,
    )


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Returns each case's end state after its job ran without faults (once per job)."""
    directory = tmp_path_factory.mktemp("fault-free")
    by_job: dict[str, Any] = {}
    with dg.instance_for_test() as instance:
        for case in CASES.values():
            if case.job.name in by_job:
                continue
            sandbox = _sandbox(directory, case.job.name)
            try:
                result = _run(case, sandbox, directory / f"{case.job.name}.duckdb", instance)
                assert result.success
                assert sandbox.writes(), f"{case.job.name} writes nothing on the demo workspace"
                by_job[case.job.name] = case.state(sandbox)
            finally:
                sandbox.stop()
    yield {name: by_job[case.job.name] for name, case in CASES.items()}


def _applied_once(case: Case, sandbox: Sandbox) -> None:
    keys = Counter(case.write_key(w) for w in sandbox.writes())
    twice = {k: n for k, n in keys.items() if n > 1}
    assert not twice, f"written more than once: {twice}"


def _report_says_what_happened(case: Case, warehouse: Path, run_id: str) -> pd.DataFrame:
    report = report_rows(warehouse, case.table, run_id)
    writing = report[report["write_status"].notna()]
    assert len(writing), "the plan writes something"
    assert set(writing["write_status"]) <= {"written", "skipped"}, writing[
        ["write_status", "write_detail"]
    ].values.tolist()
    assert writing["write_detail"].notna().all()
    return writing


@pytest.mark.parametrize("kind", WRITE_KINDS)
@pytest.mark.parametrize("name", list(CASES))
def test_a_write_fault_ends_in_the_fault_free_state(
    name, kind, fault_free, make_sandbox, warehouse, instance
):
    case = CASES[name]
    sandbox = make_sandbox(page_size=PAGE_SIZE, write_rate_limit=0)
    sandbox.fail_next(kind, method=case.method, path_contains=case.path)

    result = _run(case, sandbox, warehouse, instance)

    assert result.success
    faulted = [r for r in sandbox.requests if r.fault == kind]
    assert len(faulted) == 1 and faulted[0].method == case.method
    assert case.state(sandbox) == fault_free[name]
    _applied_once(case, sandbox)
    writing = _report_says_what_happened(case, warehouse, result.run_id)
    noted = writing[writing["write_detail"].str.contains("attempt 1 failed")]
    if kind in CLIENT_RETRIED:
        assert noted.empty
    else:
        assert len(noted) == 1
        assert noted["write_status"].iloc[0] == "written"
        expected = {
            "applied_500": "500",
            "applied_503": "503",
            "applied_reset": "no answer",
            "truncated": "201" if case.method == "POST" else "200",
            "500": "500",
            "503": "503",
            "reset": "no answer",
            "redirect": "302",
            "html_200": "200",
        }[kind]
        assert f"attempt 1 failed ({expected})" in noted["write_detail"].iloc[0]


@pytest.mark.parametrize("kind", READ_KINDS)
@pytest.mark.parametrize(
    "name",
    [n for n in CASES if n != "flag_stale_dashboards (tag)"],  # one flag case is enough
)
def test_a_short_page_while_planning_ends_in_the_fault_free_state(
    name, kind, fault_free, make_sandbox, warehouse, instance
):
    case = CASES[name]
    sandbox = make_sandbox(page_size=PAGE_SIZE, write_rate_limit=0)
    config = case.config(sandbox)  # read before the fault is queued
    sandbox.fail_next(kind)

    result = case.job.execute_in_process(
        run_config={**config, "dry_run": False},
        resources=job_resources(
            sandbox, warehouse, write_limit_per_minute=100_000, retry_backoff_seconds=0.01
        ),
        instance=instance,
        raise_on_error=False,
    )

    assert result.success
    assert [r.fault for r in sandbox.requests if r.fault] == [kind]
    assert case.state(sandbox) == fault_free[name]
    _applied_once(case, sandbox)
    _report_says_what_happened(case, warehouse, result.run_id)


def _last_target(sandbox: Sandbox) -> str:
    """Returns the path of the write being faulted (the last request the sandbox received)."""
    return sandbox.requests[-1].path


def _add_human_tag(sandbox: Sandbox) -> None:
    path = _last_target(sandbox)
    dashboard = stored_object(sandbox, path)
    human = insert_object(
        sandbox, "tag/", {"name": HUMAN_TAG, "description": "", "color": "#111111"}
    )
    update_object(
        sandbox, "dashboard/dashboards/", dashboard["id"], tags=[*dashboard["tags"], human["id"]]
    )


@pytest.mark.parametrize("kind", ["500", "applied_503"])
def test_a_tag_added_between_two_attempts_is_kept(
    kind, fault_free, make_sandbox, warehouse, instance
):
    # The bug this closes: the PATCH re-sent after a 503 carried the tag list built before
    # the first attempt, and removed the tag added in between.
    case = CASES["flag_stale_dashboards (dashboards)"]
    sandbox = make_sandbox(page_size=PAGE_SIZE, write_rate_limit=0)
    sandbox.fail_next(kind, method="PATCH", path_contains=case.path, edit=_add_human_tag)

    result = _run(case, sandbox, warehouse, instance)

    assert result.success
    tag_counts, dashboards = case.state(sandbox)
    expected_counts, expected_dashboards = fault_free["flag_stale_dashboards (dashboards)"]
    edited = [d for d, tags in dashboards.items() if HUMAN_TAG in tags]
    assert len(edited) == 1
    assert sorted([*expected_dashboards[edited[0]], HUMAN_TAG]) == dashboards[edited[0]]
    assert {d: t for d, t in dashboards.items() if d not in edited} == {
        d: t for d, t in expected_dashboards.items() if d not in edited
    }
    assert dict(tag_counts) == {**dict(expected_counts), HUMAN_TAG: 1}
    _applied_once(case, sandbox)


def test_a_description_written_between_two_attempts_is_kept(
    fault_free, make_sandbox, warehouse, instance
):
    case = CASES["migrate_documentation"]
    sandbox = make_sandbox(page_size=PAGE_SIZE, write_rate_limit=0)
    edited: list[str] = []

    def human_writes_a_description(sb: Sandbox) -> None:
        path = _last_target(sb)
        collection, object_id = path.rsplit("/", 2)[0] + "/", path.rsplit("/", 2)[1]
        update_object(sb, collection, object_id, description="Written by a person meanwhile")
        edited.append(object_id)

    # Applied, then its answer lost, then the description changed before the next attempt.
    sandbox.fail_next("applied_503", method="PATCH", edit=human_writes_a_description)

    result = _run(case, sandbox, warehouse, instance)

    assert result.success
    state = case.state(sandbox)
    expected = dict(fault_free["migrate_documentation"])
    expected[edited[0]] = ("Written by a person meanwhile", *expected[edited[0]][1:])
    assert state == expected
    _applied_once(case, sandbox)
    row = _report_says_what_happened(case, warehouse, result.run_id)
    noted = row[row["write_detail"].str.contains("attempt 1 failed")]
    assert "description: changed in Secoda since the plan" in noted["write_detail"].iloc[0]


@pytest.mark.parametrize("name", ["provision_users", "create_manual_lineage"])
def test_an_object_created_between_two_attempts_is_not_created_again(
    name, fault_free, make_sandbox, warehouse, instance
):
    case = CASES[name]
    sandbox = make_sandbox(page_size=PAGE_SIZE, write_rate_limit=0)

    def someone_creates_it(sb: Sandbox) -> None:
        body = sb.requests[-1].body
        if name == "provision_users":
            insert_object(sb, "user/", {"email": body["email"], "role": "viewer", "teams": []})
        else:
            insert_object(sb, "lineage/manual/", {**body, "is_manual": True})

    sandbox.fail_next("500", method="POST", path_contains=case.path, edit=someone_creates_it)

    result = _run(case, sandbox, warehouse, instance)

    assert result.success
    if name == "provision_users":
        assert case.state(sandbox) == fault_free[name]
    else:  # the insert adds no mirror edge: one edge less than the API would have made
        assert set(case.state(sandbox)) <= set(fault_free[name])
        assert len(set(fault_free[name]) - set(case.state(sandbox))) == 1
    posts = Counter(case.write_key(w) for w in sandbox.writes())
    assert len(posts) == 2 and set(posts.values()) == {1}  # the third was found, not posted


@pytest.mark.parametrize("name", [n for n in CASES if n != "flag_stale_dashboards (tag)"])
def test_a_run_stopped_after_write_k_is_finished_by_a_rerun(
    name, fault_free, make_sandbox, warehouse, instance
):
    case = CASES[name]
    sandbox = make_sandbox(page_size=PAGE_SIZE, write_rate_limit=0)
    k, writes = 2, []

    def fail_from_write_k(record: RequestRecord) -> None:
        if record.method == case.method and case.path in record.path:
            writes.append(record)
            if len(writes) == k:  # this write and every attempt at it: the run stops
                sandbox.fail_next("503", count=MAX_ATTEMPTS, method=case.method)

    sandbox.settings.on_request = fail_from_write_k
    stopped = _run(case, sandbox, warehouse, instance)
    sandbox.settings.on_request = None
    assert not stopped.success
    report = report_rows(warehouse, case.table, stopped.run_id)
    assert "failed" in set(report["write_status"].dropna())

    rerun = _run(case, sandbox, warehouse, instance)

    assert rerun.success
    assert case.state(sandbox) == fault_free[name]
    _applied_once(case, sandbox)
    _report_says_what_happened(case, warehouse, rerun.run_id)
