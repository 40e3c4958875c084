"""What the create-style jobs (users, lineage) share: refusing bad input, and POSTing one
object per planned row, stopping at the first failure."""

from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from secoda_pipelines.secoda import SecodaClient, SecodaError

Row = dict[str, Any]


def bad_input(
    errors: list[str], nothing_done: str, metadata: Mapping[str, Any] | None = None
) -> dg.Failure:
    """Returns the Failure for bad input: one line per bad value, never retried."""
    listed = "\n".join(f"- {error}" for error in errors)
    return dg.Failure(
        description=f"{len(errors)} bad value(s); {nothing_done}:\n{listed}",
        metadata=dict(metadata or {}),
        allow_retries=False,
    )


def post_each(
    client: SecodaClient, path: str, rows: list[Row], body: Callable[[Row], Row]
) -> tuple[list[tuple[Row, Any]], tuple[Row, SecodaError] | None]:
    """POSTs body(row) for each row in order and stops at the first failure.

    Returns:
        (each row created with the server's answer, the failed row and its error or None).
        A POST is not retried after a 5xx (it may have been applied): the caller's rerun
        plans again from what exists, so nothing is created twice.
    """
    created: list[tuple[Row, Any]] = []
    for row in rows:
        try:
            answer = client.post(path, body(row))
        except SecodaError as error:
            return created, (row, error)
        created.append((row, answer))
    return created, None


def partial_failure(
    written: int, planned: int, what: str, failed: str, error: SecodaError, metadata: Mapping
) -> dg.Failure:
    """Returns the Failure for a create that failed after `written` of `planned` succeeded."""
    return dg.Failure(
        description=(
            f"created {written} of {planned} {what}, then {failed} failed: "
            f"{str(error).rstrip('.')}. Rerun the "
            f"job: it plans again from the {what} that exist, so none is created twice."
        ),
        metadata=dict(metadata),
        allow_retries=False,
    )
