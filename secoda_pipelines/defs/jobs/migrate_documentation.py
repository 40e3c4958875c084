"""`migrate_documentation`: carry descriptions, definitions, tags and PII flags from one
warehouse integration to another (a warehouse migration), planned first, at the rate limit.

One op, so that every execution (a rerun, a run retry, a re-execution from failure) plans
from Secoda's state at that moment. It lists both sides in bulk, checks the request, plans
every table and column, appends the plan to `reports.migration_plan` (one row per source
resource) and shows it in the run's metadata; then, unless `dry_run`, it writes one PATCH
per target resource, reading the target again first so that a value someone changed since
the plan is kept, and records each write's outcome on its plan row. A rerun after a crash
writes only what is missing; a rerun of a finished migration writes nothing.
"""

import time

import dagster as dg
import pandas as pd
from pydantic import Field

from secoda_pipelines.catalog.migration import (
    DEFAULT_FIELDS,
    MIGRATABLE_FIELDS,
    action_counts,
    plan_migration,
    recheck_patch,
    slim,
    unknown_fields,
)
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.jobs.config import flat_run_config
from secoda_pipelines.defs.jobs.reporting import (
    bad_input,
    continue_write_pace,
    report_metadata,
    with_planned_writes,
)
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.secoda import (
    SecodaAuthError,
    SecodaBadRequestError,
    SecodaClient,
    SecodaNotFoundError,
    detail_path,
)
from secoda_pipelines.store import FAILED, SKIPPED, WRITTEN, ReportStore

PLAN_TABLE = "migration_plan"
NOTHING_DONE = "nothing was planned or written"
PROGRESS_EVERY = 50
COLLECTIONS = {"table": "table/tables/", "column": "table/columns/"}


class MigrateDocumentationConfig(dg.Config):
    """The flat run config of `migrate_documentation` (SPEC B)."""

    source_integration_id: str = Field(description="Integration whose documentation is copied.")
    target_integration_id: str = Field(description="Integration that receives it.")
    fields: list[str] = Field(
        default=list(DEFAULT_FIELDS),
        description=f"Fields to carry; any of {', '.join(MIGRATABLE_FIELDS)}.",
    )
    include_columns: bool = Field(default=True, description="Also migrate column documentation.")
    overwrite: bool = Field(
        default=False, description="Replace target values that differ (else they are kept)."
    )
    dry_run: bool = Field(default=True, description="Plan and report only; write nothing.")


def request_errors(config: MigrateDocumentationConfig, integrations: list[dict]) -> list[str]:
    """Returns every problem with the request that is visible before listing tables."""
    errors = []
    bad_fields = unknown_fields(config.fields)
    if not config.fields:
        errors.append(f"fields is empty: name at least one of {list(MIGRATABLE_FIELDS)}")
    if bad_fields:
        errors.append(f"unknown field(s) {bad_fields}: choose from {list(MIGRATABLE_FIELDS)}")
    if config.source_integration_id == config.target_integration_id:
        errors.append(
            f"source_integration_id and target_integration_id are both "
            f"{config.source_integration_id!r}: a migration needs two integrations"
        )
    known = {str(i["id"]): i for i in integrations}
    choices = ", ".join(f"{i['id']} ({i.get('name')}, {i.get('type')})" for i in integrations)
    for role in ("source", "target"):
        value = getattr(config, f"{role}_integration_id")
        if value not in known:
            errors.append(
                f"{role}_integration_id {value!r} is not an integration; known: {choices}"
            )
    return errors


def _list_side(
    client: SecodaClient, integration_id: str, config: MigrateDocumentationConfig
) -> tuple[list, list]:
    params = {"integration_id": integration_id}
    tables = slim(client.iter_rows(COLLECTIONS["table"], params), "table", config.fields)
    if not (config.include_columns and tables):
        return tables, []
    return tables, slim(client.iter_rows(COLLECTIONS["column"], params), "column", config.fields)


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _plan(
    context: dg.OpExecutionContext,
    config: MigrateDocumentationConfig,
    client: SecodaClient,
    reports: ReportStore,
) -> pd.DataFrame:
    """Returns the plan from Secoda's state now (catalog.migration.plan_migration's columns,
    plus `item`, the row's place in the report), reported to the store and the run.

    Raises:
        dagster.Failure: the request is bad (every problem named); nothing is reported or
            written.
    """
    with secoda_failures():
        integrations = client.list("integration/integrations/")
        errors = request_errors(config, integrations)
        if errors:
            raise bad_input(errors, NOTHING_DONE)
        names = {str(i["id"]): i.get("name") for i in integrations}
        source = _list_side(client, config.source_integration_id, config)
        target = _list_side(client, config.target_integration_id, config)
    empty = [
        f"{role} integration {integration_id} ({names[integration_id]}) has no tables in "
        "Secoda: run its sync in Secoda first, then run this job again"
        for role, integration_id, (tables, _) in (
            ("source", config.source_integration_id, source),
            ("target", config.target_integration_id, target),
        )
        if not tables
    ]
    if empty:
        raise bad_input(empty, NOTHING_DONE)
    plan = plan_migration(
        source[0], target[0], source[1], target[1], fields=config.fields, overwrite=config.overwrite
    )
    rows = with_planned_writes(plan.drop(columns=["patch", "expected"]), {"update"}).assign(
        source_integration_id=config.source_integration_id,
        target_integration_id=config.target_integration_id,
    )
    report = reports.append(PLAN_TABLE, rows, run_id=context.run_id, dry_run=config.dry_run)
    updates = int((plan["action"] == "update").sum())
    pace = client.limiter.limit
    estimate = client.limiter.seconds_for(updates)
    context.add_output_metadata(
        dict(
            report_metadata(
                report,
                PLAN_TABLE,
                dry_run=config.dry_run,
                writes_planned=updates,
                actions_by_kind=action_counts(plan),
                estimated_write_time=f"{_duration(estimate)} at {pace} writes a minute",
            )
        )
    )
    context.log.info(
        f"Plan: {updates} PATCHes for {len(plan)} source resources "
        f"({'dry run: nothing will be written' if config.dry_run else 'applying next'}); "
        f"about {_duration(estimate)} at {pace} writes a minute"
    )
    return plan.assign(item=report["item"].to_numpy())


def _apply(
    context: dg.OpExecutionContext,
    client: SecodaClient,
    reports: ReportStore,
    plan: pd.DataFrame,
) -> None:
    """Applies the plan's updates, recording each write's outcome on its row of
    `reports.migration_plan` (every PROGRESS_EVERY writes, and when it stops).

    Each target is read again just before its PATCH, and only fields whose value is still
    the one the plan saw are written: a value someone changed since the plan is kept
    (`skipped`), one that already holds the planned value is not written again.

    A 400 or 404 on one resource is recorded and the rest go on; the run then fails
    listing them. Any other error (a revoked key, retries exhausted) stops at once: run
    the job again and it writes only what is still missing.

    Raises:
        dagster.Failure: writes failed (each named), or the API refused the key.
    """
    updates = plan[plan["action"] == "update"]
    outcomes: list[dict] = []
    failed: list[str] = []
    counts = {WRITTEN: 0, SKIPPED: 0}
    continue_write_pace(context, client, reports)
    started = time.monotonic()

    def flush() -> None:
        reports.record_writes(PLAN_TABLE, context.run_id, outcomes)
        outcomes.clear()

    try:
        for done, row in enumerate(updates.itertuples(index=False), start=1):
            path = detail_path(COLLECTIONS[row.kind], row.target_id)
            try:
                status, detail = _write_one(client, path, row.patch, row.expected)
            except (SecodaBadRequestError, SecodaNotFoundError) as error:
                status, detail = FAILED, str(error)
                failed.append(f"{row.kind} {row.key} ({row.target_id}): {error}")
            except SecodaAuthError as error:
                raise dg.Failure(description=str(error), allow_retries=False) from None
            counts[status] = counts.get(status, 0) + 1
            # When the PATCH went (none when skipped): the next run's pace starts from it.
            sent = None if status == SKIPPED else pd.Timestamp.now(tz="UTC")
            outcomes.append(
                {
                    "item": row.item,
                    "write_status": status,
                    "write_detail": detail,
                    "written_at": sent,
                }
            )
            if done % PROGRESS_EVERY == 0 or done == len(updates):
                flush()
                elapsed = time.monotonic() - started
                remaining = len(updates) - done
                eta = client.limiter.seconds_for(remaining) if remaining else 0.0
                context.log.info(
                    f"Migration: {done} of {len(updates)} written, {remaining} remaining, "
                    f"{elapsed:.0f} s so far, about {_duration(eta)} to go"
                )
    finally:
        flush()
    context.add_output_metadata(
        {
            "writes": counts[WRITTEN],
            "skipped": counts[SKIPPED],
            "failed": len(failed),
            "dry_run": False,
        }
    )
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} of {len(updates)} writes failed: " + "; ".join(failed[:20]),
            allow_retries=False,
        )


def _write_one(client: SecodaClient, path: str, patch: dict, expected: dict) -> tuple[str, str]:
    """PATCHes what of `patch` the target still needs; returns (write_status, write_detail).

    Raises:
        SecodaError: the read or the PATCH failed.
    """
    check = recheck_patch(patch, expected, client.get(path))
    notes = []
    if check.changed:
        notes.append(f"kept {', '.join(check.changed)}: changed in Secoda since the plan")
    if check.done:
        notes.append(f"{', '.join(check.done)} already held the planned value")
    if not check.patch:
        return SKIPPED, "; ".join(notes)
    client.patch(path, check.patch)
    return WRITTEN, "; ".join([f"PATCH {', '.join(sorted(check.patch))}", *notes])


@dg.op(
    description="Lists both integrations in bulk, checks the request, plans every table and "
    "column from Secoda's state now, reports the plan, then (unless dry_run) writes it."
)
def documentation_migration(
    context: dg.OpExecutionContext,
    config: MigrateDocumentationConfig,
    secoda: SecodaResource,
    reports: ReportStore,
) -> None:
    """Plans the migration and, unless dry_run, applies it.

    Planning and writing are one step so that every execution (a rerun, a retry, a
    re-execution from failure) plans from Secoda's state at that moment: no step ever
    applies a plan made by an earlier run.

    Raises:
        dagster.Failure: the request is bad (nothing written), writes failed (each named),
            or the API refused the key.
    """
    client = secoda.get_client()
    plan = _plan(context, config, client, reports)
    updates = int((plan["action"] == "update").sum())
    if config.dry_run:
        context.log.info(f"Dry run: {updates} PATCHes planned, none written.")
        return
    _apply(context, client, reports, plan)


@dg.job(
    name="migrate_documentation",
    description=(
        "Copy documentation (description, definition, tags, PII...) from one warehouse "
        "integration's tables and columns to another's. Dry run by default."
    ),
    config=flat_run_config(MigrateDocumentationConfig, "documentation_migration"),
    tags={"secoda/writes": "documentation"},
)
def migrate_documentation() -> None:
    documentation_migration()
