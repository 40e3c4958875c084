"""Deterministic seeded workspaces for the sandbox, one per scale.

Everything comes from ``random.Random`` instances with fixed string seeds (one per section,
so changing one section does not shift the others) and fixed timestamps relative to
``REFERENCE_DATE``: the same scale gives byte-identical data on every build. Bump
``SEED_VERSION`` whenever the generated content changes, so existing files are rebuilt; the
random seeds do not depend on it, so ids survive a bump.

- ``demo``: two Snowflake integrations (legacy, fully documented; new, partly) with the same
  databases, schemas and table titles, a Tableau integration with 40 dashboards, and a
  renamed pair: an old Redshift (database ``prod``, schemas ``public`` and ``finance``,
  documented) and a new BigQuery (database ``acme-analytics``, schemas ``core`` and
  ``finance``, mostly undocumented) with the same table titles, which match only under
  ``RENAMED_DATABASES`` and ``RENAMED_SCHEMAS``. Also 30 users, 4 groups, 4 teams, the 10
  tags of ``TAG_NAMES``, 15 questions with 40 replies, and manual lineage (chains, a cycle).
  And the tables of the dbt project in ``sandbox/dbt/project`` (``DBT_TABLES``: database
  ``analytics``, schemas ``shop_raw``, ``shop_staging``, ``shop_marts``, ``shop_snapshots``,
  in the current Snowflake only) with lineage along its ref graph and on to Tableau
  dashboards in use and stale, a reverse-ETL table, and a diamond (``DBT_LINEAGE``).
- ``small`` / ``large``: one bulk Snowflake integration with exactly 1,000 / 50,000 tables
  and 10,000 / 500,000 columns (no other tables), plus the demo's Tableau dashboards,
  people, tags, questions and replies, an empty dbt integration, and lineage between bulk
  tables.

Every tag id a dashboard, table or column carries is one of the seeded tags.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

SEED_VERSION = "4"  # 2: tags, the renamed Redshift -> BigQuery pair; 3: the dbt project;
# 4: the demo's tables carry usage
# The random seeds' own version: kept at "1" so that every id seeded before stays the same.
_RNG_VERSION = "1"
SCALES = ("demo", "small", "large")
BULK_TABLES = {"small": 1_000, "large": 50_000}
REFERENCE_DATE = datetime(2026, 1, 1, tzinfo=UTC)

Obj = dict[str, Any]
Section = tuple[str, Iterable[Obj]]

INTEGRATIONS = "integration/integrations/"
DASHBOARDS = "dashboard/dashboards/"
QUESTIONS = "question/questions/"
REPLIES = "question/replies/"
TABLES = "table/tables/"
COLUMNS = "table/columns/"
LINEAGE = "lineage/manual/"
USERS = "user/"
GROUPS = "auth/group/"
TEAMS = "auth/teams/"
TAGS = "tag/"


def workspace(scale: str) -> Iterator[Section]:
    """Yields (resource path, objects in list order) for the scale's workspace.

    Raises:
        ValueError: scale is not one of SCALES.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if scale == "demo":
        yield from _demo()
    else:
        yield from _bulk(BULK_TABLES[scale])


# ---- helpers ---------------------------------------------------------------------------


def _rng(section: str) -> random.Random:
    return random.Random(f"secoda-sandbox:{_RNG_VERSION}:{section}")


def _uuids(rng: random.Random) -> Callable[[], str]:
    """Returns a function giving uuid4-looking ids drawn from rng."""
    return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))


def at(days_before: float, hour: int = 9, minute: int = 0) -> str:
    """Returns the ISO-8601 UTC timestamp days_before days before REFERENCE_DATE."""
    moment = REFERENCE_DATE - timedelta(days=days_before) + timedelta(hours=hour, minutes=minute)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _integration(new_id: Callable[[], str], name: str, kind: str, days_before: int) -> Obj:
    created = at(days_before, 10)
    return {
        "id": new_id(),
        "name": name,
        "type": kind,
        "status": "active",
        "created_at": created,
        "updated_at": created,
    }


# ---- people ----------------------------------------------------------------------------

_PEOPLE = (
    ("Ada", "Lovelace", "Admin"),
    ("Grace", "Hopper", "admin"),
    ("Alan", "Turing", "EDITOR"),
    ("Katherine", "Johnson", "Editor"),
    ("Edsger", "Dijkstra", "editor"),
    ("Barbara", "Liskov", "Viewer"),
    ("Donald", "Knuth", "viewer"),
    ("Margaret", "Hamilton", "VIEWER"),
    ("Claude", "Shannon", "Editor"),
    ("Frances", "Allen", "viewer"),
    ("John", "McCarthy", "Guest"),
    ("Radia", "Perlman", "guest"),
    ("Ken", "Thompson", "editor"),
    ("Dennis", "Ritchie", "Viewer"),
    ("Hedy", "Lamarr", "viewer"),
    ("Tim", "Berners-Lee", "Editor"),
    ("Annie", "Easley", "viewer"),
    ("John", "Backus", "viewer"),
    ("Sophie", "Wilson", "Editor"),
    ("Fran", "Bilas", "GUEST"),
    ("Jean", "Bartik", "viewer"),
    ("Niklaus", "Wirth", "viewer"),
    ("Shafi", "Goldwasser", "editor"),
    ("Leslie", "Lamport", "Viewer"),
    ("Evelyn", "Berezin", "viewer"),
    ("Bjarne", "Stroustrup", "viewer"),
    ("Carol", "Shaw", "Editor"),
    ("Guido", "van Rossum", "admin"),
    ("Lynn", "Conway", "viewer"),
    ("Vint", "Cerf", "Viewer"),
)
_PENDING = ("Evelyn", "Lynn", "Vint")
_DISABLED = ("Jean", "Niklaus")
_GROUPS = ("Admins", "Data Engineering", "Analytics", "Finance")
_TEAMS = (
    ("Data Platform", "open", False),
    ("Growth", "closed", False),
    ("Finance Ops", "private", False),
    ("Legacy BI", "open", True),
)
TAG_NAMES = (
    "pii",
    "finance",
    "core",
    "deprecated",
    "gold",
    "silver",
    "marketing",
    "sales",
    "product",
    "certified",
)


def _email(first: str, last: str) -> str:
    email = f"{first}.{last.replace(' ', '')}@example.com".lower()
    # One mixed-case address, for case-insensitive duplicate checks.
    return "Tim.Berners-Lee@Example.com" if first == "Tim" else email


def _people() -> tuple[list[Obj], list[Obj], list[Obj]]:
    """Returns (users, groups, teams) with consistent memberships."""
    rng = _rng("people")
    new_id = _uuids(rng)
    teams = [
        {
            "id": new_id(),
            "name": name,
            "type": kind,
            "archived": archived,
            "description": f"The {name} team.",
            "created_at": at(700 - 30 * i, 11),
        }
        for i, (name, kind, archived) in enumerate(_TEAMS)
    ]
    groups = [
        {
            "id": new_id(),
            "name": name,
            "description": f"{name} group.",
            "users": [],
            "created_at": at(720 - 10 * i, 11),
        }
        for i, name in enumerate(_GROUPS)
    ]
    active_teams = [t for t in teams if not t["archived"]]
    users: list[Obj] = []
    for i, (first, last, role) in enumerate(_PEOPLE):
        user_id = new_id()
        member_of: list[Obj] = []
        if role.lower() == "admin":
            member_of.append(groups[0])
        if role.lower() != "guest":
            member_of.extend(rng.sample(groups[1:], rng.randint(1, 2)))
        in_teams = rng.sample(active_teams, rng.randint(1, 2))
        if i % 9 == 4:
            in_teams.append(teams[3])  # a few still in the archived team
        for group in member_of:
            group["users"].append(user_id)
        created = at(650 - 15 * i, 8 + i % 9, (7 * i) % 60)
        users.append(
            {
                "id": user_id,
                "email": _email(first, last),
                "first_name": first,
                "last_name": last,
                "display_name": f"{first} {last}",
                "role": role,
                "user_groups": [g["id"] for g in member_of],
                "teams": [t["id"] for t in in_teams],
                "pending": first in _PENDING,
                "disabled": first in _DISABLED,
                "created_at": created,
                "updated_at": created,
            }
        )
    return users, groups, teams


_TAG_DETAILS = {  # name -> (description, color)
    "pii": ("Holds personal data: access is restricted.", "#d92d20"),
    "finance": ("Owned by Finance; feeds the monthly close.", "#027a48"),
    "core": ("Core business entities.", "#1570ef"),
    "deprecated": ("Scheduled for removal: do not build on it.", "#667085"),
    "gold": ("Curated, production-grade data.", "#dc6803"),
    "silver": ("Cleaned and conformed, not yet curated.", "#98a2b3"),
    "marketing": ("Used by the Marketing team.", "#dd2590"),
    "sales": ("Used by the Sales team.", "#6938ef"),
    "product": ("Used by the Product team.", "#0e9384"),
    "certified": ("Reviewed and certified by the data team.", "#12b76a"),
}
DEFAULT_TAG_COLOR = "#6b7280"  # a tag created without a color


def _tags() -> list[str]:
    new_id = _uuids(_rng("tags"))
    return [new_id() for _ in TAG_NAMES]


def _tag_objects(ids: list[str]) -> list[Obj]:
    """Returns the tag objects of TAG_NAMES with the given ids, all made in Secoda."""
    tags = []
    for i, (tag_id, name) in enumerate(zip(ids, TAG_NAMES, strict=True)):
        description, color = _TAG_DETAILS[name]
        created = at(760 - 7 * i, 9)
        tags.append(
            {
                "id": tag_id,
                "name": name,
                "description": description,
                "color": color,
                "integration_id": None,
                "created_at": created,
                "updated_at": created,
            }
        )
    return tags


# ---- warehouses ------------------------------------------------------------------------

CATALOG: dict[tuple[str, str], tuple[str, ...]] = {
    ("analytics", "core"): ("customers", "orders", "order_items", "products", "payments"),
    ("analytics", "marts"): ("fct_revenue", "dim_customers", "fct_orders_daily", "dim_products"),
    ("analytics", "staging"): (
        "stg_customers",
        "stg_orders",
        "stg_payments",
        "stg_products",
        "stg_events",
        "stg_sessions",
    ),
    ("raw", "stripe"): ("charges", "customers", "refunds", "invoices"),
    ("raw", "salesforce"): ("accounts", "opportunities", "contacts", "leads", "campaigns"),
    ("finance", "reporting"): (
        "monthly_revenue",
        "arr_by_segment",
        "churn_summary",
        "cohort_retention",
    ),
    ("finance", "ledger"): (
        "journal_entries",
        "accounts",
        "gl_balances",
        "cost_centers",
        "vendors",
    ),
}
# Only in the legacy warehouse: the migration's "unmatched" table and column.
LEGACY_ONLY_TABLE = ("raw", "stripe", "legacy_disputes")
LEGACY_ONLY_COLUMN = ("analytics", "core", "orders", "legacy_status_code")
# The legacy warehouse spells this title differently (keys match case-insensitively).
LEGACY_SPELLING = {("finance", "ledger", "journal_entries"): "Journal_Entries"}
# The new warehouse holds this key twice: the migration's "ambiguous" case.
AMBIGUOUS_DUPLICATE = ("analytics", "core", "CUSTOMERS")
# Only in the new warehouse: a database whose names resolve to one table each.
NEW_ONLY: dict[tuple[str, str], tuple[str, ...]] = {
    ("product", "events"): ("page_views", "stg_page_views"),
    ("product", "marts"): ("fct_sessions", "daily_active_users"),
}
UNCHANGED_TABLE = ("analytics", "marts", "dim_products")
KEPT_TABLE = ("finance", "reporting", "churn_summary")

COLUMN_TYPES = {
    "id": "varchar",
    "created_at": "timestamp_tz",
    "updated_at": "timestamp_tz",
    "status": "varchar",
    "amount": "number(18,2)",
    "currency": "varchar(3)",
    "customer_id": "varchar",
    "order_id": "varchar",
    "email": "varchar",
    "name": "varchar",
    "description": "text",
    "is_active": "boolean",
    "region": "varchar",
    "segment": "varchar",
    "quantity": "integer",
    "price": "number(18,2)",
    "source": "varchar",
    "event_type": "varchar",
    "account_id": "varchar",
    "phone": "varchar",
}
PII_COLUMNS = ("email", "name", "phone")
_COLUMN_POOL = [c for c in COLUMN_TYPES if c != "id"]


def _table_doc(db: str, schema: str, title: str) -> tuple[str, str]:
    words = title.replace("_", " ")
    description = f"{words.capitalize()} in {db}.{schema}."
    definition = (
        f"# {title}\n\nOne row per {words.removeprefix('fct ').removeprefix('dim ')}.\n\n"
        f"- Source: `{db}.{schema}`\n- Refreshed: daily\n"
    )
    return description, definition


class _Warehouses:
    """Builds the legacy and new demo warehouses' tables and columns."""

    def __init__(self, legacy_id: str, new_id_: str, users: list[Obj], tags: list[str]) -> None:
        self.rng = _rng("warehouses")
        self.new_id = _uuids(self.rng)
        self.legacy_id = legacy_id
        self.target_id = new_id_
        self.owners = [u["id"] for u in users if u["role"].lower() in ("admin", "editor")]
        self.tags = tags
        self.schemas: dict[tuple[str, str, str], str] = {}
        self.tables: list[Obj] = []
        self.columns: list[Obj] = []
        self.by_key: dict[tuple[str, str, str, str], Obj] = {}  # (integration, db, schema, title)

    def build(self) -> tuple[list[Obj], list[Obj]]:
        """Returns (tables, columns): the legacy warehouse's first, then the new one's."""
        layouts: dict[tuple[str, str, str], list[str]] = {}
        for (db, schema), titles in CATALOG.items():
            for title in titles:
                layouts[(db, schema, title)] = self._column_titles()
        layouts[LEGACY_ONLY_TABLE] = self._column_titles()
        legacy_docs = {key: self._legacy_table(key, cols) for key, cols in layouts.items()}
        for (db, schema), titles in {**CATALOG, **NEW_ONLY}.items():
            for title in titles:
                key = (db, schema, title)
                cols = layouts.get(key) or self._column_titles()
                self._new_table(key, title, cols, legacy_docs.get(key))
                if (db, schema, title.upper()) == AMBIGUOUS_DUPLICATE:
                    self._new_table(key, AMBIGUOUS_DUPLICATE[2], cols, None)
        return self.tables, self.columns

    def _column_titles(self) -> list[str]:
        return ["id", *self.rng.sample(_COLUMN_POOL, self.rng.randint(3, 7))]

    def _schema_id(self, integration: str, db: str, schema: str) -> str:
        key = (integration, db, schema)
        if key not in self.schemas:
            self.schemas[key] = self.new_id()
        return self.schemas[key]

    def _legacy_table(self, key: tuple[str, str, str], cols: list[str]) -> Obj:
        db, schema, title = key
        description, definition = _table_doc(db, schema, title)
        doc = {
            "description": description,
            "definition": definition,
            "tags": self.rng.sample(self.tags, self.rng.randint(1, 3)),
            "pii": any(c in PII_COLUMNS for c in cols),
            "owners": self.rng.sample(self.owners, self.rng.randint(1, 2)),
            "verified": self.rng.random() < 0.8,
        }
        table = self._table(self.legacy_id, db, schema, LEGACY_SPELLING.get(key, title), doc, 900)
        titles = [*cols, LEGACY_ONLY_COLUMN[3]] if key == LEGACY_ONLY_COLUMN[:3] else cols
        column_docs = [self._legacy_column_doc(title, c) for c in titles]
        self._columns(table, titles, column_docs, 900)
        return {"doc": doc, "columns": dict(zip(titles, column_docs, strict=True))}

    def _legacy_column_doc(self, table: str, column: str) -> Obj:
        words = column.replace("_", " ")
        return {
            "description": f"The {words} of the {table.replace('_', ' ')} row.",
            "definition": f"`{column}`: {words}. Never null.",
            "tags": self.rng.sample(self.tags, self.rng.randint(1, 2)),
            "pii": column in PII_COLUMNS,
            "owners": [],
            "verified": self.rng.random() < 0.5,
        }

    def _new_table(
        self, key: tuple[str, str, str], title: str, cols: list[str], legacy: Obj | None
    ) -> None:
        db, schema, _ = key
        if legacy is None:
            doc = {f: _EMPTY[f][0] for f in _EMPTY}
            column_docs = [dict(doc) for _ in cols]
        else:
            mode = "same" if key == UNCHANGED_TABLE else None
            doc = self._target_doc(legacy["doc"], mode)
            if key == KEPT_TABLE:
                doc = {**self._target_doc(legacy["doc"], "same"), "description": "Churn, WIP."}
            column_docs = [self._target_doc(legacy["columns"][c], mode) for c in cols]
        table = self._table(self.target_id, db, schema, title, doc, 200)
        self._columns(table, cols, column_docs, 200)

    def _target_doc(self, source: Obj, mode: str | None) -> Obj:
        """Returns the new warehouse's version of source's documentation, field by field."""
        doc: Obj = {}
        for field, value in source.items():
            roll = self.rng.random()
            choice = mode or ("empty" if roll < 0.45 else "same" if roll < 0.8 else "different")
            doc[field] = self._variant(field, value, choice)
        return doc

    def _variant(self, field: str, value: Any, choice: str) -> Any:
        if choice == "same":
            return list(reversed(value)) if isinstance(value, list) else value
        if choice == "empty" or isinstance(value, bool):
            return self.rng.choice(_EMPTY[field])
        if field in ("tags", "owners"):
            pool = self.tags if field == "tags" else self.owners
            return [v for v in pool if v not in value][:1]
        return "TODO: document" if field == "description" else "_Work in progress._"

    def _table(
        self, integration: str, db: str, schema: str, title: str, doc: Obj, days: int
    ) -> Obj:
        created = at(days - len(self.tables) % 40, 6, len(self.tables) % 60)
        table = {
            "id": self.new_id(),
            "title": title,
            "entity_type": "table",
            "integration": integration,
            "parent": self._schema_id(integration, db, schema),
            "database": db,
            "schema": schema,
            **doc,
            "created_at": created,
            "updated_at": created,
        }
        self.tables.append(table)
        self.by_key[(integration, db, schema, title)] = table
        return table

    def _columns(self, table: Obj, titles: list[str], docs: list[Obj], days: int) -> None:
        for order, (title, doc) in enumerate(zip(titles, docs, strict=True), start=1):
            self.columns.append(_column(self.new_id(), table, title, order, doc, at(days, 7)))


_EMPTY: dict[str, list[Any]] = {
    "description": [None, "None", ""],
    "definition": [None, "None", ""],
    "tags": [[], None],
    "owners": [[], None],
    "pii": [False],
    "verified": [False],
}


def _column(column_id: str, table: Obj, title: str, order: int, doc: Obj, created: str) -> Obj:
    return {
        "id": column_id,
        "title": title,
        "entity_type": "column",
        "parent": table["id"],
        "table_title": table["title"],
        "table_schema": table["schema"],
        "table_database": table["database"],
        "integration": table["integration"],
        "type": COLUMN_TYPES.get(title, "varchar"),
        "sort_order": order,
        **doc,
        "created_at": created,
        "updated_at": created,
    }


# ---- the renamed warehouse pair (demo) -------------------------------------------------

# An old Redshift moved to a new BigQuery: the same table and column titles under a renamed
# database and one renamed schema, so (database, schema, title) keys match only through
# these maps (old name -> new name; "finance" keeps its name).
RENAMED_DATABASES = {"prod": "acme-analytics"}
RENAMED_SCHEMAS = {"public": "core"}
RENAMED_CATALOG: dict[tuple[str, str], tuple[str, ...]] = {  # (old schema, title) -> columns
    ("public", "customers"): ("id", "email", "name", "region", "created_at"),
    ("public", "orders"): ("id", "customer_id", "status", "amount", "created_at"),
    ("public", "order_items"): ("id", "order_id", "quantity", "price"),
    ("public", "products"): ("id", "title", "description", "price", "is_active"),
    ("finance", "invoices"): ("id", "account_id", "amount", "currency", "status", "created_at"),
    ("finance", "payments"): ("id", "order_id", "amount", "currency"),
}
# Only in Redshift: unmatched even with the maps.
RENAMED_OLD_ONLY = ("public", "unload_audit")
RENAMED_OLD_ONLY_COLUMNS = ("id", "source", "created_at")
# The one BigQuery table with a description of its own (differing from Redshift's).
RENAMED_NEW_DOCUMENTED = ("finance", "invoices")
_REDSHIFT_TYPES = {"timestamp_tz": "timestamptz", "number(18,2)": "numeric(18,2)"}
_BIGQUERY_TYPES = {
    "varchar": "STRING",
    "varchar(3)": "STRING",
    "text": "STRING",
    "timestamp_tz": "TIMESTAMP",
    "number(18,2)": "NUMERIC",
    "integer": "INT64",
    "boolean": "BOOL",
}


class _RenamedWarehouses:
    """Builds the demo's Redshift (old, documented) and BigQuery (new, mostly not) pair."""

    def __init__(self, users: list[Obj], tags: list[str]) -> None:
        self.rng = _rng("renamed_warehouses")
        self.new_id = _uuids(self.rng)
        self.old = _integration(self.new_id, "Redshift", "redshift", 1200)
        self.new = _integration(self.new_id, "BigQuery", "bigquery", 30)
        self.owners = [u["id"] for u in users if u["role"].lower() in ("admin", "editor")]
        self.tags = tags
        self.pii_tag = tags[TAG_NAMES.index("pii")]
        self.other_tags = [t for t in tags if t != self.pii_tag]
        self.schemas: dict[tuple[str, str], str] = {}
        self.tables: list[Obj] = []
        self.columns: list[Obj] = []

    def build(self) -> tuple[list[Obj], list[Obj], list[Obj]]:
        """Returns (integrations, tables, columns), Redshift's before BigQuery's."""
        old_db = next(iter(RENAMED_DATABASES))
        layouts = {**RENAMED_CATALOG, RENAMED_OLD_ONLY: RENAMED_OLD_ONLY_COLUMNS}
        for (schema, title), columns in layouts.items():
            self._old_table(old_db, schema, title, columns)
        for (schema, title), columns in RENAMED_CATALOG.items():
            database = RENAMED_DATABASES[old_db]
            new_schema = RENAMED_SCHEMAS.get(schema, schema)
            described = (schema, title) == RENAMED_NEW_DOCUMENTED
            self._new_table(database, new_schema, title, columns, described)
        return [self.old, self.new], self.tables, self.columns

    def _old_table(self, db: str, schema: str, title: str, columns: tuple[str, ...]) -> None:
        description, definition = _table_doc(db, schema, title)
        doc = {
            "description": description,
            "definition": definition,
            "tags": self.rng.sample(self.other_tags, self.rng.randint(1, 2)),
            "pii": any(c in PII_COLUMNS for c in columns),
            "owners": self.rng.sample(self.owners, 1),
            "verified": True,
        }
        table = self._table(self.old["id"], db, schema, title, doc, 1190)
        for order, column in enumerate(columns, start=1):
            words = column.replace("_", " ")
            pii = column in PII_COLUMNS
            column_doc = {
                "description": f"The {words} of the {title.replace('_', ' ')} row.",
                "definition": f"`{column}`: {words}.",
                "tags": [self.pii_tag] if pii else self.rng.sample(self.other_tags, 1),
                "pii": pii,
                "owners": [],
                "verified": False,
            }
            self._column(table, column, order, column_doc, 1190, _REDSHIFT_TYPES)

    def _new_table(
        self, db: str, schema: str, title: str, columns: tuple[str, ...], described: bool
    ) -> None:
        doc = self._empty()
        if described:
            doc["description"] = f"{title.capitalize()}, loaded from the billing system."
        table = self._table(self.new["id"], db, schema, title, doc, 29)
        for order, column in enumerate(columns, start=1):
            self._column(table, column, order, self._empty(), 29, _BIGQUERY_TYPES)

    def _empty(self) -> Obj:
        """Returns undocumented fields, each in one of the forms the API sends for empty."""
        return {field: self.rng.choice(values) for field, values in _EMPTY.items()}

    def _table(
        self, integration: str, db: str, schema: str, title: str, doc: Obj, days: int
    ) -> Obj:
        key = (integration, schema)
        if key not in self.schemas:
            self.schemas[key] = self.new_id()
        created = at(days, 6, len(self.tables))
        table = {
            "id": self.new_id(),
            "title": title,
            "entity_type": "table",
            "integration": integration,
            "parent": self.schemas[key],
            "database": db,
            "schema": schema,
            **doc,
            "created_at": created,
            "updated_at": created,
        }
        self.tables.append(table)
        return table

    def _column(
        self, table: Obj, title: str, order: int, doc: Obj, days: int, types: dict[str, str]
    ) -> None:
        column = _column(self.new_id(), table, title, order, doc, at(days, 7))
        column["type"] = types.get(column["type"], column["type"])
        self.columns.append(column)


# ---- the dbt project's tables and lineage (demo) ---------------------------------------

# What dbt builds from the project in sandbox/dbt/project (its manifests/production.json),
# as Secoda lists it in the current Snowflake integration: one table per model, snapshot
# and seed but the ephemeral int_order_payments, titled by its alias. The schemas exist
# only there, so each relation (analytics.shop_staging.stg_orders) names one table.
DBT_DATABASE = "analytics"
# (schema, alias, description, columns)
DBT_TABLES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "shop_raw",
        "raw_customers",
        "Customers as the shop's backend exports them.",
        ("id", "first_name", "last_name", "email"),
    ),
    (
        "shop_raw",
        "raw_orders",
        "Orders as the shop's backend exports them.",
        ("id", "user_id", "order_date", "status"),
    ),
    (
        "shop_raw",
        "raw_payments",
        "Payments as the payment provider exports them, amounts in cents.",
        ("id", "order_id", "payment_method", "amount"),
    ),
    (
        "shop_staging",
        "stg_customers",
        "One row per customer, renamed from the backend's export.",
        ("customer_id", "first_name", "last_name", "email"),
    ),
    (
        "shop_staging",
        "stg_orders",
        "One row per order placed in the shop.",
        ("order_id", "customer_id", "order_date", "status"),
    ),
    (
        "shop_staging",
        "stg_payments",
        "One row per payment, amounts in dollars.",
        ("payment_id", "order_id", "payment_method", "amount"),
    ),
    (
        "shop_marts",
        "orders",
        "One row per order with what was paid, by payment method.",
        (
            "order_id",
            "customer_id",
            "order_date",
            "status",
            "credit_card_amount",
            "coupon_amount",
            "bank_transfer_amount",
            "gift_card_amount",
            "amount",
        ),
    ),
    (
        "shop_marts",
        "customers",
        "One row per customer with their order history.",
        (
            "customer_id",
            "first_name",
            "last_name",
            "first_order",
            "most_recent_order",
            "number_of_orders",
        ),
    ),
    (
        "shop_marts",
        "customer_lifetime_value",
        "What each customer has paid for orders they kept, and a value segment.",
        ("customer_id", "first_order", "lifetime_value", "value_segment"),
    ),
    (
        "shop_snapshots",
        "orders_snapshot",
        "Every status an order has had, one row per change (dbt_valid_from/to).",
        (
            "order_id",
            "customer_id",
            "order_date",
            "status",
            "dbt_scd_id",
            "dbt_updated_at",
            "dbt_valid_from",
            "dbt_valid_to",
        ),
    ),
)
# Not a dbt node: the table a reverse-ETL sync (warehouse -> CRM) reads, downstream of a mart.
REVERSE_ETL_TABLE = (
    "reverse_etl",
    "hubspot_customer_sync",
    "Customer value pushed to HubSpot every hour by the reverse-ETL sync.",
    ("customer_id", "lifetime_value", "value_segment", "synced_at"),
)
DBT_COLUMN_TYPES = {
    "id": "number",
    "user_id": "number",
    "order_id": "number",
    "customer_id": "number",
    "payment_id": "number",
    "number_of_orders": "number",
    "order_date": "date",
    "first_order": "date",
    "most_recent_order": "date",
    "amount": "float",
    "lifetime_value": "float",
    "dbt_updated_at": "timestamp_ntz",
    "dbt_valid_from": "timestamp_ntz",
    "dbt_valid_to": "timestamp_ntz",
    "synced_at": "timestamp_tz",
}
# Lineage edges (upstream, downstream): dbt's ref graph (the ephemeral model's parent joined
# straight to its child, as it is compiled), then the marts' readers. Dashboards by title,
# "(usage)" being (external_usage, internal_usage) in DASHBOARDS_SPEC.
DBT_LINEAGE: tuple[tuple[str, str], ...] = (
    ("shop_raw.raw_customers", "shop_staging.stg_customers"),
    ("shop_raw.raw_orders", "shop_staging.stg_orders"),
    ("shop_raw.raw_payments", "shop_staging.stg_payments"),
    ("shop_staging.stg_orders", "shop_marts.orders"),
    ("shop_staging.stg_payments", "shop_marts.orders"),  # through int_order_payments
    ("shop_staging.stg_orders", "shop_snapshots.orders_snapshot"),
    ("shop_staging.stg_customers", "shop_marts.customers"),
    ("shop_marts.orders", "shop_marts.customers"),
    ("shop_marts.customers", "shop_marts.customer_lifetime_value"),
    ("shop_marts.orders", "shop_marts.customer_lifetime_value"),
    ("shop_marts.orders", "dashboard:Daily Orders"),  # (210, 14): in use
    ("shop_marts.orders", "dashboard:Legacy Revenue (v1)"),  # (0, 0): stale
    ("shop_marts.customers", "dashboard:Customer Health"),  # (0, 31): in use
    ("shop_marts.customers", "dashboard:Customer Segments"),  # (54, 6): in use
    # The diamond: customers reaches Customer Segments directly and through this mart.
    ("shop_marts.customer_lifetime_value", "dashboard:Customer Segments"),
    ("shop_marts.customer_lifetime_value", "dashboard:Deprecated Churn Model"),  # (0, 0)
    ("shop_marts.customer_lifetime_value", "reverse_etl.hubspot_customer_sync"),
    ("shop_snapshots.orders_snapshot", "dashboard:Q3 2024 Planning"),  # (null, null): stale
)


def _dbt_tables(integration: str) -> tuple[list[Obj], list[Obj]]:
    """Returns (tables, columns) of DBT_TABLES and REVERSE_ETL_TABLE in `integration`,
    described (dbt's docs synced) and otherwise undocumented."""
    new_id = _uuids(_rng("dbt"))
    schemas: dict[str, str] = {}
    tables: list[Obj] = []
    columns: list[Obj] = []
    for schema, alias, description, titles in (*DBT_TABLES, REVERSE_ETL_TABLE):
        created = at(120 - len(tables), 6)
        table = {
            "id": new_id(),
            "title": alias,
            "entity_type": "table",
            "integration": integration,
            "parent": schemas.setdefault(schema, new_id()),
            "database": DBT_DATABASE,
            "schema": schema,
            "description": description,
            "definition": None,
            "tags": [],
            "pii": "email" in titles,
            "owners": [],
            "verified": False,
            "created_at": created,
            "updated_at": created,
        }
        tables.append(table)
        for order, title in enumerate(titles, start=1):
            doc = {f: _EMPTY[f][0] for f in _EMPTY} | {"pii": title == "email"}
            column = _column(new_id(), table, title, order, doc, at(120 - len(tables), 7))
            column["type"] = DBT_COLUMN_TYPES.get(title, "varchar")
            columns.append(column)
    return tables, columns


# ---- dashboards ------------------------------------------------------------------------

# (title, external_usage, internal_usage, external_users, internal_users, days before
# REFERENCE_DATE of external_updated_at or None). Users are counts (None = null list).
DASHBOARDS_SPEC: tuple[tuple[str, Any, Any, int | None, int | None, int | None], ...] = (
    ("Executive Revenue Overview", 412, 57, 3, 4, 2),
    ("Sales Pipeline", 230, 12, 5, 2, 5),
    ("Marketing Funnel", 98, 0, 2, 0, 10),
    ("Customer Health", 0, 31, 0, 3, 20),
    ("Product Engagement", 1204, 88, 6, 5, 1),
    ("Support Tickets", 45, None, 1, None, 3),
    ("Finance Close Checklist", 0, 0, 1, 0, 40),
    ("Churn Analysis", "None", 7, None, 1, 15),
    ("ARR by Segment", 66, 9, 2, 2, 7),
    ("Cohort Retention", 12, "None", 1, None, 200),
    ("Weekly KPIs", 300, 40, 4, 6, 1),
    ("Inventory Levels", 5, 0, 1, 0, 95),
    ("Regional Sales", 77, 3, 3, 1, 12),
    ("Web Traffic", 890, 15, 2, 2, 1),
    ("Campaign Performance", 0, None, 0, 1, 400),
    ("Board Deck Metrics", None, 4, None, 2, None),
    ("Payments Overview", 150, 22, 2, 3, 4),
    ("Refunds Monitor", 8, 1, 1, 1, 30),
    ("Headcount Planning", 0, 2, 0, 1, 60),
    ("Opportunity Aging", 33, 0, 2, 0, 8),
    ("Vendor Spend", 0, 0, None, 1, None),
    ("Data Quality Alerts", 19, 11, 1, 2, 2),
    ("Legacy Revenue (v1)", 0, 0, 0, 0, 400),
    ("Q3 2024 Planning", None, None, None, None, 450),
    ("Old Marketing Attribution", "None", 0, 0, None, 200),
    ("Tableau Sample - Superstore", 0, "None", None, 0, None),
    ("Deprecated Churn Model", 0, 0, None, None, 120),
    ("Test Dashboard", None, 0, 0, 0, None),
    ("Copy of Sales Pipeline", 0, None, 0, None, 95),
    ("Hackathon 2024", "None", "None", None, None, 700),
    ("Intern Project - Funnel", 0, 0, 0, 0, 365),
    ("FY23 Budget vs Actual", None, None, 0, 0, 500),
    ("Unused KPI Tiles", 0, 0, None, 0, None),
    ("Experiment Results (archived)", 0, None, 0, 0, 180),
    ("Region Map (old)", "None", 0, None, None, 100),
    ("Partner Portal (retired)", 0, 0, 0, 0, 1000),
    ("New Dashboard (draft)", 0, 0, 0, 0, 17),
    ("Onboarding Metrics WIP", None, 0, None, 0, 4),
    ("Customer Segments", 54, 6, 2, 1, 9),
    ("Daily Orders", 210, 14, 3, 2, 1),
)
_TABLEAU_USERS = ("jdoe", "asmith", "mgarcia", "lchen", "pkumar", "okafor", "tnguyen")
_PROJECTS = ("Executive", "Sales", "Sandbox")


def _dashboards(integration: str, users: list[Obj], tags: list[str]) -> list[Obj]:
    rng = _rng("dashboards")
    new_id = _uuids(rng)
    projects = [new_id() for _ in _PROJECTS]
    user_ids = [u["id"] for u in users]
    dashboards = []
    for i, (title, ext, internal, ext_n, int_n, updated) in enumerate(DASHBOARDS_SPEC):
        slug = "".join(ch if ch.isalnum() else "-" for ch in title.lower()).strip("-")
        dashboards.append(
            {
                "id": new_id(),
                "title": title,
                "entity_type": "dashboard",
                "integration": integration,
                "parent": projects[i % 3] if i % 4 else None,
                "url": f"https://tableau.example.com/#/views/{slug}",
                "description": f"{title}." if i % 3 else "",
                "definition": None,
                "owners": rng.sample(user_ids, i % 3),
                "tags": rng.sample(tags, i % 2),
                "pii": False,
                "verified": i % 5 == 0,
                "external_usage": ext,
                "external_users": None if ext_n is None else rng.sample(_TABLEAU_USERS, ext_n),
                "internal_usage": internal,
                "internal_users": None if int_n is None else rng.sample(user_ids, int_n),
                "external_updated_at": None if updated is None else at(updated, (5 * i) % 24),
                "created_at": at(720 - 10 * i, 12),
                "updated_at": at(3, 12),
            }
        )
    return dashboards


# ---- questions -------------------------------------------------------------------------

_QUESTIONS = (
    "Where does MRR come from?",
    "Which table has the canonical customer list?",
    "Why do order counts differ between Tableau and Snowflake?",
    "How is churn defined?",
    "Who owns the Stripe sync?",
    "Is stg_events deduplicated?",
    "What timezone are timestamps in?",
    "How do I get access to finance.ledger?",
    "What does ARR by segment exclude?",
    "Can I join opportunities to accounts on account_id?",
    "When is the revenue dashboard refreshed?",
    "Why is the legacy warehouse still running?",
    "Which dashboard shows daily active users?",
    "Are refunds netted out of revenue?",
    "How do I request a new dbt model?",
)
_REPLY_COUNTS = (4, 3, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 3, 2)
_ABSENT = object()
_ACCEPTED_CYCLE = (True, False, _ABSENT, "None", False, _ABSENT, True, None)


def _questions(users: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    """Returns (questions, replies): some answers set, replies with mixed accepted_answer."""
    rng = _rng("questions")
    new_id = _uuids(rng)
    active = [u["id"] for u in users if u["role"].lower() != "guest"][:16]
    weights = [16 - i for i in range(len(active))]  # a few people answer most
    ghosts = [new_id() for _ in range(2)]  # reply owners who are not (or no longer) users
    questions: list[Obj] = []
    replies: list[Obj] = []
    for q, (title, n) in enumerate(zip(_QUESTIONS, _REPLY_COUNTS, strict=True)):
        question: Obj = {
            "id": new_id(),
            "title": title,
            "entity_type": "question",
            "definition": f"{title} Asking for the quarterly review.",
            "owners": [rng.choice(active)],
            "created_at": at(300 - 15 * q, 10),
            "updated_at": at(300 - 15 * q, 10),
        }
        mine: list[Obj] = []
        for r in range(n):
            k = len(replies)
            owners = rng.choices(active, weights, k=2 if k % 5 == 3 else 1)
            owners = list(dict.fromkeys(owners))
            if k % 13 == 6:
                owners.append(ghosts[k % 2])
            reply: Obj = {
                "id": new_id(),
                "parent": question["id"],
                "owners": owners,
                "definition": f"Reply {r + 1} to: {title}",
                "created_at": at(299 - 15 * q - r, 11 + r),
            }
            accepted = _ACCEPTED_CYCLE[k % len(_ACCEPTED_CYCLE)]
            if accepted is not _ABSENT:
                reply["accepted_answer"] = accepted
            reply["updated_at"] = reply["created_at"]
            mine.append(reply)
            replies.append(reply)
        if q % 2 == 0:
            question["answer"] = mine[q % n]["id"]
        elif q % 4 == 3:
            question["answer"] = None
        questions.append(question)
    return questions, replies


# ---- lineage ---------------------------------------------------------------------------


def _lineage(chains: list[list[str]], seed: str) -> list[Obj]:
    """Returns each consecutive pair of every chain as an edge and its mirror (UPSTREAM)."""
    new_id = _uuids(_rng(seed))
    edges: list[Obj] = []
    for chain in chains:
        for i, (a, b) in enumerate(itertools.pairwise(chain)):
            edges += edge_objects(a, b, new_id, at(150 - len(edges), 15, i))
    return edges


def edge_objects(
    upstream: str, downstream: str, new_id: Callable[[], str], created: str
) -> list[Obj]:
    """Returns the lineage objects the API stores for "downstream is downstream of
    upstream": the DOWNSTREAM edge and its UPSTREAM mirror, both created at `created`."""
    return [
        {
            "id": new_id(),
            "from_entity": src,
            "to_entity": dst,
            "direction": direction,
            "is_manual": True,
            "created_at": created,
        }
        for src, dst, direction in (
            (upstream, downstream, "DOWNSTREAM"),
            (downstream, upstream, "UPSTREAM"),
        )
    ]


DEMO_CHAINS = (
    # 3 table hops, then a dashboard.
    (
        "product.events.page_views",
        "product.events.stg_page_views",
        "product.marts.fct_sessions",
        "product.marts.daily_active_users",
        "dashboard:Product Engagement",
    ),
    ("raw.stripe.charges", "analytics.staging.stg_payments", "analytics.core.payments"),
    ("analytics.staging.stg_payments", "analytics.marts.fct_revenue"),  # a fork
    (
        "raw.salesforce.opportunities",
        "finance.reporting.monthly_revenue",
        "finance.reporting.arr_by_segment",
    ),
    # The cycle.
    (
        "finance.ledger.journal_entries",
        "finance.ledger.gl_balances",
        "finance.ledger.cost_centers",
        "finance.ledger.journal_entries",
    ),
)


def _resolve(name: str, tables: dict[str, str], dashboards: list[Obj]) -> str:
    if name.startswith("dashboard:"):
        return next(d["id"] for d in dashboards if d["title"] == name.split(":", 1)[1])
    return tables[name]


# ---- workspaces ------------------------------------------------------------------------


def _common(tableau: str) -> tuple[list[Obj], list[Obj], list[Obj], list[Obj], list[str]]:
    users, groups, teams = _people()
    tags = _tags()
    return users, groups, teams, _dashboards(tableau, users, tags), tags


def _demo() -> Iterator[Section]:
    new_id = _uuids(_rng("integrations"))
    legacy = _integration(new_id, "Snowflake (legacy)", "snowflake", 1000)
    tableau = _integration(new_id, "Tableau", "tableau", 720)
    current = _integration(new_id, "Snowflake", "snowflake", 214)
    users, groups, teams, dashboards, tags = _common(tableau["id"])
    tables, columns = _Warehouses(legacy["id"], current["id"], users, tags).build()
    renamed, renamed_tables, renamed_columns = _RenamedWarehouses(users, tags).build()
    by_name = {
        f"{t['database']}.{t['schema']}.{t['title']}": t["id"]
        for t in tables
        if t["integration"] == current["id"]
    }
    chains = [[_resolve(n, by_name, dashboards) for n in chain] for chain in DEMO_CHAINS]
    dbt_tables, dbt_columns = _dbt_tables(current["id"])
    dbt_names = {f"{t['schema']}.{t['title']}": t["id"] for t in dbt_tables}
    dbt_edges = [[_resolve(n, dbt_names, dashboards) for n in edge] for edge in DBT_LINEAGE]
    questions, replies = _questions(users)
    yield INTEGRATIONS, [legacy, tableau, current, *renamed]
    yield from _people_sections(users, groups, teams)
    yield TAGS, _tag_objects(tags)
    yield DASHBOARDS, dashboards
    yield QUESTIONS, questions
    yield REPLIES, replies
    yield TABLES, _with_usage([*tables, *renamed_tables, *dbt_tables])
    yield COLUMNS, [*columns, *renamed_columns, *dbt_columns]
    yield LINEAGE, [*_lineage(chains, "lineage"), *_lineage(dbt_edges, "dbt-lineage")]


def _with_usage(tables: list[Obj]) -> list[Obj]:
    """Returns the tables with usage as the API sends it: about a quarter never synced
    (both null), a fifth unused (0), the rest viewed, a few heavily; from a random source
    of its own, so no other section shifts."""
    rng = _rng("table-usage")
    for table in tables:
        draw = rng.random()
        if draw < 0.25:
            external, internal = None, None
        elif draw < 0.45:
            external, internal = 0, 0
        else:
            external, internal = int(rng.expovariate(1 / 40)), rng.randint(0, 25)
        table["external_usage"], table["internal_usage"] = external, internal
    return tables


def _people_sections(users: list[Obj], groups: list[Obj], teams: list[Obj]) -> Iterator[Section]:
    yield USERS, users
    yield GROUPS, groups
    yield TEAMS, teams


_BULK_DATABASES = ("analytics", "raw", "finance", "product", "marketing")
_BULK_SCHEMAS = (
    "core",
    "marts",
    "staging",
    "events",
    "ledger",
    "stripe",
    "salesforce",
    "hubspot",
    "reporting",
    "archive",
)
_BULK_WORDS = ("orders", "customers", "events", "payments", "sessions", "accounts", "invoices")
_BULK_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "status",
    "amount",
    "customer_id",
    "email",
    "region",
    "quantity",
    "source",
    "event_type",
    "account_id",
    "price",
)
BULK_COLUMN_COUNTS = (8, 12, 10, 9, 11)  # mean 10: table count x 10 columns exactly


def _bulk(n_tables: int) -> Iterator[Section]:
    new_id = _uuids(_rng("integrations"))
    tableau = _integration(new_id, "Tableau", "tableau", 720)
    warehouse = _integration(new_id, "Snowflake", "snowflake", 580)
    dbt = _integration(new_id, "dbt Cloud", "dbt", 400)
    users, groups, teams, dashboards, tags = _common(tableau["id"])
    tables = _bulk_tables(warehouse["id"], n_tables, tags)
    ids = [t["id"] for t in tables]
    engagement = next(d["id"] for d in dashboards if d["title"] == "Product Engagement")
    chains = [[*ids[0:4], engagement], ids[4:6], [ids[6], ids[7], ids[8], ids[6]]]
    questions, replies = _questions(users)
    yield INTEGRATIONS, [tableau, warehouse, dbt]
    yield from _people_sections(users, groups, teams)
    yield TAGS, _tag_objects(tags)
    yield DASHBOARDS, dashboards
    yield QUESTIONS, questions
    yield REPLIES, replies
    yield TABLES, tables
    yield COLUMNS, _bulk_columns(tables, _uuids(_rng(f"bulk-columns-{n_tables}")))
    yield LINEAGE, _lineage(chains, "bulk-lineage")


def _bulk_tables(integration: str, n_tables: int, tags: list[str]) -> list[Obj]:
    """Returns n_tables tables spread evenly over 5 databases x 10 schemas."""
    new_id = _uuids(_rng(f"bulk-tables-{n_tables}"))
    per_schema = n_tables // (len(_BULK_DATABASES) * len(_BULK_SCHEMAS))
    created = at(580, 10)
    tables = []
    for db in _BULK_DATABASES:
        for schema in _BULK_SCHEMAS:
            schema_id = new_id()
            for i in range(per_schema):
                n = len(tables)
                title = f"{_BULK_WORDS[n % len(_BULK_WORDS)]}_{i:05d}"
                tables.append(
                    {
                        "id": new_id(),
                        "title": title,
                        "entity_type": "table",
                        "integration": integration,
                        "parent": schema_id,
                        "database": db,
                        "schema": schema,
                        "description": f"{title} in {db}.{schema}." if n % 2 else None,
                        "definition": None,
                        "tags": [tags[n % len(tags)]] if n % 3 == 0 else [],
                        "pii": n % 7 == 0,
                        "owners": [],
                        "verified": n % 11 == 0,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
    return tables


def _bulk_columns(tables: list[Obj], new_id: Callable[[], str]) -> Iterator[Obj]:
    created = at(580, 11)
    for n, table in enumerate(tables):
        count = BULK_COLUMN_COUNTS[n % len(BULK_COLUMN_COUNTS)]
        for order, title in enumerate(_BULK_COLUMNS[:count], start=1):
            doc = {
                "description": f"The {title.replace('_', ' ')}." if order % 2 else None,
                "definition": None,
                "tags": [],
                "pii": title == "email",
                "owners": [],
                "verified": False,
            }
            yield _column(new_id(), table, title, order, doc, created)
