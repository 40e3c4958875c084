"""One snapshot of every job's launchpad schema, so a renamed or retyped field shows in review.

Write-back jobs: their flat run config (SPEC B). Asset jobs: the `ops` section (assets' run
config); Dagster's own `execution` and `loggers`, and the resources (whose defaults depend
on the environment at load), are left out. To accept a deliberate change, run
`UPDATE_SNAPSHOTS=1 pytest secoda_pipelines_tests/defs/test_launchpad.py` and review the diff
of launchpad_schema.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dagster._config import ConfigTypeKind

from secoda_pipelines.definitions import defs

SNAPSHOT = Path(__file__).with_name("launchpad_schema.json")
SHAPES = (ConfigTypeKind.STRICT_SHAPE, ConfigTypeKind.PERMISSIVE_SHAPE, ConfigTypeKind.SELECTOR)


def describe(config_type: Any) -> Any:
    """Returns the config type as plain data: fields with type, required and default."""
    if config_type.kind in SHAPES:
        fields = {}
        for name, field in sorted(config_type.fields.items()):
            entry = {"type": describe(field.config_type), "required": field.is_required}
            if field.default_provided:
                entry["default"] = field.default_value
            fields[name] = entry
        return fields
    if config_type.kind == ConfigTypeKind.ARRAY:
        return [describe(config_type.inner_type)]
    if config_type.kind == ConfigTypeKind.NONEABLE:
        return {"noneable": describe(config_type.inner_type)}
    return (config_type.given_name or config_type.key).removesuffix("SourceType")


def launchpad_schemas() -> dict[str, Any]:
    schemas = {}
    for job in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name):
        if job.name.startswith("__"):  # Dagster's implicit asset job
            continue
        schema = describe(job.run_config_schema.config_type)
        if job.config_mapping is None:
            schema = schema.get("ops", {}).get("type", {})
        schemas[job.name] = schema
    return schemas


def test_every_jobs_launchpad_schema_matches_the_snapshot():
    current = json.dumps(launchpad_schemas(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text(), "a job's run config changed: see the module docstring"


def test_write_back_jobs_show_the_spec_fields_at_top_level():
    schemas = launchpad_schemas()
    assert set(schemas["migrate_documentation"]) >= {
        "source_integration_id",
        "target_integration_id",
        "fields",
        "include_columns",
        "overwrite",
        "dry_run",
    }
    assert set(schemas["provision_users"]) == {"users", "csv_path", "dry_run"}
    assert set(schemas["create_manual_lineage"]) == {"edges", "dry_run"}
    assert set(schemas["check_downstream_impact"]) == {
        "tables",
        "depth",
        "fail_on_downstream",
        "fail_on",
        "active_days",
    }
    for job in ("migrate_documentation", "provision_users", "create_manual_lineage"):
        dry_run = {"type": {"noneable": "Bool"}, "required": False, "default": True}
        assert schemas[job]["dry_run"] == dry_run
