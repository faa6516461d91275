"""The /api/serials endpoints: SPEC 5's JSON to the letter, and the ERP page's serial workflows."""
from __future__ import annotations

import re

from helpers.api import assert_error, snapshot

from station.domain import catalogue, documents, posting
from station.domain.models import DocumentKind

AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SPEC_SERIAL = {
    "serial": "SN-1",
    "product": {"code": "WID-1", "name": "Widget"},
    "customer": None,
    "supplier": {"code": "ACME", "name": "Acme Ltd"},
    "in_stock": True,
    "in_service": False,
    "status": "in_stock",
    "warranty_until": None,
    "location": {"code": "MAIN", "name": "Main site", "site": "MAIN"},  # no put-away: the station's, MAIN
    "open_document": None,
    "movements": [{"kind": "receipt", "quantity": 1, "document": "R-000002", "order": "PO-1042",
                   "station": "goods-in", "from_location": None, "to_location": "MAIN",
                   "party": {"code": "ACME", "name": "Acme Ltd"}, "user": None, "reason": None}],
    "refused_scans": [],
}


def test_spec_serial_example(client, db):
    """SPEC 5's serial example, reproduced key for key: a drifting key or value breaks every client."""
    with db.Session.begin() as s:
        widget = catalogue.create_product(s, "WID-1", "Widget")
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    resp = client.post("/api/documents", json={"kind": "purchase_order", "reference": "PO-1042", "supplier": "ACME",
                                               "lines": [{"product": "WID-1", "quantity": 5}]})
    assert resp.status_code == 201
    with db.Session.begin() as s:
        order = documents.get_document(s, "PO-1042")
        receipt = documents.open_document(s, DocumentKind.receipt, station="goods-in", order=order)
        documents.add_line(s, receipt, product=s.merge(widget), serial="SN-1")
        posting.post(s, receipt)
        assert receipt.reference == "R-000002"  # the receipt posted it; it filled the order (issue 20, item 4)
    resp = client.get("/api/serials/SN-1")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    movement = body["movements"][0]
    assert AT.match(movement.pop("at"))
    assert body == SPEC_SERIAL
    assert list(body) == list(SPEC_SERIAL)
    order = client.get("/api/documents/PO-1042").get_json()
    assert [(line["expected"], line["received"]) for line in order["lines"]] == [(5, 1)]


def test_create_with_only_the_serial(client, db):
    """Rule 1: a serial is created from its number alone (201), and a second time is 409 duplicate."""
    resp = client.post("/api/serials", json={"serial": "  HM-1 "})
    assert resp.status_code == 201
    assert resp.headers["Location"].endswith("/api/serials/HM-1")
    assert resp.get_json() == {
        "serial": "HM-1", "product": None, "customer": None, "supplier": None, "in_stock": False,
        "in_service": False, "status": "not_in_stock", "warranty_until": None, "location": None,
        "open_document": None, "movements": [], "refused_scans": []}
    before = snapshot(db)
    assert_error(client.post("/api/serials", json={"serial": "HM-1"}), 409, "duplicate")
    assert snapshot(db) == before


def test_edit_afterwards_and_in_stock_read_only(client, db, world):
    """The ERP workflow: product, supplier and customer set (and cleared) later; in_stock never writable."""
    client.post("/api/serials", json={"serial": "HM-1"})
    resp = client.patch("/api/serials/HM-1", json={"product": "WID-1", "supplier": "ACME"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["product"] == {"code": "WID-1", "name": "Widget"}
    assert body["supplier"] == {"code": "ACME", "name": "Acme Ltd"}
    assert client.patch("/api/serials/HM-1", json={"customer": "BOB"}).get_json()["customer"] == {
        "code": "BOB", "name": "Bob"}
    assert client.patch("/api/serials/HM-1", json={"customer": None}).get_json()["customer"] is None
    before = snapshot(db)
    for body in ({"in_stock": True}, {"in_stock": False}, {"product": "WID-2", "in_stock": True}):
        assert_error(client.patch("/api/serials/HM-1", json=body), 400, "read_only")
    assert_error(client.post("/api/serials", json={"serial": "HM-2", "in_stock": True}), 400, "read_only")
    assert_error(client.patch("/api/serials/NOPE", json={"in_stock": True}), 400, "read_only")
    assert snapshot(db) == before


def test_customer_refused_while_in_stock(client, db, world):
    """Rule 1: a customer can be set only while the serial is out of stock (422 serial_in_stock)."""
    client.post("/api/serials", json={"serial": "HM-1", "product": "WID-1"})
    resp = client.post("/api/serials/HM-1/adjust", json={"direction": "in", "reason": "found on the shelf"})
    assert resp.status_code == 200 and resp.get_json()["in_stock"] is True
    before = snapshot(db)
    assert_error(client.patch("/api/serials/HM-1", json={"customer": "BOB"}), 422, "serial_in_stock")
    assert snapshot(db) == before


def test_product_change_moves_the_unit(client, db, world):
    """Rule 1: changing an in-stock serial's product moves on_hand over, with an adjustment pair in its history."""
    client.post("/api/serials", json={"serial": "HM-1", "product": "WID-1"})
    client.post("/api/serials/HM-1/adjust", json={"direction": "in", "reason": "count"})
    assert client.get("/api/products/WID-1").get_json()["on_hand"] == 1
    resp = client.patch("/api/serials/HM-1", json={"product": "WID-2"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["product"]["code"] == "WID-2" and body["in_stock"] is True
    assert [(m["kind"], m["quantity"]) for m in body["movements"]] == [
        ("adjustment", 1), ("adjustment", -1), ("adjustment", 1)]
    one, two = client.get("/api/products/WID-1").get_json(), client.get("/api/products/WID-2").get_json()
    assert (one["on_hand"], one["serials_in_stock"]) == (0, 0)
    assert (two["on_hand"], two["serials_in_stock"]) == (1, 1)


def test_adjust_in_and_out(client, db, world):
    """Rule 7: a serial adjusted in then out, always with a reason; out again is 422 serial_not_in_stock."""
    client.post("/api/serials", json={"serial": "HM-1", "product": "WID-1"})
    body = client.post("/api/serials/HM-1/adjust", json={"direction": "in", "reason": "found"}).get_json()
    assert body["in_stock"] is True and body["movements"][-1]["kind"] == "adjustment"
    body = client.post("/api/serials/HM-1/adjust", json={"direction": "out", "reason": "broken"}).get_json()
    assert body["in_stock"] is False
    assert [m["quantity"] for m in body["movements"]] == [1, -1]
    before = snapshot(db)
    assert_error(client.post("/api/serials/HM-1/adjust", json={"direction": "out", "reason": "again"}),
                 422, "serial_not_in_stock")
    assert_error(client.post("/api/serials/HM-1/adjust", json={"direction": "in"}), 400, "invalid_field")
    assert snapshot(db) == before


def test_list_filters_and_pages(client, db, world):
    """GET /api/serials: product, in_stock, a serial prefix q (its % and _ taken literally), and paging."""
    for serial in ("a%b", "a_b", "axb", "AXC", "Z-1"):
        client.post("/api/serials", json={"serial": serial, "product": "WID-1" if serial != "Z-1" else "WID-2"})
    client.post("/api/serials/Z-1/adjust", json={"direction": "in", "reason": "count"})

    def serials(query: str) -> list[str]:
        resp = client.get("/api/serials" + query)
        assert resp.status_code == 200, resp.get_json()
        return sorted(s["serial"] for s in resp.get_json()["serials"])

    assert serials("?q=a%25") == ["a%b"]
    assert serials("?q=a_") == ["a_b"]
    assert serials("?q=ax") == ["AXC", "axb"]
    assert serials("?product=WID-2") == ["Z-1"]
    assert serials("?in_stock=true") == ["Z-1"]
    assert serials("?in_stock=false&product=WID-1") == ["AXC", "a%b", "a_b", "axb"]
    assert serials("?q=&product=&in_stock=") == ["AXC", "Z-1", "a%b", "a_b", "axb"]
    page = client.get("/api/serials?per_page=2&page=3").get_json()
    assert set(page) == {"serials", "page", "per_page", "total"}
    assert (len(page["serials"]), page["page"], page["per_page"], page["total"]) == (1, 3, 2, 5)
    assert set(page["serials"][0]) == {"serial", "product", "customer", "supplier", "in_stock", "in_service", "status",
                                       "warranty_until", "location"}
    assert_error(client.get("/api/serials?product=NOPE"), 404, "unknown_product")
