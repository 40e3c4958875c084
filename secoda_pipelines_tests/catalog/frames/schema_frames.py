"""Each catalog frame built from a list of rows, by name, as the tests use them: the
package builds every frame with `frame_of_rows(rows, schema=...)`."""

from __future__ import annotations

from functools import partial

from secoda_pipelines.catalog.frames import (
    COLUMNS_SCHEMA,
    DASHBOARDS_SCHEMA,
    INTEGRATIONS_SCHEMA,
    QUESTION_REPLIES_SCHEMA,
    QUESTIONS_SCHEMA,
    TABLES_SCHEMA,
    USERS_SCHEMA,
    frame_of_rows,
)

integrations_frame = partial(frame_of_rows, schema=INTEGRATIONS_SCHEMA)
users_frame = partial(frame_of_rows, schema=USERS_SCHEMA)
dashboards_frame = partial(frame_of_rows, schema=DASHBOARDS_SCHEMA)
questions_frame = partial(frame_of_rows, schema=QUESTIONS_SCHEMA)
question_replies_frame = partial(frame_of_rows, schema=QUESTION_REPLIES_SCHEMA)
tables_frame = partial(frame_of_rows, schema=TABLES_SCHEMA)
columns_frame = partial(frame_of_rows, schema=COLUMNS_SCHEMA)
