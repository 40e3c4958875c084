"""A local Secoda API for tests, demos and benchmarks: HTTP server, SQLite store, seeds, faults.

Written from SPEC part A, not from the project's client; it imports nothing else of the
project. See docs/sandbox.md.
"""

from secoda_pipelines.sandbox.faults import FAULT_KINDS
from secoda_pipelines.sandbox.routes import COLLECTIONS
from secoda_pipelines.sandbox.seed import REFERENCE_DATE, SCALES, SEED_VERSION
from secoda_pipelines.sandbox.server import (
    DEFAULT_API_KEY,
    DEFAULT_READONLY_API_KEY,
    RequestRecord,
    Sandbox,
)

__all__ = [
    "COLLECTIONS",
    "DEFAULT_API_KEY",
    "DEFAULT_READONLY_API_KEY",
    "FAULT_KINDS",
    "REFERENCE_DATE",
    "SCALES",
    "SEED_VERSION",
    "RequestRecord",
    "Sandbox",
]
