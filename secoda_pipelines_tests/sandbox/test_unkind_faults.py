"""The faults SPEC part A says real APIs and proxies produce, over real sockets with plain
`requests`: writes applied then answered 5xx or dropped, redirects to a login page, proxy
HTML answered 200, later pages answered empty or 404, and edits between two attempts.

Each test asserts what the wire shows and what the store holds afterwards.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from secoda_pipelines.sandbox import RequestRecord, Sandbox, SandboxSettings
from secoda_pipelines.sandbox.faults import (
    APPLIED_FAULT_KINDS,
    EVERY_RANDOM_FAULT_KIND,
    PAGE_FAULT_KINDS,
    RANDOM_FAULT_KINDS,
)
from secoda_pipelines_tests.helpers import AUTH
from secoda_pipelines_tests.sandbox.helpers import count_objects, stored_object, update_object

DASHBOARDS = "dashboard/dashboards/"
TABLES = "table/tables/"
TAGS = "tag/"
INTEGRATIONS = "integration/integrations/"


def call(sb: Sandbox, method: str, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("allow_redirects", False)
    return requests.request(method, sb.base_url + path, headers=AUTH, timeout=10, **kwargs)


def attempt(sb: Sandbox, method: str, path: str, **kwargs: Any) -> requests.Response | None:
    """Returns the answer, or None when the connection was dropped without one."""
    try:
        return call(sb, method, path, **kwargs)
    except requests.ConnectionError:
        return None


def first_id(sb: Sandbox, path: str) -> str:
    return call(sb, "GET", path).json()["results"][0]["id"]


def tag_ids(sb: Sandbox) -> list[str]:
    return [t["id"] for t in call(sb, "GET", TAGS).json()["results"]]


def is_json(response: requests.Response) -> bool:
    try:
        json.loads(response.content)
    except ValueError:
        return False
    return True


def last(sb: Sandbox) -> RequestRecord:
    return sb.requests[-1]


# ---- writes applied, then the answer lost ---------------------------------------------


def test_applied_500_applies_the_write_then_answers_a_json_500(sb: Sandbox) -> None:
    path = f"{DASHBOARDS}{first_id(sb, DASHBOARDS)}/"
    sb.fail_next("applied_500", method="PATCH")
    response = call(sb, "PATCH", path, json={"description": "written despite the 500"})
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"detail": "A server error occurred."}
    assert stored_object(sb, path)["description"] == "written despite the 500"
    record = last(sb)
    assert (record.fault, record.status, record.applied) == ("applied_500", 500, True)
    assert sb.writes() == [record]


def test_applied_503_applies_a_create_then_answers_a_proxy_page(sb: Sandbox) -> None:
    before = count_objects(sb, TAGS)
    sb.fail_next("applied_503", method="POST", retry_after=2)
    response = call(sb, "POST", TAGS, json={"name": "created-behind-a-503"})
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Retry-After"] == "2"
    assert b"503 Service Temporarily Unavailable" in response.content and not is_json(response)
    assert count_objects(sb, TAGS) == before + 1  # the tag was created all the same
    names = [t["name"] for t in call(sb, "GET", TAGS).json()["results"]]
    assert "created-behind-a-503" in names
    assert [(w.fault, w.applied) for w in sb.writes()] == [("applied_503", True)]


def test_applied_reset_applies_a_delete_then_drops_the_connection(sb: Sandbox) -> None:
    tag = tag_ids(sb)[0]
    sb.fail_next("applied_reset", method="DELETE")
    with pytest.raises(requests.ConnectionError):
        call(sb, "DELETE", f"{TAGS}{tag}/")
    assert stored_object(sb, f"{TAGS}{tag}/") is None  # deleted, though no answer came
    assert call(sb, "GET", f"{TAGS}{tag}/").status_code == 404
    record = next(r for r in sb.requests if r.method == "DELETE")
    assert (record.fault, record.status, record.applied) == ("applied_reset", 0, True)
    assert sb.writes() == [record]


def test_an_applied_fault_on_a_write_the_api_refuses_applies_nothing(sb: Sandbox) -> None:
    path = f"{DASHBOARDS}{first_id(sb, DASHBOARDS)}/"
    before = stored_object(sb, path)
    sb.fail_next("applied_503", method="PATCH")
    assert call(sb, "PATCH", path, json={"pii": "not a bool"}).status_code == 503
    assert stored_object(sb, path) == before
    assert (last(sb).fault, last(sb).applied) == ("applied_503", False)
    assert sb.writes() == []


# ---- answers that are not the API's: nothing applied ----------------------------------


def test_redirect_answers_a_login_redirect_and_applies_nothing(sb: Sandbox) -> None:
    dashboard = first_id(sb, DASHBOARDS)
    path = f"{DASHBOARDS}{dashboard}/"
    before = stored_object(sb, path)
    sb.fail_next("redirect", count=2, method="PATCH")
    response = call(sb, "PATCH", path, json={"description": "lost"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login/?next=/api/v1/{path}"
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"/login/?next=" in response.content
    # Followed, as requests does by default: a GET of the login page, 200 HTML.
    followed = call(sb, "PATCH", path, json={"description": "lost"}, allow_redirects=True)
    assert [r.status_code for r in followed.history] == [302]
    assert followed.status_code == 200 and followed.request.method == "GET"
    assert followed.headers["Content-Type"].startswith("text/html") and not is_json(followed)
    assert stored_object(sb, path) == before
    assert [(r.method, r.path, r.fault, r.applied) for r in sb.requests[1:]] == [
        ("PATCH", path, "redirect", False),
        ("PATCH", path, "redirect", False),
        ("GET", "/login/", None, False),
    ]
    assert sb.writes() == []


def test_redirect_of_a_get_keeps_its_query_in_next(sb: Sandbox) -> None:
    sb.fail_next("redirect")
    response = call(sb, "GET", TABLES, params={"page": "2"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/?next=/api/v1/table/tables/%3Fpage%3D2"


def test_html_200_answers_a_proxy_page_and_applies_nothing(sb: Sandbox) -> None:
    before = count_objects(sb, TAGS)
    sb.fail_next("html_200", method="POST")
    response = call(sb, "POST", TAGS, json={"name": "never-created"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Please wait…</h1>" in response.text and not is_json(response)
    assert count_objects(sb, TAGS) == before
    assert (last(sb).fault, last(sb).status, last(sb).applied) == ("html_200", 200, False)
    assert sb.writes() == []


# ---- later pages answered short ------------------------------------------------------


@pytest.mark.parametrize("page_style", ["secoda", "drf"])
def test_empty_page_keeps_the_real_envelope_with_no_results(sb: Sandbox, page_style: str) -> None:
    sb.settings.page_size, sb.settings.page_style = 20, page_style  # 96 tables: 5 pages
    real = call(sb, "GET", TABLES, params={"page": "3"}).json()
    assert len(real["results"]) == 20
    sb.fail_next("empty_page")
    first_page = call(sb, "GET", TABLES).json()  # page 1: not this fault's, left queued
    assert len(first_page["results"]) == 20 and last(sb).fault is None
    emptied = call(sb, "GET", TABLES, params={"page": "3"}).json()
    assert emptied == {**real, "results": []}
    if page_style == "secoda":  # more pages follow, by every signal
        assert emptied["count"] == 96 and emptied["total_pages"] == 5
        assert emptied["meta"]["next_page"] == 4 and "page=4" in emptied["links"]["next"]
    else:
        assert emptied["count"] == 96 and "page=4" in emptied["next"]
    assert last(sb).fault == "empty_page"
    assert call(sb, "GET", TABLES, params={"page": "3"}).json() == real  # once only


def test_page_404_answers_invalid_page_for_a_page_the_listing_has(sb: Sandbox) -> None:
    sb.settings.page_size = 20
    sb.fail_next("page_404")
    assert call(sb, "GET", TABLES).status_code == 200  # page 1: not consumed
    assert call(sb, "GET", TABLES, params={"page": "6"}).status_code == 404  # really past
    assert call(sb, "GET", f"{TABLES}{first_id(sb, TABLES)}/").status_code == 200  # not a list
    response = call(sb, "GET", TABLES, params={"page": "2"})
    assert response.status_code == 404 and response.json() == {"detail": "Invalid page."}
    again = call(sb, "GET", TABLES, params={"page": "2"}).json()
    assert len(again["results"]) == 20 and again["meta"]["next_page"] == 3
    assert [r.fault for r in sb.requests] == [None, None, None, None, "page_404", None]


def test_page_faults_need_a_later_page_of_the_filtered_listing(sb: Sandbox) -> None:
    sb.settings.page_size = 20
    integrations = call(sb, "GET", INTEGRATIONS).json()["results"]
    redshift = next(i["id"] for i in integrations if i["name"] == "Redshift")
    sb.fail_next("empty_page")
    # Redshift has 7 tables: one page, so page 2 of that filtered listing does not exist.
    one_page = call(sb, "GET", TABLES, params={"integration_id": redshift, "page": "2"})
    assert one_page.status_code == 404 and last(sb).fault is None
    bad_key = requests.get(
        sb.base_url + TABLES,
        params={"page": "2"},
        headers={"Authorization": "Bearer x"},
        timeout=10,
    )
    assert bad_key.status_code == 401 and last(sb).fault is None
    assert call(sb, "GET", TABLES, params={"page": "2"}).json()["results"] == []


# ---- eligibility of queued faults ---------------------------------------------------


def test_a_queued_fault_waits_for_a_request_it_applies_to(sb: Sandbox) -> None:
    sb.settings.page_size = 20
    path = f"{DASHBOARDS}{first_id(sb, DASHBOARDS)}/"
    sb.fail_next("applied_500")  # any method: only a write can take it
    sb.fail_next("empty_page")
    sb.fail_next("500")
    assert call(sb, "GET", path).status_code == 500  # the first fault that applies
    assert call(sb, "GET", TABLES).status_code == 200  # nothing left applies to page 1
    assert call(sb, "POST", TAGS, json={"name": "x1"}).status_code == 500  # applied_500
    assert call(sb, "GET", TABLES, params={"page": "2"}).json()["results"] == []
    assert call(sb, "POST", TAGS, json={"name": "x2"}).status_code == 201
    assert [(r.method, r.fault, r.applied) for r in sb.requests[1:]] == [
        ("GET", "500", False),
        ("GET", None, False),
        ("POST", "applied_500", True),
        ("GET", "empty_page", False),
        ("POST", None, True),
    ]


def test_writes_are_exactly_the_applied_requests(sb: Sandbox) -> None:
    path = f"{DASHBOARDS}{first_id(sb, DASHBOARDS)}/"
    outcomes = {
        None: True,
        "500": False,
        "503": False,
        "429": False,
        "reset": False,
        "redirect": False,
        "html_200": False,
        "truncated": True,
        "applied_500": True,
        "applied_503": True,
        "applied_reset": True,
    }
    expected = stored_object(sb, path)["description"]
    for kind, applied in outcomes.items():
        if kind is not None:
            sb.fail_next(kind, method="PATCH")
        attempt(sb, "PATCH", path, json={"description": f"by {kind}"})
        expected = f"by {kind}" if applied else expected
        assert call(sb, "GET", path).json()["description"] == expected, kind
    patches = [r for r in sb.requests if r.method == "PATCH"]
    assert [(r.fault, r.applied) for r in patches] == list(outcomes.items())
    assert sb.writes() == [r for r in patches if r.applied]
    assert not any(r.applied for r in sb.requests if r.method == "GET")


# ---- the edit hook --------------------------------------------------------------------


def test_edit_lands_between_the_attempt_and_the_next_one(sb: Sandbox) -> None:
    dashboard = first_id(sb, DASHBOARDS)
    path = f"{DASHBOARDS}{dashboard}/"
    ours, theirs = tag_ids(sb)[:2]
    seen: list[tuple[list[str], float | None]] = []

    def someone_adds_a_tag(sandbox: Sandbox) -> None:
        # Runs after the write was applied and before its answer is written.
        seen.append((stored_object(sandbox, path)["tags"], sandbox.requests[-1].finished_at))
        update_object(sandbox, DASHBOARDS, dashboard, tags=[ours, theirs])

    sb.fail_next("applied_503", method="PATCH", edit=someone_adds_a_tag)
    assert call(sb, "PATCH", path, json={"tags": [ours]}).status_code == 503
    assert seen == [([ours], None)]
    assert call(sb, "GET", path).json()["tags"] == [ours, theirs]  # the edit is visible
    assert call(sb, "PATCH", path, json={"description": "x"}).status_code == 200
    assert len(seen) == 1  # only the faulted request runs it
    assert stored_object(sb, path)["tags"] == [ours, theirs]


@pytest.mark.parametrize("kind", ["reset", "redirect", "applied_reset", "empty_page"])
def test_edit_runs_for_each_request_the_fault_hits_whatever_the_kind(
    sb: Sandbox, kind: str
) -> None:
    sb.settings.page_size = 20
    dashboard = first_id(sb, DASHBOARDS)
    path = f"{DASHBOARDS}{dashboard}/"
    edits: list[int] = []

    def edit(sandbox: Sandbox) -> None:
        edits.append(len(edits) + 1)
        update_object(sandbox, DASHBOARDS, dashboard, description=f"edit {len(edits)}")

    if kind == "empty_page":
        method, target, options = "GET", TABLES, {"params": {"page": "2"}}
    else:
        method, target, options = "PATCH", path, {"json": {"description": "ours"}}
    sb.fail_next(kind, count=2, method=method, edit=edit)
    for number in (1, 2):
        attempt(sb, method, target, **options)
        assert call(sb, "GET", path).json()["description"] == f"edit {number}"
    assert edits == [1, 2]


def test_an_edit_that_raises_is_kept_and_the_answer_still_sent(sb: Sandbox) -> None:
    def broken(sandbox: Sandbox) -> None:
        raise KeyError("no such dashboard")

    sb.fail_next("503", edit=broken)
    assert call(sb, "GET", DASHBOARDS).status_code == 503
    assert [repr(e) for e in sb.edit_errors] == ["KeyError('no such dashboard')"]
    with pytest.raises(ValueError, match="edit must be a callable"):
        sb.fail_next("503", edit="not callable")  # type: ignore[arg-type]


# ---- random faults ------------------------------------------------------------------


def test_random_faults_pick_only_kinds_that_apply(tmp_path: Any) -> None:
    sandbox = Sandbox(
        tmp_path / "r.sqlite",
        settings=SandboxSettings(
            page_size=20,
            fault_rate=1.0,
            fault_kinds=("applied_500", "empty_page"),
            fault_methods=("get", "PATCH"),
            write_rate_limit=None,
        ),
    )
    with sandbox as sb:
        path = f"{DASHBOARDS}{first_id(sb, DASHBOARDS)}/"
        assert len(call(sb, "GET", TABLES).json()["results"]) == 20  # page 1: none applies
        assert call(sb, "GET", TABLES, params={"page": "2"}).json()["results"] == []
        assert call(sb, "PATCH", path, json={"description": "r"}).status_code == 500
        assert call(sb, "POST", TAGS, json={"name": "r"}).status_code == 201  # not a method
        assert [(r.method, r.fault, r.applied) for r in sb.requests] == [
            ("GET", None, False),  # first_id: page 1
            ("GET", None, False),
            ("GET", "empty_page", False),
            ("PATCH", "applied_500", True),
            ("POST", None, True),
        ]
        assert stored_object(sb, path)["description"] == "r"


def test_random_faults_of_every_kind_respect_eligibility_and_the_store(tmp_path: Any) -> None:
    sandbox = Sandbox(
        tmp_path / "e.sqlite",
        settings=SandboxSettings(
            page_size=20,
            fault_rate=1.0,
            fault_kinds=EVERY_RANDOM_FAULT_KIND,
            fault_methods=("GET", "POST"),
            write_rate_limit=None,
        ),
        fault_seed=3,
    )
    with sandbox as sb:
        for n in range(40):
            for method, path, params, body in (
                ("GET", TABLES, {"page": str(n % 5 + 1)}, None),
                ("POST", INTEGRATIONS, None, {"name": f"random-{n}"}),
            ):
                attempt(sb, method, path, params=params, json=body)
        sb.settings.fault_rate, sb.settings.page_size = 0, 100
        stored = {i["name"] for i in call(sb, "GET", INTEGRATIONS).json()["results"]}
    records = sandbox.requests[:-1]  # the last one listed the integrations, unfaulted
    assert len(records) == 80
    assert all(r.fault is not None for r in records)  # rate 1: some kind always applies
    for r in records:
        if r.fault in APPLIED_FAULT_KINDS:
            assert r.method == "POST"
        if r.fault in PAGE_FAULT_KINDS:
            assert r.method == "GET" and r.query["page"] != "1"
    posts = [r for r in sandbox.requests if r.method == "POST"]
    created = {r.body["name"] for r in posts if r.applied}
    assert created == {n for n in stored if n.startswith("random-")}
    assert all(r.applied == (r.fault in ("truncated", *APPLIED_FAULT_KINDS)) for r in posts)
    assert {r.fault for r in records} == set(EVERY_RANDOM_FAULT_KIND)


def test_the_default_random_pool_is_unchanged(tmp_path: Any) -> None:
    assert RANDOM_FAULT_KINDS == ("429_retry_after", "429", "500", "503", "reset", "truncated")
    sandbox = Sandbox(
        tmp_path / "d.sqlite",
        settings=SandboxSettings(
            page_size=20, fault_rate=1.0, fault_methods=("GET", "PATCH"), write_rate_limit=None
        ),
    )
    with sandbox as sb:
        for n in range(30):
            attempt(sb, "GET", TABLES, params={"page": str(n % 4 + 2)})
    assert {r.fault for r in sandbox.requests} <= set(RANDOM_FAULT_KINDS)
    with pytest.raises(ValueError, match="fault method must be one of GET, POST"):
        SandboxSettings(fault_methods=("FETCH",))
