"""The sandbox HTTP server: a local Secoda API (SPEC part A) over the SQLite store.

Written from the SPEC, not from the project's client, so that the two keep each other
honest; it imports nothing else of the project. Stdlib only: ``ThreadingHTTPServer`` with
HTTP/1.1 keep-alive, TCP_NODELAY and every response written in one ``sendall``.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import math
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from secoda_pipelines.sandbox import seed
from secoda_pipelines.sandbox.faults import (
    FAULT_KINDS,
    Fault,
    FaultInjector,
    WriteRateLimiter,
    check_kind,
)
from secoda_pipelines.sandbox.store import (
    RESOURCES,
    SCHEMA_VERSION,
    Filter,
    InvalidPage,
    Store,
    dumps,
)

DEFAULT_API_KEY = "sandbox-secret-key"
DEFAULT_READONLY_API_KEY = "sandbox-readonly-key"
API_PREFIX = "/api/v1/"
PAGE_STYLES = ("secoda", "drf")
LINEAGE_SPELLINGS = ("from_entity", "from_entity_id")
ORDERINGS = ("oldest_first", "newest_first")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROLES = ("admin", "editor", "viewer", "guest")

NOT_FOUND = "Not found."
NO_CREDENTIALS = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid token."
FORBIDDEN = "You do not have permission to perform this action."
THROTTLED = "Request was throttled."
SERVER_ERROR = "A server error occurred."
INVALID_PAGE = "Invalid page."
REQUIRED = "This field is required."
DUPLICATE_EMAIL = "A user with this email already exists."


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox received (the Authorization header is never kept).

    Attributes:
        method: the HTTP method.
        path: relative to /api/v1/ (e.g. ``table/tables/<id>/``); the full path when the
            request was outside /api/v1/.
        query: the query parameters (the last value of a repeated one).
        body: the parsed JSON body, or None (no body, or not JSON).
        status: the status answered; 0 for a reset connection or while in flight.
        fault: the injected fault kind, or None.
        started_at: time.monotonic() when the request line was read.
        finished_at: time.monotonic() just before the answer was written; None in flight.
        auth_ok: whether the request carried a valid key (full or read-only).
    """

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0
    fault: str | None = None
    started_at: float = 0.0
    finished_at: float | None = None
    auth_ok: bool = False


@dataclass
class _Slot:
    record: RequestRecord


@dataclass(frozen=True)
class Response:
    """An answer: status, body bytes, content type and extra headers."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


class ApiError(Exception):
    """Stops handling with the given response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(status: int, obj: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """Returns a JSON response of obj."""
    return Response(status, dumps(obj).encode(), headers=headers)


def detail(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> ApiError:
    """Returns an ApiError answering ``{"detail": message}`` with status."""
    return ApiError(json_response(status, {"detail": message}, headers))


def field_errors(errors: dict[str, list[str]]) -> ApiError:
    """Returns an ApiError answering 400 with DRF-style field errors."""
    return ApiError(json_response(400, errors))


def now_iso() -> str:
    """Returns the current UTC time as ISO-8601 with a Z suffix (millisecond precision)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    """Returns a fresh uuid4 id."""
    return str(uuid.uuid4())


# ---- routes and fields -------------------------------------------------------------------


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


_LINEAGE_FILTERS = {
    f"{end}{suffix}": end
    for end in ("from_entity", "to_entity")
    for suffix in ("", "_id", "__in", "_id__in")
}
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
        Route(
            "table/tables/",
            post=True,
            detail_get=True,
            patch=True,
            filters={
                "integration_id": "integration_id",
                "parent_id": "parent_id",
                "title": "title",
            },
        ),
        Route(
            "table/columns/",
            post=True,
            detail_get=True,
            patch=True,
            filters={
                "integration_id": "integration_id",
                "parent_id": "parent_id",
                "title": "title",
                "table_title": "table_title",
            },
        ),
        Route("lineage/manual/", post=True, detail_get=True, delete=True, filters=_LINEAGE_FILTERS),
        Route("user/", post=True, detail_get=True, patch=True),
        Route("auth/group/"),
        Route("auth/teams/"),
    )
}
assert set(ROUTES) == set(RESOURCES)

# Field kinds: "title" (non-empty string), "str" (string or null), "list" (list of strings),
# "bool", "int", "role".
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
_CREATE_ONLY = {
    "integration/integrations/": {"name": "title", "type": "str"},
    "table/tables/": {"integration": "str", "parent": "str", "database": "str", "schema": "str"},
    "table/columns/": {"integration": "str", "parent": "str"},
}


def check_value(kind: str, value: Any) -> str | None:
    """Returns the error message for value as a field of the given kind, or None when fine."""
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
    raise ValueError(kind)


def check_fields(body: dict[str, Any], kinds: dict[str, str]) -> dict[str, list[str]]:
    """Returns the field errors of the keys of body that kinds knows."""
    errors = {}
    for key, kind in kinds.items():
        if key in body and (message := check_value(kind, body[key])) is not None:
            errors[key] = [message]
    return errors


# ---- the API ---------------------------------------------------------------------------


class Api:
    """Answers one request against the store; knows routes, auth, validation and paging."""

    def __init__(self, sandbox: Sandbox, store: Store) -> None:
        """Serves sandbox's settings (read at every request) over store."""
        self.sb = sandbox
        self.store = store

    def handle(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        body: Any,
        body_error: str | None,
        authorization: str | None,
        host: str,
        apply: bool = True,
    ) -> Response:
        """Returns the answer to the request; writes are rolled back unless apply.

        path is relative to /api/v1/. Every failure is answered (never raised) except
        unexpected errors, which propagate for the server to answer 500.
        """
        try:
            route, object_id = self.resolve(path)
            self.authorize(method, authorization, count_write=apply)
            allowed = route.allowed(object_id is not None)
            if method not in allowed:
                allow = ", ".join(allowed)
                raise detail(405, f'Method "{method}" not allowed.', (("Allow", allow),))
            if method == "GET":
                if object_id is None:
                    return self.list_page(route, query, host, path)
                return self.read(route, object_id)
            if body_error is not None:
                raise detail(400, f"JSON parse error - {body_error}")
            with self.store.transaction(commit=apply):
                return self.write(method, route, object_id, body)
        except ApiError as error:
            return error.response

    def resolve(self, path: str) -> tuple[Route, str | None]:
        """Returns (route, object id or None for the collection).

        Raises:
            ApiError: 404, no such path.
        """
        if path in ROUTES:
            return ROUTES[path], None
        head, _, tail = path.rstrip("/").rpartition("/")
        route = ROUTES.get(f"{head}/")
        if route is None or not tail or not path.endswith("/") or not route.allowed(True):
            raise detail(404, NOT_FOUND)
        return route, tail

    def authorize(self, method: str, authorization: str | None, count_write: bool) -> None:
        """Checks the key, its permission and the write rate limit.

        Raises:
            ApiError: 401 (no or wrong key), 403 (read-only key on a write), 429 (throttled).
        """
        access = self.sb.access(authorization)
        if access is None:
            message = INVALID_TOKEN if authorization else NO_CREDENTIALS
            raise detail(401, message, (("WWW-Authenticate", 'Bearer realm="api"'),))
        if method in WRITE_METHODS:
            if access != "full":
                raise detail(403, FORBIDDEN)
            sb = self.sb
            if not sb.limiter.allow(sb.write_rate_limit, sb.write_window_s, count=count_write):
                raise detail(429, THROTTLED)

    # ---- reads ---------------------------------------------------------------------------

    def filters(self, route: Route, params: Iterable[tuple[str, str]]) -> tuple[Filter, ...]:
        """Returns the store filters for the known, non-empty query parameters (sorted)."""
        found: dict[str, tuple[str, ...]] = {}
        for name, value in params:
            column = route.filters.get(name)
            if column is None:
                continue
            values = tuple(v for v in value.split(",") if v) if name.endswith("__in") else (value,)
            if values and values != ("",):  # an empty value filters nothing, as django-filter
                found[name] = values
        return tuple(sorted((route.filters[n], v) for n, v in found.items()))

    def list_page(
        self, route: Route, query: list[tuple[str, str]], host: str, path: str
    ) -> Response:
        """Returns one page of the collection, in the configured page style.

        Raises:
            ApiError: 404 Invalid page (not a positive integer, or past the end).
        """
        params = dict(query)
        page = _page_number(params.get("page", "1"))
        size = max(1, int(self.sb.page_size))
        try:
            count, rows = self.store.page(
                route.path,
                self.filters(route, query),
                page,
                size,
                newest_first=self.sb.ordering == "newest_first",
            )
        except InvalidPage:
            raise detail(404, INVALID_PAGE) from None
        total = max(1, math.ceil(count / size))
        next_page = page + 1 if page < total else None
        previous = page - 1 if page > 1 else None
        link_path = self.sb.next_link_path or path

        def link(number: int | None) -> str | None:
            if number is None:
                return None
            pairs = [(k, v) for k, v in query if k != "page"]
            if number > 1:
                pairs.append(("page", str(number)))
            qs = f"?{urlencode(pairs)}" if pairs else ""
            return f"http://{host}{API_PREFIX}{link_path}{qs}"

        def nulled(value: Any) -> Any:
            return "None" if value is None and self.sb.none_strings else value

        if self.sb.page_style == "drf":
            envelope: dict[str, Any] = {
                "count": count,
                "next": nulled(link(next_page)),
                "previous": nulled(link(previous)),
            }
        else:
            envelope = {
                "links": {"next": nulled(link(next_page)), "previous": nulled(link(previous))},
                "meta": {
                    "page": page,
                    "previous_page": nulled(previous),
                    "next_page": nulled(next_page),
                },
                "count": count,
                "total_pages": total,
            }
        rows = [self.render(route, r) for r in rows]
        text = f'{dumps(envelope)[:-1]},"results":[{",".join(rows)}]}}'
        return Response(200, text.encode())

    def read(self, route: Route, object_id: str) -> Response:
        """Returns one object.

        Raises:
            ApiError: 404, no such object.
        """
        text = self.store.get(route.path, object_id)
        if text is None:
            raise detail(404, NOT_FOUND)
        return Response(200, self.render(route, text).encode())

    def render(self, route: Route, text: str) -> str:
        """Returns the stored JSON text as served (lineage keys per lineage_spelling)."""
        if route.path == seed.LINEAGE and self.sb.lineage_spelling == "from_entity_id":
            return text.replace('"from_entity":', '"from_entity_id":', 1).replace(
                '"to_entity":', '"to_entity_id":', 1
            )
        return text

    def rendered(self, route: Route, obj: dict[str, Any]) -> bytes:
        """Returns obj as served."""
        return self.render(route, dumps(obj)).encode()

    # ---- writes --------------------------------------------------------------------------

    def write(self, method: str, route: Route, object_id: str | None, body: Any) -> Response:
        """Returns the answer to a write (inside the caller's transaction).

        Raises:
            ApiError: 400 (validation), 404 (no such object).
        """
        if method == "DELETE":
            return self.delete_lineage(object_id or "")
        if not isinstance(body, dict):
            kind = "null" if body is None else type(body).__name__
            raise field_errors(
                {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}
            )
        if method == "PATCH":
            return self.patch(route, object_id or "", body)
        creators: dict[str, Callable[[dict[str, Any]], Response]] = {
            seed.LINEAGE: self.create_lineage,
            seed.USERS: self.create_users,
            seed.INTEGRATIONS: self.create_integration,
            seed.TABLES: self.create_table,
            seed.COLUMNS: self.create_column,
        }
        return creators[route.path](body)

    def existing(self, path: str, object_id: str) -> dict[str, Any]:
        """Returns the stored object.

        Raises:
            ApiError: 404, no such object.
        """
        obj = self.store.get_object(path, object_id)
        if obj is None:
            raise detail(404, NOT_FOUND)
        return obj

    def patch(self, route: Route, object_id: str, body: dict[str, Any]) -> Response:
        """Returns the partially updated object.

        Raises:
            ApiError: 404 (no such object), 400 (unknown field, wrong type, bad reference).
        """
        obj = self.existing(route.path, object_id)
        kinds = WRITABLE[route.path]
        errors = check_fields(body, kinds)
        # Read-only fields the object has are ignored, as DRF does; anything else is unknown.
        errors.update({k: ["Unknown field."] for k in body if k not in kinds and k not in obj})
        if route.path == seed.USERS and not errors:
            errors = self.check_user_refs(body, obj)
        if errors:
            raise field_errors(errors)
        changes = {k: v for k, v in body.items() if k in kinds}
        if "role" in changes:
            changes["role"] = changes["role"].lower()
        if route.path == seed.USERS and "user_groups" in changes:
            self.move_user(obj["id"], obj.get("user_groups") or [], changes["user_groups"])
        if any(obj.get(k) != v for k, v in changes.items()):
            obj.update(changes)
            obj["updated_at"] = now_iso()
            self.store.update(route.path, obj)
        return Response(200, self.rendered(route, obj))

    def check_user_refs(self, body: dict[str, Any], user: dict[str, Any]) -> dict[str, list[str]]:
        """Returns the errors of a user PATCH's group and team ids and the guest rule."""
        errors = self.unknown_ids(seed.GROUPS, "user_groups", body.get("user_groups") or [])
        errors.update(self.unknown_ids(seed.TEAMS, "teams", body.get("teams") or []))
        role = str(body.get("role", user.get("role", ""))).lower()
        teams = body.get("teams", user.get("teams")) or []
        if role == "guest" and not teams:
            errors["teams"] = ["Guest users must belong to at least one team."]
        return errors

    def unknown_ids(self, path: str, key: str, ids: list[str]) -> dict[str, list[str]]:
        """Returns {key: [message]} naming the ids with no object at path; {} when all exist."""
        missing = [i for i in ids if self.store.get(path, i) is None]
        if not missing:
            return {}
        noun = "group" if path == seed.GROUPS else "team"
        return {key: [f'Invalid pk "{i}" - {noun} does not exist.' for i in missing]}

    def move_user(self, user_id: str, before: list[str], after: list[str]) -> None:
        """Updates the groups' ``users`` lists for a user moving from before to after."""
        for group_id in dict.fromkeys([*before, *after]):
            group = self.store.get_object(seed.GROUPS, group_id)
            if group is None:
                continue
            members = [u for u in group.get("users") or [] if u != user_id]
            if group_id in after:
                members.append(user_id)
            if members != group.get("users"):
                group["users"] = members
                self.store.update(seed.GROUPS, group)

    def create_integration(self, body: dict[str, Any]) -> Response:
        """Returns 201 with the new integration.

        Raises:
            ApiError: 400, name missing or blank.
        """
        errors = check_fields(body, _CREATE_ONLY[seed.INTEGRATIONS])
        if "name" not in body:
            errors["name"] = [REQUIRED]
        if errors:
            raise field_errors(errors)
        stamp = now_iso()
        obj = {
            "id": new_id(),
            "name": body["name"],
            "type": body.get("type") or "custom",
            "status": "active",
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.store.insert(seed.INTEGRATIONS, obj)
        return json_response(201, obj)

    def create_table(self, body: dict[str, Any]) -> Response:
        """Returns 201 with the new table.

        Raises:
            ApiError: 400, title missing, wrong types or an unknown integration.
        """
        errors = self.check_create(seed.TABLES, body)
        integration = body.get("integration")
        if integration and self.store.get(seed.INTEGRATIONS, integration) is None:
            errors["integration"] = [f'Invalid pk "{integration}" - object does not exist.']
        if errors:
            raise field_errors(errors)
        obj = {
            "id": new_id(),
            "title": body["title"],
            "entity_type": "table",
            "integration": integration,
            "parent": body.get("parent"),
            "database": body.get("database"),
            "schema": body.get("schema"),
            **self.documentation(body),
        }
        self.store.insert(seed.TABLES, obj)
        return json_response(201, obj)

    def create_column(self, body: dict[str, Any]) -> Response:
        """Returns 201 with the new column (its table's names copied from the parent).

        Raises:
            ApiError: 400, title missing, wrong types or an unknown parent table.
        """
        errors = self.check_create(seed.COLUMNS, body)
        table: dict[str, Any] = {}
        if body.get("parent"):
            table = self.store.get_object(seed.TABLES, body["parent"]) or {}
            if not table:
                errors["parent"] = [f'Invalid pk "{body["parent"]}" - object does not exist.']
        if errors:
            raise field_errors(errors)
        obj = {
            "id": new_id(),
            "title": body["title"],
            "entity_type": "column",
            "parent": table.get("id"),
            "table_title": table.get("title"),
            "table_schema": table.get("schema"),
            "table_database": table.get("database"),
            "integration": body.get("integration") or table.get("integration"),
            "type": body.get("type") or "varchar",
            "sort_order": body.get("sort_order", 0),
            **self.documentation(body),
        }
        self.store.insert(seed.COLUMNS, obj)
        return json_response(201, obj)

    def check_create(self, path: str, body: dict[str, Any]) -> dict[str, list[str]]:
        """Returns the field errors of a create body (title required; unknown keys ignored)."""
        errors = check_fields(body, {**WRITABLE[path], **_CREATE_ONLY[path]})
        if "title" not in body:
            errors["title"] = [REQUIRED]
        return errors

    @staticmethod
    def documentation(body: dict[str, Any]) -> dict[str, Any]:
        """Returns the documentation fields of a new resource, defaults filled in."""
        stamp = now_iso()
        return {
            "description": body.get("description", ""),
            "definition": body.get("definition", ""),
            "tags": body.get("tags") or [],
            "owners": body.get("owners") or [],
            "pii": body.get("pii", False),
            "verified": body.get("verified", False),
            "created_at": stamp,
            "updated_at": stamp,
        }

    def create_lineage(self, body: dict[str, Any]) -> Response:
        """Returns 201 with the new edge, after storing it and its mirror.

        Raises:
            ApiError: 400, an end missing or unknown, a bad direction, or an existing edge.
        """
        ends = {end: body.get(end, body.get(f"{end}_id")) for end in ("from_entity", "to_entity")}
        errors: dict[str, list[str]] = {}
        for end, value in ends.items():
            if value in (None, ""):
                errors[end] = [REQUIRED]
            elif not isinstance(value, str) or not self.entity_exists(value):
                errors[end] = [f'Entity "{value}" does not exist.']
        direction = body.get("direction") or "DOWNSTREAM"
        if not isinstance(direction, str) or direction.upper() not in ("DOWNSTREAM", "UPSTREAM"):
            errors["direction"] = [f'"{direction}" is not a valid choice.']
        if errors:
            raise field_errors(errors)
        source, target, direction = ends["from_entity"], ends["to_entity"], direction.upper()
        if source == target:
            raise field_errors({"non_field_errors": ["An entity cannot be its own lineage."]})
        mirror_direction = "UPSTREAM" if direction == "DOWNSTREAM" else "DOWNSTREAM"
        pairs = ((source, target, direction), (target, source, mirror_direction))
        if any(self.edge(*pair) for pair in pairs):
            raise field_errors({"non_field_errors": ["This lineage already exists."]})
        stamp = now_iso()
        created = []
        for src, dst, way in pairs:
            edge = {
                "id": new_id(),
                "from_entity": src,
                "to_entity": dst,
                "direction": way,
                "is_manual": True,
                "created_at": stamp,
            }
            self.store.insert(seed.LINEAGE, edge)
            created.append(edge)
        return Response(201, self.rendered(ROUTES[seed.LINEAGE], created[0]))

    def entity_exists(self, entity_id: str) -> bool:
        """Returns whether a table, column or dashboard has this id."""
        paths = (seed.TABLES, seed.COLUMNS, seed.DASHBOARDS)
        return any(self.store.get(p, entity_id) is not None for p in paths)

    def edge(self, source: str, target: str, direction: str) -> dict[str, Any] | None:
        """Returns the stored edge source -> target with this direction, if any."""
        found = self.store.find(
            seed.LINEAGE, (("from_entity", (source,)), ("to_entity", (target,)))
        )
        return next((e for e in found if e.get("direction") == direction), None)

    def delete_lineage(self, object_id: str) -> Response:
        """Returns 204 after deleting the edge and its mirror.

        Raises:
            ApiError: 404, no such edge.
        """
        edge = self.existing(seed.LINEAGE, object_id)
        opposite = "UPSTREAM" if edge.get("direction") == "DOWNSTREAM" else "DOWNSTREAM"
        mirror = self.edge(edge["to_entity"], edge["from_entity"], opposite)
        self.store.delete(seed.LINEAGE, object_id)
        if mirror is not None:
            self.store.delete(seed.LINEAGE, mirror["id"])
        return Response(204, b"")

    def create_users(self, body: dict[str, Any]) -> Response:
        """Returns 201 with the new user (a list when several emails were given).

        Accepts both documented spellings: ``email`` + ``user_groups`` and ``emails`` +
        ``groups``, or one body carrying both.

        Raises:
            ApiError: 400, naming each bad field (emails, role, groups, teams, duplicates).
        """
        emails, errors = self.user_emails(body)
        role = body.get("role")
        if role is None:
            errors["role"] = [REQUIRED]
        elif (message := check_value("role", role)) is not None:
            errors["role"] = [message]
        errors.update(check_fields(body, {"first_name": "str", "last_name": "str"}))
        groups: list[str] = []
        for key in ("user_groups", "groups", "teams"):
            value = body.get(key)
            if value is None:
                continue
            if (message := check_value("list", value)) is not None:
                errors[key] = [message]
                continue
            kind = seed.TEAMS if key == "teams" else seed.GROUPS
            errors.update(self.unknown_ids(kind, key, value))
            if key != "teams":
                groups.extend(value)
        teams = body.get("teams") if isinstance(body.get("teams"), list) else []
        if isinstance(role, str) and role.lower() == "guest" and not teams:
            errors.setdefault("teams", []).append("Guest users must belong to at least one team.")
        if errors:
            raise field_errors(errors)
        created = [
            self.add_user(email, role.lower(), body, list(dict.fromkeys(groups)), teams)
            for email in emails
        ]
        return json_response(201, created[0] if len(created) == 1 else created)

    def user_emails(self, body: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
        """Returns (the distinct emails of a user POST, field errors)."""
        errors: dict[str, list[str]] = {}
        values: list[Any] = []
        if "emails" in body:
            if isinstance(body["emails"], list):
                values.extend(body["emails"])
            else:
                errors["emails"] = [check_value("list", body["emails"]) or ""]
        if "email" in body:
            values.insert(0, body["email"])
        emails = list({str(v).strip().lower(): str(v).strip() for v in values}.values())
        bad = [v for v in values if not isinstance(v, str) or "@" not in v]
        if bad:
            errors["email"] = [f"Enter a valid email address: {v!r}." for v in bad]
        elif not emails and not errors:
            errors["email"] = [REQUIRED]
        taken = [e for e in emails if self.store.find(seed.USERS, (("email", (e.lower(),)),))]
        if taken and "email" not in errors:
            errors["email"] = [DUPLICATE_EMAIL] if len(emails) == 1 else [DUPLICATE_EMAIL, *taken]
        return emails, errors

    def add_user(
        self, email: str, role: str, body: dict[str, Any], groups: list[str], teams: list[str]
    ) -> dict[str, Any]:
        """Returns the stored new (pending) user, after adding it to its groups."""
        stamp = now_iso()
        first, last = body.get("first_name") or "", body.get("last_name") or ""
        user = {
            "id": new_id(),
            "email": email,
            "first_name": first,
            "last_name": last,
            "display_name": f"{first} {last}".strip() or email,
            "role": role,
            "user_groups": groups,
            "teams": teams,
            "pending": True,
            "disabled": False,
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.store.insert(seed.USERS, user)
        self.move_user(user["id"], [], groups)
        return user


def _page_number(value: str) -> int:
    """Returns the page number.

    Raises:
        ApiError: 404 Invalid page, not a positive integer.
    """
    if not value.isdigit() or int(value) < 1:
        raise detail(404, INVALID_PAGE)
    return int(value)


# ---- HTTP ------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops SYNs when 8 clients connect at once, and
    # each dropped SYN costs the client a 1 s retransmit.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is normal (timeouts, resets); say nothing.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    sandbox: Sandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "secoda-sandbox"
    sys_version = ""
    server: _Server
    started_at = 0.0

    def setup(self) -> None:
        super().setup()
        self.server.sandbox.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox.track(self.connection, False)

    def parse_request(self) -> bool:
        self.started_at = time.monotonic()
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the default access log goes to stderr; Sandbox(verbose=True) logs instead

    def do_GET(self) -> None:
        self.server.sandbox.serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def read_body(self) -> bytes:
        """Returns the request body (Content-Length or chunked).

        Raises:
            ValueError: a malformed length or chunk size.
        """
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass  # trailers
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError(length)
        return self.rfile.read(length) if length else b""

    def send(self, response: Response) -> None:
        """Writes status line, headers and body in one sendall."""
        reason = HTTPStatus(response.status).phrase
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Server: {self.server_version}",
            f"Content-Length: {len(response.body)}",
        ]
        if response.body or response.status != 204:
            lines.append(f"Content-Type: {response.content_type}")
        lines.extend(f"{k}: {v}" for k, v in response.headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + response.body)

    def reset(self) -> None:
        """Closes the connection with an RST (SO_LINGER 0) instead of answering."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass


@dataclass(frozen=True)
class _Incoming:
    """A request as read off the socket."""

    method: str
    path: str  # relative to /api/v1/ when inside, else the whole path
    inside: bool
    query: list[tuple[str, str]]
    body: Any
    body_error: str | None
    authorization: str | None

    @classmethod
    def read(cls, handler: _Handler) -> _Incoming:
        """Returns the request handler has parsed, with its body read and decoded.

        Raises:
            ValueError: a malformed body length or chunk.
        """
        raw = handler.read_body()
        url = urlsplit(handler.path)
        inside = url.path.startswith(API_PREFIX)
        body, body_error = _parse_body(raw)
        return cls(
            handler.command,
            url.path[len(API_PREFIX) :] if inside else url.path,
            inside,
            parse_qsl(url.query, keep_blank_values=True),
            body,
            body_error,
            handler.headers.get("Authorization"),
        )


def _parse_body(raw: bytes) -> tuple[Any, str | None]:
    """Returns (parsed JSON or None, the parse error or None)."""
    if not raw.strip():
        return None, None
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError) as error:
        return None, str(error)


def _fault_response(fault: Fault) -> Response:
    retry = () if fault.retry_after is None else (("Retry-After", str(fault.retry_after)),)
    if fault.kind == "429_retry_after":
        return json_response(429, {"detail": THROTTLED}, retry)
    if fault.kind == "429":
        return json_response(429, {"detail": THROTTLED})
    if fault.kind == "500":
        return json_response(500, {"detail": SERVER_ERROR})
    return Response(503, b"Service Unavailable", "text/plain; charset=utf-8", retry)


# ---- the sandbox -----------------------------------------------------------------------


class Sandbox:
    """A local Secoda API over a seeded SQLite file; see docs/sandbox.md.

    The attributes latency_ms, fault_rate, fault_kinds, fault_methods, page_style,
    none_strings, next_link_path, write_rate_limit, write_window_s, lineage_spelling, ordering
    and page_size are read at every request, so tests may change them between calls.
    """

    def __init__(
        self,
        db_path: str | Path,
        scale: str = "demo",
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        readonly_api_key: str | None = DEFAULT_READONLY_API_KEY,
        page_size: int = 50,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        fault_seed: int = 0,
        fault_kinds: Iterable[str] | None = None,
        fault_methods: Iterable[str] = ("GET",),
        write_rate_limit: int | None = 30,
        write_window_s: float = 60.0,
        page_style: str = "secoda",
        none_strings: bool = False,
        next_link_path: str | None = None,
        lineage_spelling: str = "from_entity",
        ordering: str = "oldest_first",
        reset: bool = False,
        verbose: bool = False,
    ) -> None:
        """Configures the sandbox; nothing is opened or bound until start().

        Raises:
            ValueError: an unknown scale, page_style, lineage_spelling, ordering or fault
                kind, or an empty api_key.
        """
        if scale not in seed.SCALES:
            raise ValueError(f"scale must be one of {seed.SCALES}, got {scale!r}")
        if page_style not in PAGE_STYLES:
            raise ValueError(f"page_style must be one of {PAGE_STYLES}, got {page_style!r}")
        if lineage_spelling not in LINEAGE_SPELLINGS:
            raise ValueError(f"lineage_spelling must be one of {LINEAGE_SPELLINGS}")
        if ordering not in ORDERINGS:
            raise ValueError(f"ordering must be one of {ORDERINGS}, got {ordering!r}")
        if not api_key:
            raise ValueError("api_key must not be empty")
        self.db_path = Path(db_path)
        self.scale = scale
        self.host = host
        self.port = port
        self.api_key = api_key
        self.readonly_api_key = readonly_api_key
        self.page_size = page_size
        self.latency_ms = latency_ms
        self.fault_rate = fault_rate
        self.fault_kinds = None if fault_kinds is None else tuple(map(check_kind, fault_kinds))
        self.fault_methods = tuple(fault_methods)
        self.write_rate_limit = write_rate_limit
        self.write_window_s = write_window_s
        self.page_style = page_style
        self.none_strings = none_strings
        self.next_link_path = next_link_path
        self.lineage_spelling = lineage_spelling
        self.ordering = ordering
        self.verbose = verbose
        self.on_request: Callable[[RequestRecord], None] | None = None
        self.limiter = WriteRateLimiter()
        self.seeded = False  # True when the last open had to (re)build the database
        self._reset = reset
        self._faults = FaultInjector(fault_seed)
        self._store: Store | None = None
        self._api: Api | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log: list[_Slot] = []
        self._log_lock = threading.Lock()
        self._connections: set[socket.socket] = set()

    # ---- lifecycle -----------------------------------------------------------------------

    def open_store(self) -> Store:
        """Returns the store, opening it and seeding it first when needed.

        Seeds when reset was asked (first open only), or the file does not hold this scale's
        workspace at the current seed and schema versions; a file of another scale is
        rebuilt.
        """
        if self._store is not None:
            return self._store
        store = Store(self.db_path)
        meta = store.meta()
        wanted = {
            "scale": self.scale,
            "seed_version": seed.SEED_VERSION,
            "schema_version": SCHEMA_VERSION,
        }
        self.seeded = self._reset or any(meta.get(k) != v for k, v in wanted.items())
        if self.seeded:
            store.rebuild(wanted, seed.workspace(self.scale))
        self._reset = False
        self._store = store
        self._api = Api(self, store)
        return store

    def start(self) -> Sandbox:
        """Seeds if needed, binds and serves in a daemon thread; returns self.

        Raises:
            OSError: the address cannot be bound.
        """
        if self._server is not None:
            return self
        self.open_store()
        server = _Server((self.host, self.port), _Handler)
        server.sandbox = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"secoda-sandbox-{self.server_address[1]}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving, drops open connections and closes the store; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            with self._log_lock:
                connections = list(self._connections)
            for connection in connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            if self._thread is not None:
                self._thread.join(timeout=5)
        if self._store is not None:
            self._store.close()
            self._store = None
            self._api = None

    def serve_forever(self) -> None:
        """Starts (if needed) and blocks until KeyboardInterrupt, then stops cleanly."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def server_address(self) -> tuple[str, int]:
        """Returns the bound (host, port).

        Raises:
            RuntimeError: not started.
        """
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        """Returns ``http://<host>:<port>/api/v1/`` of the running server.

        Raises:
            RuntimeError: not started.
        """
        host, port = self.server_address
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}{API_PREFIX}"

    # ---- configuration used by the API ---------------------------------------------------

    def access(self, authorization: str | None) -> str | None:
        """Returns "full", "readonly" or None (no valid Bearer key) for the header."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        key = authorization[len("Bearer ") :].strip().encode()
        if hmac.compare_digest(key, self.api_key.encode()):
            return "full"
        readonly = self.readonly_api_key
        if readonly and hmac.compare_digest(key, readonly.encode()):
            return "readonly"
        return None

    def fail_next(
        self,
        kind: str,
        count: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Makes the next count requests matching method and path_contains fail with kind.

        Queued faults take precedence over random ones. retry_after: seconds sent in
        Retry-After for 429_retry_after (default 1) and 503 (none unless given).

        Raises:
            ValueError: an unknown kind, or count < 1.
        """
        self._faults.fail_next(kind, count, method, path_contains, retry_after)

    def clear_faults(self) -> None:
        """Drops every fault queued by fail_next."""
        self._faults.clear()

    # ---- the request log -----------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Returns a snapshot of every request received, in arrival order."""
        with self._log_lock:
            return [slot.record for slot in self._log]

    def writes(self) -> list[RequestRecord]:
        """Returns the non-GET requests that were applied (answered 2xx, not faulted)."""
        return [
            r
            for r in self.requests
            if r.method != "GET" and 200 <= r.status < 300 and r.fault is None
        ]

    def clear_log(self) -> None:
        """Forgets every recorded request."""
        with self._log_lock:
            self._log = []

    # ---- direct store access -------------------------------------------------------------

    def insert(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Returns obj as stored at the end of the collection at path (not logged, not limited).

        A missing id gets a fresh uuid4, missing timestamps now. Lineage is stored as given
        (no mirror edge is added).

        Raises:
            KeyError: no collection at path.
            sqlite3.IntegrityError: the id is taken.
        """
        path = _collection(path)
        stamp = now_iso()
        stored = {"id": new_id(), **obj}
        stored.setdefault("created_at", stamp)
        if path != seed.LINEAGE:
            stored.setdefault("updated_at", stamp)
        store = self.open_store()
        with store.transaction():
            store.insert(path, stored)
        return stored

    def get_object(self, path_with_id: str) -> dict[str, Any] | None:
        """Returns the stored object at ``<collection>/<id>/``, or None when there is none.

        Raises:
            KeyError: no collection at that path.
        """
        parts = path_with_id.strip("/").split("/")
        return self.open_store().get_object(_collection("/".join(parts[:-1])), parts[-1])

    def count(self, path: str, **filters: str) -> int:
        """Returns how many objects of the collection match the filters (query parameters).

        Raises:
            KeyError: no collection at path.
            ValueError: a filter the collection does not support.
        """
        route = ROUTES[_collection(path)]
        unknown = set(filters) - set(route.filters)
        if unknown:
            raise ValueError(f"{route.path} has no filter {sorted(unknown)}")
        store = self.open_store()
        api = self._api or Api(self, store)
        return store.count(route.path, api.filters(route, filters.items()))

    # ---- serving -------------------------------------------------------------------------

    def track(self, connection: socket.socket, add: bool) -> None:
        """Registers (or forgets) an open client connection, so stop() can close it."""
        with self._log_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def serve(self, handler: _Handler) -> None:
        """Answers one request on handler: log, latency, faults, then the API."""
        try:
            incoming = _Incoming.read(handler)
        except ValueError:
            handler.close_connection = True
            handler.send(Response(400, b"Bad request body", "text/plain; charset=utf-8"))
            return
        record = RequestRecord(
            incoming.method,
            incoming.path,
            dict(incoming.query),
            incoming.body,
            started_at=handler.started_at,
            auth_ok=self.access(incoming.authorization) is not None,
        )
        slot = _Slot(record)
        with self._log_lock:
            self._log.append(slot)
        self._notify(record)
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)
        fault = None
        try:
            if incoming.inside:
                fault = self._faults.decide(
                    incoming.method,
                    incoming.path,
                    self.fault_rate,
                    self.fault_kinds,
                    self.fault_methods,
                )
            if fault is not None and fault.kind == "reset":
                self._finish(slot, 0, fault)
                handler.reset()
                return
            response = self._answer(handler, incoming, fault)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = json_response(500, {"detail": SERVER_ERROR})
        self._finish(slot, response.status, fault)
        handler.send(response)

    def _answer(self, handler: _Handler, incoming: _Incoming, fault: Fault | None) -> Response:
        if not incoming.inside:
            return Response(404, b"Not Found", "text/plain; charset=utf-8")
        if fault is not None and fault.kind != "truncated":
            return _fault_response(fault)
        api = self._api
        if api is None:
            raise RuntimeError("the sandbox is stopped")
        host = handler.headers.get("Host") or "{}:{}".format(*self.server_address)
        response = api.handle(
            incoming.method,
            incoming.path,
            incoming.query,
            incoming.body,
            incoming.body_error,
            incoming.authorization,
            host,
            apply=fault is None,
        )
        if fault is not None:  # truncated: valid HTTP, half the JSON
            return replace(response, body=response.body[: len(response.body) // 2])
        return response

    def _notify(self, record: RequestRecord) -> None:
        callback = self.on_request
        if callback is None:
            return
        try:
            callback(record)
        except Exception:
            traceback.print_exc(file=sys.stderr)

    def _finish(self, slot: _Slot, status: int, fault: Fault | None) -> None:
        record = replace(
            slot.record,
            status=status,
            fault=fault.kind if fault else None,
            finished_at=time.monotonic(),
        )
        with self._log_lock:
            slot.record = record
        if self.verbose:
            elapsed = (record.finished_at or 0) - record.started_at
            note = f" fault={record.fault}" if record.fault else ""
            print(
                f"{record.method} {record.path} {status} {elapsed * 1000:.1f}ms{note}",
                file=sys.stderr,
                flush=True,
            )


def _collection(path: str) -> str:
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


__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_READONLY_API_KEY",
    "FAULT_KINDS",
    "RequestRecord",
    "Sandbox",
]
