"""Planning `flag_stale_dashboards`: which dashboards gain or lose the stale tag.

Pure functions over API rows and the stale report's frame: no HTTP, no Dagster. A
dashboard's ``tags`` is a list of tag ids and a PATCH of ``tags`` replaces the whole list
(SPEC A), so every change is the dashboard's current list plus or minus the one tag, and
every other tag stays where it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from secoda_pipelines.catalog.planners.actions import CREATE

ADD, REMOVE, UNCHANGED = "add", "remove", "unchanged"
DASHBOARD, TAG = "dashboard", "tag"
WRITING_ACTIONS = frozenset({ADD, REMOVE, CREATE})
FLAG_COLUMNS = (
    "resource",
    "dashboard_id",
    "title",
    "action",
    "detail",
    "tag_name",
    "tag_id",
    "tags_before",
    "tags_after",
)
MAX_TAG_NAME = 100

Row = Mapping[str, Any]


def tag_name_errors(tag_name: str) -> list[str]:
    """Returns what is wrong with `tag_name` (empty when it can be a Secoda tag's name)."""
    name = tag_name.strip()
    if not name:
        return [f"tag_name {tag_name!r} is blank: give the tag's name, e.g. 'stale'"]
    if len(name) > MAX_TAG_NAME:
        return [f"tag_name {tag_name[:20]!r}... is {len(name)} characters: at most {MAX_TAG_NAME}"]
    return []


def tags_named(tags: Iterable[Row], tag_name: str) -> list[Row]:
    """Returns the tags whose name is `tag_name`, compared trimmed and case-insensitively
    (Secoda matches tag names so)."""
    wanted = tag_name.strip().casefold()
    return [t for t in tags if str(t.get("name") or "").strip().casefold() == wanted]


def tag_ids(value: Any) -> list[str]:
    """Returns a `tags` value (a list of ids, or null) as id strings, in order."""
    return [str(item) for item in value or [] if item is not None]


def with_tag(tags: Sequence[Any], tag_id: str) -> list[Any]:
    """Returns `tags` (a dashboard's list as the API gave it) with `tag_id` appended, or as
    it is when it holds it already."""
    current = list(tags or [])
    return current if tag_id in tag_ids(current) else [*current, tag_id]


def without_tag(tags: Sequence[Any], tag_id: str) -> list[Any]:
    """Returns `tags` without `tag_id`, every other item in its place."""
    return [item for item in tags or [] if str(item) != tag_id]


def _stale_detail(row: Any) -> str:
    updated = row.days_since_external_update
    since = (
        "never updated in its source"
        if pd.isna(updated)
        else f"{updated} days since its source's last update"
    )
    views = row.days_without_views
    history = (
        "no usage snapshot yet" if pd.isna(views) else f"{views} snapshot(s) in a row without views"
    )
    return f"stale: no views or viewers, {since}, {history}"


def plan_flags(
    dashboards: Sequence[Row],
    stale: pd.DataFrame,
    tag: Row | None,
    tag_name: str,
    *,
    remove_when_used: bool,
) -> pd.DataFrame:
    """Returns the plan: a `create` row for the tag when it is missing and a dashboard needs
    it, then one row per dashboard that is stale or carries the tag, in listing order.

    `dashboards` are the API's rows now; `stale` is ``reports.stale_dashboards``' frame for
    them (the rule applied now, with the usage history); `tag` is the existing tag named
    `tag_name` (None when there is none). Actions: ``add`` (stale, not tagged), ``remove``
    (tagged, no longer stale, remove_when_used), ``unchanged`` (stale and tagged, or tagged
    and kept because remove_when_used is false), ``create`` (the tag itself).

    Columns: FLAG_COLUMNS; tags_before and tags_after are lists (the dashboard's list as
    listed, and as the PATCH would send it; tag_id is null in them until the tag exists).
    """
    tag_id = None if tag is None else str(tag["id"])
    stale_rows = {str(r.id): r for r in stale.itertuples(index=False)}
    rows: list[dict[str, Any]] = []
    for dashboard in dashboards:
        dashboard_id = str(dashboard["id"])
        before = list(dashboard.get("tags") or [])
        tagged = tag_id is not None and tag_id in tag_ids(before)
        base = {
            "resource": DASHBOARD,
            "dashboard_id": dashboard_id,
            "title": dashboard.get("title"),
            "tag_name": tag_name,
            "tag_id": tag_id,
            "tags_before": before,
        }
        if dashboard_id in stale_rows:
            detail = _stale_detail(stale_rows[dashboard_id])
            if tagged:
                rows.append(
                    {
                        **base,
                        "action": UNCHANGED,
                        "detail": f"{detail}; already tagged",
                        "tags_after": before,
                    }
                )
            else:
                after = with_tag(before, tag_id) if tag_id else [*before, None]
                rows.append({**base, "action": ADD, "detail": detail, "tags_after": after})
        elif tagged and remove_when_used:
            rows.append(
                {
                    **base,
                    "action": REMOVE,
                    "detail": "in use again: no longer stale",
                    "tags_after": without_tag(before, tag_id),
                }
            )
        elif tagged:
            rows.append(
                {
                    **base,
                    "action": UNCHANGED,
                    "detail": "no longer stale; keeps the tag (remove_when_used is false)",
                    "tags_after": before,
                }
            )
    if tag is None and any(r["action"] == ADD for r in rows):
        rows.insert(
            0,
            {
                "resource": TAG,
                "dashboard_id": None,
                "title": tag_name,
                "action": CREATE,
                "detail": f"no tag named {tag_name!r} (any case): created before the first add",
                "tag_name": tag_name,
                "tag_id": None,
                "tags_before": [],
                "tags_after": [],
            },
        )
    return pd.DataFrame.from_records(rows, columns=list(FLAG_COLUMNS))
