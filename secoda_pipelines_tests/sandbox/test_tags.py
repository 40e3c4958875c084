"""The sandbox's tags over real sockets: list, POST, detail GET, DELETE and its cascade, the
tag check on dashboard PATCHes, and Sandbox.update."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests

from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines.sandbox.seed import DEFAULT_TAG_COLOR, TAG_NAMES
from secoda_pipelines_tests.helpers import api_rows
from secoda_pipelines_tests.sandbox.helpers import count_objects, stored_object, update_object

TAG_FIELDS = {"id", "name", "description", "color", "integration_id", "created_at", "updated_at"}
TAGGED = ("dashboard/dashboards/", "table/tables/", "table/columns/")


def call(sb: Sandbox, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    return requests.request(method, sb.base_url + path, headers=headers, timeout=10, **kwargs)


def tag_id(sb: Sandbox, name: str) -> str:
    return next(t["id"] for t in api_rows(sb, "tag/") if t["name"] == name)


# ---- list ------------------------------------------------------------------------------


def test_seeded_tags_are_listed_in_one_page(sandbox: Sandbox) -> None:
    response = call(sandbox, "GET", "tag/")
    assert response.status_code == 200
    body = response.json()
    assert {k: v for k, v in body.items() if k != "results"} == {
        "links": {"next": None, "previous": None},
        "meta": {"page": 1, "previous_page": None, "next_page": None},
        "count": 10,
        "total_pages": 1,
    }
    tags = body["results"]
    assert [t["name"] for t in tags] == list(TAG_NAMES)
    assert all(set(t) == TAG_FIELDS for t in tags)
    assert all(t["integration_id"] is None and t["description"] for t in tags)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", t["color"]) for t in tags)
    assert len({t["id"] for t in tags}) == 10


def test_tag_list_pages_like_every_collection(sandbox: Sandbox) -> None:
    sandbox.settings.page_size = 4
    first = call(sandbox, "GET", "tag/").json()
    assert (first["count"], first["total_pages"], len(first["results"])) == (10, 3, 4)
    assert first["links"]["next"] == f"{sandbox.base_url}tag/?page=2"
    last = call(sandbox, "GET", "tag/", params={"page": 3}).json()
    assert [t["name"] for t in last["results"]] == list(TAG_NAMES[8:])
    assert last["meta"] == {"page": 3, "previous_page": 2, "next_page": None}
    past = call(sandbox, "GET", "tag/", params={"page": 4})
    assert past.status_code == 404 and past.json() == {"detail": "Invalid page."}


# ---- POST ------------------------------------------------------------------------------


def test_post_tag_answers_201_with_the_stored_tag(sandbox: Sandbox) -> None:
    body = {"name": "Revenue", "description": "Money in.", "color": "#A1b2C3"}
    response = call(sandbox, "POST", "tag/", json=body)
    assert response.status_code == 201
    tag = response.json()
    assert set(tag) == TAG_FIELDS
    assert {k: tag[k] for k in body} == body and tag["integration_id"] is None
    assert tag["id"] not in {t["id"] for t in api_rows(sandbox, "tag/")[:10]}
    assert call(sandbox, "GET", f"tag/{tag['id']}/").json() == tag
    assert api_rows(sandbox, "tag/")[-1] == tag and count_objects(sandbox, "tag/") == 11
    assert stored_object(sandbox, f"tag/{tag['id']}/") == tag
    assert [(w.method, w.path, w.status) for w in sandbox.writes()] == [("POST", "tag/", 201)]


def test_post_tag_defaults_the_color_and_trims_the_name(sandbox: Sandbox) -> None:
    plain = call(sandbox, "POST", "tag/", json={"name": "  kpi  "})
    assert plain.status_code == 201
    assert (plain.json()["name"], plain.json()["color"]) == ("kpi", DEFAULT_TAG_COLOR)
    assert plain.json()["description"] == ""
    null_color = call(sandbox, "POST", "tag/", json={"name": "ops", "color": None, "x": 1})
    assert null_color.status_code == 201 and null_color.json()["color"] == DEFAULT_TAG_COLOR
    assert "x" not in null_color.json()  # unknown keys are ignored, as in every POST


@pytest.mark.parametrize("name", ["pii", "PII", " Pii "])
def test_a_tag_name_taken_in_any_case_is_400_naming_the_existing_tag(
    sandbox: Sandbox, name: str
) -> None:
    existing = tag_id(sandbox, "pii")
    response = call(sandbox, "POST", "tag/", json={"name": name, "color": "#000000"})
    assert response.status_code == 400
    assert response.json() == {"name": [f'A tag named "pii" already exists (id {existing}).']}
    assert count_objects(sandbox, "tag/") == 10 and sandbox.writes() == []


def test_a_posted_tag_name_is_taken_too(sandbox: Sandbox) -> None:
    created = call(sandbox, "POST", "tag/", json={"name": "Churn Risk"}).json()
    again = call(sandbox, "POST", "tag/", json={"name": "churn risk"})
    assert again.status_code == 400
    message = f'A tag named "Churn Risk" already exists (id {created["id"]}).'
    assert again.json() == {"name": [message]}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        ({"name": "   ", "color": "#abcdef"}, {"name": ["This field may not be blank."]}),
        (
            {"name": "x", "color": "red"},
            {"color": ['"red" is not a valid hex colour such as "#a1b2c3".']},
        ),
        (
            {"name": "x", "color": "#12345"},
            {"color": ['"#12345" is not a valid hex colour such as "#a1b2c3".']},
        ),
        (
            {"name": "x", "color": "a1b2c3"},
            {"color": ['"a1b2c3" is not a valid hex colour such as "#a1b2c3".']},
        ),
        ({"name": "x", "description": 5}, {"description": ["Not a valid string."]}),
        (
            {"color": "#gggggg"},
            {
                "name": ["This field is required."],
                "color": ['"#gggggg" is not a valid hex colour such as "#a1b2c3".'],
            },
        ),
    ],
)
def test_post_tag_rejects_bad_fields(
    sandbox: Sandbox, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    response = call(sandbox, "POST", "tag/", json=body)
    assert response.status_code == 400
    assert response.json() == errors
    assert count_objects(sandbox, "tag/") == 10


def test_post_tag_counts_toward_the_write_rate_limit(make_sandbox: Callable[..., Sandbox]) -> None:
    sb = make_sandbox(write_rate_limit=2)
    statuses = [call(sb, "POST", "tag/", json={"name": f"t{i}"}).status_code for i in range(3)]
    assert statuses == [201, 201, 429]
    throttled = call(sb, "DELETE", f"tag/{tag_id(sb, 'gold')}/")
    assert throttled.status_code == 429
    assert throttled.json() == {"detail": "Request was throttled."}
    assert count_objects(sb, "tag/") == 12  # the two created, nothing deleted


# ---- detail GET, DELETE, no PATCH ------------------------------------------------------


def test_tag_detail_get_and_delete(sandbox: Sandbox) -> None:
    gold = next(t for t in api_rows(sandbox, "tag/") if t["name"] == "gold")
    path = f"tag/{gold['id']}/"
    detail = call(sandbox, "GET", path)
    assert detail.status_code == 200 and detail.json() == gold
    deleted = call(sandbox, "DELETE", path)
    assert deleted.status_code == 204 and deleted.content == b""
    for method in ("GET", "DELETE"):
        gone = call(sandbox, method, path)
        assert gone.status_code == 404 and gone.json() == {"detail": "Not found."}
    assert [t["name"] for t in api_rows(sandbox, "tag/")] == [n for n in TAG_NAMES if n != "gold"]
    assert stored_object(sandbox, path) is None


def test_tags_have_no_update_endpoint(sandbox: Sandbox) -> None:
    path = f"tag/{tag_id(sandbox, 'core')}/"
    for method in ("PATCH", "PUT", "POST"):
        response = call(sandbox, method, path, json={"name": "renamed"})
        assert response.status_code == 405
        assert response.json() == {"detail": f'Method "{method}" not allowed.'}
        assert response.headers["Allow"] == "GET, DELETE"
    assert call(sandbox, "GET", path).json()["name"] == "core"


def test_deleting_a_tag_removes_its_id_from_every_tagged_resource(sandbox: Sandbox) -> None:
    before = {path: api_rows(sandbox, path) for path in TAGGED}

    def carriers(tag: str) -> dict[str, int]:
        return {p: sum(tag in (o["tags"] or []) for o in rows) for p, rows in before.items()}

    # A tag that dashboards, tables and columns all carry.
    gone = next(t["id"] for t in api_rows(sandbox, "tag/") if all(carriers(t["id"]).values()))
    sandbox.clear_log()

    assert call(sandbox, "DELETE", f"tag/{gone}/").status_code == 204

    for path, rows in before.items():
        expected = [
            {**o, "tags": [t for t in o["tags"] if t != gone]} if gone in (o["tags"] or []) else o
            for o in rows
        ]
        assert api_rows(sandbox, path) == expected, path  # updated_at kept, nothing else moved
    assert [(w.method, w.path) for w in sandbox.writes()] == [("DELETE", f"tag/{gone}/")]


# ---- dashboard PATCH of tags -----------------------------------------------------------


def test_patch_dashboard_tags_with_an_unknown_id_is_400_and_changes_nothing(
    sandbox: Sandbox,
) -> None:
    dashboard = api_rows(sandbox, "dashboard/dashboards/")[0]
    path = f"dashboard/dashboards/{dashboard['id']}/"
    real = tag_id(sandbox, "finance")
    body = {"tags": [real, "nope-1", "nope-2", "nope-1"], "description": "changed"}
    response = call(sandbox, "PATCH", path, json=body)
    assert response.status_code == 400
    assert response.json() == {
        "tags": [
            'Invalid pk "nope-1" - tag does not exist.',
            'Invalid pk "nope-2" - tag does not exist.',
        ]
    }
    assert call(sandbox, "GET", path).json() == dashboard
    assert sandbox.writes() == []


def test_patch_dashboard_tags_accepts_seeded_and_posted_tags_but_not_deleted_ones(
    sandbox: Sandbox,
) -> None:
    dashboard = api_rows(sandbox, "dashboard/dashboards/")[1]
    path = f"dashboard/dashboards/{dashboard['id']}/"
    posted = call(sandbox, "POST", "tag/", json={"name": "board"}).json()["id"]
    tags = [tag_id(sandbox, "sales"), posted]
    patched = call(sandbox, "PATCH", path, json={"tags": tags})
    assert patched.status_code == 200 and patched.json()["tags"] == tags
    assert call(sandbox, "DELETE", f"tag/{posted}/").status_code == 204
    assert call(sandbox, "GET", path).json()["tags"] == tags[:1]
    refused = call(sandbox, "PATCH", path, json={"tags": tags})
    assert refused.status_code == 400
    assert refused.json() == {"tags": [f'Invalid pk "{posted}" - tag does not exist.']}
    assert call(sandbox, "PATCH", path, json={"tags": []}).json()["tags"] == []


# ---- Sandbox.update --------------------------------------------------------------------


def test_update_changes_stored_fields_without_a_request(sandbox: Sandbox) -> None:
    dashboard = api_rows(sandbox, "dashboard/dashboards/")[0]
    sandbox.clear_log()
    sync = {"external_usage": 999, "external_users": ["jdoe"], "internal_usage": 0}

    updated = update_object(sandbox, "dashboard/dashboards/", dashboard["id"], **sync)

    assert updated == {**dashboard, **sync}  # updated_at too is left as it was
    assert sandbox.requests == []  # not logged, so not counted as a write either
    assert call(sandbox, "GET", f"dashboard/dashboards/{dashboard['id']}/").json() == updated
    assert stored_object(sandbox, f"dashboard/dashboards/{dashboard['id']}/") == updated


def test_update_keeps_filters_current_and_refuses_bad_targets(sandbox: Sandbox) -> None:
    table = api_rows(sandbox, "table/tables/")[0]
    update_object(sandbox, "/api/v1/table/tables/", table["id"], title="renamed_orders")
    found = api_rows(sandbox, "table/tables/", title="renamed_orders")
    assert [t["id"] for t in found] == [table["id"]]
    with pytest.raises(KeyError, match="no object 'nope'"):
        update_object(sandbox, "table/tables/", "nope", title="x")
    with pytest.raises(KeyError, match="no collection"):
        update_object(sandbox, "tables/", table["id"], title="x")
    with pytest.raises(ValueError, match="cannot change an object's id"):
        update_object(sandbox, "table/tables/", table["id"], id="other")
    assert stored_object(sandbox, f"table/tables/{table['id']}/")["title"] == "renamed_orders"
