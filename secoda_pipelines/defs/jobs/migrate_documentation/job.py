"""The `migrate_documentation` job: one op that lists both integrations, plans in DuckDB
(`catalog.planners.migration_match`), reports the plan and its coverage and, unless
`dry_run`, writes it through the write-back loop.

Planning and writing are one op so that every execution (a rerun, a retry, a re-execution
from failure) plans from Secoda's state at that moment. The user's story (rules, report,
coverage verdict, behaviour under faults) is docs/migration.md.
"""

import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd

from secoda_pipelines.catalog.planners import (
    ACTIONS,
    MigrationMatcher,
    PlannedUpdate,
    recheck_patch,
)
from secoda_pipelines.catalog.reports import PLAN_BASIS
from secoda_pipelines.defs.jobs.migrate_documentation.coverage import (
    coverage_after_writes,
    coverage_despite,
    report_coverage,
)
from secoda_pipelines.defs.jobs.migrate_documentation.request import (
    COLLECTIONS,
    MigrateDocumentationConfig,
    checked_listings,
)
from secoda_pipelines.defs.jobs.writeback import (
    WRITES_TAG,
    Item,
    Outcome,
    Writes,
    already_done,
    apply_writes,
    duration,
    report_metadata,
    skipped,
    workspace_writes,
    write_back_job,
    written,
)
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.secoda import SecodaClient, SecodaError, detail_path
from secoda_pipelines.store import PLANNED, ReportStore

PLAN_TABLE = "migration_plan"
PLAN_WRITES = Writes(PLAN_TABLE, "target resource")
PREVIEW_ROWS = 20
# A plan row's write_status as reported: planned where its action writes (an update).
PLANNED_STATUS = f"CASE WHEN action = 'update' THEN '{PLANNED}' END AS write_status"


@dataclass(frozen=True)
class Planned:
    """What the run keeps of its plan once it is reported: its size, its counts by kind,
    action and documented (catalog.planners.COUNT_COLUMNS) and how many updates it holds
    (read back from the matcher, in order, when applied)."""

    rows: int
    counts: pd.DataFrame
    updates: int


def _actions_by_kind(counts: pd.DataFrame) -> dict[str, dict[str, int]]:
    by = counts.groupby(["kind", "action"])["resources"].sum() if len(counts) else {}
    return {
        kind: {action: int(by.get((kind, action), 0)) for action in ACTIONS}
        for kind in ("table", "column")
    }


def _plan(
    context: dg.OpExecutionContext,
    config: MigrateDocumentationConfig,
    client: SecodaClient,
    reports: ReportStore,
    matcher: MigrationMatcher,
) -> Planned:
    """Returns what the run keeps of the plan of the matcher's source onto its target,
    once reported to the store and to the run. The plan goes from the matcher's database
    to `reports.migration_plan` as a Parquet file the store copies (`ReportStore.append_file`).
    Raises nothing of its own (the store's and DuckDB's errors pass through)."""
    matcher.plan()
    counts = matcher.counts()
    rows = int(counts["resources"].sum())
    updates = matcher.update_count()
    with tempfile.TemporaryDirectory(prefix="secoda-migration-plan-") as folder:
        head = reports.append_file(
            PLAN_TABLE,
            matcher.write_report(Path(folder) / "plan.parquet", [PLANNED_STATUS]),
            run_id=context.run_id,
            dry_run=config.dry_run,
            values={
                "source_integration_id": config.source_integration_id,
                "target_integration_id": config.target_integration_id,
            },
            head=PREVIEW_ROWS,
        )
    by_action = counts.groupby("action")["resources"].sum() if len(counts) else pd.Series()
    pace = client.limiter.limit
    estimate = client.limiter.seconds_for(updates)
    metadata = report_metadata(
        head,
        PLAN_TABLE,
        dry_run=config.dry_run,
        writes_planned=updates,
        actions_by_kind=_actions_by_kind(counts),
        estimated_write_time=f"{duration(estimate)} at {pace} writes a minute",
    )
    context.add_output_metadata(
        {
            **metadata,
            "dagster/row_count": rows,
            "action_counts": {str(k): int(v) for k, v in by_action.sort_index().items()},
        }
    )
    context.log.info(
        f"Plan: {updates} PATCHes for {rows} source resources "
        f"({'dry run: nothing will be written' if config.dry_run else 'applying next'}); "
        f"about {duration(estimate)} at {pace} writes a minute"
    )
    return Planned(rows, counts, updates)


def _items(updates: Iterable[PlannedUpdate]) -> Iterator[Item[PlannedUpdate]]:
    for row in updates:
        yield Item(row.item, f"{row.kind} {row.key} ({row.target_id})", row)


def _write_one(client: SecodaClient) -> Callable[[PlannedUpdate, bool], Outcome]:
    """Returns the write of one planned update: read the target again, PATCH what of the
    plan it still needs (a value someone changed since the plan is kept)."""

    def write(row: PlannedUpdate, retry: bool) -> Outcome:
        path = detail_path(COLLECTIONS[row.kind], row.target_id)
        check = recheck_patch(row.patch, row.expected, client.get(path))
        notes = []
        if check.changed:
            notes.append(f"kept {', '.join(check.changed)}: changed in Secoda since the plan")
        if check.done:
            notes.append(f"{', '.join(check.done)} already held the planned value")
        if not check.patch:
            detail = "; ".join(notes)
            return already_done(detail) if not check.changed else skipped(detail)
        client.patch(path, check.patch)
        return written("; ".join([f"PATCH {', '.join(sorted(check.patch))}", *notes]))

    return write


def _apply_and_cover(
    context: dg.OpExecutionContext,
    config: MigrateDocumentationConfig,
    client: SecodaClient,
    reports: ReportStore,
    plan: Planned,
    matcher: MigrationMatcher,
) -> None:
    """Applies the plan, then reports the coverage of the target after the writes, also
    when writes failed (a dagster.Failure then carries the figures in its metadata).

    Raises:
        dagster.Failure: writes failed (each named), or the API refused the key.
        SecodaError: a request failed after every retry.
    """
    try:
        apply_writes(
            context,
            client,
            reports,
            PLAN_WRITES,
            _items(matcher.updates()),
            plan.updates,
            _write_one(client),
        )
    except (dg.Failure, SecodaError) as error:
        figures = coverage_despite(error, context, config, client, reports, matcher)
        if isinstance(error, dg.Failure) and figures:
            raise dg.Failure(
                description=error.description,
                metadata={**error.metadata, **figures},
                allow_retries=error.allow_retries,
            ) from None
        raise
    context.add_output_metadata(coverage_after_writes(context, config, client, reports, matcher))


@dg.op(
    description="Plans the migration from Secoda's state now, reports the plan and its "
    "coverage, then (unless dry_run) writes it.",
    tags={WRITES_TAG: "documentation"},
)
def documentation_migration(
    context: dg.OpExecutionContext,
    config: MigrateDocumentationConfig,
    secoda: SecodaResource,
    reports: ReportStore,
) -> None:
    """Plans the migration and, unless dry_run, applies it; reports its coverage (see
    docs/migration.md).

    Raises:
        dagster.Failure: the request is bad (nothing written or reported), writes failed
            (each named), or the API refused the key.
        SecodaError: a request failed after every retry (the coverage is still reported
            when the target can be read again).
    """
    client = secoda.get_client()
    started = time.monotonic()
    # From here on `config` names both integrations by id, also when given by name.
    with (
        workspace_writes(context, reports, client, config.dry_run),
        checked_listings(config, client, context.log) as (config, matcher),
    ):
        listed = time.monotonic()
        plan = _plan(context, config, client, reports, matcher)
        context.add_output_metadata(
            {
                "listing_seconds": round(listed - started, 2),
                "planning_seconds": round(time.monotonic() - listed, 2),
            }
        )
        if not config.dry_run:
            _apply_and_cover(context, config, client, reports, plan, matcher)
            return
        context.add_output_metadata(
            report_coverage(context, config, reports, plan.counts, PLAN_BASIS)
        )
        context.log.info(f"Dry run: {plan.updates} PATCHes planned, none written.")


migrate_documentation = write_back_job(
    documentation_migration,
    name="migrate_documentation",
    description=(
        "Copy documentation (description, definition, tags, PII...) from one warehouse "
        "integration's tables and columns to another's. Dry run by default."
    ),
)
