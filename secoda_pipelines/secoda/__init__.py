"""The Secoda API client: plain Python, no Dagster."""

from secoda_pipelines.secoda.client import (
    DEFAULT_BASE_URL,
    SecodaClient,
    detail_path,
    normalize_base_url,
    normalize_path,
)
from secoda_pipelines.secoda.errors import (
    SecodaAuthError,
    SecodaBadRequestError,
    SecodaConfigError,
    SecodaConnectionError,
    SecodaError,
    SecodaHTTPError,
    SecodaNotFoundError,
    SecodaPagingError,
    SecodaRateLimitError,
    SecodaResponseError,
    SecodaServerError,
    SecodaShortListingError,
)
from secoda_pipelines.secoda.limiter import WriteLimiter

__all__ = [
    "DEFAULT_BASE_URL",
    "SecodaAuthError",
    "SecodaBadRequestError",
    "SecodaClient",
    "SecodaConfigError",
    "SecodaConnectionError",
    "SecodaError",
    "SecodaHTTPError",
    "SecodaNotFoundError",
    "SecodaPagingError",
    "SecodaRateLimitError",
    "SecodaResponseError",
    "SecodaServerError",
    "SecodaShortListingError",
    "WriteLimiter",
    "detail_path",
    "normalize_base_url",
    "normalize_path",
]
