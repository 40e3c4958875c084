"""Reading real dbt manifests: the demo project parsed by dbt 1.12 (the sandbox's package
data) and by dbt 1.7 (manifests/dbt-1.7), both made by sandbox/dbt/make_manifests.py.
Variants of a case are edited copies of a real manifest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from secoda_pipelines.dbt import (
    DbtNode,
    Manifest,
    ManifestError,
    changed_nodes,
    find_node,
    read_manifest,
)
from secoda_pipelines.sandbox import DEMO_DBT_MANIFESTS

TEST_MANIFESTS = Path(__file__).parent / "manifests"
# dbt version -> (directory of production.json and pull_request.json, the same of
# new_and_deleted.json, manifest schema version)
VERSIONS = {
    "1.12.6": (DEMO_DBT_MANIFESTS, TEST_MANIFESTS / "dbt-1.12", 12),
    "1.7.20": (TEST_MANIFESTS / "dbt-1.7", TEST_MANIFESTS / "dbt-1.7", 11),
}
RELATIONS = {
    "model.shop.customer_lifetime_value": "analytics.shop_marts.customer_lifetime_value",
    "model.shop.customers": "analytics.shop_marts.customers",
    "model.shop.int_order_payments": None,  # ephemeral
    "model.shop.orders": "analytics.shop_marts.orders",
    "model.shop.stg_customers": "analytics.shop_staging.stg_customers",
    "model.shop.stg_orders": "analytics.shop_staging.stg_orders",
    "model.shop.stg_payments": "analytics.shop_staging.stg_payments",
    "seed.shop.raw_customers": "analytics.shop_raw.raw_customers",
    "seed.shop.raw_orders": "analytics.shop_raw.raw_orders",
    "seed.shop.raw_payments": "analytics.shop_raw.raw_payments",
    "snapshot.shop.orders_snapshot": "analytics.shop_snapshots.orders_snapshot",
}
PRODUCTION = DEMO_DBT_MANIFESTS / "production.json"


def manifest(version: str, name: str) -> Manifest:
    """Reads the real manifest `name` (production, pull_request, new_and_deleted)."""
    project, variants, _ = VERSIONS[version]
    return read_manifest((variants if name == "new_and_deleted" else project) / f"{name}.json")


def changes(manifest: Manifest, state: Manifest) -> list[tuple[str, str]]:
    return [(c.node.unique_id, c.change) for c in changed_nodes(manifest, state)]


@pytest.fixture
def edited(tmp_path: Path) -> Callable[[Callable[[dict[str, Any]], object]], Path]:
    """Returns a function writing a copy of the 1.12 production manifest, changed in place
    by `edit`, and returning its path."""

    def write(edit: Callable[[dict[str, Any]], object]) -> Path:
        document = json.loads(PRODUCTION.read_text())
        edit(document)
        path = tmp_path / f"edited-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(document))
        return path

    return write


# ---- reading ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_reads_the_models_snapshots_and_seeds_of_each_dbt_version(version: str) -> None:
    read = manifest(version, "production")
    assert (read.schema_version, read.dbt_version) == (VERSIONS[version][2], version)
    assert read.project_name == "shop"
    assert read.path == str(VERSIONS[version][0] / "production.json")
    # The 12 tests of schema.yml files and dbt's own docs are left out.
    assert {uid: node.relation for uid, node in read.nodes.items()} == RELATIONS
    assert list(read.nodes) == sorted(RELATIONS)
    orders = read.nodes["model.shop.orders"]
    assert (orders.resource_type, orders.name) == ("model", "orders")
    assert orders.original_file_path == "models/marts/orders.sql"
    assert orders.checksum is not None and len(orders.checksum) == 64  # sha256 of the file
    assert orders.columns == (
        ("amount", "double", "Everything paid for the order, in dollars."),
        ("customer_id", "integer", "The customer who placed the order."),
        ("order_date", "date", "The day the order was placed."),
        ("order_id", "integer", "The order's id."),
        ("status", "varchar", "placed, shipped, completed, return_pending or returned."),
    )
    seed = read.nodes["seed.shop.raw_orders"]
    assert (seed.resource_type, seed.original_file_path) == ("seed", "seeds/raw_orders.csv")
    assert seed.columns[0] == ("id", None, "The order's id in the backend.")  # no data_type
    snapshot = read.nodes["snapshot.shop.orders_snapshot"]
    assert snapshot.original_file_path == "snapshots/orders_snapshot.sql"


def test_compared_across_dbt_versions_every_sql_file_looks_modified() -> None:
    """dbt 1.12 hashes a SQL file differently from dbt 1.7 (seeds' CSV alike): a state
    manifest must come from the dbt version of the pull request's, as for dbt's own
    state:modified. The columns read the same."""
    new, old = manifest("1.12.6", "production"), manifest("1.7.20", "production")
    assert changes(new, old) == [
        (unique_id, "modified") for unique_id in RELATIONS if not unique_id.startswith("seed.")
    ]
    assert all(new.nodes[u].columns == old.nodes[u].columns for u in RELATIONS)


def test_accepts_a_path_object_or_text_and_keeps_the_path_as_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(DEMO_DBT_MANIFESTS)
    assert read_manifest("production.json").path == "production.json"
    assert read_manifest(Path("production.json")).nodes == read_manifest(PRODUCTION).nodes


# ---- what changed ----------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_the_pull_request_modifies_stg_orders_sql_and_orders_columns(version: str) -> None:
    production, pull_request = manifest(version, "production"), manifest(version, "pull_request")
    changed = changed_nodes(pull_request, production)
    assert [(c.node.unique_id, c.change) for c in changed] == [
        ("model.shop.orders", "modified"),
        ("model.shop.stg_orders", "modified"),
    ]
    orders, stg_orders = (c.node for c in changed)
    # orders: the same SQL, new columns; stg_orders: new SQL, the same columns.
    assert orders.checksum == production.nodes["model.shop.orders"].checksum
    assert ("gift_card_amount", "double", "The part paid with gift cards, in dollars.") in (
        orders.columns
    )
    assert orders == pull_request.nodes["model.shop.orders"]  # the pull request's node
    assert stg_orders.checksum != production.nodes["model.shop.stg_orders"].checksum
    assert stg_orders.columns == production.nodes["model.shop.stg_orders"].columns
    assert changed_nodes(production, production) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_model_and_a_deleted_one(version: str) -> None:
    production = manifest(version, "production")
    changed = changed_nodes(manifest(version, "new_and_deleted"), production)
    assert [(c.node.unique_id, c.change, c.node.relation) for c in changed] == [
        (
            "model.shop.customer_lifetime_value",
            "deleted",
            "analytics.shop_marts.customer_lifetime_value",
        ),
        ("model.shop.order_status_daily", "new", "analytics.shop_marts.order_status_daily"),
    ]
    assert changed[0].node == production.nodes["model.shop.customer_lifetime_value"]
    assert changed[1].node.original_file_path == "models/marts/order_status_daily.sql"
    # Against it, production is the one with a new model and without the other.
    assert changes(production, manifest(version, "new_and_deleted")) == [
        ("model.shop.customer_lifetime_value", "new"),
        ("model.shop.order_status_daily", "deleted"),
    ]


def test_a_checksum_alone_makes_a_node_modified(edited: Callable[..., Path]) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["nodes"]["seed.shop.raw_payments"]["checksum"]["checksum"] = "0" * 64

    changed = changed_nodes(read_manifest(edited(edit)), read_manifest(PRODUCTION))
    assert [(c.node.unique_id, c.change, c.node.checksum) for c in changed] == [
        ("seed.shop.raw_payments", "modified", "0" * 64)
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("description", "Paid, in euros."), ("data_type", "decimal(18,2)"), ("name", "amount_usd")],
)
def test_a_column_alone_makes_a_node_modified(
    edited: Callable[..., Path], field: str, value: str
) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["nodes"]["model.shop.stg_payments"]["columns"]["amount"][field] = value

    production = read_manifest(PRODUCTION)
    changed = changed_nodes(read_manifest(edited(edit)), production)
    assert [(c.node.unique_id, c.change) for c in changed] == [
        ("model.shop.stg_payments", "modified")
    ]
    assert changed[0].node.checksum == production.nodes["model.shop.stg_payments"].checksum
    assert changed[0].node.columns != production.nodes["model.shop.stg_payments"].columns


def test_a_column_more_or_less_makes_a_node_modified(edited: Callable[..., Path]) -> None:
    def edit(document: dict[str, Any]) -> None:
        del document["nodes"]["model.shop.customers"]["columns"]["last_name"]

    assert changes(read_manifest(edited(edit)), read_manifest(PRODUCTION)) == [
        ("model.shop.customers", "modified")
    ]


def test_what_columns_carry_besides_name_type_and_description_changes_nothing(
    edited: Callable[..., Path],
) -> None:
    def edit(document: dict[str, Any]) -> None:
        column = document["nodes"]["model.shop.orders"]["columns"]["status"]
        column["meta"] = {"owner": "finance"}
        column["tags"] = ["pii"]
        document["nodes"]["model.shop.orders"]["description"] = "Reworded."

    assert changed_nodes(read_manifest(edited(edit)), read_manifest(PRODUCTION)) == []


def test_a_changed_ephemeral_model_is_listed_without_a_relation(
    edited: Callable[..., Path],
) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["nodes"]["model.shop.int_order_payments"]["checksum"]["checksum"] = "1" * 64

    changed = changed_nodes(read_manifest(edited(edit)), read_manifest(PRODUCTION))
    assert [(c.node.unique_id, c.change, c.node.relation) for c in changed] == [
        ("model.shop.int_order_payments", "modified", None)
    ]


# ---- relations -------------------------------------------------------------------------


def test_the_alias_names_the_table_and_the_name_stands_in_for_a_missing_one(
    edited: Callable[..., Path],
) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["nodes"]["model.shop.orders"]["alias"] = "fct_orders"
        document["nodes"]["model.shop.customers"]["alias"] = None
        del document["nodes"]["seed.shop.raw_orders"]["alias"]

    nodes = read_manifest(edited(edit)).nodes
    assert nodes["model.shop.orders"].relation == "analytics.shop_marts.fct_orders"
    assert nodes["model.shop.customers"].relation == "analytics.shop_marts.customers"
    assert nodes["seed.shop.raw_orders"].relation == "analytics.shop_raw.raw_orders"


def test_an_ephemeral_model_needs_no_database_or_schema(edited: Callable[..., Path]) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["nodes"]["model.shop.int_order_payments"].update(database=None, schema=None)

    node = read_manifest(edited(edit)).nodes["model.shop.int_order_payments"]
    assert (node.name, node.relation) == ("int_order_payments", None)


# ---- errors ----------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(text)
    return path


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "target" / "manifest.json"
    with pytest.raises(ManifestError) as raised:
        read_manifest(path)
    assert str(raised.value) == f"dbt manifest {path}: cannot be read (no such file)"


def test_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as raised:
        read_manifest(tmp_path)
    assert str(raised.value) == f"dbt manifest {tmp_path}: cannot be read (a directory)"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            '{"metadata": {',
            "not JSON (Expecting property name enclosed in double quotes at line 1 column 15)",
        ),
        ("", "not JSON (Expecting value at line 1 column 1)"),
        ("[1, 2]", "not a dbt manifest (the JSON is an array, not an object)"),
        ('"manifest"', "not a dbt manifest (the JSON is a string, not an object)"),
        ('{"nodes": {}}', "not a dbt manifest (no metadata.dbt_schema_version)"),
        (
            '{"metadata": {"dbt_version": "1.8.0"}, "nodes": {}}',
            "not a dbt manifest (no metadata.dbt_schema_version)",
        ),
        (
            '{"metadata": {"dbt_schema_version": '
            '"https://schemas.getdbt.com/dbt/run-results/v6.json"}, "results": []}',
            "not a dbt manifest (metadata.dbt_schema_version is "
            "'https://schemas.getdbt.com/dbt/run-results/v6.json', not a manifest schema)",
        ),
        (
            '{"metadata": {"dbt_schema_version": '
            '"https://schemas.getdbt.com/dbt/manifest/v12.json"}, "nodes": []}',
            'not a dbt manifest (no "nodes" object)',
        ),
    ],
)
def test_not_json_or_not_a_manifest(tmp_path: Path, text: str, why: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ManifestError) as raised:
        read_manifest(path)
    assert str(raised.value) == f"dbt manifest {path}: {why}"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(b'{"metadata": "\xff\xfe\xfa"}')
    with pytest.raises(ManifestError) as raised:
        read_manifest(path)
    assert str(raised.value) == f"dbt manifest {path}: not JSON (not UTF-8 text)"


@pytest.mark.parametrize("version", [9, 13])
def test_a_schema_version_outside_v10_to_v12(edited: Callable[..., Path], version: int) -> None:
    def edit(document: dict[str, Any]) -> None:
        url = f"https://schemas.getdbt.com/dbt/manifest/v{version}.json"
        document["metadata"]["dbt_schema_version"] = url

    path = edited(edit)
    with pytest.raises(ManifestError) as raised:
        read_manifest(path)
    assert str(raised.value) == (
        f"dbt manifest {path}: manifest schema v{version} is not read; secoda-pipelines "
        "reads v10 to v12 (dbt 1.6 and later)"
    )


@pytest.mark.parametrize(
    ("unique_id", "field", "value"),
    [
        ("model.shop.orders", "schema", None),
        ("model.shop.orders", "schema", ""),
        ("seed.shop.raw_customers", "database", None),
        ("snapshot.shop.orders_snapshot", "name", None),
        ("model.shop.int_order_payments", "name", None),  # ephemeral: still has a name
    ],
)
def test_a_node_without_part_of_its_relation(
    edited: Callable[..., Path], unique_id: str, field: str, value: object
) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["nodes"][unique_id][field] = value

    path = edited(edit)
    with pytest.raises(ManifestError) as raised:
        read_manifest(path)
    assert str(raised.value) == f"dbt manifest {path}: {unique_id} has no {field}"


def test_a_test_without_a_schema_is_no_error(edited: Callable[..., Path]) -> None:
    """Only models, snapshots and seeds are read; tests and the rest are left alone."""

    def edit(document: dict[str, Any]) -> None:
        for node in document["nodes"].values():
            if node["resource_type"] == "test":
                node.update(schema=None, database=None)

    assert read_manifest(edited(edit)).nodes == read_manifest(PRODUCTION).nodes


def test_every_error_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n"metadata": {\n\n')
    with pytest.raises(ManifestError) as raised:
        read_manifest(path)
    assert "\n" not in str(raised.value) and str(path) in str(raised.value)
    assert isinstance(raised.value, ValueError)


# ---- finding a node --------------------------------------------------------------------


def test_find_node_by_unique_id_or_name() -> None:
    read = read_manifest(PRODUCTION)
    assert find_node(read, "model.shop.stg_orders") == read.nodes["model.shop.stg_orders"]
    assert find_node(read, "stg_orders") == read.nodes["model.shop.stg_orders"]
    assert find_node(read, "orders_snapshot") == read.nodes["snapshot.shop.orders_snapshot"]
    assert find_node(read, "raw_payments") == read.nodes["seed.shop.raw_payments"]
    assert find_node(read, "int_order_payments") == read.nodes["model.shop.int_order_payments"]
    assert find_node(read, "analytics.shop_staging.stg_orders") is None  # a relation: no
    assert find_node(read, "model.shop.nope") is None
    assert find_node(read, "Stg_Orders") is None  # names are exact


def copy_node(document: dict[str, Any], unique_id: str, new_id: str, **fields: Any) -> None:
    node = {**document["nodes"][unique_id], "unique_id": new_id, **fields}
    document["nodes"][new_id] = node


def test_find_node_prefers_a_model_to_a_snapshot_or_seed_of_the_same_name(
    edited: Callable[..., Path],
) -> None:
    def edit(document: dict[str, Any]) -> None:
        copy_node(document, "seed.shop.raw_orders", "seed.shop.orders", name="orders")
        copy_node(
            document, "seed.shop.raw_orders", "seed.shop.orders_snapshot", name="orders_snapshot"
        )

    read = read_manifest(edited(edit))
    assert find_node(read, "orders") == read.nodes["model.shop.orders"]
    assert find_node(read, "orders_snapshot") == read.nodes["snapshot.shop.orders_snapshot"]


def test_find_node_refuses_a_name_two_packages_share(edited: Callable[..., Path]) -> None:
    def edit(document: dict[str, Any]) -> None:
        copy_node(document, "model.shop.orders", "model.finance.orders", package_name="finance")

    path = edited(edit)
    read = read_manifest(path)
    with pytest.raises(ManifestError) as raised:
        find_node(read, "orders")
    assert str(raised.value) == (
        f"dbt manifest {path}: 'orders' names 2 models (model.finance.orders, "
        "model.shop.orders); give the unique id"
    )
    assert find_node(read, "model.finance.orders") == read.nodes["model.finance.orders"]
    assert isinstance(find_node(read, "customers"), DbtNode)
