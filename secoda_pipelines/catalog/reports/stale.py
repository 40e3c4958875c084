"""Report rule: stale dashboards (SPEC B's `reports/stale_dashboards`) and their share per
integration."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from secoda_pipelines.catalog.frames.convert import (
    TIMESTAMP_DTYPE,
    to_id,
    to_json_list,
    to_text,
    unreadable_counts,
)
from secoda_pipelines.catalog.reports.inputs import as_utc, optional_column, require_columns
from secoda_pipelines.catalog.reports.usage import USAGE_FIGURES, usage_figures, usage_summary

STALE_COLUMNS = (
    "id",
    "title",
    "integration_id",
    *USAGE_FIGURES,
    "days_since_external_update",
    "url",
    "owners",
    "days_without_views",
    "last_viewed_on",
)
SUMMARY_COLUMNS = ("integration_id", "dashboards", "stale", "stale_share")

_DAY = pd.Timedelta(days=1)


def _check_days(stale_after_days: int) -> None:
    if isinstance(stale_after_days, bool) or not isinstance(stale_after_days, numbers.Integral):
        raise ValueError(
            f"stale_after_days must be a whole number of days, got {stale_after_days!r}"
        )
    if stale_after_days < 0:
        raise ValueError(f"stale_after_days must be 0 or more, got {stale_after_days}")


def _dashboard_facts(dashboards: pd.DataFrame) -> pd.DataFrame:
    """Returns the dashboards' columns the stale rule needs, coerced to our dtypes."""
    frame = require_columns(
        dashboards,
        (
            "id",
            "title",
            "integration_id",
            "external_usage",
            "internal_usage",
            "external_users",
            "internal_users",
            "external_updated_at",
        ),
        "dashboards",
    )
    facts = pd.DataFrame(
        {
            "id": to_id(frame["id"]),
            "title": to_text(frame["title"]),
            "integration_id": to_id(frame["integration_id"]),
        }
    )
    facts = pd.concat([facts, usage_figures(frame)], axis=1)
    facts["url"] = to_id(optional_column(frame, "url"))
    facts["owners"] = to_json_list(optional_column(frame, "owners"))
    facts["usage_unreadable"] = usage_unreadable(frame).to_numpy(dtype=bool)
    return facts


def usage_unreadable(frame: pd.DataFrame) -> pd.Series:
    """Returns, per dashboard, whether a usage value was present but not a count.

    Read from the ``<field>_unreadable`` columns of DASHBOARDS_SCHEMA when the frame has
    them; otherwise (raw API rows, a table stored before they existed) from the usage
    values themselves: a present value that ``to_int`` cannot read.

    Raises:
        KeyError: the frame lacks external_usage or internal_usage (and its column).
    """
    unreadable = pd.Series(False, index=frame.index)
    for field in ("external_usage", "internal_usage"):
        column = f"{field}_unreadable"
        if column in frame.columns:
            found = to_text(frame[column]).notna()
        else:
            found = unreadable_counts(frame[field]).notna()
        unreadable = unreadable | found.fillna(False).to_numpy(dtype=bool)
    return unreadable


def _is_stale(facts: pd.DataFrame, cutoff: pd.Timestamp) -> np.ndarray:
    # A usage value that is not a count is unknown: neither null nor 0, so not "unused".
    known = ~facts["usage_unreadable"]
    unused = (
        known & (facts["external_usage"].fillna(0) == 0) & (facts["internal_usage"].fillna(0) == 0)
    )
    no_users = (facts["external_users_count"] == 0) & (facts["internal_users_count"] == 0)
    updated = facts["external_updated_at"]
    not_recent = updated.isna() | (updated < cutoff)
    return (unused & no_users).to_numpy(dtype=bool) & not_recent.to_numpy(dtype=bool)


def _viewed_recently(
    facts: pd.DataFrame, summary: pd.DataFrame, now: pd.Timestamp, stale_after_days: int
) -> np.ndarray:
    """Returns, per dashboard, whether a snapshot of the last `stale_after_days` UTC days
    (today included) shows it viewed."""
    first_day = now.normalize() - pd.Timedelta(days=stale_after_days - 1)
    last_viewed = facts["id"].map(summary.set_index("dashboard_id")["last_viewed_on"])
    return (last_viewed >= first_day).fillna(False).to_numpy(dtype=bool)


def stale_dashboards(
    dashboards: pd.DataFrame,
    now: datetime,
    stale_after_days: int = 90,
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Returns ``reports/stale_dashboards``: one row per stale dashboard.

    A dashboard is stale when external_usage and internal_usage are null or 0 (a value that
    is not a count, such as ``"n/a"``, ``""`` or 1.5, is neither: unknown usage never
    makes a dashboard stale; numeric text such as ``"12"`` is the number),
    external_users and internal_users are null or empty, and external_updated_at is null or
    more than ``stale_after_days`` days before ``now`` (a naive ``now`` is taken as UTC;
    exactly ``stale_after_days`` days old is not stale yet). With a usage ``history``
    (``secoda/dashboard_usage`` rows), a dashboard that a snapshot of the last
    ``stale_after_days`` UTC days (today included) shows viewed is not stale, whatever
    today's counts say.

    Columns: id, title, integration_id (string); external_usage, internal_usage (Int64);
    external_users_count, internal_users_count (int64, a null list counts 0);
    external_updated_at (datetime64[ns, UTC]); days_since_external_update (Int64, whole
    days, null when external_updated_at is); url (string); owners (JSON text), both null
    when ``dashboards`` lacks them; days_without_views (Int64: consecutive snapshots,
    ending at the dashboard's latest, without views; null without a snapshot);
    last_viewed_on (the latest snapshot showing views, else null). Sorted by
    integration_id, title, id (nulls last).

    Raises:
        ValueError: ``stale_after_days`` is negative or not a whole number, or
            ``dashboards`` lacks one of SPEC B's dashboard columns.
        KeyError: ``history`` lacks one of its columns.
    """
    _check_days(stale_after_days)
    now_utc = as_utc(now)
    facts = _dashboard_facts(dashboards)
    summary = usage_summary(history if history is not None else pd.DataFrame())
    stale_now = _is_stale(facts, now_utc - pd.Timedelta(days=stale_after_days))
    viewed = _viewed_recently(facts, summary, now_utc, stale_after_days)
    by_id = summary.set_index("dashboard_id")
    facts["days_without_views"] = facts["id"].map(by_id["days_without_views"]).astype("Int64")
    facts["last_viewed_on"] = facts["id"].map(by_id["last_viewed_on"]).astype(TIMESTAMP_DTYPE)
    stale = facts[stale_now & ~viewed].copy()
    age = (now_utc - stale["external_updated_at"]) // _DAY
    stale["days_since_external_update"] = age.astype("Float64").astype("Int64")
    stale = stale.sort_values(["integration_id", "title", "id"], na_position="last")
    return stale.loc[:, list(STALE_COLUMNS)].reset_index(drop=True)


def stale_summary(
    stale: pd.DataFrame,
    dashboards: pd.DataFrame,
    names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Returns, per integration_id of ``dashboards``, how many of its dashboards are stale.

    Columns: integration_id (string, null for dashboards without one), dashboards (int64),
    stale (int64), stale_share (float64, stale / dashboards); with ``names`` (integration
    id to name), first an integration_name column (null where it has none). A dashboard
    counts as stale when its id is in ``stale``. Sorted by integration_id (null last).

    Raises:
        ValueError: either frame lacks ``id`` or ``integration_id`` (stale needs ``id``).
    """
    dashboards = require_columns(dashboards, ("id", "integration_id"), "dashboards")
    stale_ids = set(to_id(require_columns(stale, ("id",), "stale")["id"]).dropna())
    flags = pd.DataFrame(
        {
            "integration_id": to_id(dashboards["integration_id"]),
            "stale": to_id(dashboards["id"]).isin(stale_ids).to_numpy(dtype=bool),
        }
    )
    summary = flags.groupby("integration_id", dropna=False, sort=False).agg(
        dashboards=("stale", "size"), stale=("stale", "sum")
    )
    summary = summary.reset_index().astype({"dashboards": "int64", "stale": "int64"})
    summary["integration_id"] = summary["integration_id"].astype("string")
    summary["stale_share"] = (summary["stale"] / summary["dashboards"]).astype("float64")
    summary = summary.sort_values("integration_id", na_position="last")
    summary = summary.loc[:, list(SUMMARY_COLUMNS)].reset_index(drop=True)
    if names is not None:
        named = summary["integration_id"].map(
            lambda i: names.get(i) if isinstance(i, str) else None
        )
        summary.insert(0, "integration_name", named.astype("string"))
    return summary
