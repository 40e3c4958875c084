"""Seeding, determinism, persistence, direct store access and the demo workspace's content."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from secoda_pipelines.sandbox import COLLECTIONS, DEFAULT_API_KEY, REFERENCE_DATE, SCALES, Sandbox
from secoda_pipelines.sandbox.seed import TAG_NAMES, workspace
from secoda_pipelines_tests.helpers import AUTH, api_rows, independent_stale
from secoda_pipelines_tests.sandbox.helpers import count_objects, insert_object, stored_object


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Every demo list, read over HTTP from a fresh sandbox."""
    with Sandbox(tmp_path_factory.mktemp("demo") / "demo.sqlite") as sb:
        return {path: api_rows(sb, path) for path in COLLECTIONS}


# ---- determinism and persistence -------------------------------------------------------


def test_two_fresh_seeds_serve_identical_listings(
    tmp_path: Path, demo: dict[str, list[dict[str, Any]]]
) -> None:
    with Sandbox(tmp_path / "again.sqlite") as sb:
        assert sb.seeded
        for path, rows in demo.items():
            assert api_rows(sb, path) == rows, path


_DIGEST = """
import hashlib, json, sys
from secoda_pipelines.sandbox.seed import workspace
digest = hashlib.sha256()
for path, objects in workspace(sys.argv[1]):
    for obj in objects:
        digest.update(path.encode() + json.dumps(obj).encode())
print(digest.hexdigest())
"""


def test_seed_is_byte_identical_across_processes() -> None:
    def digest(hash_seed: str) -> str:
        env = {"PYTHONHASHSEED": hash_seed}
        command = [sys.executable, "-c", _DIGEST, "demo"]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout

    here = hashlib.sha256()
    for path, objects in workspace("demo"):
        for obj in objects:
            here.update(path.encode() + json.dumps(obj).encode())
    assert digest("1") == digest("2") == here.hexdigest() + "\n"


def test_writes_survive_a_restart_and_reset_reseeds(tmp_path: Path) -> None:
    db = tmp_path / "persist.sqlite"
    with Sandbox(db) as sb:
        table = api_rows(sb, "table/tables/")[0]
        path = f"table/tables/{table['id']}/"
        requests.patch(sb.base_url + path, json={"description": "kept"}, headers=AUTH)
        requests.post(sb.base_url + "integration/integrations/", json={"name": "New"}, headers=AUTH)
    with Sandbox(db) as sb:
        assert not sb.seeded
        assert stored_object(sb, path)["description"] == "kept"
        assert count_objects(sb, "integration/integrations/") == 6
        sb.stop()
        sb.start()  # the same object restarts
        assert requests.get(sb.base_url + path, headers=AUTH).json()["description"] == "kept"
    with Sandbox(db, reset=True) as sb:
        assert sb.seeded
        assert stored_object(sb, path)["description"] == table["description"]
        assert count_objects(sb, "integration/integrations/") == 5


def test_another_scale_in_the_same_file_reseeds(tmp_path: Path) -> None:
    db = tmp_path / "scales.sqlite"
    with Sandbox(db, scale="small") as sb:
        assert sb.seeded
        assert count_objects(sb, "table/tables/") == 1_000
        assert count_objects(sb, "table/columns/") == 10_000
        integrations = {i["name"]: i["id"] for i in api_rows(sb, "integration/integrations/")}
        assert count_objects(sb, "table/tables/", integration_id=integrations["Snowflake"]) == 1_000
        assert count_objects(sb, "dashboard/dashboards/") == 40
    with Sandbox(db, scale="demo") as sb:
        assert sb.seeded and count_objects(sb, "table/tables/") == 96
    assert SCALES == ("demo", "small", "large")


def test_insert_get_object_and_count(tmp_path: Path) -> None:
    with Sandbox(tmp_path / "direct.sqlite") as sb:
        table = api_rows(sb, "table/tables/")[0]
        sb.clear_log()
        stored = insert_object(sb, "table/columns/", {"title": "extra", "parent": table["id"]})
        edge = insert_object(sb, "lineage/manual/", {"from_entity": "a", "to_entity": "b"})
        assert sb.requests == []  # direct inserts are not logged
        assert stored["id"] and stored["created_at"]
        assert stored_object(sb, f"table/columns/{stored['id']}/") == stored
        assert stored_object(sb, "/api/v1/table/columns/nope/") is None
        assert count_objects(sb, "table/columns/", parent_id=table["id"]) == len(
            api_rows(sb, "table/columns/", parent_id=table["id"])
        )
        assert api_rows(sb, "table/columns/", parent_id=table["id"])[-1] == stored
        assert count_objects(sb, "lineage/manual/", from_entity__in="a,zzz") == 1
        assert stored_object(sb, f"lineage/manual/{edge['id']}/") == edge
        with pytest.raises(ValueError):
            count_objects(sb, "table/tables/", colour="red")
        with pytest.raises(KeyError):
            insert_object(sb, "tags/", {})


# ---- the demo workspace ----------------------------------------------------------------


def stale_titles(dashboards: list[dict[str, Any]], now: datetime, days: int = 90) -> set[str]:
    """The titles of the dashboards SPEC B's stale rule finds (helpers.independent_stale)."""
    stale = independent_stale(dashboards, now, days)
    return {d["title"] for d in dashboards if d["id"] in stale}


def test_demo_dashboards(demo: dict[str, list[dict[str, Any]]]) -> None:
    dashboards = demo["dashboard/dashboards/"]
    assert len(dashboards) == 40
    values = Counter(repr(d["external_usage"]) for d in dashboards)
    assert values["0"] and values["None"] and values["'None'"]
    assert any(d["external_users"] is None for d in dashboards)
    assert any(d["external_users"] == [] for d in dashboards)
    at_reference = stale_titles(dashboards, REFERENCE_DATE)
    later = stale_titles(dashboards, REFERENCE_DATE + timedelta(days=90))
    assert len(at_reference) == 14
    assert later - at_reference == {"New Dashboard (draft)", "Onboarding Metrics WIP"}
    assert stale_titles(dashboards, REFERENCE_DATE + timedelta(days=3650)) == later


def test_demo_warehouses(demo: dict[str, list[dict[str, Any]]]) -> None:
    names = {i["name"]: i for i in demo["integration/integrations/"]}
    assert list(names) == ["Snowflake (legacy)", "Tableau", "Snowflake", "Redshift", "BigQuery"]
    legacy, new = names["Snowflake (legacy)"]["id"], names["Snowflake"]["id"]
    assert names["Snowflake (legacy)"]["created_at"] < names["Snowflake"]["created_at"]

    def keys(integration: str) -> Counter[tuple[str, str, str]]:
        return Counter(
            (t["database"], t["schema"], t["title"].lower())
            for t in demo["table/tables/"]
            if t["integration"] == integration
        )

    old, current = keys(legacy), keys(new)
    assert len(old) == 34 and sum(current.values()) == 49  # 38 + the dbt project's 11
    assert set(old) - set(current) == {("raw", "stripe", "legacy_disputes")}
    assert [k for k, n in current.items() if n > 1] == [("analytics", "core", "customers")]
    legacy_tables = [t for t in demo["table/tables/"] if t["integration"] == legacy]
    assert all(t["description"] and t["definition"] and t["tags"] for t in legacy_tables)
    assert all(t["owners"] for t in legacy_tables)
    new_descriptions = {
        repr(t["description"]) for t in demo["table/tables/"] if t["integration"] == new
    }
    assert {"None", "'None'", "''"} <= new_descriptions
    columns = Counter(c["integration"] for c in demo["table/columns/"])
    assert columns[legacy] > 100 and columns[new] > 100


def _key(
    row: dict[str, Any],
    databases: dict[str, str] | None = None,
    schemas: dict[str, str] | None = None,
) -> tuple[str, str, str]:
    """(database, schema, title), case-insensitive, with old names mapped to new ones."""
    database, schema = row["database"], row["schema"]
    database = (databases or {}).get(database, database)
    return database, (schemas or {}).get(schema, schema), row["title"].lower()


def test_demo_renamed_warehouses_match_only_under_the_maps(
    demo: dict[str, list[dict[str, Any]]],
) -> None:
    names = {i["name"]: i for i in demo["integration/integrations/"]}
    old, new = names["Redshift"], names["BigQuery"]
    assert (old["type"], new["type"]) == ("redshift", "bigquery")
    assert old["created_at"] < names["Snowflake (legacy)"]["created_at"]
    assert new["created_at"] > names["Snowflake"]["created_at"]
    old_tables = [t for t in demo["table/tables/"] if t["integration"] == old["id"]]
    new_tables = [t for t in demo["table/tables/"] if t["integration"] == new["id"]]
    assert {(t["database"], t["schema"]) for t in old_tables} == {
        ("prod", "public"),
        ("prod", "finance"),
    }
    assert {(t["database"], t["schema"]) for t in new_tables} == {
        ("acme-analytics", "core"),
        ("acme-analytics", "finance"),
    }
    new_keys = Counter(_key(t) for t in new_tables)
    assert set(new_keys.values()) == {1}
    assert [t for t in old_tables if _key(t) in new_keys] == []  # plainly: nothing matches
    maps = {"databases": {"prod": "acme-analytics"}, "schemas": {"public": "core"}}
    unmatched = [t for t in old_tables if _key(t, **maps) not in new_keys]
    assert [(t["schema"], t["title"]) for t in unmatched] == [("public", "unload_audit")]
    assert {_key(t, **maps) for t in old_tables if t not in unmatched} == set(new_keys)
    assert 6 <= len(new_tables) <= len(old_tables) <= 8

    columns: dict[str, list[str]] = {}
    for c in demo["table/columns/"]:
        columns.setdefault(c["parent"], []).append(c["title"])
    assert all(3 <= len(columns[t["id"]]) <= 6 for t in old_tables + new_tables)
    old_by_key = {_key(t, **maps): t for t in old_tables}
    for table in new_tables:
        assert columns[table["id"]] == columns[old_by_key[_key(table)]["id"]], table["title"]


def test_demo_renamed_pair_documentation(demo: dict[str, list[dict[str, Any]]]) -> None:
    names = {i["name"]: i["id"] for i in demo["integration/integrations/"]}
    tag_names = {t["id"]: t["name"] for t in demo["tag/"]}

    def rows(path: str, integration: str) -> list[dict[str, Any]]:
        return [r for r in demo[path] if r["integration"] == names[integration]]

    old_tables, new_tables = rows("table/tables/", "Redshift"), rows("table/tables/", "BigQuery")
    old_columns = rows("table/columns/", "Redshift")
    assert all(t["description"] and t["definition"] and t["tags"] for t in old_tables)
    assert all(c["description"] and c["definition"] and c["tags"] for c in old_columns)
    pii = [c for c in old_columns if c["pii"]]
    assert {(c["table_title"], c["title"]) for c in pii} == {
        ("customers", "email"),
        ("customers", "name"),
    }
    assert all(tag_names[t] == "pii" for c in pii for t in c["tags"])
    described = [t["title"] for t in new_tables if t["description"] not in (None, "None", "")]
    assert described == ["invoices"]
    undocumented = (None, "None", "", [], False)
    for column in rows("table/columns/", "BigQuery"):
        fields = ("description", "definition", "tags", "pii", "owners", "verified")
        assert all(column[f] in undocumented for f in fields), column["title"]


@pytest.mark.parametrize("scale", ["demo", "small"])
def test_every_seeded_tag_id_is_a_tag(scale: str) -> None:
    sections: dict[str, list[dict[str, Any]]] = {}
    for path, objects in workspace(scale):
        sections.setdefault(path, []).extend(objects)
    tags = {t["id"]: t for t in sections["tag/"]}
    assert [t["name"] for t in tags.values()] == list(TAG_NAMES)
    carried = Counter(
        tag
        for path in ("dashboard/dashboards/", "table/tables/", "table/columns/")
        for obj in sections[path]
        for tag in obj.get("tags") or []
    )
    assert carried and set(carried) <= set(tags)


def test_demo_tags_over_http(demo: dict[str, list[dict[str, Any]]]) -> None:
    tags = {t["id"]: t for t in demo["tag/"]}
    assert len(tags) == 10 and all(t["integration_id"] is None for t in tags.values())
    for path in ("dashboard/dashboards/", "table/tables/", "table/columns/"):
        assert all(set(o["tags"] or []) <= set(tags) for o in demo[path]), path


def test_demo_lineage_has_mirrors_chains_and_a_cycle(
    demo: dict[str, list[dict[str, Any]]],
) -> None:
    edges = demo["lineage/manual/"]
    downstream = [
        (e["from_entity"], e["to_entity"]) for e in edges if e["direction"] == "DOWNSTREAM"
    ]
    upstream = {(e["to_entity"], e["from_entity"]) for e in edges if e["direction"] == "UPSTREAM"}
    assert len(downstream) == 30 and set(downstream) == upstream  # 12 + the dbt project's 18
    titles = {t["id"]: t["title"] for t in demo["table/tables/"]}
    titles.update({d["id"]: d["title"] for d in demo["dashboard/dashboards/"]})
    graph: dict[str, list[str]] = {}
    for a, b in downstream:
        graph.setdefault(titles[a], []).append(titles[b])
    assert graph["page_views"] == ["stg_page_views"]
    assert graph["daily_active_users"] == ["Product Engagement"]
    # By title: analytics.staging.stg_payments forks; shop_staging.stg_payments feeds orders.
    assert sorted(graph["stg_payments"]) == ["fct_revenue", "orders", "payments"]
    node, seen = "journal_entries", []
    while node not in seen:
        seen.append(node)
        node = graph[node][0]
    assert seen == ["journal_entries", "gl_balances", "cost_centers"] and node == "journal_entries"


def test_demo_people_and_questions(demo: dict[str, list[dict[str, Any]]]) -> None:
    users = demo["user/"]
    assert len(users) == 30
    assert {u["role"] for u in users} > {"Admin", "admin", "EDITOR", "viewer", "GUEST"}
    assert sum(u["pending"] for u in users) == 3 and sum(u["disabled"] for u in users) == 2
    assert all(u["teams"] for u in users if u["role"].lower() == "guest")
    for group in demo["auth/group/"]:
        members = {u["id"] for u in users if group["id"] in u["user_groups"]}
        assert set(group["users"]) == members
    assert [t["archived"] for t in demo["auth/teams/"]].count(True) == 1
    questions, replies = demo["question/questions/"], demo["question/replies/"]
    assert (len(questions), len(replies)) == (15, 40)
    reply_ids = {r["id"] for r in replies}
    answered = [q for q in questions if q.get("answer")]
    assert len(answered) == 8 and all(q["answer"] in reply_ids for q in answered)
    assert any("answer" not in q for q in questions)
    flags = Counter(repr(r.get("accepted_answer", "absent")) for r in replies)
    assert set(flags) == {"True", "False", "'absent'", "'None'", "None"}
    user_ids = {u["id"] for u in users}
    assert any(len(r["owners"]) > 1 for r in replies)
    assert any(set(r["owners"]) - user_ids for r in replies)


_SERVE = """
import signal, sys
from secoda_pipelines.sandbox import Sandbox, SandboxSettings
signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the parent ignores it
sandbox = Sandbox(sys.argv[1], settings=SandboxSettings(verbose=True))
sandbox.start()
print(sandbox.base_url, flush=True)
sandbox.serve_forever()
print("stopped", flush=True)
"""


def test_serve_forever_stops_cleanly_on_interrupt(tmp_path: Path) -> None:
    command = [sys.executable, "-c", _SERVE, str(tmp_path / "serve.sqlite")]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert requests.get(base_url + "user/", headers=AUTH, timeout=10).status_code == 200
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0 and out == "stopped\n"
    assert err.startswith("GET user/ 200 ") and err.count("\n") == 1  # one line per request
    assert DEFAULT_API_KEY not in err
