"""What each column of each asset's table, and of each job report table, means, in SPEC B's
words: the descriptions shown in the `dagster/column_schema` of every materialization and
job report.

`COLUMN_DESCRIPTIONS` is keyed by asset key (`secoda/tables`), then column name: every
asset of the code location has an entry, and every column its frame carries has a
description. `REPORT_COLUMN_DESCRIPTIONS` is keyed by report table name (`migration_plan`),
then every column of its `store.report_tables.ReportTable.columns`, in order. Tests check
both, and that `column_types` declares a type for each of the same columns.
"""

from __future__ import annotations

_EXTERNAL_USAGE = "Views in the source tool, last 24 h at the source's last sync (null if unknown)."
_INTERNAL_USAGE = "Views in Secoda, last 90 days (null if unknown)."
_INTEGRATION_ID = "Id of the Secoda integration (warehouse, BI tool, dbt) it belongs to."
_CREATED_AT = "When it was created in Secoda (UTC)."
_OWNERS = "JSON list of the owners' user ids."
_TAGS = "JSON list of tag ids."
_PII = "Flagged as holding personal data (pii)."
_VERIFIED = "Marked verified in Secoda."
_DESCRIPTION = "Short description text (null when empty)."
_DEFINITION = "Documentation in markdown (null when empty)."
_SNAPSHOT_DATE = "UTC day of the snapshot (midnight UTC); one snapshot per day is kept."
_KIND = "Resource kind: table or column."
_DATABASE = "Database the resource lives in."
_SCHEMA = "Schema the resource lives in."
_RESOURCES = "Number of resources (tables or columns) in the row's group."
_DESCRIBED = "Resources with a description or a definition."
_DESCRIBED_SHARE = "described / resources, a fraction from 0 to 1."
_EXTERNAL_USERS_COUNT = "Number of users who viewed it in the source tool (a null list is 0)."
_INTERNAL_USERS_COUNT = "Number of users who viewed it in Secoda (a null list is 0)."
_EXTERNAL_UPDATED_AT = "Last update of the dashboard in the source tool (UTC)."
_REPLIES = "Replies the user wrote (a reply with several owners counts for each)."
_ACCEPTED = (
    "Replies of the user that were accepted (accepted_answer true, or the question's answer)."
)
_RATE = "accepted_answers / replies, a fraction from 0 to 1."
_USER_EMAIL = "The user's email, from secoda/users (null if unknown)."

_ADOPTION = {
    "user_id": "Id of the user who wrote the replies.",
    "email": _USER_EMAIL,
    "replies": _REPLIES,
    "accepted_answers": _ACCEPTED,
    "acceptance_rate": _RATE,
    "last_reply_at": "created_at of the user's latest reply (UTC).",
}

COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "secoda/integrations": {
        "id": "Secoda id of the integration.",
        "name": "Name of the integration as shown in Secoda.",
        "type": "Integration type, e.g. snowflake, tableau, dbt.",
        "created_at": _CREATED_AT,
        "updated_at": "When it was last updated in Secoda (UTC).",
    },
    "secoda/users": {
        "id": "Secoda id of the user.",
        "email": "The user's email.",
        "first_name": "The user's first name.",
        "last_name": "The user's last name.",
        "role": "Role in Secoda, lowercase: admin, editor, viewer or guest.",
        "pending": "Invited but has not joined yet.",
        "disabled": "The account is disabled.",
        "user_groups": "JSON list of the user's group ids.",
        "teams": "JSON list of the user's team ids.",
    },
    "secoda/teams": {
        "id": "Secoda id of the team.",
        "name": "Team name.",
        "type": "Team type as Secoda gives it.",
        "archived": "The team is archived.",
    },
    "secoda/dashboards": {
        "id": "Secoda id of the dashboard.",
        "title": "Dashboard title.",
        "integration_id": _INTEGRATION_ID,
        "external_usage": _EXTERNAL_USAGE,
        "internal_usage": _INTERNAL_USAGE,
        "external_users": "JSON list of user ids who viewed it in the source tool.",
        "internal_users": "JSON list of user ids who viewed it in Secoda.",
        "external_updated_at": _EXTERNAL_UPDATED_AT,
        "parent_id": "Id of the resource it sits under (folder, workbook, project).",
        "url": "Link to the dashboard in the source tool.",
        "owners": _OWNERS,
        "tags": _TAGS,
        "created_at": _CREATED_AT,
        "external_usage_unreadable": (
            "external_usage as sent when it is not a count (e.g. 'n/a'); else null."
        ),
        "internal_usage_unreadable": (
            "internal_usage as sent when it is not a count (e.g. 'n/a'); else null."
        ),
    },
    "secoda/questions": {
        "id": "Secoda id of the question.",
        "title": "Question title.",
        "answer": "Id of the accepted reply (null when none).",
        "owners": "JSON list of user ids who asked the question.",
        "created_at": _CREATED_AT,
    },
    "secoda/question_replies": {
        "id": "Secoda id of the reply.",
        "question_id": "Id of the question it replies to.",
        "owners": "JSON list of user ids who wrote the reply.",
        "accepted_answer": "The API's accepted flag: true, false or null (unknown).",
        "created_at": _CREATED_AT,
    },
    "secoda/tables": {
        "id": "Secoda id of the table.",
        "integration_id": _INTEGRATION_ID + " The partition key.",
        "database": _DATABASE,
        "schema": _SCHEMA,
        "title": "Table name.",
        "description": _DESCRIPTION,
        "definition": _DEFINITION,
        "tags": _TAGS,
        "pii": _PII,
        "owners": _OWNERS,
        "verified": _VERIFIED,
        "parent_id": "Id of the schema the table sits under.",
        "internal_usage": _INTERNAL_USAGE,
        "external_usage": _EXTERNAL_USAGE,
    },
    "secoda/columns": {
        "id": "Secoda id of the column.",
        "integration_id": _INTEGRATION_ID + " The partition key.",
        "table_id": "Id of the table the column belongs to.",
        "database": "Database of the column's table.",
        "schema": "Schema of the column's table.",
        "table_title": "Name of the column's table.",
        "title": "Column name.",
        "description": _DESCRIPTION,
        "definition": _DEFINITION,
        "tags": _TAGS,
        "pii": _PII,
        "type": "Data type of the column in the source.",
        "sort_order": "Position of the column in its table.",
        "owners": _OWNERS,
        "verified": _VERIFIED,
    },
    "secoda/dashboard_usage": {
        "snapshot_date": _SNAPSHOT_DATE,
        "dashboard_id": "Secoda id of the dashboard.",
        "title": "Dashboard title on that day.",
        "integration_id": _INTEGRATION_ID,
        "external_usage": _EXTERNAL_USAGE,
        "internal_usage": _INTERNAL_USAGE,
        "external_users_count": _EXTERNAL_USERS_COUNT,
        "internal_users_count": _INTERNAL_USERS_COUNT,
        "external_updated_at": _EXTERNAL_UPDATED_AT,
        "taken_at": "When the snapshot was taken (UTC).",
    },
    "reports/stale_dashboards": {
        "id": "Secoda id of the stale dashboard.",
        "title": "Dashboard title.",
        "integration_id": _INTEGRATION_ID,
        "external_usage": _EXTERNAL_USAGE,
        "internal_usage": _INTERNAL_USAGE,
        "external_users_count": _EXTERNAL_USERS_COUNT,
        "internal_users_count": _INTERNAL_USERS_COUNT,
        "external_updated_at": _EXTERNAL_UPDATED_AT,
        "days_since_external_update": (
            "Whole days since external_updated_at (null when that is null)."
        ),
        "url": "Link to the dashboard in the source tool.",
        "owners": _OWNERS,
        "days_without_views": (
            "Consecutive usage snapshots, ending at the latest, without views "
            "(null without a snapshot)."
        ),
        "last_viewed_on": "Latest usage snapshot day showing views (null if none).",
    },
    "reports/adoption": dict(_ADOPTION),
    "reports/adoption_monthly": {
        "month": "First day of the month of the replies' created_at (UTC): the partition.",
        **_ADOPTION,
        "replies": "Replies the user wrote in the month (several owners: counts for each).",
        "accepted_answers": "Of those replies, the ones accepted (even when accepted later).",
    },
    "reports/documentation_coverage": {
        "snapshot_date": _SNAPSHOT_DATE,
        "integration_id": _INTEGRATION_ID,
        "integration_name": "Name of the integration.",
        "database": _DATABASE,
        "schema": _SCHEMA,
        "kind": _KIND,
        "resources": _RESOURCES,
        "described": _DESCRIBED,
        "with_description": "Resources with a non-empty description.",
        "with_definition": "Resources with a non-empty definition.",
        "with_owners": "Resources with at least one owner.",
        "with_tags": "Resources with at least one tag.",
        "pii": "Resources flagged pii.",
        "verified": "Resources marked verified.",
        "described_share": _DESCRIBED_SHARE,
    },
    "reports/documentation_coverage_by_owner": {
        "snapshot_date": _SNAPSHOT_DATE,
        "owner_id": "User id of the owner (null: resources nobody owns).",
        "email": "The owner's email, from secoda/users (null if unknown).",
        "team_names": "JSON list of the owner's team names.",
        "kind": _KIND,
        "resources": "Resources the owner holds (several owners: counted for each).",
        "described": _DESCRIBED,
        "described_share": _DESCRIBED_SHARE,
    },
    "reports/coverage_targets": {
        "snapshot_date": _SNAPSHOT_DATE,
        "name": "Name of the target in SECODA_COVERAGE_TARGETS.",
        "metric": (
            "Measured share: described, with_description, with_definition, with_owners, "
            "with_tags or verified."
        ),
        "kind": _KIND,
        "scope": "JSON object of integration_id, database, schema it covers ({} = everything).",
        "target": "Share to reach by the deadline, 0 to 1.",
        "start": "Day the target starts (UTC).",
        "deadline": "Day the target must be met by (UTC).",
        "baseline": "Share on the first snapshot on or after start.",
        "actual": "Share of the metric within the scope on this day.",
        "expected_today": (
            "Where the straight line from baseline at start to target at deadline is today."
        ),
        "status": "met, on_track, behind or missed.",
    },
    "reports/undocumented_popular": {
        "id": "Secoda id of the table or column.",
        "kind": _KIND,
        "integration_id": _INTEGRATION_ID,
        "database": _DATABASE,
        "schema": _SCHEMA,
        "title": "Table or column name.",
        "table_title": "For a column, the name of its table.",
        "owners": _OWNERS + " Null when none.",
        "internal_usage": _INTERNAL_USAGE + " A column's is its table's.",
        "external_usage": _EXTERNAL_USAGE + " A column's is its table's.",
    },
}

# The job reports (`store.report_tables`): the columns every report starts with, and the
# write-back jobs' tables end with.
_RUN_COLUMNS = {
    "run_id": "Id of the Dagster run that reported the row.",
    "dry_run": "The run's dry_run: true means the run wrote nothing to Secoda.",
    "reported_at": "When the run reported the row (UTC).",
    "item": "The row's position in its run's report (0, 1, ...): ORDER BY run_id, item.",
}
_WRITE_COLUMNS = {
    "write_status": (
        "What the write did: null (nothing to write), planned (not tried; a dry run's stay "
        "so), written, failed, or skipped (read again, nothing left or a changed value kept)."
    ),
    "write_detail": "What the write did (e.g. PATCH description, tags) or why it failed.",
    "written_at": "When the write was tried (UTC); null when nothing was sent.",
}
_SOURCE_INTEGRATION_ID = "Id of the integration documentation is copied from (the source)."
_TARGET_INTEGRATION_ID = "Id of the integration documentation is copied to (the target)."
_CREATE_ACTION = "create (planned) or exists (already in Secoda, skipped)."
_DOCUMENTED_OF_KIND = "Documented source resources of the kind"

REPORT_COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "migration_plan": {
        **_RUN_COLUMNS,
        "source_integration_id": _SOURCE_INTEGRATION_ID,
        "target_integration_id": _TARGET_INTEGRATION_ID,
        "kind": _KIND,
        "key": "The source resource's own key, database.schema.table[.column], case-folded.",
        "matched_as": "The key after database_map and schema_map: what the target is matched by.",
        "documented": "The source has a non-empty value in one of the run's fields.",
        "source_id": "Secoda id of the source table or column.",
        "target_id": "Secoda id of the matched target table or column (null when none).",
        "action": (
            "update (a field written), kept (none written, one kept), unchanged, unmatched "
            "or ambiguous."
        ),
        "fields": "JSON list of the fields the PATCH writes.",
        "kept_fields": "JSON list of the fields whose different target value is kept.",
        "detail": "Why it is unmatched or ambiguous (an ambiguous key's ids); null otherwise.",
        **_WRITE_COLUMNS,
    },
    "migration_coverage": {
        **_RUN_COLUMNS,
        "source_integration_id": _SOURCE_INTEGRATION_ID,
        "target_integration_id": _TARGET_INTEGRATION_ID,
        "kind": _KIND,
        "basis": "plan (a dry run's plan) or target after writes (the target read again).",
        "resources": "Source resources of the kind.",
        "documented": "Of those, the ones with a non-empty value in one of the run's fields.",
        "carried": _DOCUMENTED_OF_KIND + " whose values the target already holds (unchanged).",
        "pending": _DOCUMENTED_OF_KIND + " with a value still to write (update).",
        "kept": _DOCUMENTED_OF_KIND + " whose target keeps a different value (kept).",
        "unmatched": _DOCUMENTED_OF_KIND + " with no target resource (or table) to match.",
        "ambiguous": _DOCUMENTED_OF_KIND + " whose key (or table's) occurs twice on one side.",
        "safe_to_delete_source": (
            "The run's verdict: deleting the source loses no documentation (same on each row)."
        ),
        "blocked_by": "What blocks deleting the source, '; '-separated; null when safe.",
    },
    "user_provisioning": {
        **_RUN_COLUMNS,
        "source": "Where the user was requested: users[0] (run config) or people.csv line 2.",
        "email": "The requested user's email.",
        "action": _CREATE_ACTION + " Users whose email exists, any case, are skipped.",
        "detail": "Why: the new user's role, groups and teams, or the existing user (id, state).",
        "role": "Requested role: admin, editor, viewer or guest.",
        "first_name": "Requested first name.",
        "last_name": "Requested last name.",
        "group_ids": "JSON list of the user's group ids (names resolved to ids).",
        "team_ids": "JSON list of the user's team ids (names resolved to ids).",
        "user_id": "Id of the existing user, or of the created one once written.",
        **_WRITE_COLUMNS,
    },
    "lineage_changes": {
        **_RUN_COLUMNS,
        "source": "Where the edge came from in the run config: edges[0], edges[1], ...",
        "from_entity": "One end as given: a resource id or database.schema.table.",
        "to_entity": "The other end as given: a resource id or database.schema.table.",
        "direction": "DOWNSTREAM (to_entity is downstream of from_entity) or UPSTREAM (reverse).",
        "from_id": "Secoda id of the resource from_entity names.",
        "to_id": "Secoda id of the resource to_entity names.",
        "action": _CREATE_ACTION + " An edge present in either direction exists.",
        "detail": "Why: the edge to create, or the existing edge that already holds the pair.",
        "lineage_id": "Id of the existing edge, or of the created one once written.",
        **_WRITE_COLUMNS,
    },
    "downstream_impact": {
        **_RUN_COLUMNS,
        "dry_run": "Always false: the check writes nothing to Secoda.",
        "table": "The checked table as given: an id or database.schema.table.",
        "table_id": "Secoda id of the checked table.",
        "resource_id": "Secoda id of the downstream resource.",
        "title": "Title of the downstream resource.",
        "entity_type": "Kind of the downstream resource: table, column, dashboard, ...",
        "depth": "Lineage hops from the checked table (1 = directly downstream).",
        "path": "The lineage path from the checked table, ' > '-separated.",
        "name": "Display name of the downstream resource (database.schema.table for tables).",
        "active": (
            "In use: viewed in a usage snapshot of the last active_days days (else its "
            "current usage); null without usage."
        ),
        "last_viewed": "Latest usage snapshot day showing views (null if none).",
    },
    "stale_dashboard_flags": {
        **_RUN_COLUMNS,
        "resource": "dashboard, or tag for the tag's own create row.",
        "dashboard_id": "Secoda id of the dashboard (null on the tag's row).",
        "title": "Dashboard title (the tag's name on the tag's row).",
        "action": "add, remove, unchanged, or create (the tag).",
        "detail": "Why: what makes it stale (views, viewers, days since update) or no longer.",
        "tag_name": "Name of the stale tag (the run config's tag_name).",
        "tag_id": "Id of the tag (null until it exists).",
        "tags_before": "JSON list of the dashboard's tag ids as listed.",
        "tags_after": "JSON list of the dashboard's tag ids as the PATCH sends them.",
        **_WRITE_COLUMNS,
    },
}
