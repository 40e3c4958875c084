"""The Secoda endpoints (SPEC part A): the Api class answers one request against the store.

Knows auth, paging and the list/read/patch/create/lineage/users/tags handling; it never
touches a socket (see handler.py). It reads the live SandboxSettings it is given at every
request.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from secoda_pipelines.sandbox import seed
from secoda_pipelines.sandbox.faults import WriteRateLimiter
from secoda_pipelines.sandbox.responses import (
    DUPLICATE_EMAIL,
    FORBIDDEN,
    INVALID_PAGE,
    INVALID_TOKEN,
    NO_CREDENTIALS,
    NOT_FOUND,
    REQUIRED,
    THROTTLED,
    ApiError,
    Response,
    detail,
    field_errors,
    json_response,
)
from secoda_pipelines.sandbox.routes import (
    API_PREFIX,
    CREATE_ONLY,
    ROUTES,
    TAG_CHECKED,
    WRITABLE,
    Route,
    check_fields,
    check_value,
)
from secoda_pipelines.sandbox.settings import SandboxSettings
from secoda_pipelines.sandbox.store import InvalidPage, Store, dumps

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What unknown_ids calls an object of each collection it checks ids against.
_NOUNS = {seed.GROUPS: "group", seed.TEAMS: "team", seed.TAGS: "tag"}
# The collections whose objects carry a `tags` list of tag ids.
TAGGED = (seed.DASHBOARDS, seed.TABLES, seed.COLUMNS)


def now_iso() -> str:
    """Returns the current UTC time as ISO-8601 with a Z suffix (millisecond precision)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    """Returns a fresh uuid4 id."""
    return str(uuid.uuid4())


class Api:
    """Answers one request against the store; knows routes, auth, validation and paging."""

    def __init__(self, settings: SandboxSettings, store: Store, limiter: WriteRateLimiter) -> None:
        """Serves store with settings (keys included; read at every request), counting
        writes in limiter."""
        self.settings = settings
        self.store = store
        self.limiter = limiter

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
        access = self.settings.access(authorization)
        if access is None:
            message = INVALID_TOKEN if authorization else NO_CREDENTIALS
            raise detail(401, message, (("WWW-Authenticate", 'Bearer realm="api"'),))
        if method in WRITE_METHODS:
            if access != "full":
                raise detail(403, FORBIDDEN)
            limit, window = self.settings.write_rate_limit, self.settings.write_window_s
            if not self.limiter.allow(limit, window, count=count_write):
                raise detail(429, THROTTLED)

    # ---- reads ---------------------------------------------------------------------------

    def list_page(
        self, route: Route, query: list[tuple[str, str]], host: str, path: str
    ) -> Response:
        """Returns one page of the collection, in the configured page style.

        Raises:
            ApiError: 404 Invalid page (not a positive integer, or past the end).
        """
        params = dict(query)
        page = _page_number(params.get("page", "1"))
        size = self.settings.page_size
        try:
            count, rows = self.store.page(
                route.path,
                route.store_filters(query),
                page,
                size,
                newest_first=self.settings.ordering == "newest_first",
            )
        except InvalidPage:
            raise detail(404, INVALID_PAGE) from None
        total = max(1, math.ceil(count / size))
        next_page = page + 1 if page < total else None
        previous = page - 1 if page > 1 else None
        link_path = self.settings.next_link_path or path

        def link(number: int | None) -> str | None:
            if number is None:
                return None
            pairs = [(k, v) for k, v in query if k != "page"]
            if number > 1:
                pairs.append(("page", str(number)))
            qs = f"?{urlencode(pairs)}" if pairs else ""
            return f"http://{host}{API_PREFIX}{link_path}{qs}"

        def nulled(value: Any) -> Any:
            return "None" if value is None and self.settings.none_strings else value

        if self.settings.page_style == "drf":
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

    def is_later_page(
        self, path: str, query: list[tuple[str, str]], authorization: str | None
    ) -> bool:
        """Returns whether a GET of path with query, under this Authorization, would be
        answered a page >= 2 of a listing (a collection path, a valid key, a page number of
        2 or more that the filtered listing has).
        """
        route = ROUTES.get(path)
        if route is None or self.settings.access(authorization) is None:
            return False
        value = dict(query).get("page", "1")
        if not value.isdigit() or int(value) < 2:
            return False
        count = self.store.count(route.path, route.store_filters(query))
        return int(value) <= max(1, math.ceil(count / self.settings.page_size))

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
        if route.path == seed.LINEAGE and self.settings.lineage_spelling == "from_entity_id":
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
            deleters = {seed.LINEAGE: self.delete_lineage, seed.TAGS: self.delete_tag}
            return deleters[route.path](object_id or "")
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
            seed.TAGS: self.create_tag,
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
        if route.path in TAG_CHECKED and not errors and "tags" in body:
            errors = self.unknown_ids(seed.TAGS, "tags", body["tags"])
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
        missing = [i for i in dict.fromkeys(ids) if self.store.get(path, i) is None]
        if not missing:
            return {}
        noun = _NOUNS[path]
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
        errors = check_fields(body, CREATE_ONLY[seed.INTEGRATIONS])
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
        errors = check_fields(body, {**WRITABLE[path], **CREATE_ONLY[path]})
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

    def create_tag(self, body: dict[str, Any]) -> Response:
        """Returns 201 with the new tag (color defaults to seed.DEFAULT_TAG_COLOR).

        Raises:
            ApiError: 400, naming each bad field: name missing, blank or already taken by a
                tag (case-insensitive, surrounding spaces ignored), description not a string,
                color not a ``#rrggbb`` hex colour.
        """
        errors = check_fields(body, CREATE_ONLY[seed.TAGS])
        if "name" not in body:
            errors["name"] = [REQUIRED]
        color = body.get("color")
        if color is not None and (message := check_value("color", color)) is not None:
            errors["color"] = [message]
        name = body["name"].strip() if "name" not in errors else ""
        taken = self.tag_named(name) if name else None
        if taken is not None:
            errors["name"] = [f'A tag named "{taken["name"]}" already exists (id {taken["id"]}).']
        if errors:
            raise field_errors(errors)
        stamp = now_iso()
        tag = {
            "id": new_id(),
            "name": name,
            "description": body.get("description", ""),
            "color": color or seed.DEFAULT_TAG_COLOR,
            "integration_id": None,
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.store.insert(seed.TAGS, tag)
        return json_response(201, tag)

    def tag_named(self, name: str) -> dict[str, Any] | None:
        """Returns the tag whose name equals name case-insensitively, or None."""
        found = self.store.find(seed.TAGS, (("name", (name.lower(),)),))
        return found[0] if found else None

    def delete_tag(self, object_id: str) -> Response:
        """Returns 204 after deleting the tag and removing its id from every ``tags`` list.

        The resources that carried it keep their ``updated_at``: removing a many-to-many
        link does not save the resource itself.

        Raises:
            ApiError: 404, no such tag.
        """
        self.existing(seed.TAGS, object_id)
        self.store.delete(seed.TAGS, object_id)
        for path in TAGGED:
            for obj in self.store.containing(path, dumps(object_id)):
                tags = obj.get("tags")
                if isinstance(tags, list) and object_id in tags:
                    obj["tags"] = [t for t in tags if t != object_id]
                    self.store.update(path, obj)
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
