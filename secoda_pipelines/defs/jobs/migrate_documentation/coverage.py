"""`migrate_documentation`'s coverage: how much of the source's documentation the target
holds, appended to `reports.migration_coverage` with the run's verdict
`safe_to_delete_source` and what blocks it (`blocked_by`)."""

import dagster as dg
import pandas as pd

from secoda_pipelines.catalog.planners import MigrationMatcher
from secoda_pipelines.catalog.reports import (
    AFTER_WRITES_BASIS,
    coverage_figures,
    coverage_line,
    coverage_of_counts,
)
from secoda_pipelines.defs.jobs.migrate_documentation.request import (
    MigrateDocumentationConfig,
    relist_target,
)
from secoda_pipelines.secoda import SecodaClient, SecodaError
from secoda_pipelines.store import REPORTS_SCHEMA, ReportStore

COVERAGE_TABLE = "migration_coverage"


def report_coverage(
    context: dg.OpExecutionContext,
    config: MigrateDocumentationConfig,
    reports: ReportStore,
    counts: pd.DataFrame,
    basis: str,
) -> dict[str, int | bool | str]:
    """Appends the coverage of a plan, given as its counts (`MigrationMatcher.counts`), to
    `reports.migration_coverage` (one row per kind planned, each with the run's verdict and
    blockers), logs it in one line and returns its figures for the run's metadata
    (`catalog.reports.coverage_figures`: the verdict, `blocked_by` and the counts). Raises
    nothing of its own (the store's errors pass through)."""
    coverage = coverage_of_counts(
        counts, basis, fields=config.fields, include_columns=config.include_columns
    ).assign(
        source_integration_id=config.source_integration_id,
        target_integration_id=config.target_integration_id,
    )
    reports.append(COVERAGE_TABLE, coverage, run_id=context.run_id, dry_run=config.dry_run)
    context.log.info(coverage_line(coverage))
    return {**coverage_figures(coverage), "coverage_table": f"{REPORTS_SCHEMA}.{COVERAGE_TABLE}"}


def coverage_after_writes(
    context: dg.OpExecutionContext,
    config: MigrateDocumentationConfig,
    client: SecodaClient,
    reports: ReportStore,
    matcher: MigrationMatcher,
) -> dict[str, int | bool | str]:
    """Lists the target again (into `matcher`, in place of the target as planned), plans
    the same request against it and reports that plan's coverage (basis "target after
    writes"); returns its figures. The source is not listed again: the migration writes to
    the target only.

    Raises:
        dagster.Failure: the API refused the key or a listing (permanent errors).
        SecodaError: the listing failed after every retry.
    """
    relist_target(client, matcher, config)
    matcher.plan()
    return report_coverage(context, config, reports, matcher.counts(), AFTER_WRITES_BASIS)


def coverage_despite(
    error: Exception,
    context: dg.OpExecutionContext,
    config: MigrateDocumentationConfig,
    client: SecodaClient,
    reports: ReportStore,
    matcher: MigrationMatcher,
) -> dict[str, int | bool | str] | None:
    """Reports the coverage after writes that stopped with `error`; returns its figures, or
    None (logged as a warning) when the target cannot be read again either, so that the
    run fails with the write's error, not the re-read's. Raises nothing from the API."""
    try:
        return coverage_after_writes(context, config, client, reports, matcher)
    except (dg.Failure, SecodaError) as reread:
        reason = reread.description if isinstance(reread, dg.Failure) else reread
        context.log.warning(
            f"No coverage reported: the writes stopped ({type(error).__name__}) and reading "
            f"the target again failed too: {reason}"
        )
        return None
