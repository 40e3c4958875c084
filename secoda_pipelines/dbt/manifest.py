"""Reading dbt's ``manifest.json``: its models, snapshots and seeds, and what changed.

Only the standard library: no dbt import, so a manifest from any dbt version is read as the
JSON it is. Read are the manifest schemas v10 to v12 (``metadata.dbt_schema_version``), which
dbt 1.6 (v10), 1.7 (v11) and 1.8 and later (v12) write.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSIONS = range(10, 13)  # v10 (dbt 1.6), v11 (dbt 1.7), v12 (dbt 1.8 and later)
RESOURCE_TYPES = ("model", "snapshot", "seed")  # find_node's order for a name, too
_SCHEMA_URL = re.compile(r"/manifest/v(\d+)\.json$")

Column = tuple[str, str | None, str | None]


class ManifestError(ValueError):
    """A file is no dbt manifest this reads, or a name in it is ambiguous.

    ``str(error)`` is one line naming the file, as the caller gave its path, and what is
    wrong with it.
    """


@dataclass(frozen=True)
class DbtNode:
    """A model, snapshot or seed of a manifest.

    `relation` is ``database.schema.alias`` (the alias, else the name), the table dbt builds;
    None for an ephemeral model, which dbt inlines and never builds. `columns` holds
    (name, data_type, description) for each documented column, sorted by name; an empty
    description or data type is None.
    """

    unique_id: str
    resource_type: str
    name: str
    relation: str | None
    original_file_path: str | None
    checksum: str | None
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Manifest:
    """A dbt manifest as read: `nodes` maps unique_id to each model, snapshot and seed."""

    path: str
    schema_version: int
    dbt_version: str | None
    project_name: str | None
    nodes: dict[str, DbtNode]


@dataclass(frozen=True)
class ChangedNode:
    """A node that is "new", "modified" or "deleted"; for "deleted", the state's node."""

    node: DbtNode
    change: str


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else "an object"


def _load(path: str) -> Any:
    """Returns the file's JSON; raises ManifestError when it cannot be read or parsed."""
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except FileNotFoundError:
        raise ManifestError(f"dbt manifest {path}: cannot be read (no such file)") from None
    except IsADirectoryError:
        raise ManifestError(f"dbt manifest {path}: cannot be read (a directory)") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise ManifestError(f"dbt manifest {path}: cannot be read ({reason})") from None
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise ManifestError(f"dbt manifest {path}: not JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise ManifestError(f"dbt manifest {path}: not JSON ({error.msg} at {where})") from None


def _schema_version(path: str, document: Any) -> int:
    """Returns the manifest schema's version number (12 for .../manifest/v12.json)."""
    if not isinstance(document, dict):
        raise ManifestError(
            f"dbt manifest {path}: not a dbt manifest (the JSON is {_kind(document)}, "
            "not an object)"
        )
    metadata = document.get("metadata")
    url = metadata.get("dbt_schema_version") if isinstance(metadata, dict) else None
    if not isinstance(url, str):
        raise ManifestError(
            f"dbt manifest {path}: not a dbt manifest (no metadata.dbt_schema_version)"
        )
    match = _SCHEMA_URL.search(url)
    if match is None:
        raise ManifestError(
            f"dbt manifest {path}: not a dbt manifest (metadata.dbt_schema_version is "
            f"{url!r}, not a manifest schema)"
        )
    if not isinstance(document.get("nodes"), dict):
        raise ManifestError(f'dbt manifest {path}: not a dbt manifest (no "nodes" object)')
    version = int(match.group(1))
    if version not in SCHEMA_VERSIONS:
        first, last = SCHEMA_VERSIONS[0], SCHEMA_VERSIONS[-1]
        raise ManifestError(
            f"dbt manifest {path}: manifest schema v{version} is not read; secoda-pipelines "
            f"reads v{first} to v{last} (dbt 1.6 and later)"
        )
    return version


def _columns(columns: object) -> tuple[Column, ...]:
    if not isinstance(columns, dict):
        return ()
    found: list[Column] = []
    for key, column in columns.items():
        column = column if isinstance(column, dict) else {}
        name = _text(column.get("name")) or key
        found.append((name, _text(column.get("data_type")), _text(column.get("description"))))
    return tuple(sorted(found, key=lambda c: (c[0], c[1] or "", c[2] or "")))


def _node(path: str, unique_id: str, node: Mapping[str, Any], resource_type: str) -> DbtNode:
    def required(field: str, value: object) -> str:
        text = _text(value)
        if text is None:
            raise ManifestError(f"dbt manifest {path}: {unique_id} has no {field}")
        return text

    name = required("name", node.get("name"))
    config = node.get("config")
    materialized = config.get("materialized") if isinstance(config, dict) else None
    relation: str | None = None
    if not (resource_type == "model" and materialized == "ephemeral"):
        parts = (
            required("database", node.get("database")),
            required("schema", node.get("schema")),
            _text(node.get("alias")) or name,
        )
        relation = ".".join(parts)
    checksum = node.get("checksum")
    return DbtNode(
        unique_id=unique_id,
        resource_type=resource_type,
        name=name,
        relation=relation,
        original_file_path=_text(node.get("original_file_path")),
        checksum=_text(checksum.get("checksum")) if isinstance(checksum, dict) else None,
        columns=_columns(node.get("columns")),
    )


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Returns the manifest at `path` with its models, snapshots and seeds (tests, sources,
    analyses and the rest are left out), keyed and ordered by unique_id.

    Each node but an ephemeral model must have a database, a schema and an alias or a name:
    its relation is how Secoda's tables are matched, and a two-part name (an adapter that
    leaves ``database`` null, like dbt-spark without a catalog) would match none, so it is
    an error rather than a silent miss. dbt-duckdb, dbt-snowflake, dbt-bigquery, dbt-postgres
    and dbt-redshift all fill ``database``.

    Raises:
        ManifestError: the file is missing or unreadable, not JSON, not a dbt manifest (no
            ``metadata.dbt_schema_version`` naming a manifest schema, or no ``nodes``
            object), of a schema version other than v10 to v12, or a model, snapshot or seed
            lacks its name or (not ephemeral) its database or schema.
    """
    shown = os.fspath(path)
    document = _load(shown)
    version = _schema_version(shown, document)
    nodes: dict[str, DbtNode] = {}
    for unique_id, node in sorted(document["nodes"].items()):
        if not isinstance(node, dict):
            raise ManifestError(f"dbt manifest {shown}: node {unique_id} is not an object")
        resource_type = node.get("resource_type") or unique_id.split(".", 1)[0]
        if resource_type in RESOURCE_TYPES:
            nodes[unique_id] = _node(shown, unique_id, node, resource_type)
    metadata = document["metadata"]
    return Manifest(
        path=shown,
        schema_version=version,
        dbt_version=_text(metadata.get("dbt_version")),
        project_name=_text(metadata.get("project_name")),
        nodes=nodes,
    )


def changed_nodes(manifest: Manifest, state: Manifest) -> list[ChangedNode]:
    """Returns the nodes of `manifest` (the pull request's) that are new or modified against
    `state` (production's), and those of `state` it deleted, ordered by unique_id.

    Modified: the checksum (dbt's hash of the SQL or seed file) or the columns (name, data
    type, description) differ. Ephemeral models are included; their relation is None.
    """
    changed = [ChangedNode(old, "deleted") for old in state.nodes.values()]
    changed = [c for c in changed if c.node.unique_id not in manifest.nodes]
    for unique_id, new in manifest.nodes.items():
        old = state.nodes.get(unique_id)
        if old is None:
            changed.append(ChangedNode(new, "new"))
        elif new.checksum != old.checksum or new.columns != old.columns:
            changed.append(ChangedNode(new, "modified"))
    return sorted(changed, key=lambda c: c.node.unique_id)


def _ids(nodes: Iterable[DbtNode]) -> str:
    return ", ".join(node.unique_id for node in nodes)


def find_node(manifest: Manifest, reference: str) -> DbtNode | None:
    """Returns the node whose unique_id is `reference`, else the one named `reference`
    (a model before a snapshot before a seed), else None.

    Raises:
        ManifestError: several nodes of the first type that has the name carry it (the same
            name in two packages, or versions of one model); the message lists their
            unique_ids.
    """
    if reference in manifest.nodes:
        return manifest.nodes[reference]
    for resource_type in RESOURCE_TYPES:
        named = [
            node
            for node in manifest.nodes.values()
            if node.resource_type == resource_type and node.name == reference
        ]
        if len(named) == 1:
            return named[0]
        if named:
            raise ManifestError(
                f"dbt manifest {manifest.path}: {reference!r} names {len(named)} "
                f"{resource_type}s ({_ids(named)}); give the unique id"
            )
    return None
