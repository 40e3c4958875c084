"""Workspaces for migration tests: generated sources and targets full of the cases that
matter (duplicates on either side, unmatched resources, keys differing only in case and
spaces, keys whose parts hold dots, every empty value, tags and owners in another order,
missing fields, integer ids), and the listings of a sandbox's integrations."""

from __future__ import annotations

import random
from typing import Any

DATABASES = ["Analytics", " ANALYTICS ", "raw", None, "a.b", "a", "Straße", "STRASSE", ""]
SCHEMAS = ["core", "Core", " public", "b.c", "c", "", None, "finance"]
TITLES = ["orders", "Orders ", "customers", "x", "b.c", "ïnvoices", "None", "", None]
VALUES = {
    "description": [None, "", "Orders", "orders", "x", 1, 1.0, "None", "  "],
    "definition": [None, "", "`id`: key.", "md", True],
    "tags": [None, [], ["t1"], ["t1", "t2"], ["t2", "t1"], ["t3", "t1", "t2"], "t1"],
    "pii": [None, False, True, 1, 0],
    "owners": [None, [], ["u1"], ["u2", "u1"], [{"id": 1}], [{"id": 1}, {"id": 2}]],
    "verified": [None, False, True],
}


def _docs(rng: random.Random) -> dict[str, Any]:
    docs = {}
    for field, values in VALUES.items():
        if rng.random() < 0.85:  # now and then the API leaves a field out
            docs[field] = rng.choice(values)
    return docs


def _table(rng: random.Random, number: int, ids: str) -> dict[str, Any]:
    row = {
        "id": f"{ids}{number}" if rng.random() < 0.8 else number,
        "database": rng.choice(DATABASES),
        "schema": rng.choice(SCHEMAS),
        "title": rng.choice(TITLES),
        "integration": ids,
        **_docs(rng),
    }
    if rng.random() < 0.05:
        del row["schema"]
    return row


def _column(rng: random.Random, number: int, ids: str, tables: list) -> dict[str, Any]:
    """A column, most often under one of `tables` (its side's), else under any name."""
    if tables and rng.random() < 0.75:
        table = rng.choice(tables)
        names = (table.get("database"), table.get("schema"), table.get("title"))
    else:
        names = (rng.choice(DATABASES), rng.choice(SCHEMAS), rng.choice(TITLES))
    return {
        "id": f"{ids}c{number}",
        **dict(zip(("table_database", "table_schema", "table_title"), names, strict=True)),
        "title": rng.choice(["id", "ID", "amount", " email", "a.b", None]),
        "type": "text",
        **_docs(rng),
    }


def _like(rng: random.Random, row: dict[str, Any], ids: str, number: int) -> dict[str, Any]:
    """A target copy of a source row: same key (re-cased, re-spaced), docs mostly alike."""
    copy = {**row, "id": f"{ids}{number}"}
    for name in ("database", "schema", "title", "table_database", "table_title"):
        if isinstance(copy.get(name), str) and rng.random() < 0.5:
            copy[name] = f" {copy[name].upper()} "
    for field, values in VALUES.items():
        if rng.random() < 0.3:
            copy[field] = rng.choice(values)
        elif isinstance(copy.get(field), list) and rng.random() < 0.5:
            copy[field] = list(reversed(copy[field]))
    return copy


def generated_workspace(seed: int, size: int = 120) -> tuple[list, list, list, list]:
    """A source and target with duplicates on either side, unmatched resources, keys
    differing only in case and spaces, keys whose parts hold dots, empty values of every
    kind, tags and owners in another order, missing fields and integer ids."""
    rng = random.Random(seed)
    source_tables = [_table(rng, n, "s") for n in range(size)]
    target_tables = _targets(rng, source_tables, lambda n: _table(rng, n, "t"), size)
    source_columns = [_column(rng, n, "s", source_tables) for n in range(size)]
    target_columns = _targets(
        rng, source_columns, lambda n: _column(rng, n, "t", target_tables), size
    )
    return source_tables, target_tables, source_columns, target_columns


def _targets(rng: random.Random, source: list, make, size: int) -> list:
    """The target side of `source`: most of it copied (`_like`), new rows (unmatched or
    duplicating a key) and second copies of some, shuffled."""
    target = [_like(rng, row, "t", n) for n, row in enumerate(source) if rng.random() < 0.7]
    target += [make(size + n) for n in range(size // 4)]  # unmatched, dups
    target += [_like(rng, rng.choice(source), "td", n) for n in range(size // 10)]
    rng.shuffle(target)
    return target


def listings(workspace: tuple[list, list, list, list]) -> list[tuple[str, str, list]]:
    """The four listings of a generated workspace: (side, kind, rows), sources first."""
    source_tables, target_tables, source_columns, target_columns = workspace
    return [
        ("source", "table", source_tables),
        ("source", "column", source_columns),
        ("target", "table", target_tables),
        ("target", "column", target_columns),
    ]


def listed(client: Any, integration_id: str) -> tuple[list[dict], list[dict]]:
    """Returns (tables, columns) of an integration, listed through `client` as the job
    lists them (the API's "None" read as null)."""
    params = {"integration_id": integration_id}
    return client.list("table/tables/", params), client.list("table/columns/", params)
