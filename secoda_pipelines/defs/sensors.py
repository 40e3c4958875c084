"""The sensor that turns each new Secoda integration into a partition and a first load, and
offers a documentation migration preview when it replaces an older one of its type."""

import json

import dagster as dg

from secoda_pipelines.catalog.migration import preview_source
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.jobs.migrate_documentation import migrate_documentation
from secoda_pipelines.defs.partitions import secoda_integrations
from secoda_pipelines.defs.refresh import integration_refresh_job
from secoda_pipelines.defs.resources import SecodaResource


def _migration_previews(new: list[dict], listed: list[dict]) -> list[dg.RunRequest]:
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
                    tags={"secoda/migration-preview": "true"},
                )
            )
    return previews


def _seen(cursor: str | None) -> set[str]:
    return set(json.loads(cursor)["seen"]) if cursor else set()


@dg.sensor(
    name="new_integration_sensor",
    jobs=[integration_refresh_job, migrate_documentation],
    minimum_interval_seconds=300,
    description=(
        "Polls Secoda's integrations; each one not seen before becomes a "
        "`secoda_integrations` partition and gets a run of its tables and columns; one that "
        "follows an older integration of its type also gets a dry-run documentation "
        "migration from it, for an operator to review."
    ),
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def new_integration_sensor(
    context: dg.SensorEvaluationContext, secoda: SecodaResource
) -> dg.SensorResult:
    """Returns partition adds and one run request per new integration (run_key = its id).

    After the first tick, a new integration whose type matches an older one's also gets a
    dry-run `migrate_documentation` from the most recent older one of that type (run_key
    `<new id>:migration-preview`), so the plan waits in the UI for an operator. The first
    tick only records what exists: every integration there is "new" to it.

    The cursor is `{"seen": [ids]}`: a restart resumes from it, so no integration is lost or
    requested twice. An integration that disappears from Secoda is logged and kept (its
    partition and data stay).
    """
    with secoda_failures():
        listed = secoda.get_client().list("integration/integrations/")
    current = [str(row["id"]) for row in listed if row.get("id") is not None]
    seen = _seen(context.cursor)
    new = [i for i in current if i not in seen]
    gone = sorted(seen - set(current))
    if gone:
        context.log.warning(
            f"Integrations no longer listed by Secoda (partitions and data kept): {gone}"
        )
    existing = set(context.instance.get_dynamic_partitions(secoda_integrations.name))
    to_add = [i for i in new if i not in existing]
    requests = [
        dg.RunRequest(run_key=i, partition_key=i, job_name=integration_refresh_job.name)
        for i in new
    ]
    if context.cursor is not None:
        requests += _migration_previews([r for r in listed if str(r["id"]) in new], listed)
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[secoda_integrations.build_add_request(to_add)]
        if to_add
        else [],
        cursor=json.dumps({"seen": sorted(seen | set(current))}),
        skip_reason=None if new else f"No new integration among {len(current)}.",
    )
