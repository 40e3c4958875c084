"""Catalog assets: Secoda listings as DataFrames, stored in DuckDB (schema `secoda`)."""

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import pandas as pd

from secoda_pipelines.catalog.frames import (
    COLUMNS_SCHEMA,
    DASHBOARDS_SCHEMA,
    INTEGRATIONS_SCHEMA,
    QUESTION_REPLIES_SCHEMA,
    QUESTIONS_SCHEMA,
    TABLES_SCHEMA,
    TEAMS_SCHEMA,
    USERS_SCHEMA,
    FrameSchema,
    frame_from_pages,
    rows_of_other_integrations,
)
from secoda_pipelines.defs.checks import IDS_CHECK, IDS_CHECK_DESCRIPTION, ids_check
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.integration_tags import integration_label
from secoda_pipelines.defs.metadata import definition_metadata, frame_metadata
from secoda_pipelines.defs.partitions import secoda_integrations
from secoda_pipelines.defs.resources import WAREHOUSE_IO, SecodaResource
from secoda_pipelines.secoda import (
    COLUMNS,
    DASHBOARDS,
    INTEGRATIONS,
    QUESTION_REPLIES,
    QUESTIONS,
    TABLES,
    TEAMS,
    USERS,
    SecodaClient,
    SecodaNotFoundError,
    detail_path,
)

SECODA_POOL = "secoda_api"
CATALOG_GROUP = "secoda_catalog"
API_RETRY = dg.RetryPolicy(
    max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

EXAMPLE_IDS = 3
# A backfill over many integrations runs this many partitions per run: each run pays a few
# seconds of process start-up before its first request, which dominates for small
# integrations. A run lists its partitions one after another and stores them in one go.
PARTITIONS_PER_RUN = 10
INTEGRATIONS_BACKFILL = dg.BackfillPolicy.multi_run(max_partitions_per_run=PARTITIONS_PER_RUN)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def refuse_other_integrations(
    frame: pd.DataFrame, partition: str, key: dg.AssetKey, path: str
) -> None:
    """Checks that every row of `frame` names `partition` or no integration; returns None.

    Raises:
        dagster.Failure: (allow_retries=False) some rows name another integration, i.e. the
            server did not apply ``?integration_id=<partition>``; the message names the
            partition, how many rows named which integration (with a few row ids) and says
            that nothing was stored. Listing again would answer the same rows.
    """
    others = rows_of_other_integrations(frame, partition)
    if not others:
        return
    counts = []
    for integration, ids in others.items():
        shown = [row_id or "<no id>" for row_id in ids[:EXAMPLE_IDS]]
        examples = ", ".join(shown) + (", ..." if len(ids) > EXAMPLE_IDS else "")
        verb = "row names" if len(ids) == 1 else "rows name"
        counts.append(f"{len(ids)} {verb} integration {integration} ({examples})")
    total = sum(len(ids) for ids in others.values())
    raise dg.Failure(
        description=(
            f"{key.to_user_string()} partition {partition}: GET {path}?integration_id="
            f"{partition} answered {_plural(total, 'row', 'rows')} of other integrations "
            f"({'; '.join(counts)}). The server did not apply the integration_id filter; "
            f"nothing was stored, so partition {partition} keeps what it held before and "
            "no other integration's rows are filed under it."
        ),
        metadata={
            "partition": partition,
            "rows_listed": len(frame),
            "rows_of_other_integrations": {k: len(v) for k, v in others.items()},
        },
        allow_retries=False,
    )


def integration_details(client: SecodaClient, integration_id: str) -> dict | None:
    """Returns the integration as GET `integration/integrations/<id>/` answers it, or None
    when Secoda no longer has it (404).

    Raises:
        dagster.Failure: the API refused the request for good (key, URL).
        SecodaError: Secoda failed after the client's retries.
    """
    with secoda_failures():
        try:
            return client.get(detail_path(INTEGRATIONS, integration_id))
        except SecodaNotFoundError:
            return None


def refuse_vanished_integrations(
    client: SecodaClient, partitions: Sequence[str], key: dg.AssetKey
) -> dict[str, dict]:
    """Checks that Secoda still has the integration of every partition; returns each
    partition's integration as Secoda answers it (its name and type), by id.

    Raises:
        dagster.Failure: (allow_retries=False) some integrations are gone (GET
            `integration/integrations/<id>/` answered 404): nothing of this run is stored,
            so every partition keeps the rows it held; the message names them and says what
            an operator can do.
    """
    found = {partition: integration_details(client, partition) for partition in partitions}
    gone = [partition for partition, integration in found.items() if integration is None]
    if not gone:
        return {partition: integration or {} for partition, integration in found.items()}
    others = len(partitions) - len(gone)
    kept = f" (nor of this run's {_plural(others, 'other partition', 'other partitions')})"
    raise dg.Failure(
        description=(
            f"{key.to_user_string()}: Secoda no longer has integration(s) {', '.join(gone)} "
            f"(GET {INTEGRATIONS}<id>/ answered 404), so there is nothing to list for "
            f"{'that partition' if len(gone) == 1 else 'those partitions'}. Nothing was "
            f"stored{kept if others else ''}: the stored rows stay as they were. If the "
            f"integration is gone for good, delete its {secoda_integrations.name} partition "
            "(daily_integration_refresh already skips it)."
        ),
        metadata={"vanished_integrations": gone, "partitions": list(partitions)},
        allow_retries=False,
    )


def partition_frame(
    client: SecodaClient, path: str, schema: FrameSchema, partition: str, key: dg.AssetKey
) -> pd.DataFrame:
    """Returns the rows `path` lists for one integration (`?integration_id=<partition>`),
    with `integration_id` set to the partition on every row.

    An empty listing is taken only if the integration still exists afterwards: one deleted
    while it was listed never replaces its stored rows with nothing.

    Raises:
        dagster.Failure: some rows name another integration (see
            `refuse_other_integrations`), the integration no longer exists (see
            `refuse_vanished_integrations`), or the API refused the request for good.
    """
    with secoda_failures():
        pages = client.iter_pages(path, {"integration_id": partition})
        frame = frame_from_pages(pages, schema=schema)
    if frame.empty:
        refuse_vanished_integrations(client, [partition], key)
    refuse_other_integrations(frame, partition, key, path)
    frame["integration_id"] = pd.Series(partition, index=frame.index, dtype="string")
    return frame


def integration_metadata(
    partitions: Sequence[str], found: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Returns the materialization metadata that names the run's integrations: for one
    partition `integration_name` and `integration_type` as Secoda answered them; for a
    backfill run of several, `integrations`, one `Name (type), id <id>` line each."""
    if len(partitions) == 1:
        integration = found[partitions[0]]
        return {
            "integration_name": dg.MetadataValue.text(str(integration.get("name") or "")),
            "integration_type": dg.MetadataValue.text(str(integration.get("type") or "")),
        }
    lines = "\n".join(f"- {integration_label(i, found[i])}" for i in partitions)
    return {"integrations": dg.MetadataValue.md(lines)}


def _catalog_asset(
    schema: FrameSchema, path: str, description: str, *, partitioned: bool = False
) -> dg.AssetsDefinition:
    """Returns an asset `secoda/<schema.name>` listing `path` into a frame of `schema`.

    Partitioned assets list each integration of the run (`?integration_id=<partition>`;
    one, or up to PARTITIONS_PER_RUN in a backfill) and are stored with `integration_id` as
    the partition column, so a run replaces only its partitions' rows, all in one write. A
    row naming another integration fails the run before anything is stored (see
    `refuse_other_integrations`); a row naming none is the partition's.
    """
    key = dg.AssetKey(["secoda", schema.name])

    # No return annotation: with check_specs, Dagster would read it as every output's type.
    def _asset(context: dg.AssetExecutionContext, secoda: SecodaResource):
        client = secoda.get_client()
        if not partitioned:
            with secoda_failures():
                frame = frame_from_pages(client.iter_pages(path), schema=schema)
        else:
            found = refuse_vanished_integrations(client, context.partition_keys, key)
            context.log.info(
                f"Listing {schema.name} of "
                + "; ".join(integration_label(i, found[i]) for i in context.partition_keys)
            )
            frames = [
                partition_frame(client, path, schema, partition, key)
                for partition in context.partition_keys
            ]
            frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
            if len(frames) > 1:
                context.log.info(f"{len(frames)} partitions listed: {len(frame)} rows")
        metadata = frame_metadata(frame, key.to_user_string())
        if partitioned:
            metadata.update(integration_metadata(context.partition_keys, found))
        return dg.MaterializeResult(
            value=frame,
            metadata=metadata,
            check_results=[ids_check(frame)],
        )

    with warnings.catch_warnings():
        # backfill_policy is beta in Dagster 1.13 and used knowingly here (docs/catalog.md):
        # without this, every import of the code location prints the warning once per asset.
        warnings.filterwarnings(
            "ignore", category=dg.BetaWarning, message="Parameter `backfill_policy`"
        )
        return dg.asset(
            key=key,
            description=description,
            group_name=CATALOG_GROUP,
            kinds={"secoda", "pandas", "duckdb"},
            io_manager_key=WAREHOUSE_IO,
            pool=SECODA_POOL,
            retry_policy=API_RETRY,
            partitions_def=secoda_integrations if partitioned else None,
            backfill_policy=INTEGRATIONS_BACKFILL if partitioned else None,
            metadata=definition_metadata(
                key.to_user_string(),
                **({"partition_expr": "integration_id"} if partitioned else {}),
            ),
            check_specs=[
                dg.AssetCheckSpec(IDS_CHECK, asset=key, description=IDS_CHECK_DESCRIPTION)
            ],
        )(_asset)


integrations = _catalog_asset(
    INTEGRATIONS_SCHEMA,
    INTEGRATIONS,
    "Every integration in the Secoda workspace: warehouses, BI tools, dbt.",
)
users = _catalog_asset(USERS_SCHEMA, USERS, "Secoda users with their role, groups and teams.")
teams = _catalog_asset(
    TEAMS_SCHEMA, TEAMS, "Secoda teams: the names that coverage by owner shows for users."
)
dashboards = _catalog_asset(
    DASHBOARDS_SCHEMA,
    DASHBOARDS,
    "Every BI dashboard with its usage in the source tool and in Secoda.",
)
questions = _catalog_asset(
    QUESTIONS_SCHEMA,
    QUESTIONS,
    "Questions asked in Secoda, with the id of the accepted reply.",
)
question_replies = _catalog_asset(
    QUESTION_REPLIES_SCHEMA,
    QUESTION_REPLIES,
    "Replies to Secoda questions, with their owners and accepted-answer flag.",
)
tables = _catalog_asset(
    TABLES_SCHEMA,
    TABLES,
    "Tables of one integration (partition) with their documentation fields.",
    partitioned=True,
)
columns = _catalog_asset(
    COLUMNS_SCHEMA,
    COLUMNS,
    "Columns of one integration (partition) with their documentation fields.",
    partitioned=True,
)

catalog_assets = [
    integrations,
    users,
    teams,
    dashboards,
    questions,
    question_replies,
    tables,
    columns,
]
