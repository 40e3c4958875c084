"""dbt manifests, read without dbt: which models (and snapshots and seeds) a pull request
changes, and the tables (relations) they build.

`manifest`: `read_manifest` (schemas v10 to v12, dbt 1.6 and later), `changed_nodes` (new,
modified, deleted against a production manifest), `find_node` (by unique id or name).
Every failure is a `ManifestError` (a ValueError) whose text is one line naming the file.
Only the standard library: this package imports nothing of ours and no dbt.
"""

from secoda_pipelines.dbt.manifest import (
    ChangedNode,
    DbtNode,
    Manifest,
    ManifestError,
    changed_nodes,
    find_node,
    read_manifest,
)

__all__ = [
    "ChangedNode",
    "DbtNode",
    "Manifest",
    "ManifestError",
    "changed_nodes",
    "find_node",
    "read_manifest",
]
