"""The job report tables: one fixed, typed schema each, whatever the rows of a run hold.

Every report row carries `run_id`, `dry_run`, `reported_at` and `item` (the row's position
in its run's report: one row per resource per run). The write-back jobs' tables also carry
what the write did, per resource, the same way in every job:

- `write_status`: null when the row's action writes nothing (unchanged, exists, kept...);
  `planned` when it would write (and, in a dry run, stays so); `written` or `failed` once
  the apply step has tried it; `skipped` when, read again just before its write, the
  target needed nothing or held a value someone changed since the plan (kept). A row still
  `planned` with `dry_run` false was not reached: the run stopped (an error named in the
  run) before it.
- `write_detail`: what the write did or why it failed; `written_at`: when.

A release that adds a column declares it here; the store adds it to an existing table when
it next writes (older rows hold null), so a file written by an earlier release keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass

REPORTS_SCHEMA = "reports"
PLANNED, WRITTEN, FAILED, SKIPPED = "planned", "written", "failed", "skipped"

# Logical column types; each store maps them to its own SQL types. "json" holds a list as
# JSON text.
TEXT, BOOL, INT, TIMESTAMP, JSON = "text", "bool", "int", "timestamp", "json"

Column = tuple[str, str]

RUN_COLUMNS: tuple[Column, ...] = (
    ("run_id", TEXT),
    ("dry_run", BOOL),
    ("reported_at", TIMESTAMP),
    ("item", INT),
)
WRITE_COLUMNS: tuple[Column, ...] = (
    ("write_status", TEXT),
    ("write_detail", TEXT),
    ("written_at", TIMESTAMP),
)


@dataclass(frozen=True)
class ReportTable:
    """One report table: its name in the `reports` schema and its typed columns.

    Attributes:
        name: the table's name, e.g. ``migration_plan``.
        row_columns: the job's own columns, in order.
        records_writes: True for a write-back job (its table has WRITE_COLUMNS).
    """

    name: str
    row_columns: tuple[Column, ...]
    records_writes: bool = True

    @property
    def columns(self) -> tuple[Column, ...]:
        """Returns every column of the table, in order: run columns, row columns, writes."""
        return (*RUN_COLUMNS, *self.row_columns, *(WRITE_COLUMNS if self.records_writes else ()))

    @property
    def column_names(self) -> tuple[str, ...]:
        """Returns the names of `columns`."""
        return tuple(name for name, _ in self.columns)


MIGRATION_PLAN = ReportTable(
    "migration_plan",
    (
        ("source_integration_id", TEXT),
        ("target_integration_id", TEXT),
        ("kind", TEXT),
        ("key", TEXT),
        ("matched_as", TEXT),  # key after database_map and schema_map
        ("documented", BOOL),  # a non-empty value in one of the run's fields
        ("source_id", TEXT),
        ("target_id", TEXT),
        ("action", TEXT),
        ("fields", JSON),
        ("kept_fields", JSON),
        ("detail", TEXT),
    ),
)
USER_PROVISIONING = ReportTable(
    "user_provisioning",
    (
        ("source", TEXT),
        ("email", TEXT),
        ("action", TEXT),
        ("detail", TEXT),
        ("role", TEXT),
        ("first_name", TEXT),
        ("last_name", TEXT),
        ("group_ids", JSON),
        ("team_ids", JSON),
        ("user_id", TEXT),
    ),
)
LINEAGE_CHANGES = ReportTable(
    "lineage_changes",
    (
        ("source", TEXT),
        ("from_entity", TEXT),
        ("to_entity", TEXT),
        ("direction", TEXT),
        ("from_id", TEXT),
        ("to_id", TEXT),
        ("action", TEXT),
        ("detail", TEXT),
        ("lineage_id", TEXT),
    ),
)
DOWNSTREAM_IMPACT = ReportTable(
    "downstream_impact",
    (
        ("table", TEXT),
        ("table_id", TEXT),
        ("resource_id", TEXT),
        ("title", TEXT),
        ("entity_type", TEXT),
        ("depth", INT),
        ("path", TEXT),
        ("name", TEXT),
        ("active", BOOL),
        ("last_viewed", TIMESTAMP),
    ),
    records_writes=False,  # a read-only check: nothing is written to Secoda
)

MIGRATION_COVERAGE = ReportTable(
    "migration_coverage",
    (
        ("source_integration_id", TEXT),
        ("target_integration_id", TEXT),
        ("kind", TEXT),
        ("basis", TEXT),
        ("resources", INT),
        ("documented", INT),
        ("carried", INT),
        ("pending", INT),
        ("kept", INT),
        ("unmatched", INT),
        ("ambiguous", INT),
        ("safe_to_delete_source", BOOL),  # the run's verdict, the same on each of its rows
        ("blocked_by", TEXT),  # what blocks it, "; "-separated; null when safe
    ),
    records_writes=False,  # a summary of the run's plan or of the target after it
)
STALE_DASHBOARD_FLAGS = ReportTable(
    "stale_dashboard_flags",
    (
        ("resource", TEXT),
        ("dashboard_id", TEXT),
        ("title", TEXT),
        ("action", TEXT),
        ("detail", TEXT),
        ("tag_name", TEXT),
        ("tag_id", TEXT),
        ("tags_before", JSON),
        ("tags_after", JSON),
    ),
)

REPORT_TABLES = {
    table.name: table
    for table in (
        MIGRATION_PLAN,
        MIGRATION_COVERAGE,
        USER_PROVISIONING,
        LINEAGE_CHANGES,
        DOWNSTREAM_IMPACT,
        STALE_DASHBOARD_FLAGS,
    )
}


def report_table(name: str) -> ReportTable:
    """Returns the report table called `name`.

    Raises:
        KeyError: no report table has that name (the message lists them).
    """
    try:
        return REPORT_TABLES[name]
    except KeyError:
        raise KeyError(f"no report table {name!r}; known: {sorted(REPORT_TABLES)}") from None
