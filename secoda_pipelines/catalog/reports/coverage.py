"""Report rule: migration coverage, how much of the source's documentation the target
holds, per kind, and whether deleting the source would lose any of it.

The guide's last step before deleting the old integration. Pure functions over a migration
plan's counts by kind, action and documented (`MigrationMatcher.counts`): no HTTP, no
Dagster. A plan made from the target as it is after the writes gives the coverage of the
target; a dry run's plan gives what the coverage would be before any write.

The verdict `safe_to_delete_source` is the run's (the same on each of its rows): deleting
the source deletes its tables and columns alike. It is true only when deleting the source
loses nothing: no documented source resource is pending, kept, unmatched or ambiguous, and
the run covered everything the source documents (columns included, and every migratable
field that any source resource has non-empty among the run's `fields`). Otherwise
`blocked_by` names each blocker.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pandas as pd

from secoda_pipelines.catalog.planners.migration import COUNT_COLUMNS, MIGRATABLE_FIELDS

PLAN_BASIS = "plan"
AFTER_WRITES_BASIS = "target after writes"
KINDS = ("table", "column")
# What the plan does with a documented source resource, as the coverage counts it.
OUTCOME_OF_ACTION = {
    "unchanged": "carried",  # every documented value is already on the target
    "update": "pending",  # a value still has to be written
    "kept": "kept",  # the target holds a different value: the source's would be lost
    "unmatched": "unmatched",
    "ambiguous": "ambiguous",
}
OUTCOMES = tuple(OUTCOME_OF_ACTION.values())
BLOCKING = ("pending", "kept", "unmatched", "ambiguous")  # the source still matters
BLOCKERS_SEPARATOR = "; "
COLUMNS_NOT_INCLUDED = "columns not included"
COVERAGE_COLUMNS = (
    "kind",
    "basis",
    "resources",
    "documented",
    *OUTCOMES,
    "safe_to_delete_source",
    "blocked_by",
)


def coverage_of_counts(
    counts: pd.DataFrame, basis: str, *, fields: Sequence[str], include_columns: bool
) -> pd.DataFrame:
    """Returns the coverage of a plan given as its counts (COUNT_COLUMNS): one row per kind
    the run planned (table, and column when `include_columns`), in that order.

    Columns: kind, basis (as given), resources (source resources of the kind: the plan has
    one row per source resource), documented (those with a non-empty value in one of the
    run's `fields`), then the documented ones by what the plan does with them: carried
    (unchanged), pending (update), kept, unmatched, ambiguous, which add up to documented;
    then the run's verdict, the same on every row: safe_to_delete_source, and blocked_by
    (`blockers` joined with "; ", None when safe). A kind without rows counts zeros.

    Raises:
        KeyError: `counts` lacks one of COUNT_COLUMNS.
        ValueError: a documented row's action is not one of a plan's actions.
    """
    kinds = KINDS if include_columns else KINDS[:1]
    missing = [name for name in COUNT_COLUMNS if name not in counts.columns]
    if missing:
        raise KeyError(f"plan counts lack the column(s) {missing}: expected {COUNT_COLUMNS}")
    rows = [_coverage_of(counts[counts["kind"] == kind], kind, basis) for kind in kinds]
    documented_fields = {
        field for text in counts["source_fields"].dropna().unique() for field in json.loads(text)
    }
    blocked = blockers(
        rows, documented_fields=documented_fields, fields=fields, include_columns=include_columns
    )
    for row in rows:
        row["safe_to_delete_source"] = not blocked
        row["blocked_by"] = BLOCKERS_SEPARATOR.join(blocked) or None
    return pd.DataFrame.from_records(rows, columns=list(COVERAGE_COLUMNS))


def _coverage_of(counts: pd.DataFrame, kind: str, basis: str) -> dict[str, object]:
    documented = counts[counts["documented"].astype(bool)]
    unknown = sorted(set(documented["action"]) - set(OUTCOME_OF_ACTION))
    if unknown:
        raise ValueError(f"unknown plan action(s) {unknown}: expected {list(OUTCOME_OF_ACTION)}")
    by_action = documented.groupby("action")["resources"].sum()
    outcomes = {
        outcome: int(by_action.get(action, 0)) for action, outcome in OUTCOME_OF_ACTION.items()
    }
    return {
        "kind": kind,
        "basis": basis,
        "resources": int(counts["resources"].sum()),
        "documented": int(documented["resources"].sum()),
        **outcomes,
    }


def blockers(
    rows: Sequence[Mapping[str, object]],
    *,
    documented_fields: set[str] | frozenset[str],
    fields: Sequence[str],
    include_columns: bool,
) -> list[str]:
    """Returns what stands in the way of deleting the source (empty when nothing does), in
    this order: per kind row of `rows` (kind and the OUTCOMES counts), each blocking
    outcome counted ("12 column(s) kept", "3 table(s) unmatched"); "columns not included"
    when the run left columns out (the source's columns were then never looked at); one
    "field <name> not migrated" per field of MIGRATABLE_FIELDS that some source resource
    has non-empty (`documented_fields`) but the run's `fields` leave out. Raises nothing."""
    found = [
        f"{row[outcome]} {row['kind']}(s) {outcome}"
        for row in rows
        for outcome in BLOCKING
        if row[outcome]
    ]
    if not include_columns:
        found.append(COLUMNS_NOT_INCLUDED)
    found += [
        f"field {field} not migrated"
        for field in MIGRATABLE_FIELDS
        if field in documented_fields and field not in fields
    ]
    return found


def safe_to_delete_source(coverage: pd.DataFrame) -> bool:
    """Returns the coverage's verdict: True when every row says safe (True when empty)."""
    return bool(coverage["safe_to_delete_source"].all())


def blocked_by(coverage: pd.DataFrame) -> str:
    """Returns the coverage's blockers joined with "; " ("" when safe). Raises nothing."""
    texts = [text for text in dict.fromkeys(coverage["blocked_by"]) if isinstance(text, str)]
    return BLOCKERS_SEPARATOR.join(texts)


def coverage_figures(coverage: pd.DataFrame) -> dict[str, int | bool | str]:
    """Returns the coverage as flat figures for a run's metadata: `safe_to_delete_source`,
    `blocked_by` ("" when safe), `coverage_basis`, and per kind `<kind>s_<figure>` (e.g.
    tables_pending) for resources, documented and each outcome. Raises nothing."""
    figures: dict[str, int | bool | str] = {
        "safe_to_delete_source": safe_to_delete_source(coverage),
        "blocked_by": blocked_by(coverage),
        "coverage_basis": ", ".join(dict.fromkeys(coverage["basis"])),
    }
    for row in coverage.to_dict("records"):
        for figure in ("resources", "documented", *OUTCOMES):
            figures[f"{row['kind']}s_{figure}"] = int(row[figure])
    return figures


def coverage_line(coverage: pd.DataFrame) -> str:
    """Returns the coverage in one line for the run log: each kind's figures, then the
    verdict and what blocks it. Raises nothing."""
    parts = [_kind_line(row) for row in coverage.to_dict("records")]
    basis = ", ".join(dict.fromkeys(coverage["basis"]))
    verdict = "yes" if safe_to_delete_source(coverage) else f"no ({blocked_by(coverage)})"
    return f"Coverage ({basis}): " + "; ".join(parts) + f". Safe to delete the source: {verdict}"


def _kind_line(row: Mapping[str, object]) -> str:
    outcomes = ", ".join(f"{row[outcome]} {outcome}" for outcome in OUTCOMES)
    return f"{row['kind']}s {row['documented']} documented of {row['resources']} ({outcomes})"
