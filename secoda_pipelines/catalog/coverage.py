"""Migration coverage: how much of the source's documentation the target holds, per kind.

The guide's last step before deleting the old integration. Pure functions over a migration
plan (`catalog.migration.plan_migration`'s frame, or its counts by kind, action and
documented, `plan_counts`, for a plan kept in DuckDB): no HTTP, no Dagster. A plan made from
the target as it is after the writes gives the coverage of the target; a dry run's plan
gives what the coverage would be before any write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

PLAN_BASIS = "plan"
AFTER_WRITES_BASIS = "target after writes"
# What the plan does with a documented source resource, as the coverage counts it.
OUTCOME_OF_ACTION = {
    "unchanged": "carried",  # every documented value is already on the target
    "update": "pending",  # a value still has to be written
    "kept": "kept",  # the target holds a different value of its own (not overwritten)
    "unmatched": "unmatched",
    "ambiguous": "ambiguous",
}
OUTCOMES = tuple(OUTCOME_OF_ACTION.values())
BLOCKING = ("pending", "unmatched", "ambiguous")  # any of these: the source still matters
COVERAGE_COLUMNS = (
    "kind",
    "basis",
    "resources",
    "documented",
    *OUTCOMES,
    "safe_to_delete_source",
)


COUNT_COLUMNS = ("kind", "action", "documented", "resources")


def plan_counts(plan: pd.DataFrame) -> pd.DataFrame:
    """Returns the plan's rows counted by (kind, action, documented): COUNT_COLUMNS, one
    row per combination present (`resources` the number of plan rows).

    Raises:
        KeyError: `plan` lacks the `kind`, `action` or `documented` column.
    """
    frame = plan[["kind", "action", "documented"]].astype({"documented": bool})
    counts = frame.groupby(["kind", "action", "documented"], dropna=False).size()
    return counts.rename("resources").reset_index()[list(COUNT_COLUMNS)]


def migration_coverage(plan: pd.DataFrame, kinds: Sequence[str], basis: str) -> pd.DataFrame:
    """Returns the coverage of `plan`: one row per kind in `kinds` (table, column), in order.

    Columns: kind, basis (as given), resources (source resources of the kind: the plan has
    one row per source resource), documented (those with a non-empty value in a migrated
    field: the plan's `documented`), then the documented ones by what the plan does with
    them: carried (unchanged), pending (update), kept, unmatched, ambiguous, which add up to
    documented; safe_to_delete_source is True when none of the documented ones is pending,
    unmatched or ambiguous. A kind without rows counts zeros (and is safe).

    Raises:
        KeyError: `plan` lacks the `kind`, `action` or `documented` column.
        ValueError: a documented row's action is not one of a plan's actions.
    """
    return coverage_of_counts(plan_counts(plan), kinds, basis)


def coverage_of_counts(counts: pd.DataFrame, kinds: Sequence[str], basis: str) -> pd.DataFrame:
    """Returns `migration_coverage` of a plan given as its `plan_counts` (a plan kept in
    DuckDB, `MigrationMatcher.counts`, need not be held to be covered).

    Raises:
        KeyError: `counts` lacks one of COUNT_COLUMNS.
        ValueError: a documented row's action is not one of a plan's actions.
    """
    rows = [_coverage_of(counts[counts["kind"] == kind], kind, basis) for kind in kinds]
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
        "safe_to_delete_source": not any(outcomes[outcome] for outcome in BLOCKING),
    }


def safe_to_delete_source(coverage: pd.DataFrame) -> bool:
    """Returns True when every kind of the coverage is safe to delete (True when empty)."""
    return bool(coverage["safe_to_delete_source"].all())


def coverage_figures(coverage: pd.DataFrame) -> dict[str, int | bool | str]:
    """Returns the coverage as flat figures for a run's metadata: `safe_to_delete_source`
    (every kind), `coverage_basis`, and per kind `<kind>s_<figure>` (e.g. tables_pending)
    for resources, documented and each outcome. Raises nothing."""
    figures: dict[str, int | bool | str] = {
        "safe_to_delete_source": safe_to_delete_source(coverage),
        "coverage_basis": ", ".join(dict.fromkeys(coverage["basis"])),
    }
    for row in coverage.to_dict("records"):
        for figure in ("resources", "documented", *OUTCOMES):
            figures[f"{row['kind']}s_{figure}"] = int(row[figure])
    return figures


def coverage_line(coverage: pd.DataFrame) -> str:
    """Returns the coverage in one line for the run log: each kind's figures, then the
    verdict. Raises nothing."""
    parts = [_kind_line(row) for row in coverage.to_dict("records")]
    basis = ", ".join(dict.fromkeys(coverage["basis"]))
    verdict = "yes" if safe_to_delete_source(coverage) else "no"
    return f"Coverage ({basis}): " + "; ".join(parts) + f". Safe to delete the source: {verdict}"


def _kind_line(row: Mapping[str, object]) -> str:
    outcomes = ", ".join(f"{row[outcome]} {outcome}" for outcome in OUTCOMES)
    return f"{row['kind']}s {row['documented']} documented of {row['resources']} ({outcomes})"
