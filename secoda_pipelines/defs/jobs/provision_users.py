"""`provision_users`: create Secoda users from the run config or a CSV file.

Plan (`plan_user_provisioning`): read the input, list users, groups and teams, check every
row, append the plan to `reports.user_provisioning` (status ``planned``), and fail, naming
every bad value, when any row is invalid. Apply (`apply_user_provisioning`): unless
dry_run, one ``POST user/`` per ``create`` row, then append one row per attempted write
(status ``written`` or ``failed``).
"""

from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from secoda_pipelines.catalog.users import (
    CREATE,
    UserInput,
    create_body,
    parse_users_csv,
    plan_provisioning,
)
from secoda_pipelines.defs.failures import secoda_failures
from secoda_pipelines.defs.jobs.config import flat_run_config
from secoda_pipelines.defs.jobs.creates import (
    FAILED,
    WRITTEN,
    bad_input,
    post_each,
    report_plan,
    report_writes,
)
from secoda_pipelines.defs.resources import SecodaResource

NOTHING_DONE = "nothing was created"
REPORT_TABLE = "user_provisioning"


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


class ProvisionUsersConfig(dg.Config):
    """The run config of `provision_users` (flat: these fields at top level)."""

    users: list[UserRow] = Field(default_factory=list, description="Users to create.")
    csv_path: str = Field(
        default="",
        description="A CSV file of users (email, role, first_name, last_name, groups, teams; "
        "groups and teams separated by ';'). May be combined with users.",
    )
    dry_run: bool = Field(default=True, description="Plan and report only; write nothing.")


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


@dg.op(out=dg.Out(pd.DataFrame, description="One row per input user with its action."))
def plan_user_provisioning(
    context: dg.OpExecutionContext,
    config: ProvisionUsersConfig,
    secoda: SecodaResource,
    duckdb: DuckDBResource,
) -> pd.DataFrame:
    """Checks every requested user against the workspace and reports the plan.

    Raises:
        dagster.Failure: some input is bad (each bad value listed; nothing is written), or
            the API refused a read (wrong key or URL).
    """
    inputs, errors = _inputs(config)
    if not inputs:
        raise bad_input(errors, NOTHING_DONE)
    with secoda_failures():
        client = secoda.get_client()
        users = client.list("user/")
        groups = client.list("auth/group/")
        teams = client.list("auth/teams/")
    plan, plan_errors = plan_provisioning(inputs, users, groups, teams)
    errors += plan_errors
    report_plan(
        context,
        duckdb,
        REPORT_TABLE,
        plan,
        dry_run=config.dry_run,
        errors=errors,
        nothing_done=NOTHING_DONE,
    )
    return plan


@dg.op(out=dg.Out(pd.DataFrame, description="One row per user created (or failed)."))
def apply_user_provisioning(
    context: dg.OpExecutionContext,
    config: ProvisionUsersConfig,
    secoda: SecodaResource,
    duckdb: DuckDBResource,
    plan: pd.DataFrame,
) -> pd.DataFrame:
    """Creates the planned users (not in a dry run) and reports each write.

    Raises:
        dagster.Failure: a create failed; the users created before it are reported, and a
            rerun plans again from what exists, so none is created twice.
    """
    to_create = plan[plan["action"] == CREATE]
    outcomes: list[dict] = []
    if config.dry_run or to_create.empty:
        context.log.info(
            f"dry run: would create {len(to_create)} user(s)"
            if config.dry_run
            else "nothing to create"
        )
        context.add_output_metadata({"written": 0, "dry_run": config.dry_run})
        return pd.DataFrame(outcomes, columns=["email", "action", "status", "detail", "user_id"])
    created, failure = post_each(
        secoda.get_client(), "user/", to_create.to_dict("records"), create_body
    )
    for row, answer in created:
        answer = answer[0] if isinstance(answer, list) and answer else answer
        user_id = str(answer.get("id")) if isinstance(answer, dict) else None
        outcomes.append(_outcome(row, WRITTEN, f"created {row['role']} {user_id}", user_id))
    if failure is not None:
        outcomes.append(_outcome(failure[0], FAILED, str(failure[1]), None))
    return report_writes(
        context,
        duckdb,
        REPORT_TABLE,
        outcomes,
        planned=len(to_create),
        what="users",
        failure=None if failure is None else (failure[0]["email"], failure[1]),
    )


def _outcome(row: dict, status: str, detail: str, user_id: str | None) -> dict:
    return {
        "source": row["source"],
        "email": row["email"],
        "action": row["action"],
        "status": status,
        "detail": detail,
        "user_id": user_id,
    }


@dg.job(
    config=flat_run_config(
        ProvisionUsersConfig, "plan_user_provisioning", "apply_user_provisioning"
    ),
    description="Create Secoda users (from the run config and/or a CSV); skips existing emails.",
)
def provision_users():
    apply_user_provisioning(plan_user_provisioning())
