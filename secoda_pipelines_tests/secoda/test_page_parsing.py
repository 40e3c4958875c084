"""Reading page envelopes: both shapes, "None" nulls, every stop signal."""

from __future__ import annotations

import json

import pytest

from secoda_pipelines.secoda.errors import SecodaResponseError
from secoda_pipelines.secoda.paging import decode_json, parse_page


def secoda_page(page, next_page, total_pages, next_link="https://x/?page=9"):
    return {
        "links": {"next": next_link, "previous": None},
        "meta": {"page": page, "previous_page": None, "next_page": next_page},
        "count": 315,
        "total_pages": total_pages,
        "results": [{"id": page}],
    }


@pytest.mark.parametrize(
    ("body", "has_next"),
    [
        (secoda_page(1, 2, 7), True),
        # One signal saying more follow is enough: a listing ends only when none does.
        (secoda_page(1, None, 7), True),
        (secoda_page(1, "None", 7, next_link="None"), True),
        (secoda_page(7, 8, 7, next_link=None), True),
        (secoda_page(7, None, 7, next_link=None), False),
        (secoda_page(7, "None", 7, next_link="None"), False),
        (secoda_page(7, None, 9, next_link=None) | {"total_pages": 7}, False),
    ],
)
def test_a_listing_goes_on_while_any_signal_says_more_follow(body, has_next):
    # Through decode_json, as the client reads every body: that is where "None" becomes null.
    decoded = decode_json(json.dumps(body))
    assert parse_page(decoded, body["meta"]["page"], "p/").has_next is has_next


def test_a_page_carries_the_listings_count():
    assert parse_page(secoda_page(1, 2, 7), 1, "p/").count == 315


def test_drf_none_string_next_ends_the_listing():
    text = '{"count": 60, "next": "None", "previous": "None", "results": [{"id": 1}]}'
    assert not parse_page(decode_json(text), 2, "p/").has_next


def test_none_string_page_numbers_are_no_page_numbers():
    text = (
        '{"links": {"next": "x"}, "meta": {"page": "None", "next_page": 3}, "count": "None",'
        ' "total_pages": "None", "results": [{"id": 1}]}'
    )
    page = parse_page(decode_json(text), 2, "p/")
    assert page.has_next and page.total_pages is None


def test_a_body_that_is_not_json_is_an_error():
    with pytest.raises(ValueError):
        decode_json('{"results": [{"id": 1}, {"id"')


def test_drf_shape_derives_the_page_count_from_count():
    body = {"count": 120, "next": "http://x/?page=2", "previous": None, "results": [{}] * 50}
    page = parse_page(body, 1, "p/")
    assert page.has_next and page.total_pages == 3
    last = {"count": 120, "next": None, "previous": "http://x/", "results": [{}] * 20}
    assert not parse_page(last, 3, "p/").has_next


def test_none_strings_in_rows_become_null_but_other_strings_stay():
    rows = decode_json('{"results": [{"a": "None", "b": "Nonesuch", "c": ["None"]}]}')["results"]
    assert rows == [{"a": None, "b": "Nonesuch", "c": ["None"]}]


def test_a_body_that_is_not_a_page_is_an_error():
    with pytest.raises(SecodaResponseError, match="did not answer a paged list"):
        parse_page({"detail": "oops"}, 1, "table/tables/")


@pytest.mark.parametrize(
    ("results", "named"),
    [
        ([{"id": "a"}, "b"], 'result 1 is str "b", not an object'),
        ([["t-1", "t-3"]], 'result 0 is list ["t-1", "t-3"], not an object'),
        ([{"id": ["x"]}], 'result 0 has the id ["x"], not a string or number'),
    ],
)
def test_rows_that_are_not_objects_stop_the_listing_instead_of_vanishing(results, named):
    with pytest.raises(SecodaResponseError, match="the listing stops rather than skip rows") as e:
        parse_page({"results": results, "meta": {"page": 1, "next_page": None}}, 1, "p/")
    assert f"GET p/?page=1: {named}" in str(e.value)
    with pytest.raises(SecodaResponseError, match=r"not an object|not a string"):
        parse_page(results, 1, "p/")  # an unpaged list answer too
