"""The location pages (SPEC 5 "Pages", issue 23): the tree with its units, a location's contents, its forms,
and the serial page saying where the unit is now; on SQLite and PostgreSQL.

Stock is put at a location with plain rows (a serial's ``location_id``, a
``stock_level`` row), as posting by location will write them.
"""
from __future__ import annotations

import re
from html import unescape

import pytest

from station.domain import catalogue, locations
from station.domain.models import Document, DocumentKind, SerialNumber, StockLevel


@pytest.fixture
def shop(db):
    """NORTH > BACK > BIN.1 and NORTH > FLOOR; SOUTH; a serial at BIN.1 and at FLOOR, 3 loose units at BACK."""
    with db.Session.begin() as s:
        locations.add(s, "NORTH", "North shop")
        locations.add(s, "BACK", "Back <room>", "NORTH")
        locations.add(s, "BIN.1", "Bin 1", "BACK")
        locations.add(s, "FLOOR", "Shop floor", "NORTH")
        locations.add(s, "SOUTH", "South shop")
        widget = catalogue.create_product(s, "WID-1", "Widget")
        loose = catalogue.create_product(s, "LOOSE", "Loose", serial_required_for_purchase=False)
        s.add(SerialNumber(serial="SN-1", product=widget, in_stock=True, location_id=locations.get(s, "BIN.1").id))
        s.add(SerialNumber(serial="SN-2", product=widget, in_stock=True, location_id=locations.get(s, "FLOOR").id))
        s.add(StockLevel(product_id=loose.id, location_id=locations.get(s, "BACK").id, quantity=3))


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def csrf(client) -> str:
    client.get("/login")
    with client.session_transaction() as session:
        return session["csrf_token"]


def test_the_tree_shows_each_site_and_location_with_its_units(client, shop):
    """Guards /locations: sites and the locations under them in tree order, units here and below, names
    escaped, and the nav links there."""
    page = client.get("/locations").get_data(as_text=True)
    rows = re.findall(r'data-code="([^"]+)" data-depth="(\d)">.*?class="num">(\d+)</td><td class="num units">(\d+)',
                      page, re.S)
    codes = [(c, int(d), int(h), int(t)) for c, d, h, t in rows if c != "MAIN"]
    assert codes == [("NORTH", 0, 0, 5), ("BACK", 1, 3, 4), ("BIN.1", 2, 1, 1), ("FLOOR", 1, 1, 1),
                     ("SOUTH", 0, 0, 0)]
    assert "Back &lt;room&gt;" in page and "<room>" not in page
    assert 'href="/locations"' in client.get("/products").get_data(as_text=True)


def test_a_location_page_shows_what_is_there_by_product_and_serial(client, shop):
    """Guards /locations/<code>: its path from its site, the locations under it, units per product and the
    serials here and below with where each is; an unknown code is a 404 page."""
    page = text(client.get("/locations/BACK").get_data(as_text=True))
    assert "NORTH North shop › BACK Back <room>" in page
    assert "Units here and below 4" in page
    assert "LOOSE Loose 3" in page and "WID-1 Widget 1" in page
    assert "SN-1 WID-1 Widget BIN.1" in page and "SN-2" not in page
    assert client.get("/locations/NOPE").status_code == 404


@pytest.mark.parametrize("code", ["BIN.1", ".", ".."])
def test_a_location_uri_and_every_code_reach_its_page(client, db, shop, code):
    """Guards the links: a code of dots only travels in the query string (links.py); the station's URI of a
    location, <base_uri>/location/<code>, answers 303 to its page, which shows that URI."""
    with db.Session.begin() as s:
        if locations.find(s, code) is None:
            locations.add(s, code, f"Dots {code}", "NORTH")
    tree = client.get("/locations").get_data(as_text=True)
    link = re.search(r'<a class="code" href="([^"]+)">' + re.escape(code) + "</a>", tree).group(1)
    page = client.get(unescape(link))
    assert page.status_code == 200 and f"LOC:{code}" in page.get_data(as_text=True)
    uri = re.search(r'id="location-uri"><a href="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert "/location/" in uri
    if code == "BIN.1":
        moved = client.get("/location/BIN.1")
        assert moved.status_code == 303 and moved.headers["Location"].endswith("/locations/BIN.1")


def test_the_forms_add_rename_move_and_refuse_with_the_code(client, shop):
    """Guards the forms: a location added under another, renamed and moved; a refusal flashed with its code."""
    token = csrf(client)
    made = client.post("/locations", data={"action": "create", "code": "SHELF", "name": "Shelf", "parent": "FLOOR",
                                           "csrf_token": token}, follow_redirects=True)
    assert "Location SHELF (Shelf) added." in text(made.get_data(as_text=True))
    client.post("/locations", data={"action": "rename", "code": "SHELF", "name": "Top shelf", "csrf_token": token})
    client.post("/locations", data={"action": "move", "code": "SHELF", "parent": "SOUTH", "csrf_token": token})
    assert client.get("/api/locations/SHELF").get_json()["site"] == "SOUTH"
    assert client.get("/api/locations/SHELF").get_json()["name"] == "Top shelf"
    refused = client.post("/locations", data={"action": "deactivate", "code": "BACK", "csrf_token": token},
                          follow_redirects=True)
    assert "BACK is not empty" in text(refused.get_data(as_text=True))
    assert "location_not_empty" in refused.get_data(as_text=True)
    site = client.post("/locations", data={"action": "move", "code": "BACK", "parent": "", "csrf_token": token},
                       follow_redirects=True)
    assert "holds stock" in text(site.get_data(as_text=True))
    assert client.post("/locations", data={"action": "create", "code": "X", "name": "Y"}).status_code == 400


def test_the_serial_page_says_where_the_unit_is_now(client, db, shop):
    """Guards the serial page's "Where it is": its location and that location's site, linked; a unit in transit
    names its transfer and destination; one not in stock says so."""
    page = text(client.get("/serials/SN-1").get_data(as_text=True))
    assert "Where it is BIN.1 Bin 1 at NORTH North shop" in page
    with db.Session.begin() as s:
        transfer = Document(reference="T-000001", kind=DocumentKind.transfer, location_id=locations.get(s, "SOUTH").id)
        s.add(transfer)
        s.flush()
        moving = s.query(SerialNumber).filter_by(serial="SN-2").one()
        moving.location_id, moving.in_stock, moving.transfer_id = None, False, transfer.id
        s.add(SerialNumber(serial="SN-GONE", in_stock=False))
    assert "Where it is in transit on T-000001 to SOUTH South shop" in text(
        client.get("/serials/SN-2").get_data(as_text=True))
    assert "Where it is nowhere here: not in stock" in text(client.get("/serials/SN-GONE").get_data(as_text=True))
