"""Every asset has column descriptions (issue 24). That each materialization describes each
column it stored is checked in test_column_types.py, on the same demo materialization as
the stored types."""

from __future__ import annotations

from secoda_pipelines.defs.column_descriptions import COLUMN_DESCRIPTIONS


def test_every_asset_has_descriptions_and_no_stale_entries() -> None:
    from secoda_pipelines.definitions import defs

    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert set(COLUMN_DESCRIPTIONS) == keys
