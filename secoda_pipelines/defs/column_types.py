"""The type each column of each asset and job report holds, in the words a user thinks in
(an id, a share from 0 to 1, a list of ids), not pandas dtypes (`object`, `Int64`).

`COLUMN_TYPES` is keyed like `column_descriptions.COLUMN_DESCRIPTIONS` (asset key, e.g.
``secoda/tables``, then column name, the same columns in the same order);
`REPORT_COLUMN_TYPES` by job report table name (``migration_plan``), then every column of
its `store.report_tables.ReportTable.columns`, in order. Each value is one of HUMAN_TYPES.
Tests check both against the declarations, the store's logical types and the dtypes each
asset really stores.
"""

from __future__ import annotations

ID = "id"
TEXT = "text"
INTEGER = "integer"
NUMBER = "number"
SHARE = "share (0 to 1)"
BOOLEAN = "boolean"
TIMESTAMP = "timestamp (UTC)"
DAY = "date (UTC)"
ID_LIST = "list of ids"
NAME_LIST = "list of names"
HUMAN_TYPES = (ID, TEXT, INTEGER, NUMBER, SHARE, BOOLEAN, TIMESTAMP, DAY, ID_LIST, NAME_LIST)

_DASHBOARD_USAGE = {
    "external_usage": INTEGER,
    "internal_usage": INTEGER,
    "external_users_count": INTEGER,
    "internal_users_count": INTEGER,
    "external_updated_at": TIMESTAMP,
}
_ADOPTION = {
    "user_id": ID,
    "email": TEXT,
    "replies": INTEGER,
    "accepted_answers": INTEGER,
    "acceptance_rate": SHARE,
    "last_reply_at": TIMESTAMP,
}

COLUMN_TYPES: dict[str, dict[str, str]] = {
    "secoda/integrations": {
        "id": ID,
        "name": TEXT,
        "type": TEXT,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    },
    "secoda/users": {
        "id": ID,
        "email": TEXT,
        "first_name": TEXT,
        "last_name": TEXT,
        "role": TEXT,
        "pending": BOOLEAN,
        "disabled": BOOLEAN,
        "user_groups": ID_LIST,
        "teams": ID_LIST,
    },
    "secoda/teams": {
        "id": ID,
        "name": TEXT,
        "type": TEXT,
        "archived": BOOLEAN,
    },
    "secoda/dashboards": {
        "id": ID,
        "title": TEXT,
        "integration_id": ID,
        "external_usage": INTEGER,
        "internal_usage": INTEGER,
        "external_users": ID_LIST,
        "internal_users": ID_LIST,
        "external_updated_at": TIMESTAMP,
        "parent_id": ID,
        "url": TEXT,
        "owners": ID_LIST,
        "tags": ID_LIST,
        "created_at": TIMESTAMP,
        "external_usage_unreadable": TEXT,
        "internal_usage_unreadable": TEXT,
    },
    "secoda/questions": {
        "id": ID,
        "title": TEXT,
        "answer": ID,
        "owners": ID_LIST,
        "created_at": TIMESTAMP,
    },
    "secoda/question_replies": {
        "id": ID,
        "question_id": ID,
        "owners": ID_LIST,
        "accepted_answer": BOOLEAN,
        "created_at": TIMESTAMP,
    },
    "secoda/tables": {
        "id": ID,
        "integration_id": ID,
        "database": TEXT,
        "schema": TEXT,
        "title": TEXT,
        "description": TEXT,
        "definition": TEXT,
        "tags": ID_LIST,
        "pii": BOOLEAN,
        "owners": ID_LIST,
        "verified": BOOLEAN,
        "parent_id": ID,
        "internal_usage": INTEGER,
        "external_usage": INTEGER,
    },
    "secoda/columns": {
        "id": ID,
        "integration_id": ID,
        "table_id": ID,
        "database": TEXT,
        "schema": TEXT,
        "table_title": TEXT,
        "title": TEXT,
        "description": TEXT,
        "definition": TEXT,
        "tags": ID_LIST,
        "pii": BOOLEAN,
        "type": TEXT,
        "sort_order": INTEGER,
        "owners": ID_LIST,
        "verified": BOOLEAN,
    },
    "secoda/dashboard_usage": {
        "snapshot_date": DAY,
        "dashboard_id": ID,
        "title": TEXT,
        "integration_id": ID,
        **_DASHBOARD_USAGE,
        "taken_at": TIMESTAMP,
    },
    "reports/stale_dashboards": {
        "id": ID,
        "title": TEXT,
        "integration_id": ID,
        **_DASHBOARD_USAGE,
        "days_since_external_update": INTEGER,
        "url": TEXT,
        "owners": ID_LIST,
        "days_without_views": INTEGER,
        "last_viewed_on": DAY,
    },
    "reports/adoption": dict(_ADOPTION),
    "reports/adoption_monthly": {"month": DAY, **_ADOPTION},
    "reports/documentation_coverage": {
        "snapshot_date": DAY,
        "integration_id": ID,
        "integration_name": TEXT,
        "database": TEXT,
        "schema": TEXT,
        "kind": TEXT,
        "resources": INTEGER,
        "described": INTEGER,
        "with_description": INTEGER,
        "with_definition": INTEGER,
        "with_owners": INTEGER,
        "with_tags": INTEGER,
        "pii": INTEGER,
        "verified": INTEGER,
        "described_share": SHARE,
    },
    "reports/documentation_coverage_by_owner": {
        "snapshot_date": DAY,
        "owner_id": ID,
        "email": TEXT,
        "team_names": NAME_LIST,
        "kind": TEXT,
        "resources": INTEGER,
        "described": INTEGER,
        "described_share": SHARE,
    },
    "reports/coverage_targets": {
        "snapshot_date": DAY,
        "name": TEXT,
        "metric": TEXT,
        "kind": TEXT,
        "scope": TEXT,  # a JSON object, not a list
        "target": SHARE,
        "start": DAY,
        "deadline": DAY,
        "baseline": SHARE,
        "actual": SHARE,
        "expected_today": SHARE,
        "status": TEXT,
    },
    "reports/undocumented_popular": {
        "id": ID,
        "kind": TEXT,
        "integration_id": ID,
        "database": TEXT,
        "schema": TEXT,
        "title": TEXT,
        "table_title": TEXT,
        "owners": ID_LIST,
        "internal_usage": INTEGER,
        "external_usage": INTEGER,
    },
}

# The columns every job report starts with, and the write-back jobs' tables end with
# (`store.report_tables.RUN_COLUMNS`, `WRITE_COLUMNS`).
_RUN = {"run_id": ID, "dry_run": BOOLEAN, "reported_at": TIMESTAMP, "item": INTEGER}
_WRITES = {"write_status": TEXT, "write_detail": TEXT, "written_at": TIMESTAMP}
_MIGRATION = {"source_integration_id": ID, "target_integration_id": ID, "kind": TEXT}

REPORT_COLUMN_TYPES: dict[str, dict[str, str]] = {
    "migration_plan": {
        **_RUN,
        **_MIGRATION,
        "key": TEXT,
        "matched_as": TEXT,
        "documented": BOOLEAN,
        "source_id": ID,
        "target_id": ID,
        "action": TEXT,
        "fields": NAME_LIST,
        "kept_fields": NAME_LIST,
        "detail": TEXT,
        **_WRITES,
    },
    "migration_coverage": {
        **_RUN,
        **_MIGRATION,
        "basis": TEXT,
        "resources": INTEGER,
        "documented": INTEGER,
        "carried": INTEGER,
        "pending": INTEGER,
        "kept": INTEGER,
        "unmatched": INTEGER,
        "ambiguous": INTEGER,
        "safe_to_delete_source": BOOLEAN,
        "blocked_by": TEXT,
    },
    "user_provisioning": {
        **_RUN,
        "source": TEXT,
        "email": TEXT,
        "action": TEXT,
        "detail": TEXT,
        "role": TEXT,
        "first_name": TEXT,
        "last_name": TEXT,
        "group_ids": ID_LIST,
        "team_ids": ID_LIST,
        "user_id": ID,
        **_WRITES,
    },
    "lineage_changes": {
        **_RUN,
        "source": TEXT,
        "from_entity": TEXT,  # as given: an id or database.schema.table
        "to_entity": TEXT,
        "direction": TEXT,
        "from_id": ID,
        "to_id": ID,
        "action": TEXT,
        "detail": TEXT,
        "lineage_id": ID,
        **_WRITES,
    },
    "downstream_impact": {
        **_RUN,
        "table": TEXT,  # as given: an id or database.schema.table
        "table_id": ID,
        "resource_id": ID,
        "title": TEXT,
        "entity_type": TEXT,
        "depth": INTEGER,
        "path": TEXT,
        "name": TEXT,
        "active": BOOLEAN,
        "last_viewed": DAY,
    },
    "stale_dashboard_flags": {
        **_RUN,
        "resource": TEXT,
        "dashboard_id": ID,
        "title": TEXT,
        "action": TEXT,
        "detail": TEXT,
        "tag_name": TEXT,
        "tag_id": ID,
        "tags_before": ID_LIST,
        "tags_after": ID_LIST,
        **_WRITES,
    },
}
