"""/api/locations (SPEC 5, issue 23): list, create, read with what is there, and PATCH; the events they write.

Stock is put at a location with plain rows (a serial's ``location_id``, a
``stock_level`` row), as posting by location will write them. Every answer
is checked against the OpenAPI document by the test client (helpers.contract).
"""
from __future__ import annotations

import pytest
from helpers.api import assert_error, snapshot

from station.domain import catalogue, locations
from station.domain.models import SerialNumber, StockLevel
from station.domain.vocabulary import MAIN_SITE, MAIN_SITE_NAME


@pytest.fixture
def tree(client, db):
    """MAIN (as a new database has it), NORTH with BACK and BACK-A1 (made through the API), SOUTH; products WID-1
    and LOOSE."""
    with db.Session.begin() as s:
        if locations.find(s, MAIN_SITE) is None:  # the tables are emptied after each test
            locations.add(s, MAIN_SITE, MAIN_SITE_NAME)
    for body in ({"code": "NORTH", "name": "North shop"}, {"code": "BACK", "name": "Back room", "parent": "NORTH"},
                 {"code": "BACK-A1", "name": "Bin A1", "parent": "BACK"}, {"code": "SOUTH", "name": "South shop",
                                                                           "parent": None}):
        assert client.post("/api/locations", json=body).status_code == 201
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget")
        catalogue.create_product(s, "LOOSE", "Loose", serial_required_for_purchase=False)


def stock(db, location: str, *serials: str, loose: int = 0) -> None:
    with db.Session.begin() as s:
        where = locations.get(s, location).id
        widget = catalogue.get_product(s, "WID-1")
        for serial in serials:
            s.add(SerialNumber(serial=serial, product=widget, in_stock=True, location_id=where))
        if loose:
            s.add(StockLevel(product_id=catalogue.get_product(s, "LOOSE").id, location_id=where, quantity=loose))


def test_create_answers_the_record_and_the_list_is_paged_by_code(client, tree):
    """Guards POST (201, Location header, the record) and the list's shape, with each one's parent and site."""
    made = client.post("/api/locations", json={"code": "FLOOR", "name": "Shop floor", "parent": "NORTH"})
    assert made.status_code == 201 and made.headers["Location"].endswith("/api/locations/FLOOR")
    assert made.get_json() == {"code": "FLOOR", "name": "Shop floor", "parent": "NORTH", "site": "NORTH",
                               "active": True, "gln": None, "children": [], "products": [], "serials": []}
    listed = client.get("/api/locations?per_page=2&page=3").get_json()
    assert listed == {"locations": [{"code": "NORTH", "name": "North shop", "parent": None, "site": "NORTH",
                                     "active": True, "gln": None},
                                    {"code": "SOUTH", "name": "South shop", "parent": None, "site": "SOUTH",
                                     "active": True, "gln": None}], "page": 3, "per_page": 2, "total": 6}


def test_refused_creations_write_nothing(client, db, tree):
    """Guards the refusals of POST: a taken code 409, an unknown parent 404, a code no label could hold 400."""
    before = snapshot(db)
    assert_error(client.post("/api/locations", json={"code": "BACK", "name": "Again"}), 409, "duplicate")
    assert_error(client.post("/api/locations", json={"code": "X", "name": "X", "parent": "NOPE"}), 404,
                 "unknown_location")
    assert_error(client.post("/api/locations", json={"code": "A B", "name": "X"}), 400, "invalid_field")
    assert_error(client.post("/api/locations", json={"code": "X", "name": "X", "site": "NORTH"}), 400,
                 "unknown_field")
    assert snapshot(db) == before


def test_a_location_shows_its_site_children_products_and_serials_here_and_below(client, db, tree):
    """Guards GET /api/locations/<code>: units per product and serials of the subtree, the serials 100 a page."""
    stock(db, "BACK-A1", *(f"SN-{n:03d}" for n in range(101)), loose=7)
    stock(db, "BACK", "AT-BACK")
    stock(db, "SOUTH", "ELSEWHERE")
    got = client.get("/api/locations/BACK").get_json()
    assert {k: got[k] for k in ("code", "parent", "site", "children", "products")} == {
        "code": "BACK", "parent": "NORTH", "site": "NORTH", "children": ["BACK-A1"],
        "products": [{"product": {"code": "LOOSE", "name": "Loose"}, "units": 7},
                     {"product": {"code": "WID-1", "name": "Widget"}, "units": 102}]}
    assert len(got["serials"]) == 100 and got["serials"][0] == {
        "serial": "AT-BACK", "product": {"code": "WID-1", "name": "Widget"}, "location": "BACK"}
    last = client.get("/api/locations/BACK?page=2").get_json()["serials"]
    assert [s["serial"] for s in last] == ["SN-099", "SN-100"] and last[0]["location"] == "BACK-A1"
    assert client.get("/api/locations/BACK?page=3").get_json()["serials"] == []
    assert_error(client.get("/api/locations/NOPE"), 404, "unknown_location")
    assert_error(client.get("/api/locations/A%2FB"), 404, "unknown_location")


def test_patch_renames_moves_and_deactivates(client, tree):
    """Guards PATCH: name, parent (null: a site; the subtree's site follows), active; the code read-only."""
    moved = client.patch("/api/locations/BACK", json={"name": "Store", "parent": "SOUTH"}).get_json()
    assert (moved["name"], moved["parent"], moved["site"]) == ("Store", "SOUTH", "SOUTH")
    assert client.get("/api/locations/BACK-A1").get_json()["site"] == "SOUTH"
    assert client.patch("/api/locations/BACK", json={"parent": None}).get_json()["site"] == "BACK"
    off = client.patch("/api/locations/BACK", json={"active": False}).get_json()
    assert off["active"] is False and client.get("/api/locations/BACK-A1").get_json()["active"] is False
    assert client.get("/api/locations?active=true").get_json()["total"] == 3
    assert_error(client.patch("/api/locations/BACK", json={"code": "B2"}), 400, "read_only")
    assert_error(client.patch("/api/locations/BACK", json={}), 400, "invalid_field")
    assert_error(client.patch("/api/locations/NOPE", json={"name": "x"}), 404, "unknown_location")


def test_patch_refusals_of_the_records_are_422_and_write_nothing(client, db, tree):
    """Guards SPEC 3c through the API: a cycle and stock made a site are invalid_field, a location holding stock
    deactivated is location_not_empty: well formed but refused by the records (422), nothing written."""
    stock(db, "BACK-A1", "SN-1")
    before = snapshot(db)
    assert_error(client.patch("/api/locations/NORTH", json={"parent": "BACK-A1"}), 422, "invalid_field")
    assert_error(client.patch("/api/locations/BACK", json={"parent": None}), 422, "invalid_field")
    assert_error(client.patch("/api/locations/BACK", json={"name": "Renamed", "active": False}), 422,
                 "location_not_empty")
    assert snapshot(db) == before


def test_each_change_is_a_location_changed_event_with_the_record(client, tree):
    """Guards location.changed in the feed: add, edit, move and deactivate, each with the location as GET gives it
    (for a moved subtree, every location whose site changed)."""
    start = client.get("/api/events").get_json()["last_id"]
    client.post("/api/locations", json={"code": "FLOOR", "name": "Floor", "parent": "NORTH"})
    client.patch("/api/locations/FLOOR", json={"name": "Shop floor"})
    client.patch("/api/locations/BACK", json={"parent": "SOUTH"})
    client.patch("/api/locations/FLOOR", json={"active": False})
    got = client.get(f"/api/events?after={start}").get_json()["events"]
    assert [(e["type"], e["location"]["code"]) for e in got] == [
        ("location.changed", "FLOOR"), ("location.changed", "FLOOR"), ("location.changed", "BACK"),
        ("location.changed", "BACK-A1"), ("location.changed", "FLOOR")]
    assert got[-1]["location"] == client.get("/api/locations/FLOOR").get_json()
    assert got[2]["location"]["site"] == "SOUTH"


GLN = "9520123456788"  # GS1's example GLN: check digit 8
OTHER_GLN = "4012345000009"


def test_a_gln_is_set_shown_changed_and_cleared(client, tree):
    """Guards SPEC 5 Traceability's optional ``gln``: given on POST, shown in the record and the list, changed
    and cleared (null) by PATCH, each change a location.changed event."""
    made = client.post("/api/locations", json={"code": "DOCK", "name": "Dock", "parent": "NORTH", "gln": GLN})
    assert made.status_code == 201 and made.get_json()["gln"] == GLN
    assert client.get("/api/locations/DOCK").get_json()["gln"] == GLN
    assert {r["code"]: r["gln"] for r in client.get("/api/locations").get_json()["locations"]}["DOCK"] == GLN
    start = client.get("/api/events").get_json()["last_id"]
    assert client.patch("/api/locations/DOCK", json={"gln": OTHER_GLN}).get_json()["gln"] == OTHER_GLN
    assert client.patch("/api/locations/DOCK", json={"gln": OTHER_GLN}).get_json()["gln"] == OTHER_GLN
    cleared = client.patch("/api/locations/DOCK", json={"gln": None}).get_json()
    assert cleared["gln"] is None and cleared["name"] == "Dock" and cleared["parent"] == "NORTH"
    changes = client.get(f"/api/events?after={start}").get_json()["events"]
    # one event per change (the feed gives the record as it is now); the PATCH that changed nothing wrote none
    assert [(e["type"], e["location"]["code"]) for e in changes] == [("location.changed", "DOCK")] * 2


@pytest.mark.parametrize("gln, status, says", [
    # 13 digits is what the document's pattern allows: a wrong check digit is a well-formed value refused (422).
    pytest.param("9520123456789", 422, "wrong check digit: its last digit should be 8, not 9", id="check_digit"),
    pytest.param("952012345678", 400, "13 digits (the last its check digit)", id="twelve_digits"),
    pytest.param("95201234567880", 400, "13 digits (the last its check digit)", id="fourteen_digits"),
    pytest.param("952012345678X", 400, "13 digits (the last its check digit)", id="a_letter"),
    pytest.param("９５２０１２３４５６７８８", 400, "13 digits (the last its check digit)", id="fullwidth_digits"),
    pytest.param(9520123456788, 400, "13 digits in a text", id="a_number"),
])
def test_a_gln_that_is_not_one_is_refused_and_writes_nothing(client, db, tree, gln, status, says):
    """Guards the GLN's check: 13 ASCII digits with GS1's check digit, else invalid_field with a sentence naming
    the check digit (400 when not 13 digits, 422 for a wrong check digit), on POST and on PATCH, nothing
    written."""
    before = snapshot(db)
    for answer in (client.post("/api/locations", json={"code": "DOCK", "name": "Dock", "gln": gln}),
                   client.patch("/api/locations/BACK", json={"name": "Renamed", "gln": gln})):
        assert says in assert_error(answer, status, "invalid_field")["message"]
    assert snapshot(db) == before


def test_a_gln_another_location_has_is_409_like_a_taken_code(client, db, tree):
    """Guards the GLN's uniqueness: a GLN names one place, so one another location has is 409 duplicate (as a
    taken code is) on POST and PATCH, naming that location; nothing written."""
    assert client.patch("/api/locations/BACK", json={"gln": GLN}).status_code == 200
    before = snapshot(db)
    for answer in (client.post("/api/locations", json={"code": "DOCK", "name": "Dock", "gln": GLN}),
                   client.patch("/api/locations/SOUTH", json={"gln": GLN})):
        assert "location BACK's already" in assert_error(answer, 409, "duplicate")["message"]
    assert snapshot(db) == before
    assert client.patch("/api/locations/BACK", json={"gln": None}).status_code == 200
    assert client.patch("/api/locations/SOUTH", json={"gln": GLN}).get_json()["gln"] == GLN
