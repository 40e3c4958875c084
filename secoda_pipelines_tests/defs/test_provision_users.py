"""`provision_users` on the demo workspace, over HTTP."""

from __future__ import annotations

import dagster as dg
import pytest

from secoda_pipelines.defs.jobs.provision_users import provision_users
from secoda_pipelines.defs.jobs.writeback import MAX_ATTEMPTS, continue_write_pace
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines.store import ReportStore, WarehouseResource
from secoda_pipelines_tests.helpers import (
    api_rows,
    failure_message,
    point_code_location_at,
    report_rows,
    run_job,
)
from secoda_pipelines_tests.sandbox.helpers import insert_object

ADA = {"email": "ada.byron@example.com", "role": "Editor", "first_name": "Ada"}
CSV = (
    "email,role,first_name,last_name,groups,teams\n"
    "rosalind@example.com,guest,Rosalind,Franklin,,growth;Data Platform\n"
    "TIM.BERNERS-LEE@example.com,viewer,Tim,,,\n"
)


def run(sandbox, warehouse, instance, **config):
    return run_job(provision_users, sandbox, warehouse, instance, **config)


def ids_by_name(sandbox, path: str) -> dict[str, str]:
    return {row["name"]: row["id"] for row in api_rows(sandbox, path)}


def test_dry_run_then_apply_then_rerun(sandbox, warehouse, instance, tmp_path):
    groups = ids_by_name(sandbox, "auth/group/")
    teams = ids_by_name(sandbox, "auth/teams/")
    people = tmp_path / "people.csv"
    people.write_text(CSV)
    config = {
        "users": [{**ADA, "groups": ["analytics", groups["Finance"]], "teams": ["GROWTH"]}],
        "csv_path": str(people),
    }
    users_before = len(api_rows(sandbox, "user/"))
    sandbox.clear_log()

    dry = run(sandbox, warehouse, instance, **config)

    assert dry.success
    assert [(r.method, r.path, r.query) for r in sandbox.requests] == [
        ("GET", "user/", {"page": "1"}),
        ("GET", "auth/group/", {"page": "1"}),
        ("GET", "auth/teams/", {"page": "1"}),
    ]
    assert sandbox.writes() == []
    sandbox.clear_log()

    applied = run(sandbox, warehouse, instance, **config, dry_run=False)

    assert applied.success
    assert [(w.method, w.path, w.body) for w in sandbox.writes()] == [
        (
            "POST",
            "user/",
            {
                "email": "ada.byron@example.com",
                "emails": ["ada.byron@example.com"],
                "role": "editor",
                "user_groups": [groups["Analytics"], groups["Finance"]],
                "groups": [groups["Analytics"], groups["Finance"]],
                "teams": [teams["Growth"]],
                "first_name": "Ada",
            },
        ),
        (
            "POST",
            "user/",
            {
                "email": "rosalind@example.com",
                "emails": ["rosalind@example.com"],
                "role": "guest",
                "user_groups": [],
                "groups": [],
                "teams": [teams["Growth"], teams["Data Platform"]],
                "first_name": "Rosalind",
                "last_name": "Franklin",
            },
        ),
    ]
    users = {u["email"]: u for u in api_rows(sandbox, "user/")}
    assert len(users) == users_before + 2
    assert users["rosalind@example.com"]["role"] == "guest"
    sandbox.clear_log()

    rerun = run(sandbox, warehouse, instance, **config, dry_run=False)

    assert rerun.success
    assert sandbox.writes() == []
    report = report_rows(warehouse, "user_provisioning")
    by_run = {
        run_id: rows[["dry_run", "email", "action", "write_status"]].values.tolist()
        for run_id, rows in report.groupby("run_id", sort=False)
    }
    # One row per user per run: the plan, and on the same row what its write did.
    assert by_run[dry.run_id] == [
        [True, "ada.byron@example.com", "create", "planned"],
        [True, "rosalind@example.com", "create", "planned"],
        [True, "TIM.BERNERS-LEE@example.com", "exists", None],
    ]
    assert by_run[applied.run_id] == [
        [False, "ada.byron@example.com", "create", "written"],
        [False, "rosalind@example.com", "create", "written"],
        [False, "TIM.BERNERS-LEE@example.com", "exists", None],
    ]
    assert [row[2:] for row in by_run[rerun.run_id]] == [["exists", None]] * 3
    written = report[report.write_status == "written"]
    assert set(written.user_id) == {users[e]["id"] for e in written.email}
    assert written.write_detail.str.startswith("created user ").all()


def test_every_bad_value_is_named_and_nothing_is_created(sandbox, warehouse, instance, tmp_path):
    # A second group named like an existing one, in another case: naming it is ambiguous.
    insert_object(sandbox, "auth/group/", {"name": "ANALYTICS", "users": []})
    people = tmp_path / "people.csv"
    people.write_text("email,role,groups\nada.byron@example.com,viewer,\n")
    config = {
        "users": [
            ADA,
            {"email": "not-an-email", "role": "viewer"},
            {"email": "g@example.com", "role": "GUEST"},
            {"email": "x@example.com", "role": "owner", "groups": ["Analytics", "Nope"]},
            {"email": "y@example.com", "role": "viewer", "teams": ["Legacy BI", "Nope"]},
        ],
        "csv_path": str(people),
        "dry_run": False,
    }
    sandbox.clear_log()
    result = run(sandbox, warehouse, instance, **config)
    message = failure_message(result)
    for named in (
        "users[0] (ada.byron@example.com): email 'ada.byron@example.com' is given 2 times "
        "(users[0], people.csv line 2)",
        "users[1] (not-an-email): email 'not-an-email' is not an email address",
        "users[2] (g@example.com): role guest needs at least one team",
        "users[3] (x@example.com): role 'owner' is not one of admin, editor, viewer, guest",
        "users[3] (x@example.com): group 'Analytics' matches 2 groups",
        "users[3] (x@example.com): group 'Nope' matches no group by id or name",
        "users[4] (y@example.com): team 'Legacy BI' is archived",
        "users[4] (y@example.com): team 'Nope' matches no team by id or name",
        "people.csv line 2 (ada.byron@example.com): email 'ada.byron@example.com' is given",
    ):
        assert named in message
    assert sandbox.writes() == []
    assert report_rows(warehouse, "user_provisioning").empty, "a rejected run reports nothing"


def test_missing_input_fails_before_any_request(sandbox, warehouse, instance, tmp_path):
    sandbox.clear_log()
    assert "no users given" in failure_message(run(sandbox, warehouse, instance))
    missing = tmp_path / "nope.csv"
    message = failure_message(run(sandbox, warehouse, instance, csv_path=str(missing)))
    assert f"csv_path '{missing}' cannot be read" in message
    bad = tmp_path / "bad.csv"
    bad.write_text("mail,role\nx@example.com,viewer\n")
    message = failure_message(run(sandbox, warehouse, instance, csv_path=str(bad)))
    assert "bad.csv has unknown columns 'mail'" in message and "bad.csv has no email" in message
    assert sandbox.requests == []


@pytest.mark.slow
def test_a_crash_midway_is_finished_by_a_rerun_without_duplicates(sandbox, warehouse, instance):
    users = [
        {"email": f"new{i}@example.com", "role": "viewer", "teams": ["Growth"]} for i in range(3)
    ]
    sandbox.clear_log()
    # The second create meets a 500 at every attempt (the loop looks for the user before each
    # new one): the run stops there.
    original = sandbox.settings.on_request
    posts = []

    def fail_second_post(record):
        if record.method == "POST":
            posts.append(record)
            if len(posts) == 2:
                sandbox.fail_next("500", count=MAX_ATTEMPTS, method="POST", path_contains="user/")

    sandbox.settings.on_request = fail_second_post
    try:
        crashed = run(sandbox, warehouse, instance, users=users, dry_run=False)
    finally:
        sandbox.settings.on_request = original
    assert "wrote 1 of 3 user write(s), then stopped at new1@example.com" in failure_message(
        crashed
    )
    assert [w.body["email"] for w in sandbox.writes()] == ["new0@example.com"]
    sandbox.clear_log()

    finished = run(sandbox, warehouse, instance, users=users, dry_run=False)

    assert finished.success
    assert [w.body["email"] for w in sandbox.writes()] == ["new1@example.com", "new2@example.com"]
    report = report_rows(warehouse, "user_provisioning")
    assert report[["run_id", "email", "action", "write_status"]].values.tolist() == [
        [crashed.run_id, "new0@example.com", "create", "written"],
        [crashed.run_id, "new1@example.com", "create", "failed"],
        [crashed.run_id, "new2@example.com", "create", "planned"],  # not reached
        [finished.run_id, "new0@example.com", "exists", None],
        [finished.run_id, "new1@example.com", "create", "written"],
        [finished.run_id, "new2@example.com", "create", "written"],
    ]
    assert "Secoda answered 500" in report.write_detail[1]


def provision_users_of_the_code_location() -> dg.JobDefinition:
    """The job as the code location defines it (its resources read the environment)."""
    from secoda_pipelines.definitions import defs

    return defs.resolve_job_def("provision_users")


@pytest.mark.slow
def test_re_execution_from_failure_plans_again_and_writes_nothing_twice(
    sandbox, tmp_path, monkeypatch
):
    warehouse = tmp_path / "warehouse.duckdb"
    point_code_location_at(sandbox, warehouse, monkeypatch)
    users = [{"email": f"re{i}@example.com", "role": "viewer"} for i in range(3)]
    config = {"users": users, "dry_run": False}
    posts = []

    def fail_second_post(record):  # called before the sandbox decides this request's fault
        if record.method == "POST":
            posts.append(record)
            if len(posts) == 2:
                sandbox.fail_next("500", count=MAX_ATTEMPTS, method="POST", path_contains="user/")

    job = dg.reconstructable(provision_users_of_the_code_location)
    with dg.instance_for_test() as instance:
        sandbox.settings.on_request = fail_second_post
        with dg.execute_job(job, instance=instance, run_config=config) as failed:
            assert not failed.success
        sandbox.settings.on_request = None
        sandbox.clear_log()
        options = dg.ReexecutionOptions.from_failure(failed.run_id, instance)
        with dg.execute_job(job, instance=instance, reexecution_options=options) as again:
            assert again.success
            rerun_id = again.run_id
    assert [w.body["email"] for w in sandbox.writes()] == ["re1@example.com", "re2@example.com"]
    report = report_rows(warehouse, "user_provisioning", rerun_id)
    assert report[["email", "action", "write_status"]].values.tolist() == [
        ["re0@example.com", "exists", None],
        ["re1@example.com", "create", "written"],
        ["re2@example.com", "create", "written"],
    ]


def test_a_second_write_back_run_continues_the_first_runs_write_pace(sandbox, warehouse, instance):
    users = [{"email": f"pace{i}@example.com", "role": "viewer"} for i in range(2)]
    assert run(sandbox, warehouse, instance, users=users, dry_run=False).success
    client = SecodaResource(
        api_url=sandbox.base_url, api_key=DEFAULT_API_KEY, write_limit_per_minute=3
    ).get_client()
    reports = ReportStore(warehouse=WarehouseResource(database=str(warehouse)))
    with reports.workspace_lock(sandbox.base_url, "the-next-run") as journal:
        counted = continue_write_pace(dg.build_op_context(), client, journal)
    assert counted == 2, "both creates of the first run are in this minute, in its journal"
    client.limiter.acquire(timeout=0)  # the third write of the minute fits...
    with pytest.raises(TimeoutError):  # ...a fourth would pass Secoda's limit of 3
        client.limiter.acquire(timeout=0)


def test_a_user_listing_cut_short_plans_nothing_and_writes_nothing(
    make_sandbox, warehouse, instance
):
    # An existing user on a page that never comes back would be planned as new: the run
    # must stop before planning, not create a duplicate.
    sandbox = make_sandbox(page_size=2)
    sandbox.fail_next("page_404", count=10_000, path_contains="user/")
    result = run(
        sandbox,
        warehouse,
        instance,
        users=[{"email": "someone-new@example.com", "role": "viewer"}],
        dry_run=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "where its count says" in failure.step_failure_data.error.to_string()
    assert sandbox.writes() == []
    assert report_rows(warehouse, "user_provisioning").empty
