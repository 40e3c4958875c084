"""The schemas of the catalog frames (`secoda/<name>`): per frame, each column's name, the
converter kind that types it (`convert`) and the API keys it is read from (the first one
set and not blank; default the column's own name).

Kinds and their dtypes: id, text, lower (``string``; id and lower read ``""`` as null,
lower is trimmed and lowercased), int (``Int64``), bool (``boolean``), timestamp
(``datetime64[ns, UTC]``), list (compact JSON text in a ``string`` column, objects by their
id), unreadable (the usage value as sent when it is not a count, else null).

A frame's columns and dtypes come from its schema alone, never from the rows, so an empty
listing still makes a table with the right columns. A caller names the schema it builds
(`frame_from_pages(pages, schema=TABLES_SCHEMA)`).
"""

from __future__ import annotations

from dataclasses import dataclass

# The converter kinds a field may name (`build.CONVERTERS` maps each to its function).
KINDS = ("id", "text", "lower", "int", "bool", "timestamp", "list", "unreadable")


@dataclass(frozen=True)
class Field:
    """One output column: its name, converter kind and the API keys it is read from."""

    name: str
    kind: str
    keys: tuple[str, ...]


def field(name: str, kind: str, *keys: str) -> Field:
    """Returns the column `name` of converter `kind`, read from `keys` (default: `name`).

    Raises:
        ValueError: `kind` is not one of KINDS.
    """
    if kind not in KINDS:
        raise ValueError(f"field {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
    return Field(name, kind, keys or (name,))


@dataclass(frozen=True)
class FrameSchema:
    """The columns of one catalog frame (`secoda/<name>`), in order."""

    name: str
    fields: tuple[Field, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The frame's column names, in order."""
        return tuple(f.name for f in self.fields)


_INTEGRATION = ("integration", "integration_id")

INTEGRATIONS_SCHEMA = FrameSchema(
    "integrations",
    (
        field("id", "id"),
        field("name", "text"),
        field("type", "text"),
        field("created_at", "timestamp"),
        field("updated_at", "timestamp"),
    ),
)
USERS_SCHEMA = FrameSchema(
    "users",
    (
        field("id", "id"),
        field("email", "id"),
        field("first_name", "text"),
        field("last_name", "text"),
        field("role", "lower"),
        field("pending", "bool"),
        field("disabled", "bool"),
        field("user_groups", "list"),
        field("teams", "list"),
    ),
)
TEAMS_SCHEMA = FrameSchema(
    "teams",
    (
        field("id", "id"),
        field("name", "text"),
        field("type", "text"),
        field("archived", "bool"),
    ),
)
DASHBOARDS_SCHEMA = FrameSchema(
    "dashboards",
    (
        field("id", "id"),
        field("title", "text"),
        field("integration_id", "id", *_INTEGRATION),
        field("external_usage", "int"),
        field("internal_usage", "int"),
        field("external_users", "list"),
        field("internal_users", "list"),
        field("external_updated_at", "timestamp"),
        field("parent_id", "id", "parent"),
        field("url", "id"),
        field("owners", "list"),
        field("tags", "list"),
        field("created_at", "timestamp"),
        field("external_usage_unreadable", "unreadable", "external_usage"),
        field("internal_usage_unreadable", "unreadable", "internal_usage"),
    ),
)
QUESTIONS_SCHEMA = FrameSchema(
    "questions",
    (
        field("id", "id"),
        field("title", "text"),
        field("answer", "id"),
        field("owners", "list"),
        field("created_at", "timestamp"),
    ),
)
QUESTION_REPLIES_SCHEMA = FrameSchema(
    "question_replies",
    (
        field("id", "id"),
        field("question_id", "id", "parent"),
        field("owners", "list"),
        field("accepted_answer", "bool"),
        field("created_at", "timestamp"),
    ),
)
TABLES_SCHEMA = FrameSchema(
    "tables",
    (
        field("id", "id"),
        field("integration_id", "id", *_INTEGRATION),
        field("database", "id"),
        field("schema", "id"),
        field("title", "text"),
        field("description", "text"),
        field("definition", "text"),
        field("tags", "list"),
        field("pii", "bool"),
        field("owners", "list"),
        field("verified", "bool"),
        field("parent_id", "id", "parent"),
        field("internal_usage", "int"),
        field("external_usage", "int"),
    ),
)
COLUMNS_SCHEMA = FrameSchema(
    "columns",
    (
        field("id", "id"),
        field("integration_id", "id", *_INTEGRATION),
        field("table_id", "id", "parent"),
        field("database", "id", "table_database"),
        field("schema", "id", "table_schema"),
        field("table_title", "id"),
        field("title", "text"),
        field("description", "text"),
        field("definition", "text"),
        field("tags", "list"),
        field("pii", "bool"),
        field("type", "text"),
        field("sort_order", "int"),
        field("owners", "list"),
        field("verified", "bool"),
    ),
)
