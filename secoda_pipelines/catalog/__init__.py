"""Pure functions over Secoda API rows and DataFrames: no HTTP, no Dagster.

``frames`` turns API rows into the catalog assets' frames, ``reports`` applies SPEC B's
report rules to them, ``preview`` renders metadata.
"""

from secoda_pipelines.catalog.frames import (
    columns_frame,
    dashboards_frame,
    frame_from_pages,
    integrations_frame,
    question_replies_frame,
    questions_frame,
    rows_of_other_integrations,
    tables_frame,
    users_frame,
)
from secoda_pipelines.catalog.preview import column_schema, markdown_preview
from secoda_pipelines.catalog.reports import adoption, stale_dashboards, stale_summary

__all__ = [
    "adoption",
    "column_schema",
    "columns_frame",
    "dashboards_frame",
    "frame_from_pages",
    "integrations_frame",
    "markdown_preview",
    "question_replies_frame",
    "questions_frame",
    "rows_of_other_integrations",
    "stale_dashboards",
    "stale_summary",
    "tables_frame",
    "users_frame",
]
