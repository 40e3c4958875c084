"""Documentation coverage SQL over a crafted catalog, in DuckDB and in PostgreSQL: each
query's typed rows equal what plain Python works out from the same rows, and both backends
give equal frames. The rows carry every empty spelling (null, 'None', '', '[]', '[ ]',
false), several owners, none, an owner listed twice, an owner who is no stored user, a user
in two teams, two integrations, a column whose table is gone; some warehouses lack the
users, teams, integrations or columns table."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import psycopg
import pytest

from secoda_pipelines.catalog.reports.documentation_coverage import (
    BY_OWNER_COLUMNS,
    DOCUMENTATION_COVERAGE_COLUMNS,
    UNDOCUMENTED_COLUMNS,
    coverage_by_owner_sql,
    coverage_sql,
    typed_by_owner,
    typed_coverage,
    typed_undocumented,
    undocumented_popular_sql,
)
from secoda_pipelines.store import WarehouseError, choose_warehouse
from secoda_pipelines.store.warehouse import Warehouse

I1, I2 = "int-1", "int-2"
DDL = {
    "integrations": "id VARCHAR, name VARCHAR, type VARCHAR, created_at VARCHAR",
    "users": "id VARCHAR, email VARCHAR, first_name VARCHAR, last_name VARCHAR, "
    "role VARCHAR, pending BOOLEAN, disabled BOOLEAN, user_groups VARCHAR, teams VARCHAR",
    "teams": "id VARCHAR, name VARCHAR, type VARCHAR, archived BOOLEAN",
    "tables": "id VARCHAR, integration_id VARCHAR, database VARCHAR, schema VARCHAR, "
    "title VARCHAR, description VARCHAR, definition VARCHAR, tags VARCHAR, pii BOOLEAN, "
    "owners VARCHAR, verified BOOLEAN, parent_id VARCHAR, internal_usage BIGINT, "
    "external_usage BIGINT",
    "columns": "id VARCHAR, integration_id VARCHAR, table_id VARCHAR, database VARCHAR, "
    "schema VARCHAR, table_title VARCHAR, title VARCHAR, description VARCHAR, "
    "definition VARCHAR, tags VARCHAR, pii BOOLEAN, type VARCHAR, sort_order BIGINT, "
    "owners VARCHAR, verified BOOLEAN",
}
# (id, integration_id, database, schema, title, description, definition, tags, pii, owners,
#  verified, internal_usage, external_usage)
TABLES = [
    ("t1", I1, "db1", "s1", "orders", "Orders", None, '["a"]', True, '["u1","u2"]', True, 10, 5),
    ("t2", I1, "db1", "s1", "users", "None", "", "[]", False, "[ ]", None, None, 3),
    ("t3", I1, "db1", "s2", "events", None, "select 1", "[ ]", None, '["u9"]', False, 100, None),
    ("t4", I2, "db2", "s1", "raw", "", "None", None, True, None, True, None, None),
    ("t5", I2, "db2", "s1", "stage", None, None, "None", False, "None", False, 1, 1),
    ("t6", I2, "db2", "s1", "Zed", None, None, None, None, '["u2"]', None, 1, 1),
]
# (id, integration_id, table_id, database, schema, table_title, title, description,
#  definition, tags, pii, owners, verified)
COLUMNS = [
    ("c1", I1, "t1", "db1", "s1", "orders", "id", "pk", None, '["k"]', False, '["u1"]', True),
    ("c2", I1, "t1", "db1", "s1", "orders", "amount", None, None, "[]", True, '["u1","u1"]', None),
    ("c3", I1, "t3", "db1", "s2", "events", "ts", "None", None, None, None, "[]", False),
    ("c4", I2, "t4", "db2", "s1", "raw", "x", None, None, " [ ] ", None, None, True),
    ("c5", I2, "t5", "db2", "s1", "stage", "y", "y col", "", None, True, '["u3", "u2"]', None),
    ("c6", I2, "gone", "db2", "s1", "gone", "z", "", None, None, False, '["u2"]', False),
]
INTEGRATIONS = [(I1, "Warehouse one", "snowflake", None), (I2, "BI two", "tableau", None)]
USERS = [
    ("u1", "ada@example.com", "Ada", "L", "admin", False, False, "[]", '["T1","T2","T9"]'),
    ("u2", "bob@example.com", "Bob", "B", "editor", None, None, None, "[]"),
    ("u3", "cy@example.com", "Cy", "C", "viewer", False, False, None, "None"),
]
# Code point order puts "Zeta" before "analysts" and both before "Ölbaum"; a locale would
# not. The quote checks the JSON escaping.
TEAMS = [("T1", "analysts", "team", False), ("T2", 'Zeta "core"', "team", True)]
TEAMS += [("T3", "Ölbaum", "team", False)]

ALL = ("integrations", "users", "teams", "tables", "columns")
SCENARIOS = {
    "everything": ALL,
    "no_users_or_teams": ("integrations", "tables", "columns"),
    "no_teams": ("integrations", "users", "tables", "columns"),
    "no_integrations_no_columns": ("users", "teams", "tables"),
    "columns_only": ("integrations", "users", "teams", "columns"),
    "nothing": (),
}


def _rows(table: str) -> list[tuple]:
    if table == "tables":
        return [(*r[:11], None, *r[11:]) for r in TABLES]  # parent_id
    if table == "columns":
        return [(*r[:11], "varchar", i, *r[11:]) for i, r in enumerate(COLUMNS)]
    return {"integrations": INTEGRATIONS, "users": USERS, "teams": TEAMS}[table]


def _load_duckdb(path: str, tables: Collection[str]) -> None:
    with duckdb.connect(path) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS secoda")
        for table in tables:
            connection.execute(f"CREATE TABLE secoda.{table} ({DDL[table]})")
            rows = _rows(table)
            marks = ", ".join("?" * len(rows[0]))
            connection.executemany(f"INSERT INTO secoda.{table} VALUES ({marks})", rows)


def _load_postgres(url: str, tables: Collection[str]) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS secoda")
        for table in tables:
            connection.execute(f"CREATE TABLE secoda.{table} ({DDL[table]})")
            rows = _rows(table)
            marks = ", ".join(["%s"] * len(rows[0]))
            connection.cursor().executemany(f"INSERT INTO secoda.{table} VALUES ({marks})", rows)


Loader = Callable[[Collection[str]], Warehouse]


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_loaded(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Loader]:
    """Returns (dialect, a function storing the named secoda tables in a fresh warehouse of
    that backend and returning the warehouse)."""
    if request.param == "duckdb":

        def load(tables: Collection[str]) -> Warehouse:
            path = str(tmp_path / "warehouse.duckdb")
            _load_duckdb(path, tables)
            return choose_warehouse(None, path)

        return "duckdb", load
    url = request.getfixturevalue("make_warehouse_url")()

    def load_pg(tables: Collection[str]) -> Warehouse:
        _load_postgres(url, tables)
        return choose_warehouse(url)

    return "postgres", load_pg


# ---- what the reports should hold, worked out in Python ---------------------------------


def is_empty(value: Any) -> bool:
    if value is None or value is False or value in ("", "None"):
        return True
    return isinstance(value, str) and value.strip().startswith("[") and json.loads(value) == []


def resources(stored: Collection[str]) -> list[dict[str, Any]]:
    """Returns every stored resource as a dict: kind, id, integration_id, database, schema,
    title, table_title, description, definition, tags, pii, owners, verified, usage."""
    usage = {r[0]: (r[11], r[12]) for r in TABLES} if "tables" in stored else {}
    found = []
    if "tables" in stored:
        for r in TABLES:
            found.append(
                dict(
                    zip(
                        ["id", "integration_id", "database", "schema", "title"], r[:5], strict=True
                    ),
                    kind="table",
                    table_title=None,
                    description=r[5],
                    definition=r[6],
                    tags=r[7],
                    pii=r[8],
                    owners=r[9],
                    verified=r[10],
                    usage=usage[r[0]],
                )
            )
    if "columns" in stored:
        for r in COLUMNS:
            found.append(
                dict(
                    id=r[0],
                    integration_id=r[1],
                    database=r[3],
                    schema=r[4],
                    table_title=r[5],
                    title=r[6],
                    kind="column",
                    description=r[7],
                    definition=r[8],
                    tags=r[9],
                    pii=r[10],
                    owners=r[11],
                    verified=r[12],
                    usage=usage.get(r[2], (None, None)),
                )
            )
    return found


def described(resource: dict[str, Any]) -> bool:
    return not is_empty(resource["description"]) or not is_empty(resource["definition"])


def null_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value or "")


def expected_coverage(stored: Collection[str]) -> pd.DataFrame:
    names = {i[0]: i[1] for i in INTEGRATIONS} if "integrations" in stored else {}
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in resources(stored):
        groups[(r["integration_id"], r["database"], r["schema"], r["kind"])].append(r)
    rows = []
    for key in sorted(groups, key=lambda k: [null_last(v) for v in k]):
        members = groups[key]
        n = len(members)
        count = sum(1 for r in members if described(r))
        rows.append(
            {
                "integration_id": key[0],
                "integration_name": names.get(key[0]),
                "database": key[1],
                "schema": key[2],
                "kind": key[3],
                "resources": n,
                "described": count,
                "with_description": sum(not is_empty(r["description"]) for r in members),
                "with_definition": sum(not is_empty(r["definition"]) for r in members),
                "with_owners": sum(not is_empty(r["owners"]) for r in members),
                "with_tags": sum(not is_empty(r["tags"]) for r in members),
                "pii": sum(r["pii"] is True for r in members),
                "verified": sum(r["verified"] is True for r in members),
                "described_share": count / n,
            }
        )
    return typed_coverage(pd.DataFrame(rows, columns=DOCUMENTATION_COVERAGE_COLUMNS[1:]))


def expected_by_owner(stored: Collection[str]) -> pd.DataFrame:
    users = {u[0]: u for u in USERS} if "users" in stored else {}
    teams = {t[0]: t[1] for t in TEAMS} if "teams" in stored else None
    groups: dict[tuple, list[bool]] = defaultdict(list)
    for r in resources(stored):
        owners = [] if is_empty(r["owners"]) else sorted(set(json.loads(r["owners"])))
        for owner in owners or [None]:
            groups[(owner, r["kind"])].append(described(r))
    rows = []
    for owner, kind in sorted(groups, key=lambda k: (null_last(k[0]), k[1])):
        flags = groups[(owner, kind)]
        user = users.get(owner)
        team_names = None
        if user is not None and teams is not None:
            ids = [] if is_empty(user[8]) else json.loads(user[8])
            team_names = json.dumps(
                sorted(teams[i] for i in ids if i in teams),
                separators=(",", ":"),
                ensure_ascii=False,
            )
        rows.append(
            {
                "owner_id": owner,
                "email": user[1] if user else None,
                "team_names": team_names,
                "kind": kind,
                "resources": len(flags),
                "described": sum(flags),
                "described_share": sum(flags) / len(flags),
            }
        )
    return typed_by_owner(pd.DataFrame(rows, columns=BY_OWNER_COLUMNS[1:]))


def expected_undocumented(stored: Collection[str], limit: int = 500) -> pd.DataFrame:
    picked = [r for r in resources(stored) if not described(r)]
    picked.sort(
        key=lambda r: (
            -sum(u or 0 for u in r["usage"]),
            r["title"],
            r["kind"] != "table",
            r["id"],
        )
    )
    rows = [
        {
            **{c: r[c] for c in UNDOCUMENTED_COLUMNS[:7]},
            "owners": "[]" if is_empty(r["owners"]) else r["owners"],
            "internal_usage": r["usage"][0],
            "external_usage": r["usage"][1],
        }
        for r in picked[:limit]
    ]
    return typed_undocumented(pd.DataFrame(rows, columns=UNDOCUMENTED_COLUMNS))


# ---- the tests --------------------------------------------------------------------------


def test_the_python_expectations_see_the_crafted_cases() -> None:
    """Guards the fixture: the expectations below are not trivially empty or uniform."""
    coverage = expected_coverage(ALL)
    assert coverage["described"].sum() == 4  # t1, t3, c1, c5; no other
    by_owner = expected_by_owner(ALL).set_index(["owner_id", "kind"])
    assert by_owner.loc[("u1", "column"), "resources"] == 2  # c2 lists u1 twice: once
    assert by_owner.loc[("u1", "table"), "team_names"] == '["Zeta \\"core\\"","analysts"]'
    assert pd.isna(by_owner.loc[("u9", "table"), "email"])
    assert list(expected_undocumented(ALL)["id"][:3]) == ["c3", "c2", "t2"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_report_counts_what_python_counts(make_loaded, scenario: str) -> None:
    dialect, load = make_loaded
    warehouse = load(SCENARIOS[scenario])
    available = warehouse.existing_tables("secoda")
    assert available == set(SCENARIOS[scenario])

    coverage = typed_coverage(warehouse.query(coverage_sql(dialect, available)))
    pd.testing.assert_frame_equal(coverage, expected_coverage(available))
    assert list(coverage.columns) == DOCUMENTATION_COVERAGE_COLUMNS[1:]

    by_owner = typed_by_owner(warehouse.query(coverage_by_owner_sql(dialect, available)))
    pd.testing.assert_frame_equal(by_owner, expected_by_owner(available))

    popular = typed_undocumented(warehouse.query(undocumented_popular_sql(dialect, available)))
    pd.testing.assert_frame_equal(popular, expected_undocumented(available))


def test_undocumented_popular_stops_at_the_limit(make_loaded) -> None:
    dialect, load = make_loaded
    warehouse = load(ALL)
    rows = typed_undocumented(warehouse.query(undocumented_popular_sql(dialect, ALL, limit=3)))
    pd.testing.assert_frame_equal(rows, expected_undocumented(ALL, limit=3))
    assert len(rows) == 3


def test_a_column_an_older_release_did_not_store_reads_as_null(make_loaded) -> None:
    """`available` as table -> columns: columns without owners or verified (stored before
    the third release), tables without usage."""
    dialect, load = make_loaded
    warehouse = load(ALL)
    available = {table: [] for table in ALL}
    for table in ALL:
        available[table] = [c.split()[0] for c in DDL[table].split(", ")]
    available["columns"] = [c for c in available["columns"] if c not in ("owners", "verified")]
    available["tables"] = [c for c in available["tables"] if not c.endswith("_usage")]

    coverage = typed_coverage(warehouse.query(coverage_sql(dialect, available)))
    columns = coverage[coverage["kind"] == "column"]
    assert columns["with_owners"].sum() == 0 and columns["verified"].sum() == 0
    assert columns["resources"].sum() == len(COLUMNS)
    popular = typed_undocumented(warehouse.query(undocumented_popular_sql(dialect, available)))
    assert popular["internal_usage"].isna().all() and popular["external_usage"].isna().all()
    assert list(popular["title"]) == sorted(popular["title"])  # no usage: by title


def test_duckdb_and_postgres_give_equal_frames(tmp_path: Path, warehouse_url: str) -> None:
    path = str(tmp_path / "warehouse.duckdb")
    _load_duckdb(path, ALL)
    _load_postgres(warehouse_url, ALL)
    duck, pg = choose_warehouse(None, path), choose_warehouse(warehouse_url)
    for build, typed in (
        (coverage_sql, typed_coverage),
        (coverage_by_owner_sql, typed_by_owner),
        (undocumented_popular_sql, typed_undocumented),
    ):
        from_duckdb = typed(duck.query(build("duckdb", ALL)))
        from_postgres = typed(pg.query(build("postgres", ALL)))
        assert len(from_duckdb) > 0
        pd.testing.assert_frame_equal(from_duckdb, from_postgres)


def test_query_is_read_only(make_loaded) -> None:
    dialect, load = make_loaded
    warehouse = load(["integrations"])
    error = duckdb.Error if dialect == "duckdb" else WarehouseError
    with pytest.raises(error, match=r"read-only|read only"):
        warehouse.query("DELETE FROM secoda.integrations")
    assert len(warehouse.query("SELECT * FROM secoda.integrations")) == len(INTEGRATIONS)


def test_typed_frames_take_a_snapshot_date_and_name_a_missing_column() -> None:
    frame = expected_coverage(ALL).assign(snapshot_date=pd.Timestamp("2025-01-02", tz="UTC"))
    typed = typed_coverage(frame)
    assert list(typed.columns) == DOCUMENTATION_COVERAGE_COLUMNS
    assert str(typed["snapshot_date"].dtype) == "datetime64[ns, UTC]"
    with pytest.raises(ValueError, match="described_share"):
        typed_coverage(frame.drop(columns="described_share"))


@pytest.mark.parametrize("build", [coverage_sql, coverage_by_owner_sql, undocumented_popular_sql])
def test_an_unknown_dialect_is_refused_by_name(build) -> None:
    with pytest.raises(ValueError, match=r"'sqlite'.*duckdb.*postgres"):
        build("sqlite", ALL)


def test_a_bad_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit -1"):
        undocumented_popular_sql("duckdb", ALL, limit=-1)
