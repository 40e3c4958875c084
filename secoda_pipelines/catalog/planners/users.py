"""User provisioning, planned without HTTP: check input rows against the workspace's users,
groups and teams, and decide for each row whether to create it, skip it or reject it.

The input rows come from the run config or a CSV file (``parse_users_csv``); the workspace
rows are the API's ``user/``, ``auth/group/`` and ``auth/teams/`` listings as the client
returns them (the API's ``"None"`` already null).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from secoda_pipelines.catalog.planners.actions import CREATE, EXISTS, INVALID

ROLES = ("admin", "editor", "viewer", "guest")
CSV_COLUMNS = ("email", "role", "first_name", "last_name", "groups", "teams")
CSV_REQUIRED = ("email", "role")
LIST_SEPARATOR = ";"

PLAN_COLUMNS = (
    "source",
    "email",
    "action",
    "detail",
    "role",
    "first_name",
    "last_name",
    "group_ids",
    "team_ids",
    "user_id",
)

# One @, no spaces, a dot inside the domain with something on each side of it.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@dataclass(frozen=True)
class UserInput:
    """One requested user, as given: `source` says where (``users[0]``, ``file.csv line 3``)."""

    source: str
    email: str
    role: str
    first_name: str = ""
    last_name: str = ""
    groups: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()


def split_list(value: str | None) -> tuple[str, ...]:
    """Returns the `;`-separated items of a CSV cell, stripped, blanks dropped."""
    return tuple(item.strip() for item in (value or "").split(LIST_SEPARATOR) if item.strip())


def parse_users_csv(text: str, name: str) -> tuple[list[UserInput], list[str]]:
    """Returns (the rows of a users CSV, errors about its shape).

    Columns (header row, any case, any order): email, role, first_name, last_name, groups,
    teams; email and role are required, unknown columns are an error. Groups and teams
    are `;`-separated. Blank lines are skipped. Each row's source is ``<name> line <n>``.
    Raises nothing: problems are returned as messages naming the file.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        return [], [f"{name} is empty: expected a header row with {', '.join(CSV_COLUMNS)}"]
    columns = [column.strip().lower() for column in header]
    errors = []
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown:
        errors.append(
            f"{name} has unknown columns {', '.join(repr(c) for c in unknown)} "
            f"(expected {', '.join(CSV_COLUMNS)})"
        )
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if missing:
        errors.append(f"{name} has no {' or '.join(missing)} column")
    if errors:
        return [], errors
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        values = dict(zip(columns, (cell.strip() for cell in cells), strict=False))
        rows.append(
            UserInput(
                source=f"{name} line {reader.line_num}",
                email=values.get("email", ""),
                role=values.get("role", ""),
                first_name=values.get("first_name", ""),
                last_name=values.get("last_name", ""),
                groups=split_list(values.get("groups")),
                teams=split_list(values.get("teams")),
            )
        )
    return rows, []


def _text(value: Any) -> str:
    """Returns a workspace row's value (from the client: no ``"None"``) as stripped text."""
    return "" if value is None else str(value).strip()


class _Directory:
    """Groups or teams, looked up by id (exact) or by name (case-insensitive)."""

    def __init__(self, noun: str, rows: Iterable[Mapping[str, Any]]):
        self.noun = noun
        self.by_id: dict[str, Mapping[str, Any]] = {}
        self.by_name: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for row in rows:
            row_id = _text(row.get("id"))
            if row_id:
                self.by_id[row_id] = row
                self.by_name[_text(row.get("name")).lower()].append(row)

    def resolve(self, reference: str) -> tuple[Mapping[str, Any] | None, str | None]:
        """Returns (the row named by id or name, None) or (None, why it is not one row)."""
        if reference in self.by_id:
            return self.by_id[reference], None
        found = self.by_name.get(reference.strip().lower(), [])
        if not found:
            return None, f"{self.noun} {reference!r} matches no {self.noun} by id or name"
        if len(found) > 1:
            ids = ", ".join(_text(row.get("id")) for row in found)
            return None, (
                f"{self.noun} {reference!r} matches {len(found)} {self.noun}s ({ids}); "
                "give the id instead"
            )
        return found[0], None


def _describe(user: Mapping[str, Any]) -> str:
    states = [s for s in ("pending", "disabled") if str(user.get(s)).lower() == "true"]
    return f"already a user (id {_text(user.get('id'))}{''.join(', ' + s for s in states)})"


def plan_provisioning(
    inputs: Sequence[UserInput],
    users: Iterable[Mapping[str, Any]],
    groups: Iterable[Mapping[str, Any]],
    teams: Iterable[Mapping[str, Any]],
) -> tuple[pd.DataFrame, list[str]]:
    """Returns (the plan, one message per bad value) for the requested users.

    The plan has one row per input row, in input order, with PLAN_COLUMNS: `action` is
    ``create`` (a new, valid user), ``exists`` (its email, case-insensitive, is already a
    user: skipped) or ``invalid`` (`detail` says why); `group_ids` and `team_ids` are
    lists of resolved ids; `user_id` is the existing user's id.

    Checks: email present and shaped like an address, and not given twice in the input
    (case-insensitive); role one of ROLES in any case; each group and team named by id or
    by exactly one name (case-insensitive), teams not archived; a guest has a team.
    The errors name each bad value and where it came from; the plan is complete either
    way, so a report can show every row. Raises nothing.
    """
    group_dir = _Directory("group", groups)
    team_dir = _Directory("team", teams)
    existing = {_text(u.get("email")).lower(): u for u in users if _text(u.get("email"))}
    sources_by_email: dict[str, list[str]] = defaultdict(list)
    for row in inputs:
        if row.email.strip():
            sources_by_email[row.email.strip().lower()].append(row.source)

    records = []
    errors = []
    for row in inputs:
        email = row.email.strip()
        problems = []
        if not email:
            problems.append("email is missing")
        elif not _EMAIL.fullmatch(email):
            problems.append(f"email {email!r} is not an email address")
        elif len(sources_by_email[email.lower()]) > 1:
            problems.append(
                f"email {email!r} is given {len(sources_by_email[email.lower()])} times "
                f"({', '.join(sources_by_email[email.lower()])})"
            )
        role = row.role.strip().lower()
        if not role:
            problems.append("role is missing")
        elif role not in ROLES:
            problems.append(f"role {row.role!r} is not one of {', '.join(ROLES)}")
        group_ids = []
        for reference in row.groups:
            group, problem = group_dir.resolve(reference)
            if problem:
                problems.append(problem)
            elif group is not None:
                group_ids.append(_text(group.get("id")))
        team_ids = []
        for reference in row.teams:
            team, problem = team_dir.resolve(reference)
            if problem:
                problems.append(problem)
            elif team is not None and str(team.get("archived")).lower() == "true":
                problems.append(f"team {reference!r} is archived")
            elif team is not None:
                team_ids.append(_text(team.get("id")))
        if role == "guest" and not row.teams:
            problems.append("role guest needs at least one team")

        user = existing.get(email.lower())
        if problems:
            action, detail = INVALID, "; ".join(problems)
            label = f"{row.source} ({email})" if email else row.source
            errors.extend(f"{label}: {problem}" for problem in problems)
        elif user is not None:
            action, detail = EXISTS, _describe(user)
        else:
            action, detail = (
                CREATE,
                f"new {role}" + (f" in {len(group_ids)} group(s), {len(team_ids)} team(s)"),
            )
        records.append(
            {
                "source": row.source,
                "email": email,
                "action": action,
                "detail": detail,
                "role": role,
                "first_name": row.first_name.strip(),
                "last_name": row.last_name.strip(),
                "group_ids": list(dict.fromkeys(group_ids)),
                "team_ids": list(dict.fromkeys(team_ids)),
                "user_id": _text(user.get("id")) if user is not None else None,
            }
        )
    return _plan_frame(records), errors


def _plan_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=list(PLAN_COLUMNS))
    for column in PLAN_COLUMNS:
        if column not in ("group_ids", "team_ids"):
            frame[column] = frame[column].astype("string")
    return frame


def user_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """Returns the ``POST user/`` body for one planned row, in both documented spellings.

    ``email`` + ``user_groups`` (the API reference) and ``emails`` + ``groups`` (Secoda's
    workflow guide): each server version ignores the keys it does not know. Names are
    sent only when given. Raises nothing.
    """
    groups = list(_as_list(row["group_ids"]))
    body: dict[str, Any] = {
        "email": row["email"],
        "emails": [row["email"]],
        "role": row["role"],
        "user_groups": groups,
        "groups": groups,
        "teams": list(_as_list(row["team_ids"])),
    }
    for name in ("first_name", "last_name"):
        value = row.get(name)
        if isinstance(value, str) and value:
            body[name] = value
    return body


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return json.loads(value)
    return list(value) if value is not None else []
