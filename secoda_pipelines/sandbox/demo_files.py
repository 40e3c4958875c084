"""Files the demo ships beside its workspace (docs/sandbox.md): the dbt project and its
two manifests, and a documentation-coverage targets file.

The project in ``dbt/project`` is the one whose models the demo workspace's lineage
follows; ``dbt/make_manifests.py`` made both manifests with a real ``dbt parse``.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DBT_PROJECT = Path(__file__).parent / "dbt"
DEMO_DBT_MANIFESTS = DEMO_DBT_PROJECT / "manifests"
# The pull request's manifest, then production's (the --dbt-manifest and --dbt-state).
DEMO_DBT_MANIFEST_FILES = ("pull_request.json", "production.json")
# What `secoda-pipelines demo` sets SECODA_COVERAGE_TARGETS to.
DEMO_COVERAGE_TARGETS = Path(__file__).parent / "demo_coverage_targets.yaml"
