"""`reports/adoption_monthly` materialized month by month against the sandbox."""

from __future__ import annotations

import dagster as dg

from secoda_pipelines.defs.assets.catalog import catalog_assets
from secoda_pipelines.defs.assets.reports import adoption_monthly_report
from secoda_pipelines.store import choose_warehouse
from secoda_pipelines_tests.helpers import api_rows, independent_adoption, query

READS = [dg.AssetKey(["secoda", name]) for name in ("question_replies", "questions", "users")]
MONTHS = ("2025-08-01", "2025-09-01", "2025-10-01")


def test_each_month_holds_the_rule_applied_to_its_replies(sandbox, resources, instance, warehouse):
    assert dg.materialize(
        catalog_assets, selection=READS, resources=resources, instance=instance
    ).success
    for month in MONTHS:
        result = dg.materialize(
            [*catalog_assets, adoption_monthly_report],
            selection=[adoption_monthly_report.key],
            partition_key=month,
            resources=resources,
            instance=instance,
        )
        assert result.success, month
    replies = api_rows(sandbox, "question/replies/")
    questions = api_rows(sandbox, "question/questions/")
    users = api_rows(sandbox, "user/")
    report = query(warehouse, "SELECT * FROM reports.adoption_monthly")
    assert sorted(report["month"].dt.strftime("%Y-%m-%d").unique()) == list(MONTHS)
    answers = {q.get("answer") for q in questions}
    for month in MONTHS:
        in_month = [r for r in replies if r["created_at"][:7] == month[:7]]
        expected = independent_adoption(in_month, questions, users)
        rows = report[report["month"].dt.strftime("%Y-%m-%d") == month]
        got = {r.user_id: (r.email, r.replies, r.accepted_answers) for r in rows.itertuples()}
        assert got and got == expected, month
        assert (rows["acceptance_rate"] == rows["accepted_answers"] / rows["replies"]).all()
        [record] = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=adoption_monthly_report.key, asset_partitions=[month]),
            limit=1,
        ).records
        metadata = record.asset_materialization.metadata
        accepted = sum(
            1 for r in in_month if r.get("accepted_answer") is True or r["id"] in answers
        )
        assert metadata["replies"].value == len(in_month)
        assert metadata["accepted_answers"].value == accepted
        assert metadata["acceptance_rate"].value == round(accepted / len(in_month), 4)
        assert metadata["month"].value == month


def test_a_month_without_replies_is_an_empty_partition_not_an_error(
    sandbox, resources, instance, warehouse
):
    assert dg.materialize(
        catalog_assets, selection=READS, resources=resources, instance=instance
    ).success
    result = dg.materialize(
        [*catalog_assets, adoption_monthly_report],
        selection=[adoption_monthly_report.key],
        partition_key="2024-02-01",
        resources=resources,
        instance=instance,
    )
    assert result.success
    # DuckDB's pandas handler creates no table for no rows; PostgreSQL's holds none.
    assert choose_warehouse("", str(warehouse)).read_table("reports", "adoption_monthly").empty
    metadata = result.asset_materializations_for_node("reports__adoption_monthly")[0].metadata
    assert (metadata["replies"].value, metadata["acceptance_rate"].value) == (0, 0.0)
