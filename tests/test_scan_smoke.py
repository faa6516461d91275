"""A first walk through the scan flows (the full state-by-kind matrix lives in test_scan_*)."""
from __future__ import annotations

import pytest

from station.config import from_dict
from station.domain import catalogue, documents
from station.scanning.service import ScanService


@pytest.fixture
def service():
    return ScanService(from_dict({"stations": [{"id": "goods-in", "mode": "receive"}, {"id": "till", "mode": "sell"}]}))


def scan(db, service, station, text, **kw):
    with db.Session.begin() as s:
        return service.process(s, station, text, **kw)


def test_receive_box_then_sell(db, service):
    """A box received with one product scan and its serials, then one serial sold by itself."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=["036000291452"])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    assert scan(db, service, "goods-in", "SUP:ACME").accepted
    r = scan(db, service, "goods-in", "0036000291452")
    assert r.accepted and "Scan the serial" in r.prompt
    for i in range(1, 4):
        r = scan(db, service, "goods-in", f"SN-{i}")
        assert r.accepted, r
    assert r.prompt.startswith("Widget X: 3 received.")
    r = scan(db, service, "goods-in", "SN-2")
    assert not r.accepted and r.code == "serial_on_open_document"
    r = scan(db, service, "goods-in", "CMD:FINISH")
    assert r.accepted and r.document["status"] == "posted" and len(r.document["lines"]) == 3
    r = scan(db, service, "till", "SN-2")
    assert r.accepted, r
    r = scan(db, service, "till", "CMD:FINISH")
    assert r.accepted and r.document["kind"] == "sale"
    r = scan(db, service, "till", "SN-2")
    assert not r.accepted and r.code == "serial_has_customer"


def test_purchase_order_gs1(db, service):
    """A purchase order of 2 received with GS1 scans: product and serial in one scan, counted against the order."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=["09501101020917"])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        documents.create_purchase_order(s, "PO-1042", "ACME", [("WID-1", 2)])
    assert scan(db, service, "goods-in", "PO-1042").accepted
    r = scan(db, service, "goods-in", "]d201095011010209171719050810ABCD1234\x1d21S1")
    assert r.accepted, r
    assert r.prompt.startswith("Widget X: 1 of 2 received.")
    r = scan(db, service, "goods-in", "]d20109501101020917\x1d21S2")
    assert r.accepted, r
    r = scan(db, service, "goods-in", "]d20109501101020917\x1d21S3")
    assert not r.accepted and r.code == "quantity_exceeds_order"
    assert scan(db, service, "goods-in", "CMD:FINISH").accepted
    r = scan(db, service, "goods-in", "\xff bad")
    assert r.accepted is False
    r = scan(db, service, "goods-in", b"\xff\xfe")
    assert r.code == "invalid_scan"
