"""The sensor that turns each new Secoda integration into a partition and a first load."""

import json

import dagster as dg

from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.partitions import secoda_integrations
from secoda_pipelines.defs.refresh import integration_refresh_job
from secoda_pipelines.defs.resources import SecodaResource


def _seen(cursor: str | None) -> set[str]:
    return set(json.loads(cursor)["seen"]) if cursor else set()


@dg.sensor(
    name="new_integration_sensor",
    job=integration_refresh_job,
    minimum_interval_seconds=300,
    description=(
        "Polls Secoda's integrations; each one not seen before becomes a "
        "`secoda_integrations` partition and gets a run of its tables and columns."
    ),
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def new_integration_sensor(
    context: dg.SensorEvaluationContext, secoda: SecodaResource
) -> dg.SensorResult:
    """Returns partition adds and one run request per new integration (run_key = its id).

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
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=i, partition_key=i) for i in new],
        dynamic_partitions_requests=[secoda_integrations.build_add_request(to_add)]
        if to_add
        else [],
        cursor=json.dumps({"seen": sorted(seen | set(current))}),
        skip_reason=None if new else f"No new integration among {len(current)}.",
    )
