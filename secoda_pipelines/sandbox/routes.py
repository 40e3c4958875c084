"""The Secoda API's shape: the route table (collections, methods, filters), the writable
fields and their validation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from secoda_pipelines.sandbox.store import RESOURCES, Filter

API_PREFIX = "/api/v1/"
ROLES = ("admin", "editor", "viewer", "guest")
HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Route:
    """What one collection supports: methods, filters (query parameter -> store column)."""

    path: str
    post: bool = False
    detail_get: bool = False
    patch: bool = False
    delete: bool = False
    filters: dict[str, str] = field(default_factory=dict)

    def allowed(self, is_detail: bool) -> list[str]:
        """Returns the methods allowed on the collection (or on one object when is_detail)."""
        if is_detail:
            flags = (("GET", self.detail_get), ("PATCH", self.patch), ("DELETE", self.delete))
        else:
            flags = (("GET", True), ("POST", self.post))
        return [m for m, ok in flags if ok]

    def store_filters(self, params: Iterable[tuple[str, str]]) -> tuple[Filter, ...]:
        """Returns the store filters for the known, non-empty query parameters (sorted).

        ``x__in`` takes comma-separated values; an empty value filters nothing, as
        django-filter does; unknown parameters are ignored.
        """
        found: dict[str, tuple[str, ...]] = {}
        for name, value in params:
            if name not in self.filters:
                continue
            values = tuple(v for v in value.split(",") if v) if name.endswith("__in") else (value,)
            if values and values != ("",):
                found[name] = values
        return tuple(sorted((self.filters[n], v) for n, v in found.items()))


_LINEAGE_FILTERS = {
    f"{end}{suffix}": end
    for end in ("from_entity", "to_entity")
    for suffix in ("", "_id", "__in", "_id__in")
}
# Tables and columns: by integration, by parent (schema or table) and by title.
_CHILD_FILTERS = {"integration_id": "integration_id", "parent_id": "parent_id", "title": "title"}
ROUTES: dict[str, Route] = {
    r.path: r
    for r in (
        Route("integration/integrations/", post=True, detail_get=True, filters={"type": "type"}),
        Route(
            "dashboard/dashboards/",
            detail_get=True,
            patch=True,
            filters={"integration_id": "integration_id", "title": "title"},
        ),
        Route("question/questions/"),
        Route("question/replies/"),
        Route("table/tables/", post=True, detail_get=True, patch=True, filters=_CHILD_FILTERS),
        Route(
            "table/columns/",
            post=True,
            detail_get=True,
            patch=True,
            filters={**_CHILD_FILTERS, "table_title": "table_title"},
        ),
        Route("lineage/manual/", post=True, detail_get=True, delete=True, filters=_LINEAGE_FILTERS),
        Route("user/", post=True, detail_get=True, patch=True),
        Route("auth/group/"),
        Route("auth/teams/"),
        Route("tag/", post=True, detail_get=True, delete=True),
    )
}
assert set(ROUTES) == set(RESOURCES)
COLLECTIONS: tuple[str, ...] = tuple(ROUTES)
"""Every collection path the API serves (relative to /api/v1/), in route-table order."""

# Field kinds: "title" (non-empty string), "str" (string or null), "list" (list of strings),
# "bool", "int", "role", "color" (a "#rrggbb" hex string).
_DOC_FIELDS = {
    "title": "title",
    "description": "str",
    "definition": "str",
    "tags": "list",
    "owners": "list",
    "pii": "bool",
    "verified": "bool",
}
WRITABLE: dict[str, dict[str, str]] = {
    "dashboard/dashboards/": {**_DOC_FIELDS, "url": "str"},
    "table/tables/": dict(_DOC_FIELDS),
    "table/columns/": {**_DOC_FIELDS, "type": "str", "sort_order": "int"},
    "user/": {
        "first_name": "str",
        "last_name": "str",
        "role": "role",
        "teams": "list",
        "user_groups": "list",
        "disabled": "bool",
    },
}
# PATCHes whose `tags` must all be tag ids. Only dashboards: the sandbox's own write tests
# PATCH tables and columns with made-up tag ids, which a stricter check would refuse.
TAG_CHECKED = frozenset({"dashboard/dashboards/"})
CREATE_ONLY = {
    "integration/integrations/": {"name": "title", "type": "str"},
    "tag/": {"name": "title", "description": "str"},
    "table/tables/": {"integration": "str", "parent": "str", "database": "str", "schema": "str"},
    "table/columns/": {"integration": "str", "parent": "str"},
}


def check_value(kind: str, value: Any) -> str | None:
    """Returns the error message for value as a field of the given kind, or None when fine.

    Raises:
        ValueError: an unknown kind.
    """
    if kind == "title":
        return None if isinstance(value, str) and value.strip() else "This field may not be blank."
    if kind == "str":
        return None if value is None or isinstance(value, str) else "Not a valid string."
    if kind == "list":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return None
        return f'Expected a list of items but got type "{type(value).__name__}".'
    if kind == "bool":
        return None if isinstance(value, bool) else "Must be a valid boolean."
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "A valid integer is required."
    if kind == "role":
        ok = isinstance(value, str) and value.lower() in ROLES
        return None if ok else f'"{value}" is not a valid choice.'
    if kind == "color":
        ok = isinstance(value, str) and HEX_COLOR.fullmatch(value) is not None
        return None if ok else f'"{value}" is not a valid hex colour such as "#a1b2c3".'
    raise ValueError(kind)


def check_fields(body: dict[str, Any], kinds: dict[str, str]) -> dict[str, list[str]]:
    """Returns the field errors of the keys of body that kinds knows."""
    errors = {}
    for key, kind in kinds.items():
        if key in body and (message := check_value(kind, body[key])) is not None:
            errors[key] = [message]
    return errors


def collection_path(path: str) -> str:
    """Returns the collection path (``table/tables/``) of a path, /api/v1/ prefix allowed.

    Raises:
        KeyError: not a collection.
    """
    path = path.strip().strip("/") + "/"
    if path.startswith(API_PREFIX[1:]):
        path = path[len(API_PREFIX) - 1 :]
    if path not in ROUTES:
        raise KeyError(f"no collection {path!r}; known: {', '.join(ROUTES)}")
    return path
