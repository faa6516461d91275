"""End-to-end domain flows at the level of the rules (no scanning): the ERP page's workflows."""
from __future__ import annotations

import pytest

from station.domain import catalogue, documents, posting, serials, stock
from station.domain.errors import Refusal
from station.domain.models import DocumentKind


def _setup(session):
    widget = catalogue.create_product(session, "WID-1", "Widget", barcodes=["036000291452"])
    loose = catalogue.create_product(session, "LOOSE", "Loose", serial_required_for_purchase=False)
    acme = catalogue.create_party(session, "supplier", "ACME", "Acme Ltd")
    bob = catalogue.create_party(session, "customer", "BOB", "Bob")
    return widget, loose, acme, bob


def test_receive_sell_return(session):
    """A serial received, sold and returned moves in and out of stock and keeps its history."""
    widget, loose, acme, bob = _setup(session)
    r = documents.open_document(session, DocumentKind.receipt, station="goods-in", supplier=acme)
    documents.add_line(session, r, product=widget, serial="SN-1")
    with pytest.raises(Refusal) as e:
        documents.add_line(session, r, product=widget, serial="SN-1")
    assert e.value.code == "serial_on_open_document"
    posting.post(session, r)
    rec = serials.get_serial(session, "SN-1")
    assert rec.in_stock and rec.supplier is acme and rec.product is widget
    assert catalogue.on_hand(session, widget) == 1
    s = documents.open_document(session, DocumentKind.sale, station="till", customer=bob)
    documents.add_line(session, s, serial="SN-1")
    posting.post(session, s)
    assert not rec.in_stock and rec.customer is bob
    cr = documents.open_document(session, DocumentKind.customer_return, station="till")
    documents.add_line(session, cr, serial="SN-1")
    posting.post(session, cr)
    assert rec.in_stock and rec.customer is None
    entries, total = serials.history(session, rec)
    assert [e.kind for e in entries] == ["receipt", "sale", "customer_return"]
    assert (entries[2].movement.customer_code, entries[2].movement.customer_name) == (bob.code, bob.name)
    assert stock.check(session) == []
    session.commit()


def test_hand_made_serial_sold_from_unserialised_stock(session):
    """Rule 4: a serial never in stock is sold by taking one unserialised unit, no flag toggled."""
    widget, loose, acme, bob = _setup(session)
    r = documents.open_document(session, DocumentKind.receipt, supplier=acme)
    documents.add_line(session, r, product=loose)
    documents.add_line(session, r, product=loose)
    posting.post(session, r)
    assert loose.unserialised_on_hand == 2
    serials.create_serial(session, "HM-1")
    serials.update_serial(session, serials.get_serial(session, "HM-1"), product="LOOSE", supplier="ACME")
    s = documents.open_document(session, DocumentKind.sale, customer=bob)
    documents.add_line(session, s, serial="HM-1")
    posting.post(session, s)
    assert loose.unserialised_on_hand == 1
    assert loose.serial_required_for_sales and not loose.serial_required_for_purchase
    entries, _ = serials.history(session, serials.get_serial(session, "HM-1"))
    assert [(e.kind, e.movement.quantity) for e in entries] == [("adjustment", 1), ("sale", -1)]
    assert stock.check(session) == []
