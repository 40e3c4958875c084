"""API rows to DataFrames: the catalog assets' frames, typed by their schemas.

`schemas` names each frame's columns, their converter and the API keys they are read
from; `convert` types API values (``""`` and missing as null, counts sent as text, naive
timestamps...); `build` makes a frame of a schema the caller names, from rows
(`frame_of_rows(rows, schema=TABLES_SCHEMA)`) or from a listing's pages
(`frame_from_pages(pages, schema=TABLES_SCHEMA)`). A new catalog frame is a schema in
`schemas`.

Not here: rules over the frames (`catalog.reports`), plans of writes
(`catalog.planners`), anything that lists the API (the client, `secoda`).
"""

from secoda_pipelines.catalog.frames.build import (
    frame_from_pages,
    frame_of_rows,
    rows_of_other_integrations,
)
from secoda_pipelines.catalog.frames.convert import (
    TIMESTAMP_DTYPE,
    id_list,
    list_lengths,
    parse_list,
    to_bool,
    to_id,
    to_int,
    to_json_list,
    to_lower,
    to_text,
    to_timestamp,
    unreadable_counts,
)
from secoda_pipelines.catalog.frames.schemas import (
    COLUMNS_SCHEMA,
    DASHBOARDS_SCHEMA,
    INTEGRATIONS_SCHEMA,
    QUESTION_REPLIES_SCHEMA,
    QUESTIONS_SCHEMA,
    TABLES_SCHEMA,
    TEAMS_SCHEMA,
    USERS_SCHEMA,
    Field,
    FrameSchema,
)

__all__ = [
    "COLUMNS_SCHEMA",
    "DASHBOARDS_SCHEMA",
    "INTEGRATIONS_SCHEMA",
    "QUESTIONS_SCHEMA",
    "QUESTION_REPLIES_SCHEMA",
    "TABLES_SCHEMA",
    "TEAMS_SCHEMA",
    "TIMESTAMP_DTYPE",
    "USERS_SCHEMA",
    "Field",
    "FrameSchema",
    "frame_from_pages",
    "frame_of_rows",
    "id_list",
    "list_lengths",
    "parse_list",
    "rows_of_other_integrations",
    "to_bool",
    "to_id",
    "to_int",
    "to_json_list",
    "to_lower",
    "to_text",
    "to_timestamp",
    "unreadable_counts",
]
