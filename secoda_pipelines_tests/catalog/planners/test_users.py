"""User provisioning planned from rows: CSV parsing, every check, the create body."""

from __future__ import annotations

from secoda_pipelines.catalog.planners.users import (
    UserInput,
    parse_users_csv,
    plan_provisioning,
    user_body,
)

USERS = [
    {"id": "u1", "email": "Tim.Berners-Lee@Example.com", "pending": False, "disabled": False},
    {"id": "u2", "email": "jean.bartik@example.com", "pending": False, "disabled": True},
]
GROUPS = [
    {"id": "g1", "name": "Analytics"},
    {"id": "g2", "name": "Finance"},
    {"id": "g3", "name": "finance"},  # a second group whose name differs only in case
]
TEAMS = [
    {"id": "t1", "name": "Growth", "archived": False},
    {"id": "t2", "name": "Legacy BI", "archived": True},
]


def user(email: str, role: str = "viewer", source: str = "users[0]", **kw) -> UserInput:
    return UserInput(source=source, email=email, role=role, **kw)


def plan(*inputs: UserInput):
    return plan_provisioning(list(inputs), USERS, GROUPS, TEAMS)


def test_csv_columns_in_any_case_and_order_lists_split_on_semicolons():
    text = (
        "\ufeffRole, Email ,first_name,last_name,groups,teams\n"
        "Editor,ada@example.com,Ada,Lovelace, Analytics ; g2 ,Growth\n"
        ",,,,,\n"
        "\n"
        "guest,bob@example.com,,,,t1;\n"
    )
    rows, errors = parse_users_csv(text, "people.csv")
    assert errors == []
    assert rows == [
        UserInput(
            "people.csv line 2", "ada@example.com", "Editor", "Ada", "Lovelace",
            ("Analytics", "g2"), ("Growth",),
        ),
        UserInput("people.csv line 5", "bob@example.com", "guest", teams=("t1",)),
    ]  # fmt: skip


def test_csv_shape_errors_name_the_file_and_columns():
    rows, errors = parse_users_csv("", "a.csv")
    assert rows == [] and len(errors) == 1 and errors[0].startswith("a.csv is empty")
    rows, errors = parse_users_csv("email,team\nx@y.io,Growth\n", "b.csv")
    assert rows == []
    assert errors == [
        "b.csv has unknown columns 'team' (expected email, role, first_name, last_name, "
        "groups, teams)",
        "b.csv has no role column",
    ]


def test_new_users_are_created_and_existing_emails_skipped_case_insensitively():
    frame, errors = plan(
        user("new@example.com", "EDITOR", groups=("analytics", "g2"), teams=("growth",)),
        user("tim.berners-lee@example.com", source="users[1]"),
        user("JEAN.BARTIK@example.com", source="users[2]"),
    )
    assert errors == []
    assert list(frame["action"]) == ["create", "exists", "exists"]
    first = frame.iloc[0]
    assert (first["role"], first["group_ids"], first["team_ids"]) == (
        "editor",
        ["g1", "g2"],
        ["t1"],
    )
    assert frame["user_id"].tolist()[1:] == ["u1", "u2"]
    assert frame.iloc[2]["detail"] == "already a user (id u2, disabled)"


def test_every_bad_value_is_named_and_its_row_invalid():
    frame, errors = plan(
        user("not-an-email", source="users[0]"),
        user("dup@example.com", "owner", source="users[1]"),
        user("DUP@example.com", source="a.csv line 2"),
        user("g@example.com", "Guest", source="users[3]"),
        user("x@example.com", groups=("finance", "Nope"), teams=("Legacy BI",), source="users[4]"),
        user("", "", source="users[5]"),
    )
    assert list(frame["action"]) == ["invalid"] * 6
    assert errors == [
        "users[0] (not-an-email): email 'not-an-email' is not an email address",
        "users[1] (dup@example.com): email 'dup@example.com' is given 2 times "
        "(users[1], a.csv line 2)",
        "users[1] (dup@example.com): role 'owner' is not one of admin, editor, viewer, guest",
        "a.csv line 2 (DUP@example.com): email 'DUP@example.com' is given 2 times "
        "(users[1], a.csv line 2)",
        "users[3] (g@example.com): role guest needs at least one team",
        "users[4] (x@example.com): group 'finance' matches 2 groups (g2, g3); give the id instead",
        "users[4] (x@example.com): group 'Nope' matches no group by id or name",
        "users[4] (x@example.com): team 'Legacy BI' is archived",
        "users[5]: email is missing",
        "users[5]: role is missing",
    ]
    assert frame.iloc[3]["detail"] == "role guest needs at least one team"


def test_an_existing_email_with_a_bad_row_is_still_invalid():
    frame, errors = plan(user("tim.berners-lee@example.com", "boss"))
    assert frame.iloc[0]["action"] == "invalid"
    assert len(errors) == 1


def test_a_group_named_by_its_id_wins_over_names():
    frame, errors = plan(user("a@example.com", "guest", groups=("g3",), teams=("t1",)))
    assert errors == []
    assert frame.iloc[0]["group_ids"] == ["g3"]


def test_create_body_carries_both_spellings_and_names_only_when_given():
    frame, _ = plan(
        user("a@example.com", "Viewer", first_name="Ann", groups=("g1",), teams=("t1",))
    )
    assert user_body(frame.iloc[0]) == {
        "email": "a@example.com",
        "emails": ["a@example.com"],
        "role": "viewer",
        "user_groups": ["g1"],
        "groups": ["g1"],
        "teams": ["t1"],
        "first_name": "Ann",
    }
