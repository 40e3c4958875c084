"""Documentation coverage (SPEC B's third release): how much of the catalog is documented,
where and by whom, whether the team is on track for its targets, and what to document first.

`reports/documentation_coverage` and `reports/documentation_coverage_by_owner` are computed
in SQL, in the warehouse itself (DuckDB or PostgreSQL), from the stored `secoda/tables` and
`secoda/columns` of every integration partition: no API call, and the 550,000 rows of a
large catalog never pass through Python. Like `secoda/dashboard_usage`, each
materialization stores today's UTC snapshot (replacing one taken earlier today) and keeps
every earlier day's: the tables are the history. `reports/coverage_targets` measures that
history against the targets of SECODA_COVERAGE_TARGETS (read when the run starts);
`reports/undocumented_popular` is the work list, replaced each time. The rules are in
`catalog.reports.documentation_coverage` and `catalog.reports.coverage_targets`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

import dagster as dg
import pandas as pd

from secoda_pipelines.catalog import coverage_chart_png, png_markdown
from secoda_pipelines.catalog.reports import (
    BY_OWNER_COLUMNS,
    DOCUMENTATION_COVERAGE_COLUMNS,
    METRICS,
    STATUSES,
    TARGET_COLUMNS,
    UNDOCUMENTED_COLUMNS,
    TargetsFileError,
    coverage_by_owner_sql,
    coverage_sql,
    read_targets,
    target_status_history,
    target_statuses,
    typed_by_owner,
    typed_coverage,
    typed_undocumented,
    undocumented_popular_sql,
)
from secoda_pipelines.defs.assets.catalog import columns, integrations, tables, teams, users
from secoda_pipelines.defs.assets.usage import utc_today
from secoda_pipelines.defs.metadata import definition_metadata, frame_metadata
from secoda_pipelines.defs.resources import WAREHOUSE_IO
from secoda_pipelines.store import SNAPSHOT_COLUMN, Warehouse, WarehouseResource

COVERAGE_GROUP = "documentation_coverage"
TARGETS_VARIABLE = "SECODA_COVERAGE_TARGETS"
COVERAGE_KEY = dg.AssetKey(["reports", "documentation_coverage"])
BY_OWNER_KEY = dg.AssetKey(["reports", "documentation_coverage_by_owner"])
TARGETS_KEY = dg.AssetKey(["reports", "coverage_targets"])
UNDOCUMENTED_KEY = dg.AssetKey(["reports", "undocumented_popular"])
TARGETS_CHECK = "coverage_targets_on_track"
SNAPSHOT = {SNAPSHOT_COLUMN: "snapshot_date"}
CATALOG_DEPS = [tables, columns, integrations, users, teams]


def stored_catalog(warehouse: Warehouse) -> dict[str, list[str]]:
    """Returns each stored `secoda` table's name → its column names (empty before the
    first refresh), so the queries read only what a warehouse of any age holds.

    Raises:
        WarehouseError, duckdb.Error: the warehouse cannot be read.
    """
    if not warehouse.existing_tables("secoda"):
        return {}
    rows = warehouse.query(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'secoda' ORDER BY table_name, ordinal_position"
    )
    found: dict[str, list[str]] = {}
    for table, column in rows.itertuples(index=False):
        found.setdefault(str(table), []).append(str(column))
    return found


@dataclass(frozen=True)
class CoverageSnapshot:
    """One day's coverage as computed in the warehouse: per (integration, database,
    schema, kind), and per owner and kind."""

    coverage: pd.DataFrame
    by_owner: pd.DataFrame


def _dated(frame: pd.DataFrame, day: str) -> pd.DataFrame:
    stamp = pd.Series([pd.Timestamp(day, tz="UTC")] * len(frame), dtype="datetime64[ns, UTC]")
    return pd.concat([stamp.rename("snapshot_date"), frame.reset_index(drop=True)], axis=1)


def _snapshot(warehouse: Warehouse, day: str, query_of, columns: list[str], typed) -> pd.DataFrame:
    stored = stored_catalog(warehouse)
    if {"tables", "columns"} & set(stored):
        frame = warehouse.query(query_of(warehouse.kind, stored))
    else:
        frame = pd.DataFrame(columns=columns[1:])
    return typed(_dated(frame, day))


def coverage_snapshot(warehouse: Warehouse, day: str) -> pd.DataFrame:
    """Returns `reports/documentation_coverage`'s rows for `day` (``YYYY-MM-DD``), computed
    in `warehouse` from its stored tables and columns; typed alike in DuckDB and
    PostgreSQL; no rows before the first refresh.

    Raises:
        WarehouseError, duckdb.Error: the warehouse cannot be read.
    """
    return _snapshot(warehouse, day, coverage_sql, DOCUMENTATION_COVERAGE_COLUMNS, typed_coverage)


def owner_snapshot(warehouse: Warehouse, day: str) -> pd.DataFrame:
    """Returns `reports/documentation_coverage_by_owner`'s rows for `day`, as
    `coverage_snapshot` does.

    Raises:
        WarehouseError, duckdb.Error: the warehouse cannot be read.
    """
    return _snapshot(warehouse, day, coverage_by_owner_sql, BY_OWNER_COLUMNS, typed_by_owner)


def take_coverage(warehouse: Warehouse, day: str) -> CoverageSnapshot:
    """Returns both of the day's coverage frames (what the two assets store).

    Raises:
        WarehouseError, duckdb.Error: the warehouse cannot be read.
    """
    return CoverageSnapshot(coverage_snapshot(warehouse, day), owner_snapshot(warehouse, day))


def workspace_shares(coverage: pd.DataFrame) -> dict[str, float]:
    """Returns the workspace-wide share of each metric per kind, as numbers for the
    metadata (``tables_described_share``, ``columns_with_owners_share``, ...); 0.0 for a
    kind without resources."""
    shares: dict[str, float] = {}
    for kind in ("table", "column"):
        rows = coverage[coverage["kind"] == kind]
        total = int(rows["resources"].sum())
        for metric in METRICS:
            share = float(rows[metric].sum()) / total if total else 0.0
            shares[f"{kind}s_{metric}_share"] = round(share, 4)
    return shares


def coverage_targets() -> list:
    """Returns the targets of the file SECODA_COVERAGE_TARGETS names (read now); none
    when it is unset.

    Raises:
        dagster.Failure: the file is missing or wrong; the message names each bad entry
            and field (never retried: the file must change).
    """
    path = (os.environ.get(TARGETS_VARIABLE) or "").strip()
    if not path:
        return []
    try:
        return read_targets(path)
    except TargetsFileError as error:
        raise dg.Failure(
            description=f"{TARGETS_VARIABLE} names a targets file that cannot be used; nothing "
            f"was stored:\n{error}",
            allow_retries=False,
        ) from None


def _history(warehouse: Warehouse, today: pd.DataFrame) -> pd.DataFrame:
    """Returns every stored coverage snapshot but today's, then today's."""
    earlier = warehouse.read_table("reports", "documentation_coverage")
    if earlier.empty:
        return today
    earlier = typed_coverage(earlier.loc[:, DOCUMENTATION_COVERAGE_COLUMNS])
    day = today["snapshot_date"].iloc[0] if len(today) else None
    earlier = earlier[earlier["snapshot_date"] != day]
    return pd.concat([earlier, today], ignore_index=True)


@dg.asset(
    key=COVERAGE_KEY,
    deps=CATALOG_DEPS,
    description=(
        "How much of the catalog is documented, per integration, database, schema and kind: "
        "resources, described (a description or a definition), with a description, a "
        "definition, owners, tags, flagged pii and verified. One snapshot per UTC day, "
        "computed in the warehouse from the stored tables and columns; earlier days kept."
    ),
    group_name=COVERAGE_GROUP,
    kinds={"sql", "pandas", "duckdb"},
    io_manager_key=WAREHOUSE_IO,
    metadata=definition_metadata(COVERAGE_KEY.to_user_string(), **SNAPSHOT),
)
def documentation_coverage(warehouse: WarehouseResource) -> dg.MaterializeResult[pd.DataFrame]:
    """Returns today's coverage snapshot; its metadata holds the workspace-wide shares as
    numbers and a chart of the history (shares per integration, targets against their
    straight lines).

    Raises:
        dagster.Failure: SECODA_COVERAGE_TARGETS names a file that cannot be used.
    """
    targets = coverage_targets()
    store = warehouse.get_warehouse()
    today = coverage_snapshot(store, utc_today())
    history = _history(store, today)
    target_history = target_status_history(targets, history) if targets else None
    chart = coverage_chart_png(history, target_history)
    return dg.MaterializeResult(
        value=today,
        metadata={
            **frame_metadata(today, COVERAGE_KEY.to_user_string()),
            "snapshot_date": utc_today(),
            "snapshots": int(history["snapshot_date"].nunique()) if len(history) else 0,
            **workspace_shares(today),
            "chart": dg.MetadataValue.md(png_markdown(chart, "Documentation coverage")),
        },
    )


@dg.asset(
    key=BY_OWNER_KEY,
    deps=CATALOG_DEPS,
    description=(
        "Documentation coverage per owner and kind: the resources each owner holds (a "
        "resource with several owners counts for each; none: owner_id null) and how many "
        "are described, with the owner's email and team names. One snapshot per UTC day."
    ),
    group_name=COVERAGE_GROUP,
    kinds={"sql", "pandas", "duckdb"},
    io_manager_key=WAREHOUSE_IO,
    metadata=definition_metadata(BY_OWNER_KEY.to_user_string(), **SNAPSHOT),
)
def documentation_coverage_by_owner(
    warehouse: WarehouseResource,
) -> dg.MaterializeResult[pd.DataFrame]:
    """Returns today's coverage per owner; its metadata counts the owners and the
    resources nobody owns."""
    frame = owner_snapshot(warehouse.get_warehouse(), utc_today())
    unowned = frame[frame["owner_id"].isna()]
    return dg.MaterializeResult(
        value=frame,
        metadata={
            **frame_metadata(frame, BY_OWNER_KEY.to_user_string()),
            "snapshot_date": utc_today(),
            "owners": int(frame["owner_id"].nunique()),
            "unowned_resources": int(unowned["resources"].sum()),
        },
    )


def _target_line(row: pd.Series) -> str:
    left = (row["deadline"].date() - date.fromisoformat(utc_today())).days
    return (
        f"{row['name']}: {row['status']} (actual {row['actual']:.3f}, expected today "
        f"{row['expected_today']:.3f}, target {row['target']:.3f}, {left} day(s) left)"
    )


def targets_check(rows: pd.DataFrame) -> dg.AssetCheckResult:
    """Returns `coverage_targets_on_track`: passed when every target is met or on track;
    failed with WARN when one is behind, with ERROR when one missed its deadline. Its
    metadata gives, per target, actual, expected today, target and days left."""
    statuses = rows["status"].tolist() if len(rows) else []
    missed = statuses.count("missed")
    behind = statuses.count("behind")
    severity = dg.AssetCheckSeverity.ERROR if missed else dg.AssetCheckSeverity.WARN
    lines = [_target_line(row) for _, row in rows.iterrows()]
    return dg.AssetCheckResult(
        check_name=TARGETS_CHECK,
        passed=not (missed or behind),
        severity=severity,
        description=(
            f"{missed} target(s) missed, {behind} behind of {len(rows)}"
            if missed or behind
            else f"all {len(rows)} target(s) met or on track"
        ),
        metadata={
            "targets": len(rows),
            **{f"targets_{status}": statuses.count(status) for status in STATUSES},
            "per_target": dg.MetadataValue.md("\n".join(f"- {line}" for line in lines) or "-"),
        },
    )


@dg.asset(
    key=TARGETS_KEY,
    ins={"history": dg.AssetIn(key=COVERAGE_KEY)},
    description=(
        "Each documentation-coverage target of SECODA_COVERAGE_TARGETS measured today: "
        "actual share, baseline, where the straight line from baseline to target says it "
        "should be today, and met, on_track, behind or missed. One snapshot per UTC day."
    ),
    group_name=COVERAGE_GROUP,
    kinds={"pandas", "duckdb"},
    io_manager_key=WAREHOUSE_IO,
    metadata=definition_metadata(TARGETS_KEY.to_user_string(), **SNAPSHOT),
    check_specs=[
        dg.AssetCheckSpec(
            TARGETS_CHECK,
            asset=TARGETS_KEY,
            description="Every target of SECODA_COVERAGE_TARGETS is met or on its straight "
            "line from baseline to target. WARN: one is behind that line; it can still be met "
            "by its deadline if documenting speeds up (reports/undocumented_popular says "
            "where to start). ERROR: one's deadline passed unmet. The result lists each "
            "target's actual, expected today and days left.",
        )
    ],
)
def coverage_targets_report(history: pd.DataFrame):
    """Returns today's status of every target (no rows without targets) and the check.

    Raises:
        dagster.Failure: SECODA_COVERAGE_TARGETS names a file that cannot be used.
    """
    targets = coverage_targets()
    history = (
        typed_coverage(history.loc[:, DOCUMENTATION_COVERAGE_COLUMNS]) if len(history) else history
    )
    rows = target_statuses(targets, history, date.fromisoformat(utc_today()))
    rows = rows.loc[:, list(TARGET_COLUMNS)]
    behind = rows[rows["status"].isin(["behind", "missed"])]
    return dg.MaterializeResult(
        value=rows,
        metadata={
            **frame_metadata(rows, TARGETS_KEY.to_user_string()),
            "targets_behind": len(behind),
            "targets_met": int((rows["status"] == "met").sum()),
        },
        check_results=[targets_check(rows)],
    )


@dg.asset(
    key=UNDOCUMENTED_KEY,
    metadata=definition_metadata(UNDOCUMENTED_KEY.to_user_string()),
    deps=CATALOG_DEPS,
    description=(
        "The work list: tables and columns with neither description nor definition, most "
        "used first (a column by its table's usage), at most 500. Replaced each time."
    ),
    group_name=COVERAGE_GROUP,
    kinds={"sql", "pandas", "duckdb"},
    io_manager_key=WAREHOUSE_IO,
)
def undocumented_popular(warehouse: WarehouseResource) -> dg.MaterializeResult[pd.DataFrame]:
    """Returns the most used undocumented tables and columns."""
    store = warehouse.get_warehouse()
    stored = stored_catalog(store)
    if {"tables", "columns"} & set(stored):
        frame = typed_undocumented(store.query(undocumented_popular_sql(store.kind, stored)))
    else:
        frame = typed_undocumented(pd.DataFrame(columns=UNDOCUMENTED_COLUMNS))
    return dg.MaterializeResult(
        value=frame,
        metadata={
            **frame_metadata(frame, UNDOCUMENTED_KEY.to_user_string()),
            "undocumented_tables": int((frame["kind"] == "table").sum()),
            "undocumented_columns": int((frame["kind"] == "column").sum()),
        },
    )


coverage_assets = [
    documentation_coverage,
    documentation_coverage_by_owner,
    coverage_targets_report,
    undocumented_popular,
]
