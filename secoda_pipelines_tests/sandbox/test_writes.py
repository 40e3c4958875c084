"""The sandbox's write side over real sockets: PATCH, POST, lineage, users, rate limit."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from secoda_pipelines.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_READONLY_API_KEY,
    Sandbox,
)
from secoda_pipelines_tests.helpers import api_rows
from secoda_pipelines_tests.sandbox.helpers import count_objects, stored_object


def call(
    sb: Sandbox, method: str, path: str, key: str = DEFAULT_API_KEY, **kwargs: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"}
    return requests.request(method, sb.base_url + path, headers=headers, timeout=10, **kwargs)


def first(sb: Sandbox, path: str, **params: Any) -> dict[str, Any]:
    return call(sb, "GET", path, params=params).json()["results"][0]


# ---- PATCH -----------------------------------------------------------------------------


def test_patch_table_updates_and_persists(sb: Sandbox) -> None:
    table = first(sb, "table/tables/")
    changes = {"description": "New.", "tags": ["t1"], "pii": True, "definition": None}
    response = call(sb, "PATCH", f"table/tables/{table['id']}/", json=changes)
    assert response.status_code == 200
    updated = response.json()
    assert {k: updated[k] for k in changes} == changes
    assert updated["title"] == table["title"] and updated["updated_at"] != table["updated_at"]
    assert call(sb, "GET", f"table/tables/{table['id']}/").json() == updated
    assert stored_object(sb, f"table/tables/{table['id']}/") == updated
    assert [(w.method, w.path, w.body) for w in sb.writes()] == [
        ("PATCH", f"table/tables/{table['id']}/", changes)
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"descriptoin": "typo"}, "descriptoin"),
        ({"pii": "yes"}, "pii"),
        ({"tags": "a,b"}, "tags"),
        ({"owners": [1, 2]}, "owners"),
        ({"verified": 1}, "verified"),
        ({"title": ""}, "title"),
    ],
)
def test_patch_rejects_unknown_fields_and_wrong_types(
    sb: Sandbox, body: dict[str, Any], field: str
) -> None:
    column = first(sb, "table/columns/")
    response = call(sb, "PATCH", f"table/columns/{column['id']}/", json=body)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert call(sb, "GET", f"table/columns/{column['id']}/").json() == column
    assert sb.writes() == []


def test_patch_ignores_read_only_fields_and_404s(sb: Sandbox) -> None:
    dashboard = first(sb, "dashboard/dashboards/")
    body = {"id": "other", "external_usage": 5, "tags": []}
    response = call(sb, "PATCH", f"dashboard/dashboards/{dashboard['id']}/", json=body)
    assert response.status_code == 200
    assert response.json()["id"] == dashboard["id"]
    assert response.json()["external_usage"] == dashboard["external_usage"]
    missing = call(sb, "PATCH", "table/tables/nope/", json={"pii": True})
    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}


def test_malformed_json_and_non_object_bodies(sb: Sandbox) -> None:
    table = first(sb, "table/tables/")
    response = call(sb, "PATCH", f"table/tables/{table['id']}/", data=b"{not json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert sb.requests[-1].body is None
    listed = call(sb, "PATCH", f"table/tables/{table['id']}/", json=[1])
    assert listed.status_code == 400 and "non_field_errors" in listed.json()


def test_readonly_key_cannot_write(sb: Sandbox) -> None:
    table = first(sb, "table/tables/")
    response = call(
        sb, "PATCH", f"table/tables/{table['id']}/", key=DEFAULT_READONLY_API_KEY, json={}
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to perform this action."}
    assert sb.requests[-1].auth_ok is True


def test_patch_user_role_groups_and_guest_rule(sb: Sandbox) -> None:
    user = first(sb, "user/")
    groups = call(sb, "GET", "auth/group/").json()["results"]
    target = groups[-1]["id"]
    response = call(
        sb, "PATCH", f"user/{user['id']}/", json={"role": "EDITOR", "user_groups": [target]}
    )
    assert response.status_code == 200
    assert response.json()["role"] == "editor" and response.json()["user_groups"] == [target]
    after = {g["id"]: g["users"] for g in call(sb, "GET", "auth/group/").json()["results"]}
    assert [gid for gid, users in after.items() if user["id"] in users] == [target]
    guest = call(sb, "PATCH", f"user/{user['id']}/", json={"role": "guest", "teams": []})
    assert guest.status_code == 400 and "teams" in guest.json()
    bad_group = call(sb, "PATCH", f"user/{user['id']}/", json={"user_groups": ["nope"]})
    assert bad_group.status_code == 400 and "nope" in bad_group.json()["user_groups"][0]


# ---- POST ------------------------------------------------------------------------------


def test_post_integration_table_and_column(sb: Sandbox) -> None:
    created = call(
        sb, "POST", "integration/integrations/", json={"name": "Looker", "type": "looker"}
    )
    assert created.status_code == 201
    integration = created.json()
    assert call(sb, "GET", "integration/integrations/", params={"type": "looker"}).json()[
        "results"
    ] == [integration]
    body = {"title": "t", "integration": integration["id"], "database": "d", "schema": "s"}
    table = call(sb, "POST", "table/tables/", json=body)
    assert table.status_code == 201 and table.json()["integration"] == integration["id"]
    column = call(sb, "POST", "table/columns/", json={"title": "c", "parent": table.json()["id"]})
    assert column.status_code == 201
    assert column.json()["table_title"] == "t" and column.json()["table_database"] == "d"
    assert column.json()["integration"] == integration["id"]
    listed = call(sb, "GET", "table/columns/", params={"parent_id": table.json()["id"]}).json()
    assert listed["results"] == [column.json()]
    assert count_objects(sb, "table/tables/", integration_id=integration["id"]) == 1
    for path, payload, field in (
        ("integration/integrations/", {"type": "x"}, "name"),
        ("table/tables/", {"description": "no title"}, "title"),
        ("table/tables/", {"title": "t", "integration": "nope"}, "integration"),
        ("table/columns/", {"title": "c", "parent": "nope"}, "parent"),
        ("table/columns/", {"title": "c", "pii": "no"}, "pii"),
    ):
        response = call(sb, "POST", path, json=payload)
        assert response.status_code == 400 and field in response.json(), (path, payload)


# ---- lineage ---------------------------------------------------------------------------


def test_lineage_post_creates_the_mirror_and_rejects_duplicates(sb: Sandbox) -> None:
    tables = call(sb, "GET", "table/tables/").json()["results"]
    a, b = tables[0]["id"], tables[1]["id"]
    before = count_objects(sb, "lineage/manual/")
    response = call(sb, "POST", "lineage/manual/", json={"from_entity": a, "to_entity": b})
    assert response.status_code == 201
    edge = response.json()
    assert (edge["from_entity"], edge["to_entity"], edge["direction"]) == (a, b, "DOWNSTREAM")
    assert edge["is_manual"] is True
    assert count_objects(sb, "lineage/manual/") == before + 2
    mirror = call(sb, "GET", "lineage/manual/", params={"from_entity": b, "to_entity": a})
    assert [e["direction"] for e in mirror.json()["results"]] == ["UPSTREAM"]
    for body in (
        {"from_entity": a, "to_entity": b, "direction": "DOWNSTREAM"},
        {"from_entity_id": b, "to_entity_id": a, "direction": "UPSTREAM"},  # the mirror
    ):
        duplicate = call(sb, "POST", "lineage/manual/", json=body)
        assert duplicate.status_code == 400 and "non_field_errors" in duplicate.json()
    assert count_objects(sb, "lineage/manual/") == before + 2
    sb.settings.page_size = 5  # paging stays exact across the hole a deletion leaves, both ways
    listed = [e["id"] for e in api_rows(sb, "lineage/manual/")]
    sb.settings.ordering = "newest_first"
    assert [e["id"] for e in api_rows(sb, "lineage/manual/")] == listed[::-1]
    sb.settings.ordering = "oldest_first"
    deleted = call(sb, "DELETE", f"lineage/manual/{edge['id']}/")
    assert deleted.status_code == 204 and deleted.content == b""
    assert count_objects(sb, "lineage/manual/") == before
    assert call(sb, "DELETE", f"lineage/manual/{edge['id']}/").status_code == 404
    mirror_id = mirror.json()["results"][0]["id"]
    remaining = [i for i in listed if i not in (edge["id"], mirror_id)]
    assert [e["id"] for e in api_rows(sb, "lineage/manual/")] == remaining
    sb.settings.ordering = "newest_first"
    assert [e["id"] for e in api_rows(sb, "lineage/manual/")] == remaining[::-1]


def test_lineage_post_accepts_id_spelling_and_validates_ends(sb: Sandbox) -> None:
    column = first(sb, "table/columns/")
    dashboard = first(sb, "dashboard/dashboards/")
    body = {
        "from_entity_id": column["id"],
        "to_entity_id": dashboard["id"],
        "direction": "upstream",
    }
    response = call(sb, "POST", "lineage/manual/", json=body)
    assert response.status_code == 201 and response.json()["direction"] == "UPSTREAM"
    mirror = count_objects(
        sb, "lineage/manual/", from_entity=dashboard["id"], to_entity=column["id"]
    )
    assert mirror == 1
    for payload, field in (
        ({"from_entity": "nope", "to_entity": column["id"]}, "from_entity"),
        ({"from_entity": column["id"]}, "to_entity"),
        (
            {"from_entity": column["id"], "to_entity": dashboard["id"], "direction": "x"},
            "direction",
        ),
    ):
        bad = call(sb, "POST", "lineage/manual/", json=payload)
        assert bad.status_code == 400 and field in bad.json(), payload
    same = call(
        sb, "POST", "lineage/manual/", json={"from_entity": column["id"], "to_entity": column["id"]}
    )
    assert same.status_code == 400


# ---- users -----------------------------------------------------------------------------


def test_user_post_reference_spelling(sb: Sandbox) -> None:
    group = first(sb, "auth/group/")
    team = first(sb, "auth/teams/")
    body = {
        "email": "New.Person@Example.com",
        "first_name": "New",
        "last_name": "Person",
        "role": "Viewer",
        "teams": [team["id"]],
        "user_groups": [group["id"]],
    }
    response = call(sb, "POST", "user/", json=body)
    assert response.status_code == 201
    user = response.json()
    assert user["email"] == "New.Person@Example.com" and user["role"] == "viewer"
    assert user["pending"] is True and user["disabled"] is False
    assert user["user_groups"] == [group["id"]] and user["teams"] == [team["id"]]
    assert user["id"] in call(sb, "GET", "auth/group/").json()["results"][0]["users"]
    duplicate = call(sb, "POST", "user/", json={**body, "email": "new.person@example.COM"})
    assert duplicate.status_code == 400
    assert duplicate.json()["email"][0] == "A user with this email already exists."


def test_user_post_guide_spelling_and_both_together(sb: Sandbox) -> None:
    group = first(sb, "auth/group/")
    several = call(
        sb,
        "POST",
        "user/",
        json={"emails": ["a@x.io", "b@x.io"], "role": "editor", "groups": [group["id"]]},
    )
    assert several.status_code == 201
    assert [u["email"] for u in several.json()] == ["a@x.io", "b@x.io"]
    assert all(u["user_groups"] == [group["id"]] for u in several.json())
    both = {
        "email": "c@x.io",
        "emails": ["c@x.io"],
        "role": "ADMIN",
        "user_groups": [group["id"]],
        "groups": [group["id"]],
        "teams": [],
    }
    one = call(sb, "POST", "user/", json=both)
    assert one.status_code == 201 and one.json()["email"] == "c@x.io"
    assert one.json()["user_groups"] == [group["id"]]
    assert count_objects(sb, "user/") == 33


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "g@x.io", "role": "guest"}, "teams"),
        ({"email": "g@x.io", "role": "Guest", "teams": []}, "teams"),
        ({"email": "g@x.io", "role": "owner"}, "role"),
        ({"email": "g@x.io"}, "role"),
        ({"role": "viewer"}, "email"),
        ({"email": "not-an-email", "role": "viewer"}, "email"),
        ({"email": "g@x.io", "role": "viewer", "user_groups": ["nope"]}, "user_groups"),
        ({"emails": ["g@x.io"], "role": "viewer", "groups": ["nope"]}, "groups"),
        ({"email": "g@x.io", "role": "viewer", "teams": ["nope"]}, "teams"),
        ({"email": "ada.lovelace@example.com", "role": "viewer"}, "email"),
    ],
)
def test_user_post_rejects(sb: Sandbox, body: dict[str, Any], field: str) -> None:
    response = call(sb, "POST", "user/", json=body)
    assert response.status_code == 400
    assert field in response.json()
    if field in ("user_groups", "groups", "teams") and "nope" in str(body):
        assert "nope" in response.json()[field][0]
    assert count_objects(sb, "user/") == 30


def test_guest_with_a_team_is_created(sb: Sandbox) -> None:
    team = first(sb, "auth/teams/")
    response = call(
        sb, "POST", "user/", json={"email": "g@x.io", "role": "guest", "teams": [team["id"]]}
    )
    assert response.status_code == 201 and response.json()["role"] == "guest"


# ---- rate limit ------------------------------------------------------------------------


def test_write_rate_limit(sb: Sandbox) -> None:
    sb.settings.write_rate_limit = 3
    table = first(sb, "table/tables/")
    path = f"table/tables/{table['id']}/"
    statuses = [call(sb, "PATCH", path, json={"description": str(i)}).status_code for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    throttled = call(sb, "PATCH", path, json={"description": "x"})
    assert throttled.json() == {"detail": "Request was throttled."}
    assert "Retry-After" not in throttled.headers
    assert call(sb, "GET", path).json()["description"] == "2"  # reads are never limited
    assert call(sb, "POST", "lineage/manual/", json={}).status_code == 429  # every write method
    sb.settings.write_rate_limit = 4  # throttled writes were not counted: one more fits
    assert call(sb, "PATCH", path, json={"description": "3"}).status_code == 200
    assert call(sb, "PATCH", path, json={"description": "4"}).status_code == 429
    assert len(sb.writes()) == 4
