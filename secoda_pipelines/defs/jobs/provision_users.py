"""`provision_users`: create Secoda users from the run config or a CSV file.

One op (`user_provisioning`), so that every execution plans from the users that exist at
that moment: read the input, list users, groups and teams, and check every row; when any is
bad, fail naming each bad value (nothing reported, nothing written); else append the plan
to `reports.user_provisioning`, then, unless dry_run, one ``POST user/`` per ``create``
row, each recorded on its report row.
"""

from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from secoda_pipelines.catalog.planners import (
    UserInput,
    parse_users_csv,
    plan_provisioning,
    user_body,
)
from secoda_pipelines.defs.jobs.writeback import (
    WRITES_TAG,
    CreateJob,
    Row,
    WriteBackConfig,
    bad_input,
    plan_and_create,
    write_back_job,
)
from secoda_pipelines.defs.resources import SecodaResource
from secoda_pipelines.secoda import GROUPS, TEAMS, USERS, SecodaClient
from secoda_pipelines.store import ReportStore


def existing_user(client: SecodaClient, row: Row) -> str | None:
    """Returns the id of the user whose email is the row's (any case), None when none is.

    Raises:
        SecodaError: the listing failed.
    """
    email = str(row["email"]).strip().casefold()
    for user in client.iter_rows(USERS):
        if str(user.get("email") or "").strip().casefold() == email:
            return None if user.get("id") is None else str(user["id"])
    return None


USERS_JOB = CreateJob(
    table="user_provisioning",
    path=USERS,
    noun="user",
    label="email",
    id_column="user_id",
    body=user_body,
    find=existing_user,
    nothing_done="nothing was created",
)


class UserRow(dg.Config):
    """One user to create."""

    email: str = Field(description="The user's email address (also their login).")
    role: str = Field(description="admin, editor, viewer or guest (any case).")
    first_name: str = Field(default="", description="Optional first name.")
    last_name: str = Field(default="", description="Optional last name.")
    groups: list[str] = Field(default_factory=list, description="Group ids or names.")
    teams: list[str] = Field(
        default_factory=list, description="Team ids or names; a guest needs at least one."
    )


class ProvisionUsersConfig(WriteBackConfig):
    """The run config of `provision_users` (flat: these fields at top level)."""

    users: list[UserRow] = Field(default_factory=list, description="Users to create.")
    csv_path: str = Field(
        default="",
        description="A CSV file of users (email, role, first_name, last_name, groups, teams; "
        "groups and teams separated by ';'). May be combined with users.",
    )


def _inputs(config: ProvisionUsersConfig) -> tuple[list[UserInput], list[str]]:
    rows = [
        UserInput(
            source=f"users[{i}]",
            email=user.email,
            role=user.role,
            first_name=user.first_name,
            last_name=user.last_name,
            groups=tuple(user.groups),
            teams=tuple(user.teams),
        )
        for i, user in enumerate(config.users)
    ]
    errors = []
    if config.csv_path.strip():
        path = Path(config.csv_path.strip())
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            errors.append(f"csv_path {str(path)!r} cannot be read ({type(error).__name__})")
        else:
            csv_rows, csv_errors = parse_users_csv(text, path.name)
            rows += csv_rows
            errors += csv_errors
    if not rows and not errors:
        errors.append("no users given: set users, csv_path, or both")
    return rows, errors


@dg.op(
    description="Checks every requested user against the workspace, reports the plan, "
    "then (unless dry_run) creates the new ones.",
    tags={WRITES_TAG: "users"},
)
def user_provisioning(
    context: dg.OpExecutionContext,
    config: ProvisionUsersConfig,
    secoda: SecodaResource,
    reports: ReportStore,
) -> None:
    """Plans from the users, groups and teams that exist now, reports it, and creates the
    planned users unless dry_run.

    Raises:
        dagster.Failure: some input is bad (each bad value listed; nothing is reported or
            written), the API refused a read (wrong key or URL), or a create failed (a rerun
            plans again from what exists).
    """
    inputs, errors = _inputs(config)
    if not inputs:
        raise bad_input(errors, USERS_JOB.nothing_done)

    def plan(client: SecodaClient) -> tuple[pd.DataFrame, list[str]]:
        users = client.list(USERS)
        groups = client.list(GROUPS)
        teams = client.list(TEAMS)
        planned, plan_errors = plan_provisioning(inputs, users, groups, teams)
        return planned, errors + plan_errors

    plan_and_create(context, secoda.get_client(), reports, USERS_JOB, plan, dry_run=config.dry_run)


provision_users = write_back_job(
    user_provisioning,
    name="provision_users",
    description="Create Secoda users (from the run config and/or a CSV); skips existing emails.",
)
