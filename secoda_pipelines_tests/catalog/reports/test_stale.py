"""The stale-dashboard rule of SPEC B, on frames built from API rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from secoda_pipelines.catalog.reports.stale import stale_dashboards, stale_summary
from secoda_pipelines_tests.catalog.frames.schema_frames import dashboards_frame
from secoda_pipelines_tests.helpers import duckdb_round_trip

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

STALE_COLUMNS = [
    "id",
    "title",
    "integration_id",
    "external_usage",
    "internal_usage",
    "external_users_count",
    "internal_users_count",
    "external_updated_at",
    "days_since_external_update",
    "url",
    "owners",
    "days_without_views",
    "last_viewed_on",
]


def iso(moment: datetime) -> str:
    return moment.isoformat()


def dashboard(id_: str, **fields: Any) -> dict[str, Any]:
    """A dashboard row that is stale unless ``fields`` say otherwise."""
    row: dict[str, Any] = {
        "id": id_,
        "title": f"Dashboard {id_}",
        "integration": "bi",
        "external_usage": 0,
        "internal_usage": None,
        "external_users": None,
        "internal_users": [],
        "external_updated_at": iso(NOW - timedelta(days=200)),
    }
    row.update(fields)
    return row


def stale_ids(rows: list[dict[str, Any]], days: int = 90) -> list[str]:
    return stale_dashboards(dashboards_frame(rows), NOW, days)["id"].tolist()


# --- stale dashboards --------------------------------------------------------------------


def test_a_dashboard_meeting_every_clause_is_stale_with_its_facts() -> None:
    stale = stale_dashboards(
        dashboards_frame([dashboard("d1", url="https://bi/d1", owners=["u1"])]), NOW
    )
    assert stale.columns.tolist() == STALE_COLUMNS
    row = stale.iloc[0]
    assert row["id"] == "d1"
    assert row["title"] == "Dashboard d1"
    assert row["integration_id"] == "bi"
    assert row["external_usage"] == 0
    assert pd.isna(row["internal_usage"])
    assert (row["external_users_count"], row["internal_users_count"]) == (0, 0)
    assert row["external_updated_at"] == pd.Timestamp(NOW - timedelta(days=200))
    assert row["days_since_external_update"] == 200
    assert (row["url"], row["owners"]) == ("https://bi/d1", '["u1"]')


@pytest.mark.parametrize(
    "fields",
    [
        {"external_usage": 1},
        {"internal_usage": "2"},
        {"external_users": ["ann"]},
        {"internal_users": ["bob"]},
        {"external_updated_at": iso(NOW - timedelta(days=10))},
    ],
    ids=["external_usage", "internal_usage", "external_users", "internal_users", "recent"],
)
def test_one_failing_clause_alone_keeps_a_dashboard_fresh(fields: dict[str, Any]) -> None:
    assert stale_ids([dashboard("fresh", **fields), dashboard("stale")]) == ["stale"]


def test_null_and_zero_usage_and_null_or_empty_users_all_count_as_unused() -> None:
    rows = [
        dashboard("a", external_usage=None, internal_usage=None),
        dashboard("b", external_usage=None, internal_usage="0"),
        dashboard("c", external_usage=0, internal_usage=0, external_users=None),
        dashboard("d", external_users=[], internal_users=None, external_updated_at=None),
    ]
    for row in rows[:2]:
        del row["internal_users"]
    stale = stale_dashboards(dashboards_frame(rows), NOW)
    assert stale["id"].tolist() == ["a", "b", "c", "d"]
    assert stale["external_usage"].tolist() == [pd.NA, pd.NA, 0, 0]
    assert stale["internal_usage"].tolist() == [pd.NA, 0, 0, pd.NA]
    assert stale["external_users_count"].tolist() == [0, 0, 0, 0]
    assert stale["internal_users_count"].tolist() == [0, 0, 0, 0]
    assert stale["days_since_external_update"].tolist() == [200, 200, 200, pd.NA]


def test_usage_that_is_not_a_count_is_unknown_and_makes_no_dashboard_stale(
    tmp_path: Path,
) -> None:
    """SPEC B: stale needs both counts null or 0. "n/a", "" or 1.5 is neither: the views are
    unknown, so the dashboard is not stale; a count sent as text ("12") is that count."""
    unknown = ["", "n/a", "1.5", 1.5, True, {"views": 3}]
    rows = [dashboard(f"ext{i}", external_usage=v) for i, v in enumerate(unknown)]
    rows += [dashboard(f"int{i}", internal_usage=v) for i, v in enumerate(unknown)]
    rows += [
        dashboard("text_twelve", external_usage="12"),
        dashboard("text_zero", external_usage="0", internal_usage=" 0 "),
        dashboard("null", external_usage=None, internal_usage=None),
        dashboard("none_string_decoded", external_usage=None),
    ]
    frame = dashboards_frame(rows)
    expected = ["none_string_decoded", "null", "text_zero"]
    assert stale_ids(rows) == expected
    # The same from the table as stored, and from raw API rows without the frame's columns.
    back, _ = duckdb_round_trip(frame, tmp_path / "unknown.duckdb", "dashboards")
    assert stale_dashboards(back, NOW)["id"].tolist() == expected
    raw = pd.DataFrame(rows).rename(columns={"integration": "integration_id"})
    assert stale_dashboards(raw, NOW)["id"].tolist() == expected


def test_exactly_stale_after_days_old_is_not_yet_stale() -> None:
    rows = [
        dashboard("on_boundary", external_updated_at=iso(NOW - timedelta(days=90))),
        dashboard("past", external_updated_at=iso(NOW - timedelta(days=90, seconds=1))),
        dashboard("never", external_updated_at=None),
    ]
    stale = stale_dashboards(dashboards_frame(rows), NOW, 90)
    assert stale["id"].tolist() == ["never", "past"]
    assert stale["days_since_external_update"].tolist() == [pd.NA, 90]


def test_zero_days_makes_anything_updated_before_now_stale() -> None:
    rows = [
        dashboard("now", external_updated_at=iso(NOW)),
        dashboard("second_ago", external_updated_at=iso(NOW - timedelta(seconds=1))),
    ]
    stale = stale_dashboards(dashboards_frame(rows), NOW, 0)
    assert stale["id"].tolist() == ["second_ago"]
    assert stale["days_since_external_update"].tolist() == [0]


def test_naive_timestamps_and_naive_now_are_utc() -> None:
    naive_update = (NOW - timedelta(days=91)).replace(tzinfo=None).isoformat()
    offset_update = (NOW - timedelta(days=89)).astimezone(timezone(timedelta(hours=-5)))
    rows = [
        dashboard("naive", external_updated_at=naive_update),
        dashboard("offset", external_updated_at=offset_update.isoformat()),
    ]
    frame = dashboards_frame(rows)
    aware = stale_dashboards(frame, NOW)
    naive = stale_dashboards(frame, NOW.replace(tzinfo=None))
    assert aware["id"].tolist() == ["naive"]
    pd.testing.assert_frame_equal(aware, naive)
    assert aware["days_since_external_update"].tolist() == [91]


def test_rows_sorted_by_integration_then_title_then_id() -> None:
    rows = [
        dashboard("3", integration="z", title="Alpha"),
        dashboard("2", integration="a", title="Beta"),
        dashboard("9", integration="a", title="Alpha"),
        dashboard("1", integration="a", title="Alpha"),
        dashboard("0", integration=None, title="Alpha"),
    ]
    assert stale_ids(rows) == ["1", "9", "2", "3", "0"]


def test_stale_dtypes_hold_with_and_without_rows() -> None:
    expected = {
        "id": "string",
        "title": "string",
        "integration_id": "string",
        "external_usage": "Int64",
        "internal_usage": "Int64",
        "external_users_count": "int64",
        "internal_users_count": "int64",
        "external_updated_at": "datetime64[ns, UTC]",
        "days_since_external_update": "Int64",
        "url": "string",
        "owners": "string",
        "days_without_views": "Int64",
        "last_viewed_on": "datetime64[ns, UTC]",
    }
    for rows in ([dashboard("d1")], []):
        stale = stale_dashboards(dashboards_frame(rows), NOW)
        assert {name: str(dtype) for name, dtype in stale.dtypes.items()} == expected
    assert len(stale) == 0


def test_negative_stale_after_days_is_refused_naming_the_value() -> None:
    with pytest.raises(ValueError, match="-3"):
        stale_dashboards(dashboards_frame([dashboard("d1")]), NOW, -3)


def test_a_frame_without_the_spec_columns_is_refused_naming_them() -> None:
    frame = dashboards_frame([dashboard("d1")]).drop(columns=["internal_users"])
    with pytest.raises(ValueError, match="internal_users"):
        stale_dashboards(frame, NOW)


def test_the_stale_rule_on_dashboards_read_back_from_duckdb(tmp_path: Path) -> None:
    frame = dashboards_frame(
        [
            dashboard("stale_null_lists"),  # null Int64 usage, null and empty user lists
            dashboard("stale_never_updated", external_updated_at=None, external_usage=None),
            dashboard("fresh_viewer", external_users=["ann"]),  # the list text must parse back
            dashboard("fresh_usage", internal_usage=3),
            # 4-5 hours inside the window: a zone lost on the way back would make it stale.
            dashboard("fresh_recent", external_updated_at=iso(NOW - timedelta(days=89, hours=23))),
        ]
    )
    back, _ = duckdb_round_trip(frame, tmp_path / "frames.duckdb", "dashboards")
    stale = stale_dashboards(back, NOW)
    assert stale["id"].tolist() == ["stale_never_updated", "stale_null_lists"]
    assert stale["external_usage"].tolist() == [pd.NA, 0]
    assert stale["internal_usage"].tolist() == [pd.NA, pd.NA]
    assert stale["days_since_external_update"].tolist() == [pd.NA, 200]
    assert stale["external_updated_at"].iloc[1] == pd.Timestamp(NOW - timedelta(days=200))
    pd.testing.assert_frame_equal(stale, stale_dashboards(frame, NOW))
    summary = stale_summary(stale, back)
    assert summary[["integration_id", "dashboards", "stale"]].values.tolist() == [["bi", 5, 2]]


def test_stale_summary_counts_per_integration() -> None:
    frame = dashboards_frame(
        [
            dashboard("a1", integration="a"),
            dashboard("a2", integration="a", external_usage=3),
            dashboard("a3", integration="a"),
            dashboard("b1", integration="b", internal_users=["x"]),
            dashboard("n1", integration=None),
        ]
    )
    summary = stale_summary(stale_dashboards(frame, NOW), frame)
    assert summary.columns.tolist() == ["integration_id", "dashboards", "stale", "stale_share"]
    assert summary["integration_id"].tolist() == ["a", "b", pd.NA]
    assert summary["dashboards"].tolist() == [3, 1, 1]
    assert summary["stale"].tolist() == [2, 0, 1]
    assert summary["stale_share"].tolist() == pytest.approx([2 / 3, 0.0, 1.0])
    named = stale_summary(stale_dashboards(frame, NOW), frame, {"a": "Tableau", "c": "Looker"})
    assert named.columns.tolist() == ["integration_name", *summary.columns]
    assert named["integration_name"].tolist() == ["Tableau", pd.NA, pd.NA]
    assert named.iloc[:, 1:].equals(summary)
