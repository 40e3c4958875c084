"""What each column of each asset's table means, in SPEC B's words: the descriptions shown
in the `dagster/column_schema` of every materialization (`frame_metadata(descriptions=)`).

Keyed by asset key (`secoda/tables`), then column name. Every asset of the code location
has an entry, and every column its frame carries has a description (a test checks both).
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
