"""Coverage targets: the targets file's checks and each target's status, against histories
of reports/documentation_coverage rows built by hand."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from secoda_pipelines.catalog.reports.coverage_targets import (
    METRICS,
    TARGET_COLUMNS,
    TARGET_DTYPES,
    CoverageTarget,
    TargetsFileError,
    parse_targets,
    read_targets,
    target_status_history,
    target_statuses,
)

JAN = {day: date(2026, 1, day) for day in range(1, 32)}


def day(value: date) -> pd.Timestamp:
    return pd.Timestamp(value).tz_localize("UTC")


def coverage_row(
    snapshot: date,
    resources: int,
    *,
    kind: str = "table",
    integration_id: str = "snowflake",
    database: str = "analytics",
    schema: str = "marts",
    **counts: int,
) -> dict:
    """Returns one reports/documentation_coverage row; metrics not given count 0."""
    row = {
        "snapshot_date": day(snapshot),
        "integration_id": integration_id,
        "integration_name": integration_id.title(),
        "database": database,
        "schema": schema,
        "kind": kind,
        "resources": resources,
        "pii": 0,
    }
    row.update({metric: counts.get(metric, 0) for metric in METRICS})
    return row


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows))


def tables_described(
    target: float = 0.8, start: date = JAN[1], deadline: date = JAN[11], **scope: str
) -> CoverageTarget:
    return CoverageTarget("tables described", "described", "table", scope, target, start, deadline)


# --- statuses -----------------------------------------------------------------------------


def test_on_track_row_has_every_column_as_worked_out_by_hand():
    # Jan 1 (start): 2 of 10 described. Jan 6, half way to the Jan 11 deadline, the line is
    # at 0.2 + (0.8 - 0.2) * 5/10 = 0.5, and 5 of 10 are described.
    history = frame(coverage_row(JAN[1], 10, described=2), coverage_row(JAN[6], 10, described=5))

    statuses = target_statuses([tables_described()], history, JAN[6])

    assert list(statuses.columns) == list(TARGET_COLUMNS)
    assert statuses.dtypes.astype(str).to_dict() == TARGET_DTYPES
    assert statuses.to_dict("records") == [
        {
            "snapshot_date": day(JAN[6]),
            "name": "tables described",
            "metric": "described",
            "kind": "table",
            "scope": "{}",
            "target": 0.8,
            "start": day(JAN[1]),
            "deadline": day(JAN[11]),
            "baseline": 0.2,
            "actual": 0.5,
            "expected_today": pytest.approx(0.5),
            "status": "on_track",
        }
    ]


@pytest.mark.parametrize(
    ("today", "described_today", "expected_today", "status"),
    [
        (JAN[6], 4, 0.5, "behind"),  # the line is at 0.5, 0.4 is under it
        (JAN[8], 8, 0.62, "met"),  # 0.8 reached before the deadline
        (JAN[11], 7, 0.8, "behind"),  # the deadline day itself is not past it
        (JAN[12], 7, 0.8, "missed"),  # past the deadline, not met
        (JAN[20], 9, 0.8, "met"),  # past the deadline but met: met
        (JAN[1], 2, 0.2, "on_track"),  # on the start day the line is at the baseline
    ],
)
def test_status_at_chosen_dates(today, described_today, expected_today, status):
    history = frame(
        coverage_row(JAN[1], 10, described=2), coverage_row(today, 10, described=described_today)
    )

    [row] = target_statuses([tables_described()], history, today).to_dict("records")

    assert row["baseline"] == 0.2
    assert row["actual"] == described_today / 10
    assert row["expected_today"] == pytest.approx(expected_today)
    assert row["status"] == status


def test_start_before_the_first_snapshot_takes_the_first_snapshots_share_as_baseline():
    # Start Dec 22, deadline Jan 11 (20 days); the first snapshot (Jan 1) has 0.2. On Jan 6,
    # 15 days in, the line is at 0.2 + 0.6 * 15/20 = 0.65: 0.6 is behind.
    history = frame(
        coverage_row(JAN[1], 10, described=2),
        coverage_row(JAN[3], 10, described=3),
        coverage_row(JAN[6], 10, described=6),
    )
    target = tables_described(start=date(2025, 12, 22))

    [row] = target_statuses([target], history, JAN[6]).to_dict("records")

    assert (row["baseline"], row["actual"]) == (0.2, 0.6)
    assert row["expected_today"] == pytest.approx(0.65)
    assert row["status"] == "behind"


def test_baseline_is_the_first_snapshot_on_or_after_start_not_an_earlier_one():
    history = frame(
        coverage_row(JAN[1], 10, described=1),
        coverage_row(JAN[4], 10, described=3),
        coverage_row(JAN[5], 10, described=4),
        coverage_row(JAN[8], 10, described=6),
    )
    # Start Jan 3: Jan 4 is the first snapshot on or after it (Jan 1 is before).
    target = tables_described(start=JAN[3], deadline=JAN[13])

    [row] = target_statuses([target], history, JAN[8]).to_dict("records")

    assert row["baseline"] == 0.3
    assert row["expected_today"] == pytest.approx(0.3 + 0.5 * 5 / 10)
    assert row["status"] == "on_track"


def test_start_with_no_snapshot_since_takes_todays_share_and_the_line_is_flat():
    history = frame(coverage_row(JAN[1], 10, described=5), coverage_row(JAN[6], 10, described=3))
    starts_today = tables_described(start=JAN[6], deadline=JAN[16])
    starts_later = CoverageTarget(
        "later", "described", "table", {}, 0.8, start=JAN[10], deadline=JAN[20]
    )

    rows = target_statuses([starts_today, starts_later], history, JAN[6]).to_dict("records")

    assert [(r["baseline"], r["actual"], r["expected_today"], r["status"]) for r in rows] == [
        (0.3, 0.3, 0.3, "on_track"),
        (0.3, 0.3, 0.3, "on_track"),
    ]


def test_scope_filters_by_integration_database_and_schema():
    history = frame(
        coverage_row(JAN[5], 10, with_owners=1),
        coverage_row(JAN[5], 10, schema="staging", with_owners=3),
        coverage_row(JAN[5], 20, database="raw", schema="marts", with_owners=5),
        coverage_row(JAN[5], 40, integration_id="bigquery", with_owners=40),
        # columns never count for a table target
        coverage_row(JAN[5], 100, kind="column", with_owners=100),
    )

    def owners(name: str, **scope: str) -> CoverageTarget:
        # starting today: the line is at the baseline, today's share
        return CoverageTarget(name, "with_owners", "table", scope, 0.9, JAN[5], JAN[30])

    targets = [
        owners("workspace"),
        owners("snowflake", integration_id="snowflake"),
        owners("analytics", database="ANALYTICS"),  # database and schema: any case
        owners("marts", schema="marts"),
        owners("snowflake raw marts", integration_id="snowflake", database="raw", schema="marts"),
        owners("bigquery", integration_id="bigquery"),
    ]

    statuses = target_statuses(targets, history, JAN[5])

    assert dict(zip(statuses["name"], statuses["actual"], strict=True)) == {
        "workspace": (1 + 3 + 5 + 40) / 80,
        "snowflake": (1 + 3 + 5) / 40,
        "analytics": (1 + 3 + 40) / 60,
        "marts": (1 + 5 + 40) / 70,
        "snowflake raw marts": 5 / 20,
        "bigquery": 1.0,
    }
    assert statuses["scope"].tolist() == [
        "{}",
        '{"integration_id":"snowflake"}',
        '{"database":"ANALYTICS"}',
        '{"schema":"marts"}',
        '{"database":"raw","integration_id":"snowflake","schema":"marts"}',
        '{"integration_id":"bigquery"}',
    ]
    assert statuses["status"].tolist() == ["on_track"] * 5 + ["met"]


def test_kinds_are_measured_apart():
    history = frame(
        coverage_row(JAN[5], 10, kind="table", with_tags=9, verified=2),
        coverage_row(JAN[5], 50, kind="column", with_tags=10, verified=50),
    )
    targets = [
        CoverageTarget("table tags", "with_tags", "table", {}, 0.8, JAN[5], JAN[15]),
        CoverageTarget("column tags", "with_tags", "column", {}, 0.8, JAN[5], JAN[15]),
        CoverageTarget("table verified", "verified", "table", {}, 0.8, JAN[1], JAN[3]),
        CoverageTarget("column verified", "verified", "column", {}, 0.8, JAN[1], JAN[3]),
    ]

    statuses = target_statuses(targets, history, JAN[5])

    assert statuses[["name", "actual", "status"]].values.tolist() == [
        ["table tags", 0.9, "met"],
        ["column tags", 0.2, "on_track"],
        ["table verified", 0.2, "missed"],
        ["column verified", 1.0, "met"],
    ]


def test_a_scope_without_resources_has_no_share_and_is_behind_then_missed():
    history = frame(coverage_row(JAN[5], 10, described=10))
    typo = tables_described(schema="mrts")

    before, after = (target_statuses([typo], history, today).iloc[0] for today in (JAN[5], JAN[12]))

    assert math.isnan(before["actual"]) and math.isnan(before["baseline"])
    assert before["status"] == "behind"
    assert after["status"] == "missed"


def test_empty_history_is_no_history():
    statuses = target_statuses([tables_described()], pd.DataFrame(), JAN[5])

    assert statuses.dtypes.astype(str).to_dict() == TARGET_DTYPES
    assert math.isnan(statuses.loc[0, "actual"])
    assert statuses.loc[0, "status"] == "behind"
    assert target_status_history([tables_described()], pd.DataFrame()).empty


def test_no_targets_give_an_empty_report_with_its_columns():
    history = frame(coverage_row(JAN[5], 10, described=10))

    statuses = target_statuses([], history, JAN[5])

    assert statuses.empty
    assert statuses.dtypes.astype(str).to_dict() == TARGET_DTYPES


def test_history_without_a_column_the_rule_reads_is_refused():
    history = frame(coverage_row(JAN[5], 10)).drop(columns=["with_tags"])
    target = CoverageTarget("tags", "with_tags", "table", {}, 0.8, JAN[1], JAN[11])

    with pytest.raises(KeyError, match=r"lacks the column\(s\) \['with_tags'\]"):
        target_statuses([target], history, JAN[5])


def test_snapshot_dates_as_dates_or_text_read_the_same():
    rows = [coverage_row(JAN[1], 10, described=2), coverage_row(JAN[6], 10, described=5)]
    as_dates = frame(*rows).assign(snapshot_date=[JAN[1], JAN[6]])
    as_text = frame(*rows).assign(snapshot_date=["2026-01-01", "2026-01-06"])

    for history in (as_dates, as_text):
        [row] = target_statuses([tables_described()], history, JAN[6]).to_dict("records")
        assert (row["baseline"], row["actual"], row["status"]) == (0.2, 0.5, "on_track")


def test_history_of_statuses_measures_each_day_with_the_snapshots_up_to_it():
    history = frame(
        coverage_row(JAN[3], 10, described=2),
        coverage_row(JAN[1], 10, described=1),  # before start: not the baseline
        coverage_row(JAN[6], 10, described=4),
        coverage_row(JAN[9], 10, described=8),
        coverage_row(JAN[13], 10, described=7),
        coverage_row(JAN[13], 10, kind="column", described=0),
    )
    tables = tables_described(start=JAN[3], deadline=JAN[11])  # 8 days, from 0.2 to 0.8
    columns = CoverageTarget("columns", "described", "column", {}, 0.5, JAN[1], JAN[11])

    statuses = target_status_history([tables, columns], history)

    assert statuses.dtypes.astype(str).to_dict() == TARGET_DTYPES
    table_rows = statuses[statuses["name"] == "tables described"]
    assert table_rows["snapshot_date"].tolist() == [day(JAN[d]) for d in (1, 3, 6, 9, 13)]
    assert table_rows["actual"].tolist() == [0.1, 0.2, 0.4, 0.8, 0.7]
    # Jan 1 is before start and before any snapshot since: its own share, a flat line.
    assert table_rows["baseline"].tolist() == [0.1, 0.2, 0.2, 0.2, 0.2]
    assert table_rows["expected_today"].tolist() == pytest.approx(
        [0.1, 0.2, 0.2 + 0.6 * 3 / 8, 0.2 + 0.6 * 6 / 8, 0.8]
    )
    assert table_rows["status"].tolist() == ["on_track", "on_track", "behind", "met", "missed"]
    column_rows = statuses[statuses["name"] == "columns"]
    assert column_rows["status"].tolist() == ["behind", "behind", "behind", "behind", "missed"]
    assert column_rows["actual"].isna().tolist() == [True, True, True, True, False]
    # rows by day, then in the targets' order
    assert statuses["name"].tolist()[:4] == [
        "tables described",
        "columns",
        "tables described",
        "columns",
    ]


def test_history_of_statuses_ends_with_what_target_statuses_gives_that_day():
    history = frame(
        coverage_row(JAN[2], 10, described=3),
        coverage_row(JAN[4], 10, described=4),
        coverage_row(JAN[7], 10, described=5),
    )
    target = tables_described(start=JAN[3])

    last = target_status_history([target], history).tail(1).reset_index(drop=True)

    pd.testing.assert_frame_equal(last, target_statuses([target], history, JAN[7]))


# --- the targets file ---------------------------------------------------------------------

GOOD = """
targets:
  - name: tables described
    metric: described
    kind: table
    scope: {integration_id: 123, database: analytics}
    target: 0.8
    start: 2026-01-01
    deadline: '2026-06-30'
  - name: column owners
    metric: with_owners
    kind: column
    target: 1
    start: '2026-02-01'
    deadline: 2026-03-01
"""


def test_a_good_file_gives_its_targets_in_order(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text(GOOD, encoding="utf-8")

    assert read_targets(path) == [
        CoverageTarget(
            "tables described",
            "described",
            "table",
            {"integration_id": "123", "database": "analytics"},
            0.8,
            date(2026, 1, 1),
            date(2026, 6, 30),
        ),
        CoverageTarget(
            "column owners", "with_owners", "column", {}, 1.0, date(2026, 2, 1), date(2026, 3, 1)
        ),
    ]


def test_an_empty_list_is_no_targets():
    assert parse_targets("targets: []\n", "targets.yaml") == []


BAD = """
targets:
  - name: tables described
    metric: descibed
    kind: tables
    scope: {integration_id: snowflake, schema: [marts]}
    target: 80
    start: 2026-01-01
    deadlin: 2026-06-30
  - name: owners
    metric: with_owners
    kind: column
    scope: marts
    target: '0.5'
    start: 2026-13-01
    deadline: 2026-03-01
  - metric: verified
    kind: table
    target: 0.5
    start: 2026-03-01
    deadline: 2026-03-01
    team: governance
  - name: owners
    metric: with_owners
    kind: table
    scope: {project: x}
    target: true
    start: 2026-01-01 10:00:00
    deadline: 2026-02-01
  - just a string
"""


def test_a_bad_file_names_every_entry_field_and_what_would_be_right():
    with pytest.raises(TargetsFileError) as raised:
        parse_targets(BAD, "targets.yaml")

    assert raised.value.errors == [
        "targets.yaml: targets[0] ('tables described'): missing field 'deadline' "
        "(a date, YYYY-MM-DD)",
        "targets.yaml: targets[0] ('tables described'): unknown field 'deadlin' "
        "(did you mean 'deadline'?): expected only name, metric, kind, scope, target, start, "
        "deadline",
        "targets.yaml: targets[0] ('tables described'): metric 'descibed' is not a metric: "
        "expected one of described, with_description, with_definition, with_owners, "
        "with_tags, verified",
        "targets.yaml: targets[0] ('tables described'): kind 'tables' is not a kind: "
        "expected one of table, column",
        "targets.yaml: targets[0] ('tables described'): scope schema ['marts'] is not a name "
        "or id: expected a mapping of some of integration_id, database, schema to a name or id",
        "targets.yaml: targets[0] ('tables described'): target 80 is not a number from 0 to "
        "1: expected a share (0.8 for 80%)",
        "targets.yaml: targets[1] ('owners'): scope is a text: expected a mapping of some of "
        "integration_id, database, schema to a name or id",
        "targets.yaml: targets[1] ('owners'): target '0.5' is not a number from 0 to 1: "
        "expected a share (0.8 for 80%)",
        "targets.yaml: targets[1] ('owners'): start '2026-13-01' is not a date: expected "
        "YYYY-MM-DD (e.g. 2026-03-31)",
        "targets.yaml: targets[2]: missing field 'name' (a non-empty text naming the target)",
        "targets.yaml: targets[2]: unknown field 'team': expected only name, metric, kind, "
        "scope, target, start, deadline",
        "targets.yaml: targets[2]: deadline 2026-03-01 is not after start 2026-03-01: the "
        "deadline must be a later date",
        "targets.yaml: targets[3] ('owners'): scope has unknown key 'project': expected a "
        "mapping of some of integration_id, database, schema to a name or id",
        "targets.yaml: targets[3] ('owners'): target True is not a number from 0 to 1: "
        "expected a share (0.8 for 80%)",
        "targets.yaml: targets[3] ('owners'): start '2026-01-01 10:00:00' is not a date: "
        "expected YYYY-MM-DD (e.g. 2026-03-31)",
        "targets.yaml: targets[3] ('owners'): name 'owners' is already used by targets[1]: "
        "each target needs a name of its own",
        "targets.yaml: targets[4]: is a text: expected a mapping of name, metric, kind, "
        "scope, target, start, deadline (scope optional)",
    ]
    assert str(raised.value) == "\n".join(raised.value.errors)
    assert isinstance(raised.value, ValueError)


def test_a_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere.yaml"

    with pytest.raises(TargetsFileError) as raised:
        read_targets(path)

    assert raised.value.errors == [
        f"{path}: no such file: SECODA_COVERAGE_TARGETS must name a YAML file of targets "
        "(or be unset for no targets)"
    ]


def test_text_that_is_not_yaml_is_named_with_where(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text("targets:\n  - name: [unclosed\n", encoding="utf-8")

    with pytest.raises(TargetsFileError) as raised:
        read_targets(path)

    assert raised.value.errors == [
        f"{path}: not YAML at line 3, column 1 (expected ',' or ']', but got '<stream end>'): "
        "expected a mapping with a 'targets' list"
    ]


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        (
            "",
            [
                "f.yaml: expected a mapping with a 'targets' list, e.g. 'targets: []', "
                "got an empty file"
            ],
        ),
        (
            "- name: x\n",
            ["f.yaml: expected a mapping with a 'targets' list, e.g. 'targets: []', got a list"],
        ),
        (
            "target: []\n",
            [
                "f.yaml: no 'targets' key: expected a mapping with a 'targets' list, e.g. "
                "'targets: []'",
                "f.yaml: unknown top-level key 'target': expected only 'targets'",
            ],
        ),
        (
            "targets:\n",
            [
                "f.yaml: 'targets' is a null: expected a mapping with a 'targets' list, e.g. "
                "'targets: []'"
            ],
        ),
    ],
)
def test_a_file_that_is_not_a_mapping_with_a_targets_list_is_refused(text, errors):
    with pytest.raises(TargetsFileError) as raised:
        parse_targets(text, "f.yaml")

    assert raised.value.errors == errors
