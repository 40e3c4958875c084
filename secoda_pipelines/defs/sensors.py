"""The sensor that turns each new Secoda integration into a partition and a first load, and,
when SECODA_MIGRATION_PREVIEWS is on, offers a documentation migration preview when one
replaces an older integration of its type."""

import json
import os
from collections.abc import Iterable

import dagster as dg

from secoda_pipelines.catalog.planners import preview_source
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.integration_tags import (
    by_id,
    integration_tags,
    labelled,
    migration_tags,
)
from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.defs.partitions import secoda_integrations
from secoda_pipelines.defs.refresh import integration_refresh_job
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.secoda import INTEGRATIONS

PREVIEWS_VARIABLE = "SECODA_MIGRATION_PREVIEWS"
PREVIEWS_ON = ("true", "1", "yes")
PREVIEWS_OFF = ("false", "0", "no", "")

# How much of an unreadable cursor a warning quotes: enough to recognise it, never a page.
_QUOTED_CURSOR_CHARS = 80


def _migration_previews(new: Iterable[dict], listed: list[dict]) -> list[dg.RunRequest]:
    """Returns one dry-run `migrate_documentation` request per new integration that follows
    an older one of its type (run_key `<new id>:migration-preview`), tagged with both
    integrations' names."""
    previews = []
    for integration in new:
        source = preview_source(integration, listed)
        if source is not None:
            previews.append(
                dg.RunRequest(
                    run_key=f"{integration['id']}:migration-preview",
                    job_name=migrate_documentation.name,
                    run_config={
                        "source_integration_id": str(source["id"]),
                        "target_integration_id": str(integration["id"]),
                        "dry_run": True,
                    },
                    tags={
                        "secoda/migration-preview": "true",
                        **migration_tags(source, integration),
                    },
                )
            )
    return previews


def _previews_enabled(log: dg.DagsterLogManager) -> bool:
    """Returns whether SECODA_MIGRATION_PREVIEWS, read now, turns previews on.

    true, 1 or yes (any case) turn them on; unset, empty, false, 0 or no leave them off. Any
    other value is logged as a warning on `log` and leaves them off.
    """
    raw = os.environ.get(PREVIEWS_VARIABLE, "")
    value = raw.strip().lower()
    if value in PREVIEWS_ON:
        return True
    if value not in PREVIEWS_OFF:
        log.warning(
            f"{PREVIEWS_VARIABLE}={raw!r} is not one of {', '.join(PREVIEWS_ON)} (on) or "
            f"{', '.join(v for v in PREVIEWS_OFF if v)} (off); migration previews stay off"
        )
    return False


def _json_kind(value: object) -> str:
    """Returns the JSON name of a parsed value's type ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _ids_problem(ids: list) -> str:
    """Returns "" when every item is a string, else what the first other item is."""
    others = [i for i in ids if not isinstance(i, str)]
    if not others:
        return ""
    return f"holds {_json_kind(others[0])} where an integration id (a string) belongs"


def _read_cursor(cursor: str) -> tuple[set[str] | None, str]:
    """Returns (the ids a cursor says were seen, "") or (None, what is wrong with it).

    Reads `{"seen": [ids]}` and an older release's plain JSON list of ids.
    """
    try:
        parsed = json.loads(cursor)
    except ValueError as error:
        return None, f"the cursor is not JSON ({error})"
    if isinstance(parsed, list):
        problem = _ids_problem(parsed)
        return (None, f"the cursor is a list that {problem}") if problem else (set(parsed), "")
    if not isinstance(parsed, dict):
        return None, f'the cursor is JSON but {_json_kind(parsed)}, not {{"seen": [ids]}}'
    if "seen" not in parsed:
        keys = sorted(parsed)
        shown = f"{keys[:5]}{' ...' if len(keys) > 5 else ''}"
        return None, f'the cursor has no "seen" (its keys: {shown})'
    seen = parsed["seen"]
    if not isinstance(seen, list):
        return None, f'"seen" is not a list of strings but {_json_kind(seen)}'
    problem = _ids_problem(seen)
    return (None, f'"seen" is not a list of strings: it {problem}') if problem else (set(seen), "")


def _seen(context: dg.SensorEvaluationContext) -> tuple[set[str], bool]:
    """Returns (the integration ids seen before, whether anything was known before this tick).

    No cursor (or an empty one) is a first tick: nothing seen, nothing known. A cursor that
    cannot be read is replaced by the existing `secoda_integrations` partitions, with a
    warning: integrations that already have a partition are not requested again. Nothing is
    known then only if there is no partition either.
    """
    cursor = context.cursor
    if cursor is None or not cursor.strip():
        return set(), False
    seen, problem = _read_cursor(cursor)
    if seen is not None:
        return seen, True
    partitions = set(context.instance.get_dynamic_partitions(secoda_integrations.name))
    quoted = cursor[:_QUOTED_CURSOR_CHARS] + ("..." if len(cursor) > _QUOTED_CURSOR_CHARS else "")
    if partitions:
        outcome = (
            "only integrations without a partition are requested (and previewed, if "
            f"{PREVIEWS_VARIABLE} is on)"
        )
    else:
        outcome = "every listed integration is requested, without previews, as on a first tick"
    context.log.warning(
        f"new_integration_sensor cannot read its cursor: {problem}; the cursor was {quoted!r}. "
        f"It rebuilt what was seen from the {len(partitions)} existing "
        f"{secoda_integrations.name} partitions: {outcome}. The cursor is rewritten as "
        '{"seen": [ids]}.'
    )
    return partitions, bool(partitions)


@dg.sensor(
    name="new_integration_sensor",
    jobs=[integration_refresh_job, migrate_documentation],
    minimum_interval_seconds=300,
    description=(
        "Polls Secoda's integrations; each one not seen before becomes a "
        "`secoda_integrations` partition and gets a run of its tables and columns. With "
        "SECODA_MIGRATION_PREVIEWS=true, one that follows an older integration of its type "
        "also gets a dry-run documentation migration from it, for an operator to review."
    ),
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def new_integration_sensor(
    context: dg.SensorEvaluationContext, secoda: SecodaResource
) -> dg.SensorResult:
    """Returns partition adds and one run request per new integration (run_key = its id,
    tagged with its name and type as listed: `integration_tags`), with dry-run migration
    previews when SECODA_MIGRATION_PREVIEWS is on; the cursor is
    `{"seen": [ids]}`. docs/catalog.md ("The sensor in more detail") tells the cursor, a
    first tick and a Secoda outage; docs/migration.md the previews.

    Raises:
        dagster.Failure: Secoda refused the key, URL or request (the client's message).
        SecodaError: Secoda still failed after the tick client's retries (Dagster records a
            failed tick and keeps the cursor).
    """
    with secoda_failures():
        listed = secoda.get_tick_client().list(INTEGRATIONS)
    listed_by_id = by_id(listed)
    current = list(listed_by_id)
    seen, known_before = _seen(context)
    new = [i for i in current if i not in seen]
    gone = sorted(seen - set(current))
    if gone:
        context.log.warning(
            f"Integrations no longer listed by Secoda (partitions and data kept): {gone}"
        )
    existing = set(context.instance.get_dynamic_partitions(secoda_integrations.name))
    to_add = [i for i in new if i not in existing]
    requests = [
        dg.RunRequest(
            run_key=i,
            partition_key=i,
            job_name=integration_refresh_job.name,
            tags=integration_tags(listed_by_id[i]),
        )
        for i in new
    ]
    if new:
        context.log.info(
            f"{len(new)} new integration(s), each given a partition and a run of its tables "
            f"and columns: {[labelled(i, listed_by_id) for i in new]}"
        )
    # Read on every tick, so a misspelt value is reported before it first matters.
    with_previews = _previews_enabled(context.log)
    if known_before and new:
        fresh = set(new)
        previews = _migration_previews([r for r in listed if str(r.get("id")) in fresh], listed)
        if with_previews:
            requests += previews
        elif previews:
            targets = [
                labelled(r.run_config["target_integration_id"], listed_by_id) for r in previews
            ]
            context.log.info(
                f"{len(previews)} migration preview(s) not requested: {PREVIEWS_VARIABLE} is "
                f"off (set it to true to request them): {targets}"
            )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[secoda_integrations.build_add_request(to_add)]
        if to_add
        else [],
        cursor=json.dumps({"seen": sorted(seen | set(current))}),
        skip_reason=None if new else f"No new integration among {len(current)}.",
    )
