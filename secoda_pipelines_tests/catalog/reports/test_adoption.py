"""The question-answering adoption rule of SPEC B, on frames built from API rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from secoda_pipelines.catalog.reports.adoption import adoption
from secoda_pipelines_tests.catalog.frames.schema_frames import (
    question_replies_frame,
    questions_frame,
    users_frame,
)
from secoda_pipelines_tests.helpers import duckdb_round_trip

ADOPTION_COLUMNS = [
    "user_id",
    "email",
    "replies",
    "accepted_answers",
    "acceptance_rate",
    "last_reply_at",
]


def reply(id_: str, parent: str, owners: Any, accepted: Any = None, day: int = 1) -> dict:
    return {
        "id": id_,
        "parent": parent,
        "owners": owners,
        "accepted_answer": accepted,
        "created_at": f"2024-05-{day:02d}T09:00:00Z",
    }


USERS = users_frame(
    [
        {"id": "u1", "email": "ann@example.com"},
        {"id": "u2", "email": "bob@example.com"},
        {"id": "7", "email": "seven@example.com"},
    ]
)


def adopt(replies: list[dict], questions: list[dict]) -> pd.DataFrame:
    return adoption(question_replies_frame(replies), questions_frame(questions), USERS)


def by_user(report: pd.DataFrame) -> dict[str, tuple[int, int]]:
    return {
        row.user_id: (row.replies, row.accepted_answers) for row in report.itertuples(index=False)
    }


def test_a_reply_with_several_owners_counts_for_each() -> None:
    report = adopt([reply("r1", "q1", ["u1", "u2"])], [{"id": "q1"}])
    assert by_user(report) == {"u1": (1, 0), "u2": (1, 0)}


def test_accepted_by_flag_by_question_answer_or_both_counts_once() -> None:
    replies = [
        reply("flag", "q1", ["u1"], accepted=True),
        reply("answer", "q2", ["u1"], accepted=None),
        reply("both", "q3", ["u1"], accepted="true"),
        reply("neither", "q4", ["u1"], accepted=False),
        reply("absent", "q5", ["u1"]),
    ]
    del replies[4]["accepted_answer"]
    questions = [
        {"id": "q1", "answer": None},
        {"id": "q2", "answer": "answer"},
        {"id": "q3", "answer": "both"},
        {"id": "q4", "answer": "someone-else"},
        {"id": "q5"},
    ]
    report = adopt(replies, questions)
    assert by_user(report) == {"u1": (5, 3)}
    assert report["acceptance_rate"].tolist() == [pytest.approx(0.6)]


def test_an_unknown_user_gets_a_null_email_and_int_owner_ids_join() -> None:
    report = adopt([reply("r1", "q1", ["ghost"]), reply("r2", "q1", [7])], [])
    emails = dict(zip(report["user_id"], report["email"], strict=True))
    assert emails == {"7": "seven@example.com", "ghost": pd.NA}


def test_owners_given_as_user_objects_count_for_their_ids() -> None:
    ann = {"id": "u1", "email": "ann@example.com", "first_name": "Ann"}
    seven = {"id": 7, "email": "seven@example.com"}
    replies = [
        reply("r1", "q1", [ann, seven], accepted=True),
        reply("r2", "q2", [ann, {"email": "no-id@example.com"}]),
    ]
    report = adopt(replies, [])
    assert by_user(report) == {"u1": (2, 1), "7": (1, 1)}
    assert report["email"].tolist() == ["ann@example.com", "seven@example.com"]
    # Stored first, as the report asset reads them: the same.
    stored = question_replies_frame(replies)
    assert stored["owners"].tolist() == ['["u1",7]', '["u1",{"email":"no-id@example.com"}]']
    assert by_user(adoption(stored, questions_frame([]), USERS)) == by_user(report)


def test_sorted_by_replies_then_accepted_descending_then_user_id() -> None:
    replies = [
        reply("r1", "q1", ["u2", "c"], accepted=True),
        reply("r2", "q1", ["u2", "b"]),
        reply("r3", "q1", ["a", "b"]),
        reply("r4", "q1", ["u1"], accepted=True),
        reply("r5", "q1", ["u1", "a"]),
        reply("r6", "q1", ["u1"]),
    ]
    report = adopt(replies, [])
    assert report["user_id"].tolist() == ["u1", "u2", "a", "b", "c"]
    assert report["replies"].tolist() == [3, 2, 2, 2, 1]
    assert report["accepted_answers"].tolist() == [1, 1, 0, 0, 1]
    assert report["acceptance_rate"].tolist() == pytest.approx([1 / 3, 0.5, 0.0, 0.0, 1.0])


def test_last_reply_at_is_the_latest_reply_and_emails_are_joined() -> None:
    replies = [
        reply("r1", "q1", ["u1"], day=3),
        reply("r2", "q1", ["u1"], day=9),
        reply("r3", "q1", ["u2"], day=5),
    ]
    replies.append({"id": "r4", "parent": "q1", "owners": ["u2"], "created_at": "garbage"})
    report = adopt(replies, [])
    assert report.columns.tolist() == ADOPTION_COLUMNS
    assert report["email"].tolist() == ["ann@example.com", "bob@example.com"]
    assert report["last_reply_at"].tolist() == [
        pd.Timestamp("2024-05-09 09:00:00", tz="UTC"),
        pd.Timestamp("2024-05-05 09:00:00", tz="UTC"),
    ]


def test_replies_without_owners_count_for_nobody_and_repeats_count_once() -> None:
    replies = [
        reply("r1", "q1", None),
        reply("r2", "q1", []),
        reply("r3", "q1", ""),
        reply("r4", "q1", ["u1", "u1"]),
    ]
    assert by_user(adopt(replies, [])) == {"u1": (1, 0)}


def test_no_replies_give_an_empty_report_with_its_dtypes() -> None:
    report = adopt([], [])
    assert len(report) == 0
    assert {name: str(dtype) for name, dtype in report.dtypes.items()} == {
        "user_id": "string",
        "email": "string",
        "replies": "int64",
        "accepted_answers": "int64",
        "acceptance_rate": "float64",
        "last_reply_at": "datetime64[ns, UTC]",
    }


def test_the_adoption_rule_on_frames_read_back_from_duckdb(tmp_path: Path) -> None:
    replies = question_replies_frame(
        [
            reply("flagged", "q1", ["u1", "u2"], accepted=True, day=2),
            reply("refused", "q1", ["u1"], accepted=False, day=4),
            reply("unknown", "q2", ["u2"], accepted=None, day=3),  # null among booleans
            reply("chosen", "q3", [7], accepted=None, day=9),
        ]
    )
    questions = questions_frame([{"id": "q2", "answer": None}, {"id": "q3", "answer": "chosen"}])
    path = tmp_path / "frames.duckdb"
    back = [
        duckdb_round_trip(frame, path, name)[0]
        for frame, name in ((replies, "replies"), (questions, "questions"), (USERS, "users"))
    ]
    report = adoption(*back)
    assert by_user(report) == {"u1": (2, 1), "u2": (2, 1), "7": (1, 1)}
    assert report["user_id"].tolist() == ["u1", "u2", "7"]
    assert report["email"].tolist() == ["ann@example.com", "bob@example.com", "seven@example.com"]
    assert report["last_reply_at"].tolist() == [
        pd.Timestamp("2024-05-04 09:00:00", tz="UTC"),
        pd.Timestamp("2024-05-03 09:00:00", tz="UTC"),
        pd.Timestamp("2024-05-09 09:00:00", tz="UTC"),
    ]
    pd.testing.assert_frame_equal(report, adoption(replies, questions, USERS))
