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

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}


def all_rows(sb: Sandbox, path: str, **params: Any) -> list[dict[str, Any]]:
    rows, page = [], 1
    while True:
        body = requests.get(
            sb.base_url + path, params={**params, "page": page}, headers=AUTH, timeout=10
        ).json()
        rows.extend(body["results"])
        if page >= body["total_pages"]:
            return rows
        page += 1


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Every demo list, read over HTTP from a fresh sandbox."""
    with Sandbox(tmp_path_factory.mktemp("demo") / "demo.sqlite") as sb:
        return {path: all_rows(sb, path) for path in COLLECTIONS}


# ---- determinism and persistence -------------------------------------------------------


def test_two_fresh_seeds_serve_identical_listings(
    tmp_path: Path, demo: dict[str, list[dict[str, Any]]]
) -> None:
    with Sandbox(tmp_path / "again.sqlite") as sb:
        assert sb.seeded
        for path, rows in demo.items():
            assert all_rows(sb, path) == rows, path


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
        table = all_rows(sb, "table/tables/")[0]
        path = f"table/tables/{table['id']}/"
        requests.patch(sb.base_url + path, json={"description": "kept"}, headers=AUTH)
        requests.post(sb.base_url + "integration/integrations/", json={"name": "New"}, headers=AUTH)
    with Sandbox(db) as sb:
        assert not sb.seeded
        assert sb.get_object(path)["description"] == "kept"
        assert sb.count("integration/integrations/") == 6
        sb.stop()
        sb.start()  # the same object restarts
        assert requests.get(sb.base_url + path, headers=AUTH).json()["description"] == "kept"
    with Sandbox(db, reset=True) as sb:
        assert sb.seeded
        assert sb.get_object(path)["description"] == table["description"]
        assert sb.count("integration/integrations/") == 5


def test_another_scale_in_the_same_file_reseeds(tmp_path: Path) -> None:
    db = tmp_path / "scales.sqlite"
    with Sandbox(db, scale="small") as sb:
        assert sb.seeded
        assert sb.count("table/tables/") == 1_000
        assert sb.count("table/columns/") == 10_000
        integrations = {i["name"]: i["id"] for i in all_rows(sb, "integration/integrations/")}
        assert sb.count("table/tables/", integration_id=integrations["Snowflake"]) == 1_000
        assert sb.count("dashboard/dashboards/") == 40
    with Sandbox(db, scale="demo") as sb:
        assert sb.seeded and sb.count("table/tables/") == 85
    assert SCALES == ("demo", "small", "large")


def test_insert_get_object_and_count(tmp_path: Path) -> None:
    with Sandbox(tmp_path / "direct.sqlite") as sb:
        table = all_rows(sb, "table/tables/")[0]
        sb.clear_log()
        stored = sb.insert("table/columns/", {"title": "extra", "parent": table["id"]})
        edge = sb.insert("lineage/manual/", {"from_entity": "a", "to_entity": "b"})
        assert sb.requests == []  # direct inserts are not logged
        assert stored["id"] and stored["created_at"]
        assert sb.get_object(f"table/columns/{stored['id']}/") == stored
        assert sb.get_object("/api/v1/table/columns/nope/") is None
        assert sb.count("table/columns/", parent_id=table["id"]) == len(
            all_rows(sb, "table/columns/", parent_id=table["id"])
        )
        assert all_rows(sb, "table/columns/", parent_id=table["id"])[-1] == stored
        assert sb.count("lineage/manual/", from_entity__in="a,zzz") == 1
        assert sb.get_object(f"lineage/manual/{edge['id']}/") == edge
        with pytest.raises(ValueError):
            sb.count("table/tables/", colour="red")
        with pytest.raises(KeyError):
            sb.insert("tags/", {})


# ---- the demo workspace ----------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value in (None, "None", 0, [])


def stale_titles(dashboards: list[dict[str, Any]], now: datetime, days: int = 90) -> set[str]:
    """The SPEC's rule: no usage, no users, and no external update within days of now."""
    stale = set()
    for d in dashboards:
        updated = d["external_updated_at"]
        old = updated is None or datetime.fromisoformat(updated) < now - timedelta(days=days)
        if (
            all(_empty(d[k]) for k in ("external_usage", "internal_usage"))
            and all(_empty(d[k]) for k in ("external_users", "internal_users"))
            and old
        ):
            stale.add(d["title"])
    return stale


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
    assert len(old) == 34 and sum(current.values()) == 38
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
    assert len(downstream) == 12 and set(downstream) == upstream
    titles = {t["id"]: t["title"] for t in demo["table/tables/"]}
    titles.update({d["id"]: d["title"] for d in demo["dashboard/dashboards/"]})
    graph: dict[str, list[str]] = {}
    for a, b in downstream:
        graph.setdefault(titles[a], []).append(titles[b])
    assert graph["page_views"] == ["stg_page_views"]
    assert graph["daily_active_users"] == ["Product Engagement"]
    assert sorted(graph["stg_payments"]) == ["fct_revenue", "payments"]
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
from secoda_pipelines.sandbox import Sandbox
signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the parent ignores it
sandbox = Sandbox(sys.argv[1], verbose=True)
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
