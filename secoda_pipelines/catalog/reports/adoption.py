"""Report rule: question-answering adoption (SPEC B's `reports/adoption`), per month
(`reports/adoption_monthly`) and as a trend over months."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from secoda_pipelines.catalog.frames.convert import (
    TIMESTAMP_DTYPE,
    id_list,
    to_bool,
    to_id,
    to_timestamp,
)
from secoda_pipelines.catalog.reports.inputs import as_utc, require_columns

ADOPTION_COLUMNS = (
    "user_id",
    "email",
    "replies",
    "accepted_answers",
    "acceptance_rate",
    "last_reply_at",
)
TREND_COLUMNS = ("month", "repliers", "replies", "accepted_answers", "acceptance_rate")


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
    replies = require_columns(
        replies, ("id", "question_id", "owners", "accepted_answer", "created_at"), "replies"
    )
    questions = require_columns(questions, ("id", "answer"), "questions")
    users = require_columns(users, ("id", "email"), "users")
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
    replies = require_columns(replies, ("created_at",), "replies")
    created = to_timestamp(replies["created_at"])
    inside = (created >= as_utc(start)) & (created < as_utc(end))
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
    report.insert(0, "month", pd.Series([as_utc(month_start)] * len(report), dtype=TIMESTAMP_DTYPE))
    return report


def adoption_figures(replies: pd.DataFrame, questions: pd.DataFrame) -> dict[str, float | int]:
    """Returns the figures followed over time: replies (distinct replies), accepted_answers
    (those accepted) and acceptance_rate (their share, 0.0 without replies).

    Raises:
        ValueError: a frame lacks a column the rule needs.
    """
    replies = require_columns(replies, ("id", "question_id", "accepted_answer"), "replies")
    questions = require_columns(questions, ("id", "answer"), "questions")
    accepted = int(_accepted(replies, questions).sum())
    count = len(replies)
    return {
        "replies": count,
        "accepted_answers": accepted,
        "acceptance_rate": round(accepted / count, 4) if count else 0.0,
    }


def trend_months(replies: pd.DataFrame, count: int) -> list[str]:
    """Returns the partition keys (``YYYY-MM-01``) of the last `count` months, ending with
    the latest month any reply was created in; empty without replies.

    Raises:
        KeyError: `replies` lacks created_at.
    """
    created = pd.to_datetime(replies["created_at"], utc=True, errors="coerce").dropna()
    if created.empty:
        return []
    last = created.max().tz_localize(None).to_period("M")
    return [str(last - back) + "-01" for back in range(count - 1, -1, -1)]


def adoption_trend(monthly: pd.DataFrame) -> pd.DataFrame:
    """Returns one row per month of ``reports.adoption_monthly``: month (``YYYY-MM``),
    repliers, replies and accepted_answers (summed over users, a reply with several owners
    counting for each) and acceptance_rate (their ratio), oldest first.

    Raises:
        KeyError: `monthly` lacks month, user_id, replies or accepted_answers.
    """
    if monthly.empty:
        return pd.DataFrame(columns=list(TREND_COLUMNS[:-1]))
    months = pd.to_datetime(monthly["month"], utc=True).dt.strftime("%Y-%m")
    trend = (
        monthly.assign(month=months)
        .groupby("month")
        .agg(
            repliers=("user_id", "nunique"),
            replies=("replies", "sum"),
            accepted_answers=("accepted_answers", "sum"),
        )
        .reset_index()
    )
    trend["acceptance_rate"] = (trend["accepted_answers"] / trend["replies"]).round(2)
    return trend
