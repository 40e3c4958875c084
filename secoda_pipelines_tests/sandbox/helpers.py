"""Straight to a sandbox's store, for tests: seed, edit, read and count objects without a
request (not logged, not rate limited). See docs/sandbox.md, "Inspecting and seeding"."""

from __future__ import annotations

from typing import Any

from secoda_pipelines.sandbox import ROUTES, Sandbox, collection_path, new_id, now_iso
from secoda_pipelines.sandbox.seed import LINEAGE


def insert_object(sb: Sandbox, path: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Returns obj as stored at the end of the collection at path.

    A missing id gets a fresh uuid4, missing timestamps now. Lineage is stored as given
    (no mirror edge is added).

    Raises:
        KeyError: no collection at path.
        sqlite3.IntegrityError: the id is taken.
    """
    path = collection_path(path)
    stamp = now_iso()
    stored = {"id": new_id(), **obj}
    stored.setdefault("created_at", stamp)
    if path != LINEAGE:
        stored.setdefault("updated_at", stamp)
    store = sb.open_store()
    with store.transaction():
        store.insert(path, stored)
    return stored


def update_object(sb: Sandbox, path: str, object_id: str, **fields: Any) -> dict[str, Any]:
    """Returns the stored object after setting fields on it.

    For changes the API cannot make, such as a BI sync's new ``external_usage``: the
    fields are stored as given and nothing else changes (not ``updated_at`` unless given,
    no cascade such as group memberships).

    Raises:
        KeyError: no collection at path, or no object with this id in it.
        ValueError: fields would change the object's id.
    """
    path = collection_path(path)
    if fields.get("id", object_id) != object_id:
        raise ValueError(f"update cannot change an object's id ({object_id!r})")
    store = sb.open_store()
    with store.transaction():
        obj = store.get_object(path, object_id)
        if obj is None:
            raise KeyError(f"no object {object_id!r} in {path}")
        obj.update(fields)
        store.update(path, obj)
    return obj


def stored_object(sb: Sandbox, path_with_id: str) -> dict[str, Any] | None:
    """Returns the stored object at ``<collection>/<id>/``, or None when there is none.

    Raises:
        KeyError: no collection at that path.
    """
    parts = path_with_id.strip("/").split("/")
    return sb.open_store().get_object(collection_path("/".join(parts[:-1])), parts[-1])


def count_objects(sb: Sandbox, path: str, **filters: str) -> int:
    """Returns how many objects of the collection match the filters (query parameters).

    Raises:
        KeyError: no collection at path.
        ValueError: a filter the collection does not support.
    """
    route = ROUTES[collection_path(path)]
    unknown = set(filters) - set(route.filters)
    if unknown:
        raise ValueError(f"{route.path} has no filter {sorted(unknown)}")
    return sb.open_store().count(route.path, route.store_filters(filters.items()))
