"""Run tags and log labels that name the Secoda integrations a run or a tick is about.

Partition keys and run keys stay integration ids (an id is stable, a name is not); these
tags put the name and type beside them where Dagster shows a run (the Runs list and the
run's page show its job, partition and tags). Dagster keeps run tag values as text of any
length (only strict tags, such as asset tags, are held to 63 characters), so names are
carried whole, as Secoda lists them.
"""

from collections.abc import Iterable, Mapping

INTEGRATION_NAME_TAG = "secoda/integration_name"
INTEGRATION_TYPE_TAG = "secoda/integration_type"
SOURCE_NAME_TAG = "secoda/source_integration_name"
TARGET_NAME_TAG = "secoda/target_integration_name"


def _text(value: object) -> str | None:
    """Returns the value as a tag value, or None when it is null or blank."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def by_id(listed: Iterable[Mapping]) -> dict[str, Mapping]:
    """Returns the listed integrations by their id as a string (rows without an id left out).
    Raises nothing."""
    return {str(row["id"]): row for row in listed if row.get("id") is not None}


def integration_tags(integration: Mapping | None) -> dict[str, str]:
    """Returns the `secoda/integration_name` and `secoda/integration_type` tags of a listed
    integration: each only when its value is neither null nor blank; none for None (an
    integration the tick could not list). Raises nothing."""
    if integration is None:
        return {}
    values = {
        INTEGRATION_NAME_TAG: _text(integration.get("name")),
        INTEGRATION_TYPE_TAG: _text(integration.get("type")),
    }
    return {key: value for key, value in values.items() if value is not None}


def migration_tags(source: Mapping, target: Mapping) -> dict[str, str]:
    """Returns the `secoda/source_integration_name` and `secoda/target_integration_name`
    tags of a migration between two listed integrations, each only when that name is
    neither null nor blank. Raises nothing."""
    values = {
        SOURCE_NAME_TAG: _text(source.get("name")),
        TARGET_NAME_TAG: _text(target.get("name")),
    }
    return {key: value for key, value in values.items() if value is not None}


def labelled(integration_id: str, known: Mapping[str, Mapping]) -> str:
    """Returns `name (id)` for a log line, or the bare id when `known` (integrations by id)
    has no name for it. Raises nothing."""
    name = _text((known.get(integration_id) or {}).get("name"))
    return f"{name} ({integration_id})" if name is not None else integration_id


def integration_label(integration_id: str, integration: Mapping) -> str:
    """Returns how a person knows an integration as Secoda answered it: `Name (type), id
    <id>`. Raises nothing."""
    name = integration.get("name") or "(no name)"
    kind = integration.get("type")
    return f"{name}{f' ({kind})' if kind else ''}, id {integration_id}"
