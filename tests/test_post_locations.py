"""Posting writes where every unit left and went (SPEC 3c), and keeps each serial's and each location's stock.

Every kind that existed before locations (receipt, sale, customer and supplier return, adjustment, the
service desk's check-in, check-out and replacement, a rule-4 sale's adjustment pair, a product change's
pair) names ``from_location``/``to_location`` on its movements; serials' ``location_id`` and the stock
levels follow; unserialised units leave from the line's location first, then the site's other locations
in code order; a line without a location uses its document's, else MAIN. ``station check`` stays clean.
"""
from __future__ import annotations

import pytest
from helpers import places
from helpers.places import line, opened, post
from sqlalchemy import select

from station.domain import catalogue, posting, serials, stock
from station.domain.errors import Refusal
from station.domain.models import Location, Movement, SerialNumber, StockLevel
from station.domain.vocabulary import DocumentKind as K


@pytest.fixture
def shop(session):
    """Site MAIN with A-01, A-02 and B-01 under it; site NORTH with N-01; WID-1 (serials), LOOSE (units)."""
    places.shop(session, warranty_months=12)
    return session


def product(session, code):
    return catalogue.get_product(session, code)


def party(session, kind, code):
    return catalogue.get_party(session, kind, code)


def codes(session):
    return dict(session.execute(select(Location.id, Location.code)).all())


def moves(session, document):
    names = codes(session)
    rows = session.execute(select(Movement.kind, Movement.quantity, Movement.from_location_id,
                                  Movement.to_location_id, SerialNumber.serial)
                           .outerjoin(SerialNumber, SerialNumber.id == Movement.serial_id)
                           .where(Movement.document_id == document.id).order_by(Movement.id))
    return [(r.serial, r.kind.value, r.quantity, names.get(r.from_location_id), names.get(r.to_location_id))
            for r in rows]


def where(session, serial):
    record = serials.get_serial(session, serial)
    session.refresh(record)
    return codes(session).get(record.location_id)


def levels(session, code="LOOSE"):
    names = codes(session)
    pid = product(session, code).id
    return {names[r.location_id]: r.quantity for r in session.execute(
        select(StockLevel.location_id, StockLevel.quantity).where(StockLevel.product_id == pid)) if r.quantity}


def receive(session, *pairs, at="MAIN"):
    """Receive serials (and LOOSE units) each put away at its own location."""
    widget, loose = product(session, "WID-1"), product(session, "LOOSE")
    lines = [{"product": widget, "serial": s, "at": a} if not s.isdigit() else
             {"product": loose, "quantity": int(s), "at": a} for s, a in pairs]
    return post(session, K.receipt, *lines, at=at, supplier=party(session, "supplier", "ACME"))


def test_receipt_puts_each_unit_where_its_line_says(shop):
    """Guards put-away: a receipt's serials and units go to their line's location, the line's own or none (MAIN)."""
    doc = receive(shop, ("SN-1", "A-01"), ("SN-2", "B-01"), ("4", "A-02"))
    none = receive(shop, ("SN-3", None), at=None)
    assert moves(shop, doc) == [("SN-1", "receipt", 1, None, "A-01"), ("SN-2", "receipt", 1, None, "B-01"),
                                (None, "receipt", 4, None, "A-02")]
    assert moves(shop, none) == [("SN-3", "receipt", 1, None, "MAIN")]
    assert [where(shop, s) for s in ("SN-1", "SN-2", "SN-3")] == ["A-01", "B-01", "MAIN"]
    assert levels(shop) == {"A-02": 4}
    assert stock.check(shop) == []


def test_a_line_without_location_takes_its_documents(shop):
    """Guards the fallback: older lines and API lines carry no location; their document's is used."""
    doc = receive(shop, ("SN-1", None), at="B-01")
    assert moves(shop, doc) == [("SN-1", "receipt", 1, None, "B-01")]
    assert where(shop, "SN-1") == "B-01"


def test_sale_takes_serials_from_where_they_are_and_units_line_first_then_code_order(shop):
    """Guards SPEC 3c's order: unserialised units leave from the line's location, then the site's others by code."""
    receive(shop, ("SN-1", "A-01"), ("2", "B-01"), ("2", "A-02"), ("3", "A-01"), ("5", "N-01"))
    loose = product(shop, "LOOSE")
    doc = post(shop, K.sale, {"serial": "SN-1", "at": "B-01"}, {"product": loose, "quantity": 5, "at": "B-01"},
               at="B-01", customer=party(shop, "customer", "BOB"))
    assert moves(shop, doc) == [("SN-1", "sale", -1, "A-01", None), (None, "sale", -2, "B-01", None),
                                (None, "sale", -3, "A-01", None)]
    assert where(shop, "SN-1") is None
    assert levels(shop) == {"A-02": 2, "N-01": 5}
    assert stock.check(shop) == []


def test_units_at_another_site_do_not_count_for_a_sale_here(shop):
    """Guards "within the station's site": units at NORTH are not sold from MAIN (out_of_stock)."""
    receive(shop, ("1", "A-01"), ("5", "N-01"))
    doc = opened(shop, K.sale, "A-01", customer=party(shop, "customer", "BOB"))
    line(shop, doc, product=product(shop, "LOOSE"), quantity=2, at="A-01")
    with pytest.raises(Refusal) as refused:
        posting.post(shop, doc)
    assert refused.value.code == "out_of_stock"


def test_a_serial_at_another_site_is_not_sold_here(shop):
    """Guards serial_at_other_site at posting: a sale at MAIN of a unit at NORTH is refused, nothing written."""
    receive(shop, ("SN-1", "N-01"))
    doc = opened(shop, K.sale, "A-01", customer=party(shop, "customer", "BOB"))
    line(shop, doc, serial="SN-1", at="A-01")
    with pytest.raises(Refusal) as refused:
        posting.post(shop, doc)
    assert refused.value.code == "serial_at_other_site"
    assert "NORTH" in refused.value.message


def test_returns_and_adjustments_name_their_places(shop):
    """Guards customer and supplier returns and adjustments in and out: each movement's from/to, and the levels."""
    receive(shop, ("SN-1", "A-01"), ("SN-2", "A-02"), ("3", "A-01"))
    bob, acme, loose = party(shop, "customer", "BOB"), party(shop, "supplier", "ACME"), product(shop, "LOOSE")
    post(shop, K.sale, {"serial": "SN-1"}, at="A-01", customer=bob)
    back = post(shop, K.customer_return, {"serial": "SN-1", "at": "B-01"}, at="B-01")
    away = post(shop, K.supplier_return, {"serial": "SN-2"}, {"product": loose, "quantity": 1}, at="B-01",
                supplier=acme)
    out = serials.adjust_serial(shop, serials.get_serial(shop, "SN-1"), "out", "broken")
    found = serials.adjust_serial(shop, serials.get_serial(shop, "SN-1"), "in", "found")
    units = stock.adjust_product(shop, loose, -1, "lost")
    assert moves(shop, back) == [("SN-1", "customer_return", 1, None, "B-01")]
    assert moves(shop, away) == [("SN-2", "supplier_return", -1, "A-02", None),
                                 (None, "supplier_return", -1, "A-01", None)]
    assert moves(shop, out) == [("SN-1", "adjustment", -1, "B-01", None)]
    assert moves(shop, found) == [("SN-1", "adjustment", 1, None, "MAIN")]
    assert moves(shop, units) == [(None, "adjustment", -1, "A-01", None)]
    assert levels(shop) == {"A-01": 1}
    assert stock.check(shop) == []


def test_product_change_keeps_the_unit_where_it_is(shop):
    """Guards rule 1's adjustment pair: out of one product's stock and into the other's, at the same location."""
    catalogue.create_product(shop, "GAD-1", "Gadget")
    receive(shop, ("SN-1", "A-02"))
    serials.update_serial(shop, serials.get_serial(shop, "SN-1"), product="GAD-1")
    assert where(shop, "SN-1") == "A-02"
    assert stock.check(shop) == []


def test_rule_4_sale_takes_its_unit_where_it_finds_one(shop):
    """Guards the rule-4 pair: the unserialised unit leaves from a location, the serial enters and leaves there."""
    receive(shop, ("2", "B-01"))
    serials.create_serial(shop, "HM-1", product="LOOSE")
    doc = post(shop, K.sale, {"serial": "HM-1", "at": "A-01"}, at="A-01", customer=party(shop, "customer", "BOB"))
    assert moves(shop, doc) == [(None, "adjustment", -1, "B-01", None), ("HM-1", "adjustment", 1, None, "B-01"),
                                ("HM-1", "sale", -1, "B-01", None)]
    assert levels(shop) == {"B-01": 1}
    assert stock.check(shop) == []


def test_service_desk_moves_name_the_replacement_s_place(shop):
    """Guards 3b with places: check-in/out are the customer's (no location); a replacement leaves from its own."""
    receive(shop, ("SN-1", "A-01"), ("SN-2", "A-02"))
    bob = party(shop, "customer", "BOB")
    post(shop, K.sale, {"serial": "SN-1"}, at="A-01", customer=bob)
    check_in = post(shop, K.service_check_in, {"serial": "SN-1"}, at="A-01", customer=bob)
    out = opened(shop, K.service_check_out, "A-01", customer=bob)
    line(shop, out, serial="SN-1")
    line(shop, out, serial="SN-2", replaces="SN-1")
    posting.post(shop, out)
    assert moves(shop, check_in) == [("SN-1", "service_in", 0, None, None)]
    assert moves(shop, out) == [("SN-1", "replaced", 0, None, None), ("SN-2", "replacement", -1, "A-02", None)]
    assert where(shop, "SN-2") is None and where(shop, "SN-1") is None
    faulty_away = post(shop, K.supplier_return, {"serial": "SN-1"}, at="A-01",
                       supplier=party(shop, "supplier", "ACME"))
    assert moves(shop, faulty_away) == [("SN-1", "supplier_return", 0, None, None)]
    assert stock.check(shop) == []
