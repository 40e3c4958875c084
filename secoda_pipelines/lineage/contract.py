"""The data-contract check: which tables a change touches (named, or a dbt pull request's
changed models), what is downstream of each, who still uses it, and the verdict.

Used by `secoda-pipelines check-downstream` and the demo; the `check_downstream_impact`
job walks named tables with `find_downstream` and `with_activity` directly. The verdict
counts a downstream resource by `fail_on` (`catalog.reports.counted`): ``any`` every one,
``active`` those in use, ``none`` nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd

from secoda_pipelines.catalog.reports import FAIL_ON, counted
from secoda_pipelines.dbt import DbtNode, Manifest, changed_nodes, find_node
from secoda_pipelines.lineage.downstream import (
    DownstreamRow,
    LineageInputError,
    find_downstream,
    with_activity,
)
from secoda_pipelines.lineage.lookups import BATCH, LISTING_THRESHOLD, Entity
from secoda_pipelines.secoda import SecodaClient

PASSED, FAILED = 0, 1
UNKNOWN_TO_SECODA = "unknown to Secoda (no table has this name yet)"
NO_RELATION = "ephemeral: builds no table of its own"


@dataclass(frozen=True)
class CheckedTable:
    """One table the check looked under.

    `reference` is how it was named (a TABLE argument, or a model's relation
    ``database.schema.alias``); `entity` the Secoda table (None when none has the name);
    `node` and `change` (new, modified, deleted; None when named by hand) the dbt node
    behind it; `skipped` why nothing was walked under it (unknown to Secoda, ephemeral).
    """

    reference: str
    entity: Entity | None
    rows: tuple[DownstreamRow, ...] = ()
    node: DbtNode | None = None
    change: str | None = None
    skipped: str | None = None

    @property
    def label(self) -> str:
        """Returns what a reader calls it: the model's name, else the table's name."""
        if self.node is not None:
            return self.node.name
        return self.entity.name if self.entity is not None else self.reference

    def blocking(self, fail_on: str) -> list[DownstreamRow]:
        """Returns the downstream rows that `fail_on` counts.

        Raises:
            ValueError: fail_on is not one of FAIL_ON.
        """
        return [row for row in self.rows if counted(row.active, fail_on)]


@dataclass(frozen=True)
class ContractCheck:
    """A finished check: the tables in the order checked and the settings it ran with."""

    tables: tuple[CheckedTable, ...]
    depth: int
    fail_on: str
    active_days: int
    activity_source: str | None = None  # "snapshots" or "current usage"
    warnings: tuple[str, ...] = ()  # what a reader should know about the result's basis

    @property
    def rows(self) -> list[DownstreamRow]:
        """Returns every downstream row, table by table."""
        return [row for table in self.tables for row in table.rows]

    @property
    def failing(self) -> list[CheckedTable]:
        """Returns the tables with downstream resources that `fail_on` counts."""
        return [table for table in self.tables if table.blocking(self.fail_on)]

    @property
    def exit_code(self) -> int:
        """Returns 1 when a table has downstream resources that `fail_on` counts, else 0."""
        return FAILED if self.failing else PASSED

    def verdict(self) -> str:
        """Returns the one-line verdict, e.g. ``FAIL: 3 resources in use are downstream of 2
        of 4 changed tables (12 downstream in all; --fail-on active)``."""
        rows = self.rows
        changed = len(self.tables)
        what = "table" if changed == 1 else "tables"
        if not self.tables:
            return "PASS: no model, snapshot or seed changed; nothing to check"
        blocking = [r for t in self.tables for r in t.blocking(self.fail_on)]
        in_use = sum(1 for r in rows if r.active)
        summary = (
            f"{len(rows)} downstream in all, {in_use} in use; --fail-on {self.fail_on}"
            if rows
            else f"--fail-on {self.fail_on}"
        )
        if blocking:
            kind = "resources in use" if self.fail_on == "active" else "resources"
            if len(blocking) == 1:
                kind = kind.replace("resources", "resource")
            verb = "is" if len(blocking) == 1 else "are"
            return (
                f"FAIL: {len(blocking)} {kind} {verb} downstream of "
                f"{len(self.failing)} of {changed} checked {what} ({summary})"
            )
        if rows:
            reason = (
                "none of them in use"
                if self.fail_on == "active"
                else "--fail-on none blocks nothing"
            )
            return f"PASS: {len(rows)} downstream of {changed} checked {what}, {reason} ({summary})"
        return f"PASS: nothing is downstream of the {changed} checked {what} ({summary})"


@dataclass(frozen=True)
class _Target:
    reference: str
    node: DbtNode | None
    change: str | None


def _targets(
    references: Sequence[str], manifest: Manifest | None, state: Manifest | None
) -> tuple[list[_Target], list[CheckedTable]]:
    """Returns (tables to walk, changed nodes without a table of their own).

    Raises:
        ManifestError: a reference names several nodes of the manifest.
    """
    targets: list[_Target] = []
    unbuilt: list[CheckedTable] = []
    if manifest is not None and state is not None:
        for changed in changed_nodes(manifest, state):
            if changed.node.relation is None:
                unbuilt.append(
                    CheckedTable(
                        changed.node.unique_id,
                        None,
                        node=changed.node,
                        change=changed.change,
                        skipped=NO_RELATION,
                    )
                )
            else:
                targets.append(_Target(changed.node.relation, changed.node, changed.change))
    for reference in (r.strip() for r in references):
        if not reference:
            continue
        node = find_node(manifest, reference) if manifest is not None else None
        if node is not None and node.relation is not None:
            targets.append(_Target(node.relation, node, None))
        else:
            targets.append(_Target(reference, None, None))
    unique = {target.reference: target for target in reversed(targets)}
    return [t for t in targets if unique[t.reference] is t], unbuilt


def check_contract(
    client: SecodaClient,
    references: Sequence[str] = (),
    *,
    depth: int = 1,
    fail_on: str = "any",
    active_days: int = 30,
    history: pd.DataFrame | None = None,
    today: date | None = None,
    manifest: Manifest | None = None,
    state: Manifest | None = None,
    batch: int = BATCH,
    listing_threshold: int = LISTING_THRESHOLD,
) -> ContractCheck:
    """Returns the check of `references` (ids or database.schema.table; with a `manifest`,
    also model names and unique ids) and, with a `state` manifest too, of every model,
    snapshot and seed that is new, modified or deleted against it.

    A model's table is its relation; a model Secoda has no table for is listed as unknown
    and fails nothing. `history` is the stored ``secoda/dashboard_usage`` (None or empty:
    the resources' current usage fields say who uses them); `today` defaults to the UTC
    date.

    Raises:
        LineageInputError: a bad setting or reference (every one named): fail_on not one of
            any/active/none, active_days below 1, a negative depth, nothing to check, a
            TABLE naming no resource.
        ManifestError: a reference names several nodes of the manifest.
        SecodaError: a request failed or answered a shape the API does not promise.
    """
    errors = []
    if fail_on not in FAIL_ON:
        errors.append(f"fail_on {fail_on!r} is not one of {', '.join(FAIL_ON)}")
    if active_days < 1:
        errors.append(f"active_days {active_days} is below 1: give the days of usage to read")
    if depth < 0:
        errors.append(f"depth {depth} is negative: give 0 (all levels) or more")
    targets, unbuilt = _targets(references, manifest, state)
    if not targets and not unbuilt and state is None:
        errors.append(
            "no table given: name at least one id or database.schema.table"
            + (", or a model of the manifest" if manifest is not None else "")
        )
    if errors:
        raise LineageInputError(errors)
    warnings = []
    if manifest is not None and state is not None and manifest.dbt_version != state.dbt_version:
        warnings.append(
            f"the manifests come from different dbt versions ({manifest.path}: "
            f"{manifest.dbt_version}, {state.path}: {state.dbt_version}); dbt's checksums "
            "change between versions, so models may show as modified that are not: parse "
            "both with the same dbt"
        )
    checked: list[CheckedTable] = []
    source = None
    if targets:
        models = [t.reference for t in targets if t.node is not None]
        found = find_downstream(
            client,
            [t.reference for t in targets],
            depth,
            missing_ok=models,
            batch=batch,
            listing_threshold=listing_threshold,
        )
        found = with_activity(found, history, today or datetime.now(UTC).date(), active_days)
        source = found.activity_source
        for target in targets:
            entity = found.tables.get(target.reference)
            rows = tuple(row for row in found.rows if row.table == target.reference)
            skipped = UNKNOWN_TO_SECODA if target.reference in found.missing else None
            checked.append(
                CheckedTable(target.reference, entity, rows, target.node, target.change, skipped)
            )
    return ContractCheck(
        tuple(checked + unbuilt), depth, fail_on, active_days, source, tuple(warnings)
    )
