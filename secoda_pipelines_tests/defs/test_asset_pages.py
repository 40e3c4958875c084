"""Every asset's page in the Dagster UI, read as the UI reads it (issue 25): the demo's
materializations, served by a real `dagster-webserver` process and queried through its
GraphQL endpoint.

For every asset: its definition carries one column schema whose columns have a description
and a type a person thinks in (`column_types.HUMAN_TYPES`); its latest materialization (each
partition's, for a partitioned asset) carries exactly one column schema (the stored table's
columns), exactly one row count (the rows it wrote), and one markdown `preview` short enough
for the UI to show inline, with no label twice; each asset check has a description; a
partition of `secoda/tables` or `secoda/columns` names its integration. And the UI's Runs
list shows the demo's runs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from secoda_pipelines import demo
from secoda_pipelines.defs.column_types import HUMAN_TYPES
from secoda_pipelines.sandbox import Sandbox
from secoda_pipelines.store import Warehouse, choose_warehouse
from secoda_pipelines_tests.deployment.processes import (
    DeploymentError,
    ManagedProcess,
    executable,
    wait_until,
)
from secoda_pipelines_tests.helpers import clean_environment, free_port, materialize_demo

# One materialization of the demo and one webserver for the module: the first test pays
# for both (minutes on 2 shared cores), hence the timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

REPOSITORY = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 300.0  # seconds for the webserver to serve the loaded code location
REQUEST_TIMEOUT = 120.0

SCHEMA_LABEL = "dagster/column_schema"
ROW_COUNT_LABEL = "dagster/row_count"
PARTITION_ROW_COUNT_LABEL = "dagster/partition_row_count"
PREVIEW_LABEL = "preview"
# Dagster's UI shows a markdown entry in place only when it is shorter than this.
INLINE_MARKDOWN_LIMIT = 1000
# Unpartitioned histories: a materialization writes the latest snapshot_date's rows.
HISTORIES = frozenset(
    {
        "secoda/dashboard_usage",
        "reports/documentation_coverage",
        "reports/documentation_coverage_by_owner",
        "reports/coverage_targets",
    }
)
INTEGRATION_PARTITIONED = frozenset({"secoda/tables", "secoda/columns"})
MONTH_PARTITIONED = frozenset({"reports/adoption_monthly"})
DEMO_JOBS = ("secoda_catalog_refresh", "secoda_integration_refresh", "secoda_coverage_snapshot")
SEPARATOR = re.compile(r"^\|( *:?-{3,}:? *\|)+$")

ENTRY_FRAGMENT = """
fragment Entry on MetadataEntry {
  __typename
  label
  ... on TableSchemaMetadataEntry { schema { columns { name type description } } }
  ... on MarkdownMetadataEntry { mdStr }
  ... on IntMetadataEntry { intValue intRepr }
  ... on TextMetadataEntry { text }
}
"""
ASSET_PAGES_QUERY = (
    """
query AssetPages {
  assetNodes {
    assetKey { path }
    isPartitioned
    metadataEntries { ...Entry }
    assetMaterializations(limit: 1) { runId partition metadataEntries { ...Entry } }
    latestMaterializationByPartition { runId partition metadataEntries { ...Entry } }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name description } }
    }
  }
}
"""
    + ENTRY_FRAGMENT
)
RUNS_QUERY = """
query JobRuns($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId jobName status tags { key value } } }
    ... on InvalidPipelineRunsFilterError { message }
    ... on PythonError { message }
  }
}
"""
LOCATION_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


@dataclass(frozen=True)
class Served:
    """The demo's materializations, served by a running webserver."""

    url: str  # the webserver's root, http://127.0.0.1:<port>
    warehouse: Warehouse  # where the demo stored the tables
    asset_keys: frozenset[str]  # every asset of the code location, as `secoda/tables`


def graphql(url: str, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Returns the `data` of a GraphQL request to the webserver at `url`.

    Raises:
        AssertionError: the answer is not JSON or carries `errors` (quoted).
        requests.RequestException: the webserver did not answer.
    """
    response = requests.post(
        f"{url}/graphql",
        json={"query": query, "variables": dict(variables or {})},
        timeout=REQUEST_TIMEOUT,
    )
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(
            f"GraphQL answered {response.status_code}, not JSON: {response.text[:500]}"
        ) from None
    assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
    return body["data"]


def _location_loaded(url: str) -> bool:
    """Returns whether the webserver serves the loaded code location.

    Raises:
        DeploymentError: the code location failed to load (its error message).
    """
    try:
        data = graphql(url, LOCATION_QUERY)
    except (requests.RequestException, AssertionError):
        return False
    for entry in data["workspaceOrError"].get("locationEntries") or []:
        loaded = entry["locationOrLoadError"] or {}
        if loaded.get("__typename") == "PythonError":
            raise DeploymentError(f"the code location failed to load: {loaded['message']}")
        if entry["loadStatus"] == "LOADED" and loaded.get("__typename") == "RepositoryLocation":
            return True
    return False


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Yields the demo materialized on a demo-scale sandbox and a `dagster-webserver` on a
    free loopback port serving it; the environment (DAGSTER_HOME, SECODA_*) stays set for
    the module. Stops the webserver's process group, then the sandbox."""
    workdir = tmp_path_factory.mktemp("asset_pages")
    # Built here rather than with the `sandbox` fixture, which lives one test only.
    sandbox = Sandbox(tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite", scale="demo")
    sandbox.start()
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            paths = materialize_demo(sandbox, workdir, monkeypatch, None)
            from secoda_pipelines.definitions import defs

            keys = frozenset(
                key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()
            )
            port = free_port()
            webserver = ManagedProcess.start(
                "webserver",
                [
                    executable("dagster-webserver"),
                    "-m",
                    "secoda_pipelines.definitions",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                ],
                clean_environment(**demo.demo_environment(paths, sandbox)),
                REPOSITORY,
                workdir,
                redact=(sandbox.settings.api_key,),
            )
            url = f"http://127.0.0.1:{port}"
            try:
                try:
                    wait_until(
                        lambda: _location_loaded(url),
                        STARTUP_TIMEOUT,
                        "the webserver to serve the code location",
                        interval=1.0,
                        check=webserver.check,
                    )
                except TimeoutError as error:
                    raise DeploymentError(f"{error}; its log:\n{webserver.tail()}") from None
                yield Served(url, choose_warehouse(), keys)
            finally:
                webserver.stop()
    finally:
        sandbox.stop()


# ---- what one asset's page must show ----------------------------------------------------


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def schema_problems(entries: list[dict[str, Any]], stored: list[str] | None) -> list[str]:
    """Returns what is wrong with the column schema among `entries`: not exactly one table
    schema labelled dagster/column_schema, no columns, columns other than `stored` (when
    given), a column without description or with a type not in HUMAN_TYPES."""
    schemas = [e for e in entries if e["__typename"] == "TableSchemaMetadataEntry"]
    labels = [e["label"] for e in schemas]
    if labels != [SCHEMA_LABEL]:
        problem = f"table schemas {labels}, not exactly one labelled {SCHEMA_LABEL}"
        if SCHEMA_LABEL not in labels:
            return [problem]
        problems = [problem]
    else:
        problems = []
    columns = next(e for e in schemas if e["label"] == SCHEMA_LABEL)["schema"]["columns"]
    names = [column["name"] for column in columns]
    if not names:
        problems.append(f"{SCHEMA_LABEL} has no columns")
    if stored is not None and names != stored:
        problems.append(f"{SCHEMA_LABEL} columns {names} are not the stored table's {stored}")
    undescribed = [c["name"] for c in columns if _blank(c["description"])]
    if undescribed:
        problems.append(f"columns without a description: {undescribed}")
    untyped = {c["name"]: c["type"] for c in columns if c["type"] not in HUMAN_TYPES}
    if untyped:
        problems.append(f"column types not in HUMAN_TYPES: {untyped}")
    return problems


def written_rows(key: str, stored: pd.DataFrame, partition: str | None) -> pd.DataFrame:
    """Returns the stored rows that the materialization of `key` (of `partition`) wrote:
    the partition's, the latest snapshot's of a history, else the whole table."""
    if key in INTEGRATION_PARTITIONED:
        return stored[stored["integration_id"] == partition]
    if key in MONTH_PARTITIONED:
        month = pd.to_datetime(stored["month"], utc=True)
        return stored[month == pd.Timestamp(partition, tz="UTC")]
    if key in HISTORIES:
        days = pd.to_datetime(stored["snapshot_date"], utc=True)
        return stored[days == days.max()]
    return stored


def preview_problems(entries: list[dict[str, Any]], rows: int) -> list[str]:
    """Returns what is wrong with the `preview`: not exactly one markdown entry so
    labelled, not shorter than the UI's inline limit, not a markdown table (with rows)."""
    previews = [e for e in entries if e["label"] == PREVIEW_LABEL]
    kinds = [e["__typename"] for e in previews]
    if kinds != ["MarkdownMetadataEntry"]:
        return [f"'{PREVIEW_LABEL}' entries {kinds}, not exactly one MarkdownMetadataEntry"]
    text = previews[0]["mdStr"]
    problems = []
    if len(text) >= INLINE_MARKDOWN_LIMIT:
        problems.append(
            f"preview is {len(text)} characters, not under {INLINE_MARKDOWN_LIMIT} "
            "(the UI hides it behind [Show Markdown])"
        )
    lines = text.splitlines()
    if rows and not (
        len(lines) >= 2 and lines[0].startswith("| ") and SEPARATOR.match(lines[1].strip())
    ):
        problems.append(f"preview is not a markdown table: {text[:200]!r}")
    return problems


def materialization_problems(
    key: str,
    event: dict[str, Any],
    warehouse: Warehouse,
    integration_names: Mapping[str, str],
) -> list[str]:
    """Returns what is wrong with one materialization of `key` as its page shows it."""
    entries = event["metadataEntries"]
    partition = event["partition"]
    stored = warehouse.read_table(*key.split("/"))
    rows = len(written_rows(key, stored, partition))
    problems = []
    repeated = sorted(label for label, n in Counter(e["label"] for e in entries).items() if n > 1)
    if repeated:
        problems.append(f"labels given more than once: {repeated}")
    problems += schema_problems(entries, [str(column) for column in stored.columns])
    counts = [e for e in entries if e["label"] == ROW_COUNT_LABEL]
    if len(counts) != 1:
        problems.append(f"{len(counts)} '{ROW_COUNT_LABEL}' entries, not one")
    elif counts[0]["__typename"] != "IntMetadataEntry":
        problems.append(f"'{ROW_COUNT_LABEL}' is a {counts[0]['__typename']}, not an int")
    elif int(counts[0]["intRepr"]) != rows:
        problems.append(f"'{ROW_COUNT_LABEL}' is {counts[0]['intRepr']}, but it wrote {rows}")
    if any(e["label"] == PARTITION_ROW_COUNT_LABEL for e in entries):
        problems.append(f"a '{PARTITION_ROW_COUNT_LABEL}' beside the row count")
    problems += preview_problems(entries, rows)
    if key in INTEGRATION_PARTITIONED:
        named = [e.get("text") for e in entries if e["label"] == "integration_name"]
        expected = integration_names.get(partition)
        if named != [expected]:
            problems.append(f"integration_name entries {named}, not [{expected!r}]")
    where = f"partition {partition}" if partition else "latest materialization"
    return [f"{where}: {problem}" for problem in problems]


def asset_problems(
    node: dict[str, Any], warehouse: Warehouse, integration_names: Mapping[str, str]
) -> list[str]:
    """Returns what is wrong with one asset's page: its definition's column schema, its
    latest materialization (each partition's), its checks' descriptions."""
    key = "/".join(node["assetKey"]["path"])
    problems = [f"definition: {p}" for p in schema_problems(node["metadataEntries"], None)]
    checks = node["assetChecksOrError"]
    if checks["__typename"] != "AssetChecks":
        problems.append(f"asset checks answered {checks['__typename']}")
    else:
        problems += [
            f"check {check['name']} has no description"
            for check in checks["checks"]
            if _blank(check["description"])
        ]
    if node["isPartitioned"]:
        events = [e for e in node["latestMaterializationByPartition"] if e is not None]
    else:
        events = node["assetMaterializations"]
    if not events:
        problems.append("never materialized")
    for event in events:
        problems += materialization_problems(key, event, warehouse, integration_names)
    return problems


# ---- the tests ----------------------------------------------------------------------------


def test_the_runs_list_shows_the_demo_runs(served: Served) -> None:
    """The UI's Runs list filtered by job finds every run the demo made, all succeeded:
    one catalog refresh, one refresh per integration, one coverage snapshot."""
    statuses: dict[str, list[str]] = {}
    for job in DEMO_JOBS:
        answer = graphql(served.url, RUNS_QUERY, {"filter": {"pipelineName": job}})["runsOrError"]
        assert answer["__typename"] == "Runs", answer
        assert {run["jobName"] for run in answer["results"]} <= {job}, answer["results"]
        statuses[job] = sorted(run["status"] for run in answer["results"])
    integrations = served.warehouse.read_table("secoda", "integrations")
    assert len(integrations) > 0
    assert statuses == {
        "secoda_catalog_refresh": ["SUCCESS"],
        "secoda_integration_refresh": ["SUCCESS"] * len(integrations),
        "secoda_coverage_snapshot": ["SUCCESS"],
    }
    # Each integration's run shows its name and type beside the partition's id.
    answer = graphql(
        served.url, RUNS_QUERY, {"filter": {"pipelineName": "secoda_integration_refresh"}}
    )["runsOrError"]
    shown = sorted(
        (
            tags["dagster/partition"],
            tags["secoda/integration_name"],
            tags["secoda/integration_type"],
        )
        for run in answer["results"]
        for tags in [{tag["key"]: tag["value"] for tag in run["tags"]}]
    )
    assert shown == sorted(
        zip(integrations["id"], integrations["name"], integrations["type"], strict=True)
    )


def test_every_asset_page_shows_one_schema_one_row_count_and_an_inline_preview(
    served: Served,
) -> None:
    """Every asset's page (definition, latest materialization of each partition, checks)
    as GraphQL gives it; every problem of every asset is listed at once."""
    nodes = graphql(served.url, ASSET_PAGES_QUERY)["assetNodes"]
    assert {"/".join(n["assetKey"]["path"]) for n in nodes} == served.asset_keys
    integrations = served.warehouse.read_table("secoda", "integrations")
    names = dict(zip(integrations["id"], integrations["name"], strict=True))
    problems = {
        "/".join(node["assetKey"]["path"]): found
        for node in nodes
        if (found := asset_problems(node, served.warehouse, names))
    }
    assert problems == {}
