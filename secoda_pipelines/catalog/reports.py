"""The report rules of SPEC part B: stale dashboards and question adoption.

The inputs are the frames of ``frames.py``. They are coerced again on the way in (ids to
strings, counts to integers, timestamps to UTC, JSON text or lists to lists) because a
report asset reads them back from DuckDB, whose dtypes differ slightly from ours.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd

from secoda_pipelines.catalog.frames import (
    TIMESTAMP_DTYPE,
    id_list,
    list_lengths,
    to_bool,
    to_id,
    to_int,
    to_json_list,
    to_text,
    to_timestamp,
    unreadable_counts,
)
from secoda_pipelines.catalog.usage import usage_summary

STALE_COLUMNS = (
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
)
ADOPTION_COLUMNS = (
    "user_id",
    "email",
    "replies",
    "accepted_answers",
    "acceptance_rate",
    "last_reply_at",
)
SUMMARY_COLUMNS = ("integration_id", "dashboards", "stale", "stale_share")

_DAY = pd.Timedelta(days=1)


def _require(frame: pd.DataFrame, columns: Iterable[str], name: str) -> pd.DataFrame:
    """Returns the frame with a fresh 0..n-1 index; raises ValueError naming absent columns."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame lacks column(s) {', '.join(missing)}")
    return frame.reset_index(drop=True)


def _optional(frame: pd.DataFrame, column: str) -> pd.Series:
    if column in frame.columns:
        return frame[column]
    return pd.Series([None] * len(frame), dtype=object, index=frame.index)


def _utc(now: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(now)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _check_days(stale_after_days: int) -> None:
    if isinstance(stale_after_days, bool) or not isinstance(stale_after_days, numbers.Integral):
        raise ValueError(
            f"stale_after_days must be a whole number of days, got {stale_after_days!r}"
        )
    if stale_after_days < 0:
        raise ValueError(f"stale_after_days must be 0 or more, got {stale_after_days}")


# --- stale dashboards --------------------------------------------------------------------


def _dashboard_facts(dashboards: pd.DataFrame) -> pd.DataFrame:
    """Returns the dashboards' columns the stale rule needs, coerced to our dtypes."""
    frame = _require(
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
    return pd.DataFrame(
        {
            "id": to_id(frame["id"]),
            "title": to_text(frame["title"]),
            "integration_id": to_id(frame["integration_id"]),
            "external_usage": to_int(frame["external_usage"]),
            "internal_usage": to_int(frame["internal_usage"]),
            "external_users_count": list_lengths(frame["external_users"]),
            "internal_users_count": list_lengths(frame["internal_users"]),
            "external_updated_at": to_timestamp(frame["external_updated_at"]),
            "url": to_id(_optional(frame, "url")),
            "owners": to_json_list(_optional(frame, "owners")),
            "usage_unreadable": usage_unreadable(frame).to_numpy(dtype=bool),
        }
    )


def usage_unreadable(frame: pd.DataFrame) -> pd.Series:
    """Returns, per dashboard, whether a usage value was present but not a count.

    Read from the ``<field>_unreadable`` columns of ``dashboards_frame`` when the frame has
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
    now_utc = _utc(now)
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


def stale_summary(stale: pd.DataFrame, dashboards: pd.DataFrame) -> pd.DataFrame:
    """Returns, per integration_id of ``dashboards``, how many of its dashboards are stale.

    Columns: integration_id (string, null for dashboards without one), dashboards (int64),
    stale (int64), stale_share (float64, stale / dashboards). A dashboard counts as stale
    when its id is in ``stale``. Sorted by integration_id (null last).

    Raises:
        ValueError: either frame lacks ``id`` or ``integration_id`` (stale needs ``id``).
    """
    dashboards = _require(dashboards, ("id", "integration_id"), "dashboards")
    stale_ids = set(to_id(_require(stale, ("id",), "stale")["id"]).dropna())
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
    return summary.loc[:, list(SUMMARY_COLUMNS)].reset_index(drop=True)


# --- adoption ----------------------------------------------------------------------------


def _accepted(replies: pd.DataFrame, questions: pd.DataFrame) -> np.ndarray:
    """Returns, per reply, whether its own flag or its question's ``answer`` accepts it."""
    reply_ids = to_id(replies["id"])
    answers = pd.DataFrame({"id": to_id(questions["id"]), "answer": to_id(questions["answer"])})
    answers = answers.dropna().drop_duplicates("id", keep="last").set_index("id")["answer"]
    chosen = to_id(replies["question_id"]).map(answers)
    by_question = (chosen == reply_ids).fillna(False).to_numpy(dtype=bool)
    by_flag = to_bool(replies["accepted_answer"]).fillna(False).to_numpy(dtype=bool)
    return by_flag | by_question


def _reply_owners(replies: pd.DataFrame, questions: pd.DataFrame) -> pd.DataFrame:
    """Returns one row per (reply, owner): user_id, accepted, created_at."""
    per_reply = pd.DataFrame(
        {
            "user_id": [id_list(owners) for owners in replies["owners"]],
            "accepted": _accepted(replies, questions),
            "created_at": to_timestamp(replies["created_at"]),
        }
    )
    return per_reply.explode("user_id").dropna(subset=["user_id"])


def _emails(users: pd.DataFrame) -> pd.Series:
    frame = pd.DataFrame({"id": to_id(users["id"]), "email": to_id(users["email"])})
    return frame.dropna(subset=["id"]).drop_duplicates("id").set_index("id")["email"]


def adoption(replies: pd.DataFrame, questions: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """Returns ``reports/adoption``: one row per user who owns at least one reply.

    A reply is accepted when its ``accepted_answer`` is true or its question's ``answer``
    is the reply's id; a reply with several owners counts once for each of them.

    Columns: user_id, email (string; null when the user is not in ``users``); replies,
    accepted_answers (int64); acceptance_rate (float64, accepted_answers / replies, 0..1);
    last_reply_at (datetime64[ns, UTC], the latest reply's created_at). Sorted by replies
    and accepted_answers descending, then user_id ascending.

    Raises:
        ValueError: a frame lacks a column the rule needs (replies: id, question_id,
            owners, accepted_answer, created_at; questions: id, answer; users: id, email).
    """
    replies = _require(
        replies, ("id", "question_id", "owners", "accepted_answer", "created_at"), "replies"
    )
    questions = _require(questions, ("id", "answer"), "questions")
    users = _require(users, ("id", "email"), "users")
    per_user = (
        _reply_owners(replies, questions)
        .groupby("user_id", sort=False)
        .agg(
            replies=("accepted", "size"),
            accepted_answers=("accepted", "sum"),
            last_reply_at=("created_at", "max"),
        )
        .reset_index()
    )
    result = pd.DataFrame(
        {
            "user_id": per_user["user_id"].astype("string"),
            "email": per_user["user_id"].map(_emails(users)).astype("string"),
            "replies": per_user["replies"].astype("int64"),
            "accepted_answers": per_user["accepted_answers"].astype("int64"),
            "last_reply_at": per_user["last_reply_at"].astype(TIMESTAMP_DTYPE),
        }
    )
    result["acceptance_rate"] = (result["accepted_answers"] / result["replies"]).astype("float64")
    result = result.sort_values(
        ["replies", "accepted_answers", "user_id"], ascending=[False, False, True]
    )
    return result.loc[:, list(ADOPTION_COLUMNS)].reset_index(drop=True)


def replies_created_in(replies: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Returns the replies whose created_at is in [start, end) (naive bounds taken as UTC);
    a reply without a created_at belongs to no period.

    Raises:
        ValueError: ``replies`` lacks created_at.
    """
    replies = _require(replies, ("created_at",), "replies")
    created = to_timestamp(replies["created_at"])
    inside = (created >= _utc(start)) & (created < _utc(end))
    return replies[inside.fillna(False).to_numpy(dtype=bool)].reset_index(drop=True)


def monthly_adoption(
    replies: pd.DataFrame,
    questions: pd.DataFrame,
    users: pd.DataFrame,
    month_start: datetime,
    month_end: datetime,
) -> pd.DataFrame:
    """Returns ``reports/adoption_monthly`` for one month: the adoption rule (see
    ``adoption``) over the replies created in [month_start, month_end), one row per user.

    Columns: month (datetime64[ns, UTC], month_start), then ADOPTION_COLUMNS. A reply
    counts in the month it was written, even when accepted later.

    Raises:
        ValueError: a frame lacks a column the rule needs.
    """
    month = replies_created_in(replies, month_start, month_end)
    report = adoption(month, questions, users)
    report.insert(0, "month", pd.Series([_utc(month_start)] * len(report), dtype=TIMESTAMP_DTYPE))
    return report


def adoption_figures(replies: pd.DataFrame, questions: pd.DataFrame) -> dict[str, float | int]:
    """Returns the figures followed over time: replies (distinct replies), accepted_answers
    (those accepted) and acceptance_rate (their share, 0.0 without replies).

    Raises:
        ValueError: a frame lacks a column the rule needs.
    """
    replies = _require(replies, ("id", "question_id", "accepted_answer"), "replies")
    questions = _require(questions, ("id", "answer"), "questions")
    accepted = int(_accepted(replies, questions).sum())
    count = len(replies)
    return {
        "replies": count,
        "accepted_answers": accepted,
        "acceptance_rate": round(accepted / count, 4) if count else 0.0,
    }
