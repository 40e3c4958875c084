"""The columns a person reads first, per asset and per job report: what the markdown
`preview` of a materialization or a run shows (`metadata.frame_metadata`,
`metadata.report_preview`), so that it stays under the 1,000 characters Dagster's UI shows
inline."""

from __future__ import annotations

PREVIEW_COLUMNS: dict[str, tuple[str, ...]] = {
    "secoda/integrations": ("name", "type", "id"),
    "secoda/users": ("email", "role", "first_name", "last_name"),
    "secoda/teams": ("name", "type", "archived"),
    "secoda/dashboards": ("title", "external_usage", "internal_usage", "external_updated_at"),
    "secoda/questions": ("title", "answer", "created_at"),
    "secoda/question_replies": ("question_id", "accepted_answer", "created_at"),
    "secoda/tables": ("database", "schema", "title", "description"),
    "secoda/columns": ("table_title", "title", "type", "description"),
    "secoda/dashboard_usage": ("snapshot_date", "title", "external_usage", "internal_usage"),
    "reports/stale_dashboards": (
        "title",
        "days_since_external_update",
        "days_without_views",
        "last_viewed_on",
    ),
    "reports/adoption": ("email", "replies", "accepted_answers", "acceptance_rate"),
    "reports/adoption_monthly": ("email", "replies", "accepted_answers", "acceptance_rate"),
    "reports/documentation_coverage": (
        "integration_name",
        "schema",
        "kind",
        "resources",
        "described_share",
    ),
    "reports/documentation_coverage_by_owner": ("email", "kind", "resources", "described_share"),
    "reports/coverage_targets": ("name", "status", "actual", "expected_today", "target"),
    "reports/undocumented_popular": ("kind", "schema", "table_title", "title", "external_usage"),
}

REPORT_PREVIEW_COLUMNS: dict[str, tuple[str, ...]] = {
    "migration_plan": ("kind", "key", "action", "fields", "write_status"),
    "migration_coverage": ("kind", "documented", "carried", "pending", "safe_to_delete_source"),
    "user_provisioning": ("email", "role", "action", "detail", "write_status"),
    "lineage_changes": ("from_entity", "to_entity", "action", "write_status"),
    "downstream_impact": ("table", "title", "entity_type", "depth", "active"),
    "stale_dashboard_flags": ("title", "action", "detail", "write_status"),
}
