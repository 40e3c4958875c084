"""`flag_stale_dashboards` end to end against the sandbox: plan, tag, untag, rerun."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import pytest

from secoda_pipelines.defs.jobs.flag_stale_dashboards import flag_stale_dashboards
from secoda_pipelines.sandbox import DEFAULT_API_KEY
from secoda_pipelines_tests.helpers import (
    api_rows,
    failure_message,
    independent_stale,
    point_code_location_at,
    report_rows,
    run_job,
)
from secoda_pipelines_tests.sandbox.helpers import insert_object, update_object

DASHBOARDS = "dashboard/dashboards/"


def run(sandbox, warehouse, instance, **config):
    return run_job(flag_stale_dashboards, sandbox, warehouse, instance, **config)


def tags_named(sandbox, name: str) -> list[dict]:
    return [t for t in api_rows(sandbox, "tag/") if t["name"].casefold() == name.casefold()]


def dashboards_by_id(sandbox) -> dict[str, dict]:
    return {d["id"]: d for d in api_rows(sandbox, DASHBOARDS)}


def test_dry_run_plans_the_tag_and_every_stale_dashboard_and_writes_nothing(
    sandbox, warehouse, instance
):
    stale = independent_stale(api_rows(sandbox, DASHBOARDS), datetime.now(UTC))
    result = run(sandbox, warehouse, instance)
    assert result.success
    assert sandbox.writes() == []
    report = report_rows(warehouse, "stale_dashboard_flags", result.run_id)
    assert report["dry_run"].all()
    create, *rows = report.to_dict("records")
    assert (create["resource"], create["action"], create["title"]) == ("tag", "create", "stale")
    assert create["write_status"] == "planned"
    assert {r["dashboard_id"] for r in rows} == set(stale)
    assert {r["action"] for r in rows} == {"add"}
    assert {r["write_status"] for r in rows} == {"planned"}
    assert all(r["detail"].startswith("stale: no views or viewers") for r in rows)
    assert tags_named(sandbox, "stale") == []


def test_apply_creates_the_tag_once_and_patches_each_stale_dashboards_whole_tag_list(
    sandbox, warehouse, instance
):
    before = dashboards_by_id(sandbox)
    stale = independent_stale(list(before.values()), datetime.now(UTC))
    assert any(before[d]["tags"] for d in stale), "some stale dashboards carry other tags"
    sandbox.clear_log()
    result = run(sandbox, warehouse, instance, dry_run=False)
    assert result.success
    posts = [w for w in sandbox.writes() if w.method == "POST"]
    assert [(w.path, w.body["name"]) for w in posts] == [("tag/", "stale")]
    assert posts[0].body["color"].startswith("#")
    [tag] = tags_named(sandbox, "stale")
    patches = {w.path: w.body for w in sandbox.writes() if w.method == "PATCH"}
    assert patches == {
        f"{DASHBOARDS}{d}/": {"tags": [*before[d]["tags"], tag["id"]]} for d in stale
    }
    after = dashboards_by_id(sandbox)
    for dashboard_id, dashboard in after.items():
        expected = [*before[dashboard_id]["tags"]] + ([tag["id"]] if dashboard_id in stale else [])
        assert dashboard["tags"] == expected, dashboard["title"]
    report = report_rows(warehouse, "stale_dashboard_flags", result.run_id)
    assert report["write_status"].tolist() == ["written"] * (1 + len(stale))
    assert set(report["tag_id"]) == {tag["id"]}
    for row in report[report["resource"] == "dashboard"].itertuples():
        assert json.loads(row.tags_after) == after[row.dashboard_id]["tags"]


def test_rerun_writes_nothing_and_reports_every_stale_dashboard_unchanged(
    sandbox, warehouse, instance
):
    assert run(sandbox, warehouse, instance, dry_run=False).success
    sandbox.clear_log()
    again = run(sandbox, warehouse, instance, dry_run=False)
    assert again.success
    assert sandbox.writes() == []
    report = report_rows(warehouse, "stale_dashboard_flags", again.run_id)
    assert set(report["action"]) == {"unchanged"}
    assert report["write_status"].isna().all()
    assert report["detail"].str.endswith("already tagged").all()


def test_a_dashboard_in_use_again_loses_only_the_stale_tag(sandbox, warehouse, instance):
    assert run(sandbox, warehouse, instance, dry_run=False).success
    [tag] = tags_named(sandbox, "stale")
    flagged = [d for d in api_rows(sandbox, DASHBOARDS) if tag["id"] in d["tags"]]
    used = next(d for d in flagged if len(d["tags"]) > 1)  # carries another tag too
    update_object(sandbox, DASHBOARDS, used["id"], external_usage=25, external_users=["jdoe"])

    kept = run(sandbox, warehouse, instance, dry_run=False, remove_when_used=False)
    assert kept.success
    row = report_rows(warehouse, "stale_dashboard_flags", kept.run_id).set_index("dashboard_id")
    assert row.loc[used["id"], "action"] == "unchanged"
    assert "remove_when_used is false" in row.loc[used["id"], "detail"]

    sandbox.clear_log()
    removed = run(sandbox, warehouse, instance, dry_run=False)
    assert removed.success
    others = [t for t in used["tags"] if t != tag["id"]]
    assert [(w.method, w.path, w.body) for w in sandbox.writes()] == [
        ("PATCH", f"{DASHBOARDS}{used['id']}/", {"tags": others})
    ]
    assert dashboards_by_id(sandbox)[used["id"]]["tags"] == others
    row = report_rows(warehouse, "stale_dashboard_flags", removed.run_id).set_index("dashboard_id")
    assert (row.loc[used["id"], "action"], row.loc[used["id"], "write_status"]) == (
        "remove",
        "written",
    )


def test_an_existing_tag_is_found_in_any_case_and_not_created_again(sandbox, warehouse, instance):
    created = insert_object(
        sandbox, "tag/", {"name": "Stale", "color": "#ff0000", "description": ""}
    )
    result = run(sandbox, warehouse, instance, dry_run=False, tag_name="STALE")
    assert result.success
    assert [w for w in sandbox.writes() if w.method == "POST"] == []
    patched = [w.body["tags"][-1] for w in sandbox.writes()]
    assert patched and set(patched) == {created["id"]}


def test_other_tags_changed_after_the_plan_are_kept(sandbox, warehouse, instance):
    stale = sorted(independent_stale(api_rows(sandbox, DASHBOARDS), datetime.now(UTC)))
    target = stale[-1]
    someone_elses = api_rows(sandbox, "tag/")[0]["id"]
    store = sandbox.open_store()
    edits = []

    def a_person_tags_it_once_writes_start(record):
        if record.method == "PATCH" and not edits:
            obj = store.get_object(DASHBOARDS, target)
            obj["tags"] = [*obj["tags"], someone_elses]
            with store.transaction():
                store.update(DASHBOARDS, obj)
            edits.append(record.path)

    sandbox.settings.on_request = a_person_tags_it_once_writes_start
    result = run(sandbox, warehouse, instance, dry_run=False)
    sandbox.settings.on_request = None
    assert result.success and edits
    [tag] = tags_named(sandbox, "stale")
    final = dashboards_by_id(sandbox)[target]["tags"]
    assert final[-2:] == [someone_elses, tag["id"]], "the person's tag stays, ours is added"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"tag_name": "   "}, "tag_name '   ' is blank"),
        ({"tag_name": "x" * 101}, "characters: at most 100"),
    ],
)
def test_bad_input_is_named_and_nothing_is_written(sandbox, warehouse, instance, config, message):
    result = run(sandbox, warehouse, instance, dry_run=False, **config)
    assert not result.success
    assert message in failure_message(result)
    assert "nothing was tagged" in failure_message(result)
    assert sandbox.writes() == []
    assert sandbox.requests == [], "checked before any request"
    assert report_rows(warehouse, "stale_dashboard_flags").empty


def test_a_tag_name_two_tags_share_is_refused_naming_them(sandbox, warehouse, instance):
    first = insert_object(sandbox, "tag/", {"name": "stale"})
    second = insert_object(sandbox, "tag/", {"name": "STALE"})
    result = run(sandbox, warehouse, instance, dry_run=False)
    assert not result.success
    message = failure_message(result)
    assert "tag_name 'stale' matches 2 tags" in message
    assert first["id"] in message and second["id"] in message
    assert sandbox.writes() == []
    assert report_rows(warehouse, "stale_dashboard_flags").empty


def test_a_negative_stale_after_days_is_refused_before_the_run():
    with pytest.raises(dg.DagsterInvalidConfigError, match="stale_after_days = -1"):
        flag_stale_dashboards.execute_in_process(
            run_config={"stale_after_days": -1},
            resources={"secoda": None, "reports": None},
        )


def flag_job_of_the_code_location() -> dg.JobDefinition:
    """The job as the code location defines it (its resources read the environment)."""
    from secoda_pipelines.definitions import defs

    return defs.resolve_job_def("flag_stale_dashboards")


def test_re_execution_from_failure_plans_again_and_writes_nothing_twice(
    sandbox, tmp_path, monkeypatch
):
    warehouse = tmp_path / "warehouse.duckdb"
    point_code_location_at(sandbox, warehouse, monkeypatch)
    stale = independent_stale(api_rows(sandbox, DASHBOARDS), datetime.now(UTC))
    patches = []

    def revoke_the_key_at_the_third_patch(record):  # every later request is refused
        if record.method == "PATCH":
            patches.append(record)
            if len(patches) == 3:
                sandbox.settings.api_key = "revoked"

    job = dg.reconstructable(flag_job_of_the_code_location)
    with dg.instance_for_test() as instance:
        sandbox.settings.on_request = revoke_the_key_at_the_third_patch
        with dg.execute_job(job, instance=instance, run_config={"dry_run": False}) as failed:
            assert not failed.success
        sandbox.settings.on_request = None
        sandbox.settings.api_key = DEFAULT_API_KEY
        first = [w.path for w in sandbox.writes()]
        assert len(first) == 3, "the tag and two dashboards before the key was refused"
        sandbox.clear_log()
        options = dg.ReexecutionOptions.from_failure(failed.run_id, instance)
        with dg.execute_job(job, instance=instance, reexecution_options=options) as again:
            assert again.success
            rerun_id = again.run_id
    second = [w.path for w in sandbox.writes()]
    assert not any(w.method == "POST" for w in sandbox.writes()), "the tag is not made twice"
    assert set(first[1:]).isdisjoint(second), "no dashboard patched twice"
    assert {p.split("/")[-2] for p in first[1:] + second} == set(stale)
    report = report_rows(warehouse, "stale_dashboard_flags", rerun_id)
    assert (report["action"] == "unchanged").sum() == 2
    assert (report["write_status"] == "written").sum() == len(stale) - 2
