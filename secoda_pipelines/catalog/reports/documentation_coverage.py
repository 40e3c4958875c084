"""Documentation coverage (SPEC B, third release) as SQL over the stored catalog: the text of
the queries behind `reports/documentation_coverage`, `reports/documentation_coverage_by_owner`
and `reports/undocumented_popular`, each runnable in DuckDB and in PostgreSQL alike, and the
pandas dtypes their results are brought to so that both backends give equal frames.

The queries read schema `secoda`: `tables` and `columns` (the resources), `integrations`
(names), `users` (emails, team ids) and `teams` (team names). Lists (owners, tags, a user's
teams) are JSON text. A value is present unless it is null, the text "None", "", an empty
JSON list (`[]`, also with spaces inside) or false: `present` is the one place that rule is
written. Flags (pii, verified) count when true.

Every query returns its report's columns but `snapshot_date`, which the asset adds. Pure:
builds text, runs nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import pandas as pd

DIALECTS = ("duckdb", "postgres")
SCHEMA = "secoda"
KINDS = {"table": "tables", "column": "columns"}  # kind -> the secoda table holding it
DEFAULT_LIMIT = 500

DOCUMENTATION_COVERAGE_COLUMNS = [
    "snapshot_date",
    "integration_id",
    "integration_name",
    "database",
    "schema",
    "kind",
    "resources",
    "described",
    "with_description",
    "with_definition",
    "with_owners",
    "with_tags",
    "pii",
    "verified",
    "described_share",
]
BY_OWNER_COLUMNS = [
    "snapshot_date",
    "owner_id",
    "email",
    "team_names",
    "kind",
    "resources",
    "described",
    "described_share",
]
UNDOCUMENTED_COLUMNS = [
    "id",
    "kind",
    "integration_id",
    "database",
    "schema",
    "title",
    "table_title",
    "owners",
    "internal_usage",
    "external_usage",
]

_SNAPSHOT_DTYPE = "datetime64[ns, UTC]"
_COVERAGE_DTYPES = {
    "snapshot_date": _SNAPSHOT_DTYPE,
    **dict.fromkeys(["integration_id", "integration_name", "database", "schema"], "string"),
    "kind": "string",
    **dict.fromkeys(DOCUMENTATION_COVERAGE_COLUMNS[6:14], "int64"),
    "described_share": "float64",
}
_BY_OWNER_DTYPES = {
    "snapshot_date": _SNAPSHOT_DTYPE,
    **dict.fromkeys(["owner_id", "email", "team_names", "kind"], "string"),
    "resources": "int64",
    "described": "int64",
    "described_share": "float64",
}
_UNDOCUMENTED_DTYPES = {
    **dict.fromkeys(UNDOCUMENTED_COLUMNS[:8], "string"),
    "internal_usage": "Int64",
    "external_usage": "Int64",
}

# What `available` may be: the names of the secoda tables that exist, or table -> its
# column names (then a column a table lacks, on a warehouse stored by an older release,
# reads as null).
Available = Collection[str] | Mapping[str, Collection[str]]


# ---- the dialects ----------------------------------------------------------------------


def _checked(dialect: str) -> str:
    if dialect not in DIALECTS:
        raise ValueError(f"dialect {dialect!r} is not supported: expected one of {DIALECTS}")
    return dialect


def _is_empty_list(dialect: str, text: str) -> str:
    """Returns SQL true when `text` (non-null text) is a JSON empty list, spaces allowed
    inside and around."""
    if dialect == "duckdb":
        return f"regexp_full_match({text}, '\\s*\\[\\s*\\]\\s*')"
    return f"({text} ~ '^\\s*\\[\\s*\\]\\s*$')"


def present(dialect: str, value: str) -> str:
    """Returns a SQL boolean expression (never null) that is true when the SQL expression
    `value` holds a value: not null, the text 'None', '', a JSON empty list (also with
    spaces) or false. Raises ValueError for an unknown dialect."""
    text = f"CAST({value} AS VARCHAR)"
    return (
        f"({value} IS NOT NULL AND {text} NOT IN ('', 'None', 'false') "
        f"AND NOT {_is_empty_list(_checked(dialect), text)})"
    )


def _flagged(value: str) -> str:
    """Returns SQL true when `value` (a boolean, or text from an older store) is true."""
    return f"coalesce(lower(CAST({value} AS VARCHAR)) = 'true', false)"


def _list_items(dialect: str, json_list: str) -> str:
    """Returns a SELECT of the distinct non-empty items (column `item`, text) of the JSON
    list text `json_list`, which is null or a JSON list (no rows when null)."""
    if dialect == "duckdb":
        source = f"(SELECT unnest(json_extract_string({json_list}, '$[*]')) AS item)"
    else:
        source = f"jsonb_array_elements_text(CAST({json_list} AS jsonb))"
    return f"SELECT DISTINCT item FROM {source} AS items(item) WHERE item <> ''"


def _sort_key(dialect: str, text: str) -> str:
    """Returns `text` to sort by code point in both backends (PostgreSQL otherwise sorts
    by the database's locale)."""
    return f'{text} COLLATE "C"' if dialect == "postgres" else text


# ---- the tables -------------------------------------------------------------------------


def _columns_of(available: Available, table: str) -> Collection[str] | None:
    """Returns the columns of `secoda.<table>` (None = all), or raises KeyError when the
    table is not available."""
    if isinstance(available, Mapping):
        return available[table]
    if table not in available:
        raise KeyError(table)
    return None


def _has(available: Available, table: str) -> bool:
    return table in available


class _Table:
    """A secoda table under an alias: its columns as SQL, null where the table lacks one."""

    def __init__(self, available: Available, table: str, alias: str):
        self.name = f"{SCHEMA}.{table}"
        self.alias = alias
        self._columns = _columns_of(available, table)

    def __call__(self, column: str, null_type: str = "VARCHAR") -> str:
        if self._columns is not None and column not in self._columns:
            return f"CAST(NULL AS {null_type})"
        return f'{self.alias}."{column}"'

    def source(self) -> str:
        return f"{self.name} AS {self.alias}"


def _kinds(available: Available) -> list[str]:
    return [kind for kind, table in KINDS.items() if _has(available, table)]


# The values `stored_values` reads from every stored table and column, as text.
_VALUES = ("id", "integration_id", "database", "schema", "title", "table_title")
_VALUES += ("description", "definition", "owners", "tags", "pii", "verified")


def _stored_values(available: Available) -> str:
    """Returns the SELECT of every stored table and column, one row each: kind,
    usage_table_id (the table whose usage ranks it: its own id for a table) and the
    _VALUES as stored, cast to text (null where the stored table lacks the column)."""
    selects = []
    for kind in _kinds(available):
        t = _Table(available, KINDS[kind], "t")
        usage_table = t("id") if kind == "table" else t("table_id")
        values = [
            "CAST(NULL AS VARCHAR)" if (kind, name) == ("table", "table_title") else t(name)
            for name in _VALUES
        ]
        picked = ", ".join(
            f'CAST({v} AS VARCHAR) AS "{n}"' for n, v in zip(_VALUES, values, strict=True)
        )
        selects.append(
            f"SELECT '{kind}' AS kind, CAST({usage_table} AS VARCHAR) AS usage_table_id, "
            f"{picked}\n    FROM {t.source()}"
        )
    if not selects:  # neither table stored yet: no rows, the same columns
        names = ["kind", "usage_table_id", *_VALUES]
        selects.append(
            "SELECT " + ", ".join(f'CAST(NULL AS VARCHAR) AS "{n}"' for n in names) + " WHERE false"
        )
    return "\n    UNION ALL\n    ".join(selects)


def _stored_resources(dialect: str) -> str:
    """Returns the SELECT, over `stored_values AS v`, of each resource's kind, id,
    integration_id, database, schema, title, table_title, usage_table_id, owners (null
    when empty) and flags: described, with_description, with_definition, with_owners,
    with_tags, pii, verified."""
    has = {n: present(dialect, f"v.{n}") for n in ("description", "definition", "owners", "tags")}
    return f"""SELECT v.kind, v.id, v.integration_id, v."database", v."schema", v.title,
        v.table_title, v.usage_table_id,
        CASE WHEN {has["owners"]} THEN v.owners END AS owners,
        {has["description"]} OR {has["definition"]} AS described,
        {has["description"]} AS with_description,
        {has["definition"]} AS with_definition,
        {has["owners"]} AS with_owners,
        {has["tags"]} AS with_tags,
        {_flagged("v.pii")} AS pii,
        {_flagged("v.verified")} AS verified
    FROM stored_values AS v"""


def _resources_ctes(dialect: str, available: Available) -> str:
    """Returns the CTEs `stored_values` and `stored_resources` (see above), with WITH."""
    return f"""WITH stored_values AS (
    {_stored_values(available)}
),
stored_resources AS (
    {_stored_resources(dialect)}
)"""


def _share(count: str) -> str:
    return f"CAST({count} AS DOUBLE PRECISION) / count(*)"


# ---- the queries --------------------------------------------------------------------------


def coverage_sql(dialect: str, available: Available) -> str:
    """Returns the query of `reports/documentation_coverage` but its snapshot_date: one row
    per (integration_id, database, schema, kind) of the stored tables and columns, with
    DOCUMENTATION_COVERAGE_COLUMNS[1:]: counts of resources, of described ones (description or
    definition present), of those with a description, a definition, owners, tags, flagged
    pii and verified, and described_share (0..1). integration_name is null when
    `secoda.integrations` is not available. Only the kinds whose table is in `available`
    are counted (no rows when neither is).

    Raises:
        ValueError: `dialect` is not "duckdb" or "postgres".
    """
    _checked(dialect)
    counts = ",\n    ".join(
        f"count(*) FILTER (WHERE r.{flag}) AS {flag}"
        for flag in DOCUMENTATION_COVERAGE_COLUMNS[7:14]
    )
    if _has(available, "integrations"):
        i = _Table(available, "integrations", "i")
        name = f"CAST({i('name')} AS VARCHAR)"
        join = f"LEFT JOIN {i.source()} ON CAST({i('id')} AS VARCHAR) = r.integration_id"
    else:
        name, join = "CAST(NULL AS VARCHAR)", ""
    keys = ["r.integration_id", 'r."database"', 'r."schema"', "r.kind"]
    order = ", ".join(f"{_sort_key(dialect, k)} NULLS LAST" for k in keys)
    return f"""{_resources_ctes(dialect, available)}
SELECT
    r.integration_id,
    {name} AS integration_name,
    r."database",
    r."schema",
    r.kind,
    count(*) AS resources,
    {counts},
    {_share("count(*) FILTER (WHERE r.described)")} AS described_share
FROM stored_resources AS r
{join}
GROUP BY {", ".join(keys)}, {name}
ORDER BY {order}"""


def _owner_directory(dialect: str, available: Available) -> str | None:
    """Returns the SELECT of each user: owner_id, email, team_names (the JSON list text of
    the names of the user's teams, sorted; null when `secoda.teams` is not stored), or
    None when `secoda.users` is not stored."""
    if not _has(available, "users"):
        return None
    u = _Table(available, "users", "u")
    if _has(available, "teams"):
        team = _Table(available, "teams", "team")
        quoted = f"CAST(to_json({team('name')}) AS VARCHAR)"
        order = _sort_key(dialect, f"CAST({team('name')} AS VARCHAR)")
        teams_list = f"CASE WHEN {present(dialect, u('teams'))} THEN {u('teams')} END"
        team_names = (
            f"(SELECT '[' || coalesce(string_agg({quoted}, ',' ORDER BY {order}), '') || ']'"
            f"\n        FROM {team.source()}"
            f"\n        WHERE CAST({team('id')} AS VARCHAR) IN "
            f"({_list_items(dialect, teams_list)}))"
        )
    else:
        team_names = "CAST(NULL AS VARCHAR)"
    return (
        f"SELECT CAST({u('id')} AS VARCHAR) AS owner_id, "
        f"CAST({u('email')} AS VARCHAR) AS email,\n"
        f"        {team_names} AS team_names\n    FROM {u.source()}"
    )


def coverage_by_owner_sql(dialect: str, available: Available) -> str:
    """Returns the query of `reports/documentation_coverage_by_owner` but its
    snapshot_date: one row per (owner_id, kind) with BY_OWNER_COLUMNS[1:]. A resource with
    several owners counts once for each (an owner listed twice, once); one with no owner
    counts under owner_id null. email comes from `secoda.users` (null for an owner who is
    not a stored user, or without that table); team_names is the JSON list text of the
    names of the owner's teams, sorted by code point ('[]' for a user in no stored team,
    null without `secoda.users` or `secoda.teams`). Only the kinds whose table is in
    `available` are counted.

    Raises:
        ValueError: `dialect` is not "duckdb" or "postgres".
    """
    _checked(dialect)
    directory = _owner_directory(dialect, available)
    if directory is None:
        directory_cte = ""
        email, team_names, join = "CAST(NULL AS VARCHAR)", "CAST(NULL AS VARCHAR)", ""
    else:
        directory_cte = f",\nowner_directory AS (\n    {directory}\n)"
        email, team_names = "d.email", "d.team_names"
        join = "LEFT JOIN owner_directory AS d ON d.owner_id = o.owner_id"
    return f"""{_resources_ctes(dialect, available)},
resource_owners AS (
    SELECT r.kind, r.described, owner.item AS owner_id
    FROM stored_resources AS r
    LEFT JOIN LATERAL ({_list_items(dialect, "r.owners")}) AS owner ON true
){directory_cte}
SELECT
    o.owner_id,
    {email} AS email,
    {team_names} AS team_names,
    o.kind,
    count(*) AS resources,
    count(*) FILTER (WHERE o.described) AS described,
    {_share("count(*) FILTER (WHERE o.described)")} AS described_share
FROM resource_owners AS o
{join}
GROUP BY o.owner_id, {email}, {team_names}, o.kind
ORDER BY {_sort_key(dialect, "o.owner_id")} NULLS LAST, o.kind"""


def undocumented_popular_sql(dialect: str, available: Available, limit: int = DEFAULT_LIMIT) -> str:
    """Returns the query of `reports/undocumented_popular`: the stored tables and columns
    with neither description nor definition, with UNDOCUMENTED_COLUMNS, most used first
    (internal_usage + external_usage, nulls as 0; a column ranked by, and its usage
    columns filled with, its table's usage), then by title (code point order), tables
    before columns, and id; at most `limit` rows. owners is the stored JSON list text
    ('[]' when empty); table_title is null for a table; the usage columns keep nulls.

    Raises:
        ValueError: `dialect` is not "duckdb" or "postgres", or `limit` is not an int >= 0.
    """
    _checked(dialect)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit {limit!r} is not a number of rows: expected an int >= 0")
    usage_names = ("internal_usage", "external_usage")
    if _has(available, "tables"):
        t = _Table(available, "tables", "t")
        usage = ", ".join(f"CAST({t(n, 'BIGINT')} AS BIGINT) AS {n}" for n in usage_names)
        table_usage = f"SELECT CAST({t('id')} AS VARCHAR) AS id, {usage}\n    FROM {t.source()}"
    else:
        usage = ", ".join(f"CAST(NULL AS BIGINT) AS {n}" for n in usage_names)
        table_usage = f"SELECT CAST(NULL AS VARCHAR) AS id, {usage} WHERE false"
    return f"""{_resources_ctes(dialect, available)},
table_usage AS (
    {table_usage}
),
undocumented AS (
    SELECT r.id, r.kind, r.integration_id, r."database", r."schema", r.title, r.table_title,
        coalesce(r.owners, '[]') AS owners, u.internal_usage, u.external_usage
    FROM stored_resources AS r
    LEFT JOIN table_usage AS u ON u.id = r.usage_table_id
    WHERE NOT r.described
)
SELECT {", ".join(f'd."{name}"' for name in UNDOCUMENTED_COLUMNS)}
FROM undocumented AS d
ORDER BY coalesce(d.internal_usage, 0) + coalesce(d.external_usage, 0) DESC,
    {_sort_key(dialect, "d.title")} NULLS LAST, d.kind DESC, {_sort_key(dialect, "d.id")}
LIMIT {limit}"""


# ---- the frames -------------------------------------------------------------------------


def _typed(frame: pd.DataFrame, dtypes: Mapping[str, str], report: str) -> pd.DataFrame:
    """Returns `frame`'s report columns (snapshot_date only when it has one), in order and
    in `dtypes`' dtypes, on a fresh index."""
    missing = [c for c in dtypes if c != "snapshot_date" and c not in frame.columns]
    if missing:
        raise ValueError(
            f"{report}: the frame lacks column(s) {missing}; it has {list(frame.columns)}"
        )
    typed = {}
    for column, dtype in dtypes.items():
        if column not in frame.columns:
            continue
        values = frame[column].reset_index(drop=True)
        if dtype == _SNAPSHOT_DTYPE:
            typed[column] = pd.to_datetime(values, utc=True).astype(dtype)
        elif dtype == "string":
            typed[column] = values.astype(object).where(values.notna(), None).astype("string")
        else:
            typed[column] = values.astype(dtype)
    return pd.DataFrame(typed)


def typed_coverage(frame: pd.DataFrame) -> pd.DataFrame:
    """Returns the rows of `coverage_sql` (from either backend) with
    DOCUMENTATION_COVERAGE_COLUMNS (the snapshot_date only when the frame has one) in fixed
    dtypes: text columns ``string``,
    counts ``int64``, described_share ``float64``, snapshot_date ``datetime64[ns, UTC]``.

    Raises:
        ValueError: a column is missing (named).
    """
    return _typed(frame, _COVERAGE_DTYPES, "documentation_coverage")


def typed_by_owner(frame: pd.DataFrame) -> pd.DataFrame:
    """Returns the rows of `coverage_by_owner_sql` with BY_OWNER_COLUMNS (snapshot_date
    only when the frame has one): owner_id, email, team_names, kind ``string``; resources,
    described ``int64``; described_share ``float64``; snapshot_date ``datetime64[ns, UTC]``.

    Raises:
        ValueError: a column is missing (named).
    """
    return _typed(frame, _BY_OWNER_DTYPES, "documentation_coverage_by_owner")


def typed_undocumented(frame: pd.DataFrame) -> pd.DataFrame:
    """Returns the rows of `undocumented_popular_sql` with UNDOCUMENTED_COLUMNS: text
    columns ``string``, internal_usage and external_usage ``Int64`` (nullable).

    Raises:
        ValueError: a column is missing (named).
    """
    return _typed(frame, _UNDOCUMENTED_DTYPES, "undocumented_popular")
