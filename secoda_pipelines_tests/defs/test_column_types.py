"""Every column of every asset and job report table has a type a user thinks in (issue 25):
declared for exactly the columns that are described, in order, consistent with the report
store's logical types, and true of what each asset really stores."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from secoda_pipelines.defs.column_descriptions import (
    COLUMN_DESCRIPTIONS,
    REPORT_COLUMN_DESCRIPTIONS,
)
from secoda_pipelines.defs.column_types import (
    BOOLEAN,
    COLUMN_TYPES,
    DAY,
    HUMAN_TYPES,
    ID,
    ID_LIST,
    INTEGER,
    NAME_LIST,
    NUMBER,
    REPORT_COLUMN_TYPES,
    SHARE,
    TEXT,
    TIMESTAMP,
)
from secoda_pipelines.sandbox import Sandbox
from secoda_pipelines.store import Warehouse, choose_warehouse
from secoda_pipelines.store import report_tables as store
from secoda_pipelines_tests.helpers import materialize_demo

# The human types each logical report column type may be declared as.
HUMAN_TYPES_OF_STORE_TYPE = {
    store.TEXT: {ID, TEXT},
    store.INT: {INTEGER},
    store.BOOL: {BOOLEAN},
    store.TIMESTAMP: {TIMESTAMP, DAY},
    store.JSON: {ID_LIST, NAME_LIST},
}


def _columns(table: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    return {key: list(columns) for key, columns in table.items()}


def test_asset_types_declare_the_described_columns_in_order() -> None:
    assert _columns(COLUMN_TYPES) == _columns(COLUMN_DESCRIPTIONS)


@pytest.mark.parametrize(
    "declared", [REPORT_COLUMN_TYPES, REPORT_COLUMN_DESCRIPTIONS], ids=["types", "descriptions"]
)
def test_report_declarations_cover_each_report_table_in_order(
    declared: dict[str, dict[str, str]],
) -> None:
    expected = {name: list(table.column_names) for name, table in store.REPORT_TABLES.items()}
    assert _columns(declared) == expected


def test_every_declared_type_is_a_human_type() -> None:
    unknown = {
        f"{key}.{column}": human
        for declared in (COLUMN_TYPES, REPORT_COLUMN_TYPES)
        for key, columns in declared.items()
        for column, human in columns.items()
        if human not in HUMAN_TYPES
    }
    assert unknown == {}


def test_report_types_agree_with_the_store_types() -> None:
    disagreeing = {
        f"{name}.{column}": (logical, REPORT_COLUMN_TYPES[name].get(column))
        for name, table in store.REPORT_TABLES.items()
        for column, logical in table.columns
        if REPORT_COLUMN_TYPES[name].get(column) not in HUMAN_TYPES_OF_STORE_TYPE[logical]
    }
    assert disagreeing == {}


def test_no_description_is_blank() -> None:
    blank = [
        f"{key}.{column}"
        for described in (COLUMN_DESCRIPTIONS, REPORT_COLUMN_DESCRIPTIONS)
        for key, columns in described.items()
        for column, text in columns.items()
        if not isinstance(text, str) or not text.strip()
    ]
    assert blank == []


def _is_list_text(value: object) -> bool:
    if isinstance(value, list | tuple | np.ndarray):
        return True
    if not isinstance(value, str):
        return False
    try:
        return isinstance(json.loads(value), list)
    except ValueError:
        return False


def _bad_values(values: pd.Series, fits) -> list[object]:
    """Returns up to 3 of the non-null `values` that `fits` refuses."""
    return [value for value in values if not fits(value)][:3]


def _mismatch(column: pd.Series, human: str) -> str | None:
    """Returns why the stored `column` is not of the declared `human` type, or None. A
    column without values passes when its dtype is object (nothing tells its type)."""
    dtype = column.dtype
    values = column[column.notna()]
    if values.empty and pd.api.types.is_object_dtype(dtype):
        return None
    is_text_dtype = pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
    if human in (ID, TEXT):
        bad = _bad_values(values, lambda v: isinstance(v, str))
        if not is_text_dtype or bad:
            return f"dtype {dtype}, values {bad}: expected text"
    elif human in (ID_LIST, NAME_LIST):
        bad = _bad_values(values, _is_list_text)
        if not is_text_dtype or bad:
            return f"dtype {dtype}, values {bad}: expected JSON lists"
    elif human == INTEGER:
        if not pd.api.types.is_integer_dtype(dtype):
            return f"dtype {dtype}: expected an integer dtype"
    elif human in (NUMBER, SHARE):
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            return f"dtype {dtype}: expected a numeric dtype"
        if human == SHARE and not values.between(0, 1).all():
            return f"values {values[~values.between(0, 1)].tolist()[:3]}: expected 0 to 1"
    elif human == BOOLEAN:
        if pd.api.types.is_object_dtype(dtype):
            bad = _bad_values(values, lambda v: isinstance(v, bool | np.bool_))
            if bad:
                return f"dtype object, values {bad}: expected booleans"
        elif not pd.api.types.is_bool_dtype(dtype):
            return f"dtype {dtype}: expected bool or boolean"
    elif human in (TIMESTAMP, DAY):
        if not pd.api.types.is_datetime64_any_dtype(dtype):
            return f"dtype {dtype}: expected datetime64"
        if human == DAY and not (values == values.dt.normalize()).all():
            return f"values {values[values != values.dt.normalize()].tolist()[:3]}: not days"
    return None


def _undescribed(defs: dg.Definitions, warehouse: Warehouse) -> dict[str, list[str]]:
    """Returns, per asset, the columns its latest materialization leaves undescribed;
    asserts that each asset was materialized and that its schema names the stored columns."""
    undescribed: dict[str, list[str]] = {}
    with dg.DagsterInstance.get() as instance:
        for key in sorted(defs.resolve_asset_graph().get_all_asset_keys()):
            event = instance.get_latest_materialization_event(key)
            assert event is not None, f"{key.to_user_string()} was not materialized"
            materialization = event.asset_materialization
            assert materialization is not None
            schema = materialization.metadata["dagster/column_schema"].value
            stored = warehouse.read_table(*key.path)
            named = [column.name for column in schema.columns]
            assert named == [str(c) for c in stored.columns], key.to_user_string()
            missing = [c.name for c in schema.columns if not (c.description or "").strip()]
            if missing:
                undescribed[key.to_user_string()] = missing
    return undescribed


def test_each_stored_column_holds_its_declared_type_and_is_described(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One demo materialization for both checks: it is the slow part.
    materialize_demo(sandbox, tmp_path, monkeypatch, None)
    from secoda_pipelines.definitions import defs

    assert _undescribed(defs, choose_warehouse()) == {}

    warehouse = choose_warehouse()
    mismatches: dict[str, str] = {}
    for key in sorted(defs.resolve_asset_graph().get_all_asset_keys()):
        name = key.to_user_string()
        stored = warehouse.read_table(*key.path)
        declared = COLUMN_TYPES[name]
        if not len(stored.columns):
            mismatches[name] = "no stored table"
            continue
        for column in stored.columns:
            if column not in declared:
                mismatches[f"{name}.{column}"] = "stored, but has no declared type"
                continue
            problem = _mismatch(stored[column], declared[column])
            if problem:
                mismatches[f"{name}.{column} ({declared[column]})"] = problem
        for column in declared:
            if column not in stored.columns:
                mismatches[f"{name}.{column}"] = "declared, but not stored"
    assert mismatches == {}
