"""Listing through the client against the sandbox over HTTP: paging, shapes, order, de-dup."""

from __future__ import annotations

import threading

import pytest
import requests

from secoda_pipelines.sandbox import DEFAULT_API_KEY, Sandbox
from secoda_pipelines.secoda import SecodaClient, SecodaPagingError, SecodaShortListingError
from secoda_pipelines_tests.helpers import QuietHandler, base_url, serving
from secoda_pipelines_tests.sandbox.helpers import count_objects, insert_object, stored_object


def _page_numbers(sandbox: Sandbox, path: str) -> list[int]:
    return sorted(int(r.query["page"]) for r in sandbox.requests if r.path == path)


def _without_id(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "id"}


class _InFlightWatch:
    """An `on_request` hook: the most requests the sandbox was serving when one arrived, and
    a barrier holding pages 2 .. together+1 until all of them are in flight.

    A request counts from its arrival until its record is final, which is before its answer
    is written, so the sandbox never counts more in flight than the client has outstanding.
    The barrier makes "that many at once" deterministic: a client that sends fewer at once
    leaves it waiting until it breaks.
    """

    def __init__(self, sandbox: Sandbox, together: int) -> None:
        self.sandbox = sandbox
        self.together = together
        self.peak = 0
        self.broken = False
        self._barrier = threading.Barrier(together, timeout=30)
        self._lock = threading.Lock()

    def __call__(self, record) -> None:
        in_flight = sum(1 for r in self.sandbox.requests if r.finished_at is None)
        with self._lock:
            self.peak = max(self.peak, in_flight)
        if 2 <= int(record.query.get("page", "1")) <= self.together + 1:
            try:
                self._barrier.wait()
            except threading.BrokenBarrierError:
                self.broken = True


@pytest.mark.parametrize("page_style", ["secoda", "drf"])
def test_listing_reads_every_page_once_in_order(make_sandbox, make_client, page_style):
    sandbox = make_sandbox(page_size=7, page_style=page_style)
    expected = count_objects(sandbox, "dashboard/dashboards/")
    assert expected > 3 * 7, "the demo workspace should span several pages"

    rows = make_client(sandbox).list("dashboard/dashboards/")
    sequential = make_client(sandbox, max_in_flight=1).list("dashboard/dashboards/")

    assert len(rows) == expected
    assert len({r["id"] for r in rows}) == expected
    assert [r["id"] for r in rows] == [r["id"] for r in sequential]
    pages = -(-expected // 7)
    assert _page_numbers(sandbox, "dashboard/dashboards/") == sorted(list(range(1, pages + 1)) * 2)


def test_filters_are_sent_and_applied(sandbox, client):
    integrations = client.list("integration/integrations/")
    bi = next(i for i in integrations if i["type"] == "tableau")
    rows = client.list("dashboard/dashboards/", {"integration_id": bi["id"]})
    assert rows and all(r["integration"] == bi["id"] for r in rows)
    assert len(rows) == count_objects(sandbox, "dashboard/dashboards/", integration_id=bi["id"])
    assert {
        r.query.get("integration_id") for r in sandbox.requests if r.path.startswith("dash")
    } == {bi["id"]}


def test_none_strings_become_null(make_sandbox, make_client):
    sandbox = make_sandbox(page_size=5, none_strings=True)
    rows = make_client(sandbox).list("dashboard/dashboards/")
    assert len(rows) == count_objects(sandbox, "dashboard/dashboards/")
    assert all(value != "None" for row in rows for value in row.values())
    # The workspace stores some usages as the string "None"; the client hands them over as None.
    raw_none = [
        r["id"]
        for r in rows
        if stored_object(sandbox, f"dashboard/dashboards/{r['id']}/")["external_usage"] == "None"
    ]
    assert raw_none, "the demo workspace should hold a dashboard whose usage is 'None'"
    assert all(next(r for r in rows if r["id"] == i)["external_usage"] is None for i in raw_none)


def test_never_follows_links_next_to_another_path(make_sandbox, make_client):
    sandbox = make_sandbox(page_size=10, next_link_path="dashboard/dashboards/")
    rows = make_client(sandbox).list("table/tables/")
    assert len(rows) == count_objects(sandbox, "table/tables/")
    assert {r.path for r in sandbox.requests} == {"table/tables/"}
    assert all("schema" in r for r in rows)


@pytest.mark.parametrize("max_in_flight", [None, 3, 1])
def test_later_pages_are_fetched_max_in_flight_at_a_time(make_sandbox, make_client, max_in_flight):
    sandbox = make_sandbox(page_size=5)
    options = {} if max_in_flight is None else {"max_in_flight": max_in_flight}
    client = make_client(sandbox, **options)
    expected = client.max_in_flight
    assert expected == (max_in_flight or 8)
    sequential = [r["id"] for r in make_client(sandbox, max_in_flight=1).list("table/tables/")]
    pages = -(-count_objects(sandbox, "table/tables/") // 5)
    assert pages > expected + 1
    sandbox.clear_log()
    watch = _InFlightWatch(sandbox, expected)
    sandbox.settings.on_request = watch

    rows = client.list("table/tables/")

    sandbox.settings.on_request = None
    assert not watch.broken, f"{expected} pages were never in flight together"
    assert watch.peak == expected, "never more than max_in_flight at once"
    assert _page_numbers(sandbox, "table/tables/") == list(range(1, pages + 1))
    assert [r["id"] for r in rows] == sequential


def test_rows_can_be_consumed_page_by_page_and_abandoned(make_sandbox, make_client):
    sandbox = make_sandbox(page_size=2, latency_ms=20)
    pages = make_client(sandbox).iter_pages("table/tables/")
    first = next(pages)
    pages.close()
    assert len(first) == 2
    total_pages = -(-count_objects(sandbox, "table/tables/") // 2)
    assert total_pages > 20
    assert len(sandbox.requests) <= 1 + 8, "abandoning the listing stops fetching"


def test_rows_inserted_mid_listing_are_not_duplicated(make_sandbox, make_client):
    # Newest-first ordering: a row created while paging pushes every later row down one
    # place, so the last row of page 1 comes again at the top of page 2.
    sandbox = make_sandbox(page_size=5, ordering="newest_first")
    before = count_objects(sandbox, "table/tables/")
    template = stored_object(
        sandbox, f"table/tables/{make_client(sandbox).list('table/tables/')[0]['id']}/"
    )
    sandbox.clear_log()
    inserted = []

    def insert_on_page_two(record):
        if record.query.get("page") == "2" and not inserted:
            inserted.append(
                insert_object(sandbox, "table/tables/", {**_without_id(template), "title": "new"})
            )

    sandbox.settings.on_request = insert_on_page_two
    rows = make_client(sandbox, max_in_flight=1).list("table/tables/")
    sandbox.settings.on_request = None

    ids = [r["id"] for r in rows]
    assert inserted
    assert len(ids) == len(set(ids)) == before
    assert count_objects(sandbox, "table/tables/") == before + 1


def test_rows_inserted_mid_listing_extend_the_listing(make_sandbox, make_client):
    # Oldest-first: the new row lands on a page that did not exist when paging began.
    sandbox = make_sandbox(page_size=5)
    before = count_objects(sandbox, "table/tables/")
    template = make_client(sandbox).list("table/tables/")[0]
    extra = 5 - before % 5 + 1  # enough rows to need one more page
    added = []

    def insert_on_page_two(record):
        if record.query.get("page") == "2" and not added:
            for n in range(extra):
                added.append(
                    insert_object(
                        sandbox, "table/tables/", {**_without_id(template), "title": f"t{n}"}
                    )
                )

    sandbox.settings.on_request = insert_on_page_two
    rows = make_client(sandbox, max_in_flight=1).list("table/tables/")
    sandbox.settings.on_request = None
    assert [r["id"] for r in rows][-extra:] == [a["id"] for a in added]
    assert len(rows) == before + extra


class _StuckPager(QuietHandler):
    """A broken server: ignores ?page= and always says there is a next page."""

    def do_GET(self):
        body = b'{"count": 9, "next": "x", "previous": null, "results": [{"id": 1}, {"id": 2}]}'
        if "short" in self.path:  # says 9 rows, serves 2, and no next page
            body = (
                b'{"count": 9, "next": null, "previous": null, "results": [{"id": 1}, {"id": 2}]}'
            )
        if "stale" in self.path:
            body = (
                b'{"links": {"next": "x"}, "meta": {"page": 1, "next_page": 2}, "count": 9,'
                b' "total_pages": 5, "results": [{"id": 1}]}'
            )
        self.server.paths.append(self.path)
        self.reply(body)


@pytest.fixture
def stuck_server():
    with serving(_StuckPager) as server:
        server.paths = []
        yield base_url(server), server.paths


def test_a_server_ignoring_page_does_not_loop_forever(stuck_server):
    client = SecodaClient("k", stuck_server[0], max_in_flight=1)
    with pytest.raises(SecodaPagingError, match=r"same rows as page 1"):
        client.list("things/")


def test_a_server_answering_another_page_number_is_caught(stuck_server):
    client = SecodaClient("k", stuck_server[0])
    with pytest.raises(SecodaPagingError, match=r"page=2 answered page 1"):
        client.list("stale/")


def test_page_cap_stops_a_listing(make_sandbox, make_client):
    sandbox = make_sandbox(page_size=2)
    with pytest.raises(SecodaPagingError, match="max_pages=3"):
        make_client(sandbox, max_pages=3).list("table/tables/")


def test_a_listing_short_of_its_count_is_read_again_then_fails_naming_both(stuck_server):
    url, paths = stuck_server
    with pytest.raises(SecodaShortListingError) as raised:
        SecodaClient("k", url).list("short/")
    message = str(raised.value)
    assert "short/" in message and "listed 2 rows where its count says 9" in message
    assert (raised.value.expected, raised.value.fetched) == (9, 2)
    assert paths == ["/api/v1/short/?page=1", "/api/v1/short/?page=1"]  # read twice


@pytest.mark.parametrize("kind", ["empty_page", "page_404"])
def test_a_later_page_that_comes_back_empty_or_404_is_read_again(make_sandbox, make_client, kind):
    sandbox = make_sandbox(page_size=5)
    expected = make_client(sandbox).list("table/tables/")
    assert len(expected) > 10
    sandbox.clear_log()
    sandbox.fail_next(kind, path_contains="table/tables/")
    rows = make_client(sandbox, max_in_flight=1).list("table/tables/")
    assert [r["id"] for r in rows] == [r["id"] for r in expected]
    pages = _page_numbers(sandbox, "table/tables/")
    assert pages.count(2) == 2 and len(pages) == len(set(pages)) + 1


def test_rows_deleted_mid_listing_are_found_by_reading_it_again(make_sandbox, make_client):
    # Oldest-first: an edge of page 1 deleted (with its mirror) while page 2 is asked for
    # moves two rows of page 2 onto page 1, already read: they would be missed.
    sandbox = make_sandbox(page_size=5)
    client = make_client(sandbox, max_in_flight=1)
    first_page = client.list("lineage/manual/")[:5]
    deleted = []

    def delete_on_page_two(record):
        if record.query.get("page") == "2" and not deleted:
            deleted.append(first_page[0]["id"])
            answer = requests.delete(
                f"{sandbox.base_url}lineage/manual/{first_page[0]['id']}/",
                headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
                timeout=10,
            )
            assert answer.status_code == 204

    sandbox.clear_log()
    sandbox.settings.on_request = delete_on_page_two
    rows = client.list("lineage/manual/")
    sandbox.settings.on_request = None
    assert _page_numbers(sandbox, "lineage/manual/").count(1) == 2  # read once more
    remaining = make_client(sandbox).list("lineage/manual/")
    assert deleted and {r["id"] for r in remaining} <= {r["id"] for r in rows}
