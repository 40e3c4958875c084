"""Every column of every asset carries a description in its `dagster/column_schema` (issue
24): materialized against the sandbox as the demo does, each asset's latest
materialization describes each column of its stored table."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from secoda_pipelines.defs.column_descriptions import COLUMN_DESCRIPTIONS
from secoda_pipelines.sandbox import Sandbox
from secoda_pipelines.store import choose_warehouse
from secoda_pipelines_tests.helpers import materialize_demo


def test_every_asset_has_descriptions_and_no_stale_entries() -> None:
    from secoda_pipelines.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert set(COLUMN_DESCRIPTIONS) == keys


def test_every_stored_column_is_described(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    materialize_demo(sandbox, tmp_path, monkeypatch, None)
    from secoda_pipelines.definitions import defs

    warehouse = choose_warehouse()
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
    assert undescribed == {}
