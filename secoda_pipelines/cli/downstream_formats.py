"""How `secoda-pipelines check-downstream` prints a `ContractCheck`: pure text renderers.

`render(check, fmt)` picks one of FORMATS:

- ``table``: for a terminal; the verdict line, then per checked table its downstream
  resources (depth, kind, id, active, last viewed, path), then a count.
- ``json``: one document for tools (the verdict, the settings, the tables, every row).
- ``markdown``: a pull-request comment; at most `max_rows` rows a table, blocking first.
- ``junit``: JUnit XML, one testcase per checked table (CI test-report views).
- ``github``: GitHub Actions workflow commands, one annotation per checked table.

No function here reads a file, the environment or the network; where the text goes (stdout,
``--output``, ``$GITHUB_STEP_SUMMARY``) is the command's business.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from secoda_pipelines.lineage import CheckedTable, ContractCheck, DownstreamRow

FORMATS = ("table", "json", "markdown", "junit", "github")
MARKDOWN_MAX_ROWS = 50
# Resources listed in one GitHub annotation: the runner shows annotations in a small box,
# and the step summary (markdown) has the full list.
GITHUB_MAX_ROWS = 20
JUNIT_SUITE = "secoda-pipelines check-downstream"
# Lets a CI job find its earlier comment on the pull request and edit it, not add another.
COMMENT_MARKER = "<!-- secoda-pipelines check-downstream -->"


# --- shared wording ----------------------------------------------------------------------


def _scope(depth: int) -> str:
    return "all levels" if depth == 0 else f"{depth} level(s)"


def _levels(depth: int) -> str:
    return "all levels" if depth == 0 else f"{depth} level{'s' if depth != 1 else ''}"


def _node_phrase(table: CheckedTable) -> str:
    """Returns e.g. ``model stg_orders modified`` (empty for a table named by hand)."""
    node = table.node
    if node is None:
        return ""
    return " ".join(part for part in (node.resource_type, node.name, table.change) if part)


def _activity(row: DownstreamRow) -> str:
    if row.active is None:
        return "usage unknown"
    text = "in use" if row.active else "not in use"
    return f"{text}, last viewed {row.last_viewed.isoformat()}" if row.last_viewed else text


def _flat(text: str) -> str:
    return " ".join(text.split())


def _row_line(row: DownstreamRow) -> str:
    """Returns one resource on one line: name (type, depth, activity): path."""
    kind = row.entity_type or "?"
    return f"{_flat(row.name)} ({kind}, depth {row.depth}, {_activity(row)}): {_flat(row.path)}"


def _where(table: CheckedTable) -> str:
    """Returns e.g. ``model stg_orders modified, table db.schema.stg_orders``."""
    model = _node_phrase(table)
    if table.node is not None and table.node.relation is None:
        return f"{model} ({table.node.unique_id})"
    return f"{model}, table {table.reference}" if model else f"table {table.reference}"


def _blocking_first(table: CheckedTable, fail_on: str) -> list[DownstreamRow]:
    """Returns the table's rows, the ones `fail_on` counts first, then by depth (stable)."""
    # By identity: `blocking` returns the very row objects, and equal rows may repeat.
    blocking = {id(row) for row in table.blocking(fail_on)}
    return sorted(table.rows, key=lambda row: (id(row) not in blocking, row.depth))


def _in_use(rows: Sequence[DownstreamRow]) -> int:
    return sum(1 for row in rows if row.active)


# --- table -------------------------------------------------------------------------------


def _yes_no(active: bool | None) -> str:
    return "-" if active is None else ("yes" if active else "no")


def format_table(check: ContractCheck) -> str:
    """Returns the check as text for a terminal: the verdict line; per checked table a line
    (``name (id): N downstream within D level(s)``, with the dbt node and its change when
    there is one, or why it was not walked) and its rows in aligned columns (DEPTH, KIND,
    RESOURCE ID, ACTIVE, LAST VIEWED, PATH); then the count of downstream resources."""
    lines = [check.verdict()]
    scope = _scope(check.depth)
    for table in check.tables:
        model = _node_phrase(table)
        if table.skipped is not None or table.entity is None:
            where = f"{model}, {table.reference}" if model else table.reference
            lines.append(f"{where}: not walked, {table.skipped or 'no Secoda table'}")
            continue
        label = f"{table.entity.name} ({table.entity.id})" + (f", {model}" if model else "")
        if not table.rows:
            lines.append(f"{label}: nothing downstream within {scope}")
            continue
        lines.append(f"{label}: {len(table.rows)} downstream within {scope}")
        header = ("DEPTH", "KIND", "RESOURCE ID", "ACTIVE", "LAST VIEWED", "PATH")
        cells = [
            (
                str(r.depth),
                r.entity_type or "?",
                r.resource_id,
                _yes_no(r.active),
                r.last_viewed.isoformat() if r.last_viewed else "-",
                _flat(r.path),
            )
            for r in table.rows
        ]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
        for line in (header, *cells):
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    total = len(check.rows)
    lines.append(
        f"{total} downstream resource(s) found for {len(check.tables)} table(s)"
        if total
        else "Nothing downstream."
    )
    return "\n".join(line.rstrip() for line in lines)


# --- json --------------------------------------------------------------------------------


def _row_json(row: DownstreamRow) -> dict[str, Any]:
    body = asdict(row)
    body["last_viewed"] = row.last_viewed.isoformat() if row.last_viewed else None
    return body


def format_json(check: ContractCheck) -> str:
    """Returns the check as one JSON document: verdict, exit_code, fail_on, active_days,
    activity_source, depth, count; `tables` (per checked table: table, table_id, name,
    downstream, blocking, change, model, original_file_path, skipped) and `downstream`
    (every row, last_viewed an ISO date or null)."""
    tables = []
    for table in check.tables:
        node = table.node
        tables.append(
            {
                "table": table.reference,
                "table_id": table.entity.id if table.entity else None,
                "name": table.entity.name if table.entity else None,
                "downstream": len(table.rows),
                "blocking": len(table.blocking(check.fail_on)),
                "change": table.change,
                "model": node.unique_id if node else None,
                "original_file_path": node.original_file_path if node else None,
                "skipped": table.skipped,
            }
        )
    return json.dumps(
        {
            "verdict": check.verdict(),
            "exit_code": check.exit_code,
            "fail_on": check.fail_on,
            "active_days": check.active_days,
            "activity_source": check.activity_source,
            "depth": check.depth,
            "count": len(check.rows),
            "tables": tables,
            "downstream": [_row_json(row) for row in check.rows],
        },
        indent=2,
        ensure_ascii=False,
    )


# --- markdown ----------------------------------------------------------------------------

# Backslash first, so an escape added for another character is not escaped again. A cell
# keeps its column only when every `|` in it is escaped and no backslash left unescaped
# could swallow the escape (GFM reads `\\|` as a backslash, then a cell border).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<&|~])")


def _md(text: object) -> str:
    """Returns `text` on one line with Markdown's and GFM tables' special characters
    escaped, safe in a table cell or a list item."""
    return _MD_SPECIAL.sub(r"\\\1", _flat(str(text)))


def _md_code(text: str) -> str:
    """Returns `text` as an inline code span on one line (fenced with more backticks than
    any run inside it)."""
    flat = _flat(text)
    runs = re.findall(r"`+", flat)
    fence = "`" * (max((len(r) for r in runs), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _md_heading(table: CheckedTable) -> str:
    node = table.node
    title = _md_code(node.name if node is not None else table.label)
    if node is not None:
        kind = node.resource_type
        title += f" ({_md(f'{table.change} {kind}' if table.change else kind)})"
    return f"### {title}"


def _md_summary(table: CheckedTable, fail_on: str, scope: str) -> str:
    rows = table.rows
    if table.node is not None:
        relation = table.entity.name if table.entity is not None else table.reference
        parts = [f"Table {_md_code(relation)}"]
    else:
        parts = [f"Secoda id {_md_code(table.entity.id if table.entity else table.reference)}"]
    if not rows:
        parts.append(f"nothing downstream within {scope}")
    else:
        parts.append(f"{len(rows)} downstream, {_in_use(rows)} in use")
        blocking = len(table.blocking(fail_on))
        parts.append(f"**{blocking} blocking**" if blocking else "none blocking")
    return " · ".join(parts)


def _md_rows(table: CheckedTable, fail_on: str, max_rows: int) -> list[str]:
    ordered = _blocking_first(table, fail_on)
    shown, rest = ordered[:max_rows], ordered[max_rows:]
    lines = [
        "| Resource | Type | Depth | Active | Last viewed | Path |",
        "|---|---|---:|---|---|---|",
    ]
    for row in shown:
        active = "—" if row.active is None else ("yes" if row.active else "no")
        cells = (
            _md(row.name),
            _md(row.entity_type or "?"),
            str(row.depth),
            active,
            row.last_viewed.isoformat() if row.last_viewed else "—",
            _md(row.path),
        )
        lines.append("| " + " | ".join(cells) + " |")
    if rest:
        in_use = _in_use(rest)
        lines.append("")
        lines.append(
            f"… and {len(rest)} more" + (f" ({in_use} of them in use)" if in_use else "") + "."
        )
    return lines


def _md_footer(check: ContractCheck) -> str:
    if check.activity_source == "snapshots":
        how = (
            f"**Active**: viewed in a stored `secoda/dashboard_usage` snapshot of the last "
            f"{check.active_days} days; **last viewed**: the latest snapshot date with views. "
            "A resource without snapshots (a table) is active when its current usage in "
            "Secoda is above 0."
        )
    elif check.activity_source == "current usage":
        how = (
            "**Active**: its current usage in Secoda (external or internal usage) is above "
            "0; no usage snapshots are stored, so the last view date is not known."
        )
    else:
        how = "No table was walked, so no usage was read."
    return (
        f"<sub>{how} Depth: {_levels(check.depth)}; `--fail-on {check.fail_on}`. "
        "By `secoda-pipelines check-downstream`.</sub>"
    )


def format_markdown(check: ContractCheck, max_rows: int = MARKDOWN_MAX_ROWS) -> str:
    """Returns the check as a pull-request comment: the verdict line (✅ or ❌) first; a
    section per walked table (model, change, relation, downstream and in-use counts, and a
    table of at most `max_rows` resources, blocking first, then "… and K more"); the tables
    not walked (unknown to Secoda, ephemeral) in a short list; a footer saying how "active"
    was decided; and a hidden marker a CI job can find the comment by.

    Raises:
        ValueError: max_rows is below 1.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows {max_rows} is below 1: give the rows to show per table")
    mark = "❌" if check.exit_code else "✅"
    word, _, rest = check.verdict().partition(":")
    lines = [f"{mark} **{word}**:{rest}", ""]
    scope = _levels(check.depth)
    walked: list[CheckedTable] = []
    skipped: list[CheckedTable] = []
    for table in check.tables:
        (walked if table.skipped is None and table.entity is not None else skipped).append(table)
    for table in walked:
        lines += [_md_heading(table), "", _md_summary(table, check.fail_on, scope), ""]
        if table.rows:
            blocks = bool(table.blocking(check.fail_on))
            count = len(table.rows)
            lines += [
                "<details open>" if blocks else "<details>",
                f"<summary>{count} downstream resource{'s' if count != 1 else ''}</summary>",
                "",
                *_md_rows(table, check.fail_on, max_rows),
                "",
                "</details>",
                "",
            ]
    if skipped:
        lines += ["### Not walked", ""]
        for table in skipped:
            node = table.node
            item = f"- {_md_code(table.label)}"
            if node is not None:
                kind = f"{table.change} {node.resource_type}" if table.change else ""
                item += f" ({_md(kind or node.resource_type)})"
            if table.reference != table.label:
                item += f", {_md_code(table.reference)}"
            item += f": {_md(table.skipped or 'no Secoda table')}"
            lines.append(item)
        lines.append("")
    lines += [_md_footer(check), "", COMMENT_MARKER]
    return "\n".join(lines) + "\n"


# --- junit -------------------------------------------------------------------------------

# XML 1.0 cannot carry these at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _junit_case(table: CheckedTable, fail_on: str, scope: str) -> ET.Element:
    node = table.node
    case = ET.Element(
        "testcase",
        classname=_xml_text(f"dbt.{node.resource_type}" if node is not None else "secoda.table"),
        name=_xml_text(f"{node.name} ({table.reference})" if node is not None else table.label),
        time="0",
    )
    if table.skipped is not None or table.entity is None:
        ET.SubElement(case, "skipped", message=_xml_text(table.skipped or "no Secoda table"))
        return case
    blocking = table.blocking(fail_on)
    if blocking:
        failure = ET.SubElement(
            case,
            "failure",
            message=_xml_text(
                f"{len(blocking)} of {len(table.rows)} downstream resource(s) of "
                f"{table.reference} block the change (--fail-on {fail_on})"
            ),
            type="DownstreamResources",
        )
        failure.text = _xml_text("\n".join(_row_line(row) for row in blocking))
    out = ET.SubElement(case, "system-out")
    summary = (
        f"{table.reference}: {len(table.rows)} downstream within {scope}, "
        f"{_in_use(table.rows)} in use"
    )
    out.text = _xml_text("\n".join([summary, *(_row_line(row) for row in table.rows)]))
    return case


def format_junit(check: ContractCheck) -> str:
    """Returns the check as JUnit XML: ``<testsuites>`` holding one ``<testsuite name=
    "secoda-pipelines check-downstream">`` with the settings as properties and one
    ``<testcase>`` per checked table, carrying a ``<failure>`` (the resources `fail_on`
    counts) when it blocks and a ``<skipped>`` when it was not walked (unknown to Secoda,
    ephemeral); the counts (tests, failures, skipped, errors 0, time 0) match the cases."""
    scope = _scope(check.depth)
    cases = [_junit_case(table, check.fail_on, scope) for table in check.tables]
    tests = str(len(cases))
    failures = str(sum(1 for case in cases if case.find("failure") is not None))
    skipped = str(sum(1 for case in cases if case.find("skipped") is not None))
    root = ET.Element(
        "testsuites", name=JUNIT_SUITE, tests=tests, failures=failures, errors="0", time="0"
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        name=JUNIT_SUITE,
        tests=tests,
        failures=failures,
        errors="0",
        skipped=skipped,
        time="0",
    )
    properties = ET.SubElement(suite, "properties")
    settings = {
        "verdict": check.verdict(),
        "fail_on": check.fail_on,
        "depth": str(check.depth),
        "active_days": str(check.active_days),
        "activity_source": check.activity_source or "",
    }
    for name, value in settings.items():
        ET.SubElement(properties, "property", name=name, value=_xml_text(value))
    suite.extend(cases)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


# --- github ------------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """Returns `text` escaped as a workflow command's message (actions/toolkit
    ``command.ts`` escapeData: % → %25, CR → %0D, LF → %0A)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Returns `text` escaped as a workflow command's property value (actions/toolkit
    ``command.ts`` escapeProperty: escape_data's, then : → %3A and , → %2C)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(name: str, properties: dict[str, str | None], message: str) -> str:
    """Returns ``::name key=value,key=value::message``, escaped as actions/toolkit does;
    a property with an empty or None value is left out, as the toolkit leaves it."""
    props = ",".join(f"{key}={escape_property(val)}" for key, val in properties.items() if val)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def _github_annotation(table: CheckedTable, fail_on: str, scope: str) -> str:
    node = table.node
    file = node.original_file_path if node is not None else None
    label = table.label
    where = _where(table)
    if table.skipped is not None or table.entity is None:
        reason = table.skipped or "no Secoda table"
        return workflow_command(
            "notice", {"file": file, "title": f"{label}: not walked"}, f"{where}: {reason}"
        )
    rows = table.rows
    blocking = table.blocking(fail_on)
    head = (
        f"{where}: {len(rows)} downstream within {scope}, {_in_use(rows)} in use, "
        f"{len(blocking)} blocking (--fail-on {fail_on})"
        if rows
        else f"{where}: nothing downstream within {scope}"
    )
    listed = _blocking_first(table, fail_on)
    lines = [head, *(f"- {_row_line(row)}" for row in listed[:GITHUB_MAX_ROWS])]
    if len(listed) > GITHUB_MAX_ROWS:
        lines.append(f"… and {len(listed) - GITHUB_MAX_ROWS} more")
    if blocking:
        count = len(blocking)
        title = f"{label}: {count} downstream resource{'s' if count != 1 else ''} blocking"
        return workflow_command("error", {"file": file, "title": title}, "\n".join(lines))
    title = f"{label}: {len(rows)} downstream, none blocking" if rows else f"{label}: passes"
    return workflow_command("notice", {"file": file, "title": title}, "\n".join(lines))


def format_github(check: ContractCheck) -> str:
    """Returns the check as GitHub Actions workflow commands: per checked table one
    ``::error`` (it blocks under `fail_on`) or ``::notice`` annotation, on the dbt node's
    ``original_file_path`` when it has one, with its title and the blocking resources first
    in the message; then the verdict as a plain line, the last one of the step's log."""
    scope = _scope(check.depth)
    lines = [_github_annotation(table, check.fail_on, scope) for table in check.tables]
    return "\n".join([*lines, check.verdict()])


# --- dispatch ----------------------------------------------------------------------------

_RENDERERS: dict[str, Callable[[ContractCheck], str]] = {
    "table": format_table,
    "json": format_json,
    "markdown": format_markdown,
    "junit": format_junit,
    "github": format_github,
}


def render(check: ContractCheck, fmt: str) -> str:
    """Returns `check` rendered in the format `fmt` (one of FORMATS).

    Raises:
        ValueError: fmt is not one of FORMATS (the message names it and the valid ones).
    """
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    return renderer(check)
