"""The five renderings of a data-contract check, each read back with a real parser.

Checks are built by hand (no API): a modified model with a dashboard in use, a model
Secoda does not know, an ephemeral one, a model nothing in use depends on, a table named by
hand, and a model with 200 downstream resources. JSON goes through json.loads, JUnit XML
through the JUnit schema the Jenkins xUnit plugin validates with (junit.xsd, origin in its
header), GitHub's workflow commands through their grammar, Markdown through GFM's
table-cell rule.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
import xmlschema

from secoda_pipelines.cli.downstream_formats import (
    FORMATS,
    format_github,
    format_json,
    format_junit,
    format_markdown,
    format_table,
    render,
    workflow_command,
)
from secoda_pipelines.dbt import DbtNode
from secoda_pipelines.lineage.contract import (
    NO_RELATION,
    UNKNOWN_TO_SECODA,
    CheckedTable,
    ContractCheck,
)
from secoda_pipelines.lineage.downstream import DownstreamRow
from secoda_pipelines.lineage.lookups import Entity

JUNIT_XSD = Path(__file__).with_name("junit.xsd")
VIEWED = date(2026, 5, 30)
# A dashboard whose title breaks naive renderers: a pipe, a newline, a percent, markup.
ODD_TITLE = "Revenue | by region\nQ1 100% <b>"


def node(name: str, *, relation: str | None, resource_type: str = "model") -> DbtNode:
    return DbtNode(
        unique_id=f"{resource_type}.shop.{name}",
        resource_type=resource_type,
        name=name,
        relation=relation,
        original_file_path=f"models/{name}.sql",
        checksum=f"sha256-{name}",
        columns=(),
    )


def entity(name: str) -> Entity:
    return Entity(id=f"t-{name.rsplit('.', 1)[-1]}", kind="table", title=name, name=name)


def row(
    table: str,
    name: str,
    *,
    depth: int = 1,
    kind: str | None = "table",
    active: bool | None = False,
    last_viewed: date | None = None,
) -> DownstreamRow:
    return DownstreamRow(
        table=table,
        table_id=f"t-{table.rsplit('.', 1)[-1]}",
        resource_id="r-" + hashlib.sha1(f"{table}/{name}".encode()).hexdigest()[:8],
        title=name,
        entity_type=kind,
        depth=depth,
        path=f"{table} > {name}",
        name=name,
        active=active,
        last_viewed=last_viewed,
    )


ORDERS = "analytics.core.orders"
PAYMENTS = "analytics.core.payments"
CHARGES = "raw.stripe.charges"
EVENTS = "analytics.core.events"


def mixed_tables() -> tuple[CheckedTable, ...]:
    orders = CheckedTable(
        ORDERS,
        entity(ORDERS),
        (
            row(ORDERS, "analytics.marts.revenue", active=False),
            row(ORDERS, ODD_TITLE, depth=2, kind="dashboard", active=True, last_viewed=VIEWED),
            row(ORDERS, "analytics.marts.revenue.amount", kind="column", active=None),
        ),
        node("orders", relation=ORDERS),
        "modified",
    )
    customers = CheckedTable(
        "analytics.core.customers",
        None,
        node=node("customers", relation="analytics.core.customers"),
        change="new",
        skipped=UNKNOWN_TO_SECODA,
    )
    ephemeral = CheckedTable(
        "model.shop.base_orders",
        None,
        node=node("base_orders", relation=None),
        change="modified",
        skipped=NO_RELATION,
    )
    payments = CheckedTable(
        PAYMENTS,
        entity(PAYMENTS),
        (row(PAYMENTS, "Finance Overview", kind="dashboard", active=False),),
        node("payments", relation=PAYMENTS),
        "modified",
    )
    charges = CheckedTable(
        CHARGES,
        entity(CHARGES),
        (row(CHARGES, "Stripe Health", kind="dashboard", active=True, last_viewed=VIEWED),),
    )
    return orders, customers, ephemeral, payments, charges


def wide_table() -> CheckedTable:
    """A model with 200 downstream resources, every 10th in use, the used ones deepest."""
    rows = tuple(
        row(
            EVENTS,
            f"analytics.marts.events_{i:03d}",
            depth=3 if i % 10 == 9 else 1 + i % 2,
            active=i % 10 == 9,
            last_viewed=VIEWED if i % 10 == 9 else None,
        )
        for i in range(200)
    )
    return CheckedTable(EVENTS, entity(EVENTS), rows, node("events", relation=EVENTS), "modified")


def make_check(
    tables: tuple[CheckedTable, ...] | None = None,
    fail_on: str = "active",
    source: str | None = "snapshots",
    depth: int = 1,
) -> ContractCheck:
    tables = (*mixed_tables(), wide_table()) if tables is None else tables
    return ContractCheck(tables, depth, fail_on, 30, source)


# --- dispatch ------------------------------------------------------------------------------


def test_render_dispatches_each_format():
    check = make_check()
    renderers = [format_table, format_json, format_markdown, format_junit, format_github]
    assert FORMATS == ("table", "json", "markdown", "junit", "github")
    for fmt, renderer in zip(FORMATS, renderers, strict=True):
        assert render(check, fmt) == renderer(check)


def test_render_names_a_bad_format_and_the_valid_ones():
    with pytest.raises(ValueError) as raised:
        render(make_check(), "xml")
    message = str(raised.value)
    assert "'xml'" in message
    assert all(fmt in message for fmt in FORMATS)


# --- table ---------------------------------------------------------------------------------


def test_table_for_named_tables_keeps_its_lines_after_the_verdict():
    leaf = CheckedTable("t-leaf", Entity("t-leaf", "table", "leaf", "finance.reporting.leaf"))
    check = make_check((leaf,), fail_on="any", source="current usage")
    assert format_table(check).splitlines() == [
        check.verdict(),
        "finance.reporting.leaf (t-leaf): nothing downstream within 1 level(s)",
        "Nothing downstream.",
    ]


def test_table_lists_rows_with_activity_changes_and_reasons():
    check = make_check(mixed_tables(), depth=0)
    lines = format_table(check).splitlines()
    assert lines[0] == check.verdict() and lines[0].startswith("FAIL: 2 resources in use")
    assert lines[1] == (
        f"{ORDERS} (t-orders), model orders modified: 3 downstream within all levels"
    )
    assert lines[2].split() == [
        "DEPTH", "KIND", "RESOURCE", "ID", "ACTIVE", "LAST", "VIEWED", "PATH"
    ]  # fmt: skip
    assert lines[3].split()[:2] == ["1", "table"] and lines[3].split()[3:5] == ["no", "-"]
    assert lines[3].endswith(f"{ORDERS} > analytics.marts.revenue")
    dashboard = lines[4].split()
    assert dashboard[:2] == ["2", "dashboard"] and dashboard[3:5] == ["yes", "2026-05-30"]
    # the newline in the title stays on its row
    assert lines[4].endswith("Revenue | by region Q1 100% <b>")
    assert lines[5].split()[3:5] == ["-", "-"]
    assert lines[6] == (
        f"model customers new, analytics.core.customers: not walked, {UNKNOWN_TO_SECODA}"
    )
    assert (
        lines[7] == f"model base_orders modified, model.shop.base_orders: not walked, {NO_RELATION}"
    )
    assert (
        lines[8]
        == f"{PAYMENTS} (t-payments), model payments modified: 1 downstream within all levels"
    )
    assert lines[11] == f"{CHARGES} (t-charges): 1 downstream within all levels"
    assert lines[-1] == "5 downstream resource(s) found for 5 table(s)"


# --- json ----------------------------------------------------------------------------------


def test_json_is_one_document_with_the_verdict_tables_and_rows():
    check = make_check()
    body = json.loads(format_json(check))
    assert body["verdict"] == check.verdict()
    assert (body["exit_code"], body["fail_on"], body["active_days"]) == (1, "active", 30)
    assert (body["activity_source"], body["depth"], body["count"]) == ("snapshots", 1, 205)
    tables = {t["table"]: t for t in body["tables"]}
    assert list(tables) == [
        ORDERS, "analytics.core.customers", "model.shop.base_orders", PAYMENTS, CHARGES, EVENTS
    ]  # fmt: skip
    assert tables[ORDERS] == {
        "table": ORDERS,
        "table_id": "t-orders",
        "name": ORDERS,
        "downstream": 3,
        "blocking": 1,
        "change": "modified",
        "model": "model.shop.orders",
        "original_file_path": "models/orders.sql",
        "skipped": None,
    }
    assert tables["analytics.core.customers"]["skipped"] == UNKNOWN_TO_SECODA
    assert tables["analytics.core.customers"]["table_id"] is None
    assert tables["model.shop.base_orders"]["skipped"] == NO_RELATION
    assert tables[PAYMENTS]["blocking"] == 0
    assert (tables[CHARGES]["model"], tables[CHARGES]["change"]) == (None, None)
    assert (tables[EVENTS]["downstream"], tables[EVENTS]["blocking"]) == (200, 20)
    dashboard = body["downstream"][1]
    assert dashboard["title"] == ODD_TITLE
    assert dashboard["entity_type"] == "dashboard"
    assert (dashboard["active"], dashboard["last_viewed"]) == (True, "2026-05-30")
    assert (body["downstream"][0]["active"], body["downstream"][0]["last_viewed"]) == (False, None)
    assert body["downstream"][2]["active"] is None
    assert set(body["downstream"][0]) == {
        "table", "table_id", "resource_id", "title", "entity_type",
        "depth", "path", "name", "active", "last_viewed",
    }  # fmt: skip


def test_json_of_a_passing_check():
    check = make_check(mixed_tables()[3:4], fail_on="active")
    body = json.loads(format_json(check))
    assert (body["exit_code"], body["verdict"]) == (0, check.verdict())
    assert body["verdict"].startswith("PASS: 1 downstream")


# --- markdown ------------------------------------------------------------------------------

# GFM's table-cell rule: a cell runs to the next `|` not escaped by a backslash (an escaped
# character is a backslash and the one after it, whatever it is).
_CELL = re.compile(r"(?:\\.|[^|\\])*")


def cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |"), line
    inner = line[1:-1]
    found, at = [], 0
    while True:
        match = _CELL.match(inner, at)
        found.append(match.group().strip())
        at = match.end()
        if at >= len(inner):
            return found
        at += 1  # the unescaped pipe


def unescape(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell)


def tables_in(markdown: str) -> list[list[list[str]]]:
    """Returns each Markdown table's rows (the header first, the delimiter row left out)."""
    found: list[list[list[str]]] = []
    previous = ""
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                found.append([])
            if not re.fullmatch(r"\|(-+:?\|)+", line):
                found[-1].append(cells(line))
        previous = line
    return found


def test_markdown_starts_with_the_verdict_and_caps_each_table():
    check = make_check()
    text = format_markdown(check)
    lines = text.splitlines()
    assert lines[0] == "❌ **FAIL**:" + check.verdict().removeprefix("FAIL:")
    tables = tables_in(text)
    assert [len(t) - 1 for t in tables] == [3, 1, 1, 50]  # body rows below each header
    for table in tables:
        assert table[0] == ["Resource", "Type", "Depth", "Active", "Last viewed", "Path"]
        assert all(len(r) == 6 for r in table)
    # 200 downstream of events: the 20 in use first (though deepest), then by depth
    events = tables[3][1:]
    assert [r[3] for r in events[:20]] == ["yes"] * 20
    assert [r[3] for r in events[20:]] == ["no"] * 30
    assert [int(r[2]) for r in events[20:]] == sorted(int(r[2]) for r in events[20:])
    assert "… and 150 more." in lines  # none of the rest in use
    assert "### `events` (modified model)" in lines
    assert f"Table `{EVENTS}` · 200 downstream, 20 in use · **20 blocking**" in lines


def test_markdown_row_cap_counts_the_rest_and_those_in_use():
    text = format_markdown(make_check((wide_table(),)), max_rows=10)
    assert [len(t) - 1 for t in tables_in(text)] == [10]
    assert "… and 190 more (10 of them in use)." in text.splitlines()
    with pytest.raises(ValueError, match="max_rows 0"):
        format_markdown(make_check(), max_rows=0)


def test_markdown_cells_escape_pipes_newlines_and_markup():
    text = format_markdown(make_check(mixed_tables()))
    orders = tables_in(text)[0]
    dashboard = orders[1]  # blocking first
    assert len(dashboard) == 6
    assert unescape(dashboard[0]) == "Revenue | by region Q1 100% <b>"
    assert dashboard[0].endswith("100% \\<b>")  # escaped, so not HTML
    assert dashboard[1:5] == ["dashboard", "2", "yes", "2026-05-30"]
    assert unescape(dashboard[5]) == f"{ORDERS} > Revenue | by region Q1 100% <b>"
    assert orders[3][3:5] == ["—", "—"]  # a column: no usage


def test_markdown_lists_tables_not_walked_and_says_how_active_was_decided():
    lines = format_markdown(make_check(mixed_tables())).splitlines()
    start = lines.index("### Not walked")
    assert lines[start + 2 : start + 4] == [
        f"- `customers` (new model), `analytics.core.customers`: {UNKNOWN_TO_SECODA}",
        f"- `base_orders` (modified model), `model.shop.base_orders`: {NO_RELATION}",
    ]
    footer = [line for line in lines if line.startswith("<sub>")]
    assert len(footer) == 1 and "snapshot of the last 30 days" in footer[0]
    current = format_markdown(make_check(mixed_tables(), source="current usage"))
    assert "current usage in Secoda" in current and "snapshot of the last" not in current


def test_markdown_of_a_passing_check_has_a_check_mark():
    check = make_check(mixed_tables()[3:4])
    lines = format_markdown(check).splitlines()
    assert lines[0] == "✅ **PASS**:" + check.verdict().removeprefix("PASS:")
    assert f"Table `{PAYMENTS}` · 1 downstream, 0 in use · none blocking" in lines


# --- junit ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(JUNIT_XSD))


def test_junit_is_valid_and_its_counts_match_its_cases(junit_schema):
    xml = format_junit(make_check())
    junit_schema.validate(xml)
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    (suite,) = root
    assert suite.get("name") == "secoda-pipelines check-downstream"
    cases = suite.findall("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert [c.get("name") for c in failed] == [
        f"orders ({ORDERS})", CHARGES, f"events ({EVENTS})"
    ]  # fmt: skip
    assert [c.get("classname") for c in failed] == ["dbt.model", "secoda.table", "dbt.model"]
    assert [c.find("skipped").get("message") for c in skipped] == [UNKNOWN_TO_SECODA, NO_RELATION]
    for element in (root, suite):
        assert element.get("tests") == "6"
        assert element.get("failures") == "3"
        assert (element.get("errors"), element.get("time")) == ("0", "0")
    assert suite.get("skipped") == "2"
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["fail_on"] == "active" and props["verdict"] == make_check().verdict()


def test_junit_failure_lists_the_blocking_resources(junit_schema):
    suite = ET.fromstring(format_junit(make_check()))[0]
    orders = suite.find("testcase[@name='orders (analytics.core.orders)']")
    failure = orders.find("failure")
    assert failure.get("type") == "DownstreamResources"
    assert failure.get("message") == (
        f"1 of 3 downstream resource(s) of {ORDERS} block the change (--fail-on active)"
    )
    assert failure.text == (  # one line per resource, the title's newline flattened
        "Revenue | by region Q1 100% <b> (dashboard, depth 2, in use, last viewed "
        f"2026-05-30): {ORDERS} > Revenue | by region Q1 100% <b>"
    )
    assert orders.find("system-out").text.splitlines()[0] == (
        f"{ORDERS}: 3 downstream within 1 level(s), 1 in use"
    )
    events = suite.find("testcase[@name='events (analytics.core.events)']")
    assert len(events.find("failure").text.splitlines()) == 20


def test_junit_with_fail_on_none_fails_nothing(junit_schema):
    xml = format_junit(make_check(fail_on="none"))
    junit_schema.validate(xml)
    suite = ET.fromstring(xml)[0]
    assert suite.get("failures") == "0" and suite.findall(".//failure") == []


def test_junit_of_no_change_and_of_unprintable_characters_is_still_valid(junit_schema):
    junit_schema.validate(format_junit(make_check(())))
    bell = CheckedTable(
        "x.y.bell\x07", Entity("t-b", "table", "b", "x.y.bell\x07"), (row("x.y.z", "a\x00b"),)
    )
    xml = format_junit(make_check((bell,), fail_on="any"))
    junit_schema.validate(xml)
    assert ET.fromstring(xml)[0].find("testcase").get("name") == "x.y.bell\ufffd"


def test_the_schema_rejects_what_junit_readers_reject(junit_schema):
    # So the validations above can fail: a suite without its counts is refused.
    assert not junit_schema.is_valid("<testsuites><testsuite name='s'/></testsuites>")


# --- github --------------------------------------------------------------------------------

_COMMAND = re.compile(r"::(?P<name>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<message>.*)")


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    text = text.replace("%3A", ":").replace("%2C", ",")
    return unescape_data(text)


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Returns (name, properties, message) of a workflow command line, unescaped."""
    match = _COMMAND.fullmatch(line)
    assert match, line
    props = {}
    for pair in (match["props"] or "").split(",") if match["props"] else []:
        key, _, value = pair.partition("=")
        props[key] = unescape_property(value)
    return match["name"], props, unescape_data(match["message"])


@pytest.mark.parametrize(
    ("props", "message", "expected"),
    [
        ({}, "", "::some-command::"),
        (
            {},
            "percent % percent % cr \r cr \r lf \n lf \n",
            "::some-command::percent %25 percent %25 cr %0D cr %0D lf %0A lf %0A",
        ),
        ({}, "%25 %25 %0D %0D %0A %0A", "::some-command::%2525 %2525 %250D %250D %250A %250A"),
        (
            {"name": "percent % percent % cr \r cr \r lf \n lf \n colon : colon : comma , comma ,"},
            "",
            "::some-command name=percent %25 percent %25 cr %0D cr %0D lf %0A lf %0A "
            "colon %3A colon %3A comma %2C comma %2C::",
        ),
        (
            {"prop1": "value 1", "prop2": "value 2"},
            "some message",
            "::some-command prop1=value 1,prop2=value 2::some message",
        ),
        ({"prop1": "value 1", "prop2": ""}, "", "::some-command prop1=value 1::"),
    ],
)
def test_workflow_commands_are_escaped_as_actions_toolkit_does(props, message, expected):
    # The cases of actions/toolkit packages/core/__tests__/command.test.ts.
    assert workflow_command("some-command", props, message) == expected


def test_github_annotates_each_checked_table_on_its_file():
    check = make_check()
    lines = format_github(check).splitlines()
    assert lines[-1] == check.verdict()
    commands = [parse_command(line) for line in lines[:-1]]
    assert [(name, props.get("file")) for name, props, _ in commands] == [
        ("error", "models/orders.sql"),
        ("notice", "models/customers.sql"),
        ("notice", "models/base_orders.sql"),
        ("notice", "models/payments.sql"),
        ("error", None),  # named by hand: no file
        ("error", "models/events.sql"),
    ]
    _, props, message = commands[0]
    assert props["title"] == "orders: 1 downstream resource blocking"
    assert message.splitlines()[:2] == [
        f"model orders modified, table {ORDERS}: 3 downstream within 1 level(s), 1 in use, "
        "1 blocking (--fail-on active)",
        "- Revenue | by region Q1 100% <b> (dashboard, depth 2, in use, last viewed "
        f"2026-05-30): {ORDERS} > Revenue | by region Q1 100% <b>",
    ]
    assert commands[1][1]["title"] == "customers: not walked"
    assert commands[1][2] == (
        f"model customers new, table analytics.core.customers: {UNKNOWN_TO_SECODA}"
    )
    assert commands[2][2] == f"model base_orders modified (model.shop.base_orders): {NO_RELATION}"
    assert commands[3][1]["title"] == "payments: 1 downstream, none blocking"
    events = commands[5][2].splitlines()
    assert len(events) == 1 + 20 + 1 and events[-1] == "… and 180 more"
    assert all("in use" in line for line in events[1:21])


def test_github_round_trips_a_title_with_a_comma_a_colon_and_a_newline():
    label = "orders, v2: the\nnew one"
    odd = CheckedTable(
        ORDERS,
        entity(ORDERS),
        (row(ORDERS, "Board 50%", kind="dashboard", active=True),),
        DbtNode(
            unique_id="model.shop.orders_v2",
            resource_type="model",
            name=label,
            relation=ORDERS,
            original_file_path="models/a,b:c.sql",
            checksum="x",
            columns=(),
        ),
        "new",
    )
    line, verdict = format_github(make_check((odd,))).splitlines()
    assert verdict.startswith("FAIL: 1 resource in use is downstream")
    assert "\n" not in line and line.count("::") == 2
    name, props, message = parse_command(line)
    assert name == "error"
    assert props == {
        "file": "models/a,b:c.sql",
        "title": "orders, v2: the\nnew one: 1 downstream resource blocking",
    }
    assert message.splitlines()[-1] == (
        f"- Board 50% (dashboard, depth 1, in use): {ORDERS} > Board 50%"
    )
