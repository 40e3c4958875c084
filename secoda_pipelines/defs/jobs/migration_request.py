"""`migrate_documentation`'s request: its run config, the checks of the whole request, the
two sides as listed, and the plan of one side onto the other."""

from dataclasses import dataclass

import dagster as dg
import pandas as pd
from pydantic import Field

from secoda_pipelines.catalog.migration import (
    DEFAULT_FIELDS,
    MIGRATABLE_FIELDS,
    Renames,
    plan_migration,
    rename_map_errors,
    slim,
    unknown_fields,
    unused_rename_keys,
)
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.jobs.reporting import bad_input
from secoda_pipelines.secoda import SecodaClient

NOTHING_DONE = "nothing was planned or written"
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
    database_map: dict[str, str] = Field(
        default={},
        description="Source database names renamed before matching, {old: new}; "
        "case-insensitive. Each key must be a database of the source's tables.",
    )
    schema_map: dict[str, str] = Field(
        default={},
        description="Source schema names renamed before matching, {old: new}, in every "
        "database; case-insensitive. Each key must be a schema of the source's tables.",
    )
    dry_run: bool = Field(default=True, description="Plan and report only; write nothing.")


def request_errors(config: MigrateDocumentationConfig, integrations: list[dict]) -> list[str]:
    """Returns every problem with the request that is visible before listing tables (empty
    when there is none); `listing_errors` checks the rest once both sides are listed."""
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
    errors += rename_map_errors("database_map", config.database_map)
    errors += rename_map_errors("schema_map", config.schema_map)
    return errors


@dataclass(frozen=True)
class Side:
    """One integration's tables and columns as planning reads them (`slim` rows)."""

    tables: list[dict]
    columns: list[dict]


def list_side(
    client: SecodaClient, integration_id: str, config: MigrateDocumentationConfig
) -> Side:
    """Returns the integration's tables (and, with include_columns, columns) as planning
    reads them.

    Raises:
        SecodaError: a listing failed.
    """
    params = {"integration_id": integration_id}
    tables = slim(client.iter_rows(COLLECTIONS["table"], params), "table", config.fields)
    if not (config.include_columns and tables):
        return Side(tables, [])
    columns = slim(client.iter_rows(COLLECTIONS["column"], params), "column", config.fields)
    return Side(tables, columns)


def listing_errors(
    config: MigrateDocumentationConfig, names: dict[str, str], source: Side, target: Side
) -> list[str]:
    """Returns every problem that only the listings show (empty when there is none): a side
    without tables, a rename map key that no source table uses. `names` maps integration
    ids to names."""
    errors = [
        f"{role} integration {integration_id} ({names[integration_id]}) has no tables in "
        "Secoda: run its sync in Secoda first, then run this job again"
        for role, integration_id, side in (
            ("source", config.source_integration_id, source),
            ("target", config.target_integration_id, target),
        )
        if not side.tables
    ]
    if source.tables:
        errors += unused_rename_keys(config.database_map, config.schema_map, source.tables)
    return errors


def checked_listings(config: MigrateDocumentationConfig, client: SecodaClient) -> tuple[Side, Side]:
    """Returns (source, target) as listed now, once the whole request is checked.

    Raises:
        dagster.Failure: the request is bad (every problem named); nothing is reported or
            written.
    """
    with secoda_failures():
        integrations = client.list("integration/integrations/")
        errors = request_errors(config, integrations)
        if errors:
            raise bad_input(errors, NOTHING_DONE)
        source = list_side(client, config.source_integration_id, config)
        target = list_side(client, config.target_integration_id, config)
    names = {str(i["id"]): i.get("name") for i in integrations}
    errors = listing_errors(config, names, source, target)
    if errors:
        raise bad_input(errors, NOTHING_DONE)
    return source, target


def planned(config: MigrateDocumentationConfig, source: Side, target: Side) -> pd.DataFrame:
    """Returns the plan of `source` onto `target` for this request (see plan_migration)."""
    return plan_migration(
        source.tables,
        target.tables,
        source.columns,
        target.columns,
        fields=config.fields,
        overwrite=config.overwrite,
        renames=Renames.from_maps(config.database_map, config.schema_map),
    )
