"""The sandbox's read side over real sockets: paging shapes, filters, auth, details, errors."""

from __future__ import annotations

import http.client
import math
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from secoda_pipelines.sandbox import COLLECTIONS, DEFAULT_API_KEY, DEFAULT_READONLY_API_KEY, Sandbox
from secoda_pipelines_tests.helpers import api_rows


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("reads") / "sandbox.sqlite") as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _defaults(sb: Sandbox) -> Iterator[None]:
    yield
    (
        sb.settings.page_size,
        sb.settings.page_style,
        sb.settings.none_strings,
        sb.settings.next_link_path,
    ) = 50, "secoda", False, None
    sb.settings.lineage_spelling, sb.settings.ordering = "from_entity", "oldest_first"


def get(sb: Sandbox, path: str, key: str | None = DEFAULT_API_KEY, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.get(sb.base_url + path, params=params, headers=headers, timeout=10)


def test_every_list_answers_page_one_in_secoda_shape(sb: Sandbox) -> None:
    for path in COLLECTIONS:
        response = get(sb, path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert set(body) == {"links", "meta", "count", "total_pages", "results"}
        assert body["total_pages"] == max(1, math.ceil(body["count"] / 50))
        assert len(body["results"]) == min(50, body["count"])
        assert body["meta"] == {
            "page": 1,
            "previous_page": None,
            "next_page": 2 if body["total_pages"] > 1 else None,
        }


def test_secoda_paging_walks_every_row_once_in_insertion_order(sb: Sandbox) -> None:
    sb.settings.page_size = 7
    first = get(sb, "table/columns/").json()
    assert first["total_pages"] == math.ceil(first["count"] / 7)
    assert first["links"]["next"] == f"{sb.base_url}table/columns/?page=2"
    assert first["links"]["previous"] is None
    middle = get(sb, "table/columns/", page=3).json()
    assert middle["meta"] == {"page": 3, "previous_page": 2, "next_page": 4}
    assert middle["links"]["previous"] == f"{sb.base_url}table/columns/?page=2"
    second = get(sb, "table/columns/", page=2).json()
    assert second["links"]["previous"] == f"{sb.base_url}table/columns/"  # DRF drops page=1
    last = get(sb, "table/columns/", page=first["total_pages"]).json()
    assert last["links"]["next"] is None and last["meta"]["next_page"] is None
    rows = api_rows(sb, "table/columns/")
    assert len(rows) == first["count"] == len({r["id"] for r in rows})
    assert rows[:7] == first["results"]


def test_newest_first_ordering(sb: Sandbox) -> None:
    oldest = api_rows(sb, "table/columns/")
    sb.settings.ordering, sb.settings.page_size = "newest_first", 9
    assert api_rows(sb, "table/columns/") == oldest[::-1]
    table = oldest[0]["parent"]
    assert api_rows(sb, "table/columns/", parent_id=table) == [
        c for c in oldest[::-1] if c["parent"] == table
    ]


def test_drf_shape(sb: Sandbox) -> None:
    sb.settings.page_style, sb.settings.page_size = "drf", 10
    body = get(sb, "dashboard/dashboards/", page=2).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 40 and len(body["results"]) == 10
    assert body["next"] == f"{sb.base_url}dashboard/dashboards/?page=3"
    assert body["previous"] == f"{sb.base_url}dashboard/dashboards/"
    assert get(sb, "dashboard/dashboards/", page=4).json()["next"] is None


def test_none_strings_and_foreign_next_link(sb: Sandbox) -> None:
    sb.settings.none_strings, sb.settings.next_link_path, sb.settings.page_size = (
        True,
        "dashboard/dashboards/",
        20,
    )
    first = get(sb, "user/").json()
    assert first["links"]["previous"] == "None" and first["meta"]["previous_page"] == "None"
    assert first["links"]["next"] == f"{sb.base_url}dashboard/dashboards/?page=2"
    last = get(sb, "user/", page=2).json()
    assert last["links"]["next"] == "None" and last["meta"]["next_page"] == "None"
    sb.settings.page_style = "drf"
    assert get(sb, "user/", page=2).json()["next"] == "None"


def test_links_keep_the_filters(sb: Sandbox) -> None:
    sb.settings.page_size = 3
    table = get(sb, "table/tables/").json()["results"][0]
    body = get(sb, "table/columns/", parent_id=table["id"]).json()
    assert body["links"]["next"] == f"{sb.base_url}table/columns/?parent_id={table['id']}&page=2"


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "99"])
def test_invalid_page_is_404(sb: Sandbox, page: str) -> None:
    response = get(sb, "table/tables/", page=page)
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def test_empty_list_has_one_empty_page(sb: Sandbox) -> None:
    body = get(sb, "table/tables/", title="no such table").json()
    assert body["count"] == 0 and body["total_pages"] == 1 and body["results"] == []
    assert body["links"]["next"] is None and body["meta"]["next_page"] is None
    assert get(sb, "table/tables/", title="no such table", page=2).status_code == 404


def test_filters(sb: Sandbox) -> None:
    integrations = {i["name"]: i for i in api_rows(sb, "integration/integrations/")}
    assert [i["name"] for i in api_rows(sb, "integration/integrations/", type="tableau")] == [
        "Tableau"
    ]
    legacy = integrations["Snowflake (legacy)"]["id"]
    tables = api_rows(sb, "table/tables/", integration_id=legacy)
    assert tables and all(t["integration"] == legacy for t in tables)
    orders = api_rows(sb, "table/tables/", integration_id=legacy, title="orders")
    assert [(t["database"], t["schema"]) for t in orders] == [("analytics", "core")]
    schema_tables = api_rows(sb, "table/tables/", parent_id=orders[0]["parent"])
    assert {t["schema"] for t in schema_tables} == {"core"} and len(schema_tables) == 5
    columns = api_rows(sb, "table/columns/", parent_id=orders[0]["id"])
    assert columns and {c["table_title"] for c in columns} == {"orders"}
    by_table_title = api_rows(sb, "table/columns/", table_title="orders", title="id")
    assert len(by_table_title) == 4  # both Snowflakes, Redshift and BigQuery
    tableau = integrations["Tableau"]["id"]
    assert len(api_rows(sb, "dashboard/dashboards/", integration_id=tableau)) == 40
    titled = api_rows(sb, "dashboard/dashboards/", title="Sales Pipeline")
    assert [d["title"] for d in titled] == ["Sales Pipeline"]
    assert get(sb, "table/tables/", unknown="x").json()["count"] == 96  # ignored


def test_lineage_filters_and_spelling(sb: Sandbox) -> None:
    edges = api_rows(sb, "lineage/manual/")
    a, b = edges[0]["from_entity"], edges[2]["from_entity"]
    from_a = api_rows(sb, "lineage/manual/", from_entity=a)
    assert from_a and all(e["from_entity"] == a for e in from_a)
    to_a = api_rows(sb, "lineage/manual/", to_entity=a)
    assert to_a and all(e["to_entity"] == a for e in to_a)
    both = api_rows(sb, "lineage/manual/", from_entity__in=f"{a},{b}")
    assert {e["from_entity"] for e in both} == {a, b}
    assert len(both) == len(from_a) + len(api_rows(sb, "lineage/manual/", from_entity=b))
    sb.settings.lineage_spelling = "from_entity_id"
    spelled = get(sb, "lineage/manual/", from_entity_id=a).json()["results"]
    assert spelled and all(set(e) >= {"from_entity_id", "to_entity_id"} for e in spelled)
    assert not any("from_entity" in e for e in spelled)
    detail = get(sb, f"lineage/manual/{spelled[0]['id']}/").json()
    assert detail["from_entity_id"] == a


def test_auth(sb: Sandbox) -> None:
    missing = get(sb, "user/", key=None)
    assert missing.status_code == 401
    assert missing.json() == {"detail": "Authentication credentials were not provided."}
    wrong = get(sb, "user/", key="wrong")
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Invalid token."}
    assert get(sb, "user/", key=DEFAULT_READONLY_API_KEY).status_code == 200
    basic = requests.get(sb.base_url + "user/", auth=("user", DEFAULT_API_KEY), timeout=10)
    assert basic.status_code == 401


def test_detail_get_and_not_found(sb: Sandbox) -> None:
    table = get(sb, "table/tables/").json()["results"][3]
    assert get(sb, f"table/tables/{table['id']}/").json() == table
    user = get(sb, "user/").json()["results"][0]
    assert get(sb, f"user/{user['id']}/").json() == user
    for path in ("table/tables/nope/", "user/nope/", "integration/integrations/nope/"):
        response = get(sb, path)
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    for path in ("nothing/here/", "table/tables", "table/tables/a/b/", ""):
        response = get(sb, path)
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    outside = requests.get(sb.base_url.replace("/api/v1/", "/other/"), timeout=10)
    assert outside.status_code == 404 and outside.headers["Content-Type"].startswith("text/plain")


def test_method_not_allowed(sb: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    response = requests.post(sb.base_url + "auth/group/", json={}, headers=headers, timeout=10)
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
    question = get(sb, "question/questions/").json()["results"][0]
    assert get(sb, f"question/questions/{question['id']}/").status_code == 404  # no detail route


def test_keep_alive_and_single_write_responses(sb: Sandbox) -> None:
    host, port = sb.server_address
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for page in (1, 2, 3):
            connection.request(
                "GET",
                f"/api/v1/table/columns/?page={page}",
                headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
            )
            response = connection.getresponse()
            assert response.status == 200 and response.getheader("Connection") is None
            assert len(response.read()) == int(response.getheader("Content-Length"))
    finally:
        connection.close()
