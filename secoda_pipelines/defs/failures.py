"""Turning the client's errors into Dagster failures that retry only when retrying can help."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from secoda_pipelines.secoda import (
    SecodaAuthError,
    SecodaBadRequestError,
    SecodaConfigError,
    SecodaNotFoundError,
)

# A wrong key, URL or body fails the same way on every attempt: retrying only delays the
# message the operator needs.
PERMANENT_ERRORS = (SecodaAuthError, SecodaBadRequestError, SecodaConfigError, SecodaNotFoundError)


@contextmanager
def secoda_failures() -> Iterator[None]:
    """Re-raises permanent Secoda errors as `dg.Failure(allow_retries=False)`.

    Raises:
        dagster.Failure: for a permanent error, with the client's message as description.
    """
    try:
        yield
    except PERMANENT_ERRORS as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
