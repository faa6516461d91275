"""GET /api/epcis/events (issue 24, part 3): pages of posted documents as EPCIS 2.0, by the feed's event ids.

Every answer is also checked against the OpenAPI document by the test client (helpers.contract), and here
against GS1's EPCIS 2.0 JSON schema.
"""
from __future__ import annotations

import re

from helpers.api import assert_error
from helpers.epcis import errors
from helpers.feed import post_adjustments

from station.domain import catalogue


def _next(response) -> str:
    match = re.fullmatch(r'<([^>]+)>; rel="next"', response.headers["Link"])
    assert match, response.headers["Link"]
    return match.group(1)


def test_pages_follow_the_feed(client, db, world):
    """Each page holds the events of at most ``limit`` posted documents after ``after``, valid against GS1's
    schema; the Link header names the next page, and following it reads every document once, then an empty
    page that names itself again. Events of other types (a product changed) are passed over."""
    ids = post_adjustments(db, 3, quantity=2, reason="found")
    with db.Session.begin() as s:
        catalogue.create_product(s, "NEW", "New")  # a product.changed event between documents
    ids += post_adjustments(db, 2, quantity=2, reason="found")
    seen, url = [], "/api/epcis/events?limit=2"
    for _ in range(4):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "application/json"
        document = response.get_json()
        assert errors(document) == []
        assert document["type"] == "EPCISDocument" and document["schemaVersion"] == "2.0"
        seen += document["epcisBody"]["eventList"]
        url = _next(response)
    assert len(seen) == 5 and all(e["quantityList"][0]["quantity"] == 2 for e in seen)
    assert url == f"/api/epcis/events?after={ids[-1]}&limit=2"
    assert client.get(url).get_json()["epcisBody"]["eventList"] == []
    again = client.get(f"/api/epcis/events?after={ids[1]}&limit=1").get_json()["epcisBody"]["eventList"]
    assert again == [seen[2]]  # the same movement, the same event (eventID included)


def test_bad_arguments_are_refused(client, db):
    """after and limit as GET /api/events takes them: anything else is 400 invalid_field."""
    for query in ("after=-1", "limit=0", "limit=1001", "after=x", "limit=2.5"):
        assert_error(client.get(f"/api/epcis/events?{query}"), 400, "invalid_field")


def test_no_documents_is_an_empty_valid_document(client, db):
    """An empty feed answers a valid EPCISDocument with no events, whose next page is the same."""
    response = client.get("/api/epcis/events")
    assert response.status_code == 200 and errors(response.get_json()) == []
    assert response.get_json()["epcisBody"]["eventList"] == []
    assert _next(response) == "/api/epcis/events?after=0&limit=100"
