"""`migrate_documentation`'s request: its run config, the checks of the whole request, and
the two sides as listed (streamed page by page into a `MigrationMatcher`, never held as
Python rows)."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dagster as dg
from pydantic import Field

from secoda_pipelines.catalog.planners import (
    DEFAULT_FIELDS,
    MIGRATABLE_FIELDS,
    MigrationMatcher,
    Renames,
    rename_map_errors,
    unknown_fields,
    unused_rename_keys_of,
)
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.jobs.writeback import WriteBackConfig, bad_input
from secoda_pipelines.secoda import COLUMNS, INTEGRATIONS, TABLES, SecodaClient

NOTHING_DONE = "nothing was planned or written"
COLLECTIONS = {"table": TABLES, "column": COLUMNS}
ROLES = ("source", "target")
_WHERE_IDS = (
    "Ids: the `secoda/integrations` table (column id), the demo's printout, or the last "
    "part of the integration's URL in Secoda (…/integrations/<id>)."
)


class MigrateDocumentationConfig(WriteBackConfig):
    """The flat run config of `migrate_documentation` (SPEC B)."""

    source_integration_id: str = Field(
        description="Id or exact name of the integration whose documentation is copied. "
        + _WHERE_IDS
    )
    target_integration_id: str = Field(
        description="Id or exact name of the integration that receives it. " + _WHERE_IDS
    )
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


def resolve_integrations(
    config: MigrateDocumentationConfig, integrations: list[dict]
) -> tuple[MigrateDocumentationConfig, list[str], list[str]]:
    """Returns (the config with each side given by name replaced by its id, one line per
    side so resolved, one error per side that names no single integration).

    A value that is an integration's id stays as it is. Otherwise it is taken as a name,
    compared exactly (case-sensitive, untrimmed): held by one integration, that one's id is
    used; by several, or by none, it is an error (naming the candidates, or every known
    integration). Raises nothing.
    """
    known = {str(i["id"]): i for i in integrations if i.get("id") is not None}
    choices = ", ".join(f"{i['id']} ({i.get('name')}, {i.get('type')})" for i in integrations)
    update: dict[str, str] = {}
    resolved: list[str] = []
    errors: list[str] = []
    for role in ROLES:
        field = f"{role}_integration_id"
        value = getattr(config, field)
        if value in known:
            continue
        named = [i for i in known.values() if i.get("name") == value]
        if len(named) == 1:
            match = named[0]
            update[field] = str(match["id"])
            resolved.append(
                f"{field} {value!r} is the name of integration {match['id']} "
                f"({match.get('type')}); using that id"
            )
        elif named:
            candidates = ", ".join(f"{i['id']} ({i.get('type')})" for i in named)
            errors.append(
                f"{field} {value!r} is the name of {len(named)} integrations: {candidates}; "
                "give the id of the one you mean"
            )
        else:
            errors.append(
                f"{field} {value!r} is not an integration (give an id or an exact name); "
                f"known: {choices}"
            )
    return config.model_copy(update=update), resolved, errors


def request_errors(config: MigrateDocumentationConfig) -> list[str]:
    """Returns every problem with the request, other than which integrations it names
    (`resolve_integrations`), that is visible before listing tables (empty when there is
    none); `listing_errors` checks the rest once both sides are listed. `config` carries
    resolved ids, so two names of one integration are the same integration. Raises nothing."""
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
    errors += rename_map_errors("database_map", config.database_map)
    errors += rename_map_errors("schema_map", config.schema_map)
    return errors


def new_matcher(config: MigrateDocumentationConfig) -> MigrationMatcher:
    """Returns an empty MigrationMatcher for this request (its fields, overwrite, renames);
    the caller closes it.

    Raises:
        ValueError: a field or a rename map is bad (checked by `request_errors` first).
    """
    return MigrationMatcher(
        config.fields,
        overwrite=config.overwrite,
        renames=Renames.from_maps(config.database_map, config.schema_map),
    )


def list_side(
    client: SecodaClient,
    matcher: MigrationMatcher,
    role: str,
    integration_id: str,
    config: MigrateDocumentationConfig,
) -> int:
    """Streams the integration's tables (and, with include_columns and any tables, its
    columns) into `matcher`'s `role` side (source or target), page by page; returns how
    many tables it has.

    Raises:
        SecodaError: a listing failed.
    """
    params = {"integration_id": integration_id}
    tables = matcher.add_pages(role, "table", client.iter_pages(COLLECTIONS["table"], params))
    if config.include_columns and tables:
        matcher.add_pages(role, "column", client.iter_pages(COLLECTIONS["column"], params))
    return tables


def listing_errors(
    config: MigrateDocumentationConfig,
    names: dict[str, str],
    tables: dict[str, int],
    source_names: Mapping[str, Mapping[str, str]],
) -> list[str]:
    """Returns every problem that only the listings show (empty when there is none): a side
    without tables, a rename map key that no source table uses. `names` maps integration
    ids to names, `tables` each role (source, target) to its table count, `source_names`
    is `MigrationMatcher.source_names`."""
    errors = [
        f"{role} integration {integration_id} ({names[integration_id]}) has no tables in "
        "Secoda: run its sync in Secoda first, then run this job again"
        for role, integration_id in (
            ("source", config.source_integration_id),
            ("target", config.target_integration_id),
        )
        if not tables[role]
    ]
    if tables["source"]:
        errors += unused_rename_keys_of(config.database_map, config.schema_map, source_names)
    return errors


@contextmanager
def checked_listings(
    config: MigrateDocumentationConfig, client: SecodaClient, log: dg.DagsterLogManager
) -> Iterator[tuple[MigrateDocumentationConfig, MigrationMatcher]]:
    """Yields (the config with integration ids in place of names, a MigrationMatcher holding
    both sides as listed now) once the whole request is checked; closes the matcher after.

    Integrations given by name are resolved first (`resolve_integrations`), each logged
    on `log` with the id used, so every other check, the plan, the report and the
    coverage use ids.

    Raises:
        dagster.Failure: the request is bad (every problem named); nothing is reported or
            written.
        SecodaError: a listing failed after every retry.
    """
    with secoda_failures():
        integrations = client.list(INTEGRATIONS)
        config, resolved, errors = resolve_integrations(config, integrations)
        for line in resolved:
            log.info(line)
        errors += request_errors(config)
        if errors:
            raise bad_input(errors, NOTHING_DONE)
        matcher = new_matcher(config)
        try:
            tables = {
                role: list_side(
                    client, matcher, role, getattr(config, f"{role}_integration_id"), config
                )
                for role in ROLES
            }
        except BaseException:
            matcher.close()
            raise
    names = {str(i["id"]): i.get("name") for i in integrations}
    errors = listing_errors(config, names, tables, matcher.source_names)
    if errors:
        matcher.close()
        raise bad_input(errors, NOTHING_DONE)
    with matcher:
        yield config, matcher


def relist_target(
    client: SecodaClient, matcher: MigrationMatcher, config: MigrateDocumentationConfig
) -> None:
    """Replaces `matcher`'s target side with the target as listed now (the source stays).
    `config` is the one `checked_listings` yields: its target_integration_id is an id.

    Raises:
        dagster.Failure: the API refused the key or a listing (permanent errors).
        SecodaError: the listing failed after every retry.
    """
    matcher.clear("target")
    with secoda_failures():
        list_side(client, matcher, "target", config.target_integration_id, config)
