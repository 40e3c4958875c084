"""A local Secoda API (SPEC part A) for tests, demos and benchmarks; see docs/sandbox.md.

Written from the SPEC, not from the project's client: it imports nothing else of the
project. Modules, each importing only those listed before it (no cycle):

- ``store``: the SQLite store (one table per collection, paging) and its ``RESOURCES``.
- ``seed``: the deterministic workspaces (``SCALES``). A new seeded entity goes here (and
  its collection in ``store.RESOURCES`` and ``routes.ROUTES`` if it is a new collection).
- ``routes``: the route table (collections, methods, filters and their parsing), the
  writable fields and their validation. A new route goes here, its handling in ``api``.
- ``faults``: the fault kinds, the fault queue and random faults, the write rate limiter.
  A new fault kind goes here (``FAULT_KINDS``, ``applies``), its answer in ``responses``
  and, if the API must still handle the request, in ``pipeline``.
- ``records``: ``RequestRecord`` and the request log.
- ``responses``: answers, errors and the pages faults send in the API's place.
- ``settings``: ``SandboxSettings``, the live knobs and the keys.
- ``api``: the endpoints; answers one request against the store under the settings.
- ``handler``: the HTTP server and connection handler, given the callables to answer and
  to track connections.
- ``pipeline``: one request from socket to answer: log, latency, faults, the API.
- ``server``: ``Sandbox``, the lifecycle that wires them together.
- ``demo_files``: where the demo's dbt project, manifests and coverage targets are.
"""

from secoda_pipelines.sandbox.api import new_id, now_iso
from secoda_pipelines.sandbox.demo_files import (
    DEMO_COVERAGE_TARGETS,
    DEMO_DBT_MANIFEST_FILES,
    DEMO_DBT_MANIFESTS,
    DEMO_DBT_PROJECT,
)
from secoda_pipelines.sandbox.faults import (
    APPLIED_FAULT_KINDS,
    EVERY_RANDOM_FAULT_KIND,
    FAULT_KINDS,
    HTTP_METHODS,
    PAGE_FAULT_KINDS,
    RANDOM_FAULT_KINDS,
)
from secoda_pipelines.sandbox.records import RequestRecord
from secoda_pipelines.sandbox.routes import COLLECTIONS, ROUTES, collection_path
from secoda_pipelines.sandbox.seed import REFERENCE_DATE, SCALES, SEED_VERSION
from secoda_pipelines.sandbox.server import Sandbox
from secoda_pipelines.sandbox.settings import (
    DEFAULT_API_KEY,
    DEFAULT_READONLY_API_KEY,
    SETTING_NAMES,
    SandboxSettings,
)
from secoda_pipelines.sandbox.store import SCHEMA_VERSION, Store

__all__ = [
    "APPLIED_FAULT_KINDS",
    "COLLECTIONS",
    "DEFAULT_API_KEY",
    "DEFAULT_READONLY_API_KEY",
    "DEMO_COVERAGE_TARGETS",
    "DEMO_DBT_MANIFESTS",
    "DEMO_DBT_MANIFEST_FILES",
    "DEMO_DBT_PROJECT",
    "EVERY_RANDOM_FAULT_KIND",
    "FAULT_KINDS",
    "HTTP_METHODS",
    "PAGE_FAULT_KINDS",
    "RANDOM_FAULT_KINDS",
    "REFERENCE_DATE",
    "ROUTES",
    "SCALES",
    "SCHEMA_VERSION",
    "SEED_VERSION",
    "SETTING_NAMES",
    "RequestRecord",
    "Sandbox",
    "SandboxSettings",
    "Store",
    "collection_path",
    "new_id",
    "now_iso",
]
