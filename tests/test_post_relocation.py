"""Posting a move, a transfer, an arrival and a count (SPEC 3c), on SQLite and PostgreSQL.

A move writes ``move`` (quantity 0) from the unit's place to the line's; a transfer ``transfer_out``
(-1): the unit is ours, at no site, in transit on the T- document; an arrival ``transfer_in`` (+1) to
its line's place. A count posts against what the database holds when it posts: units found elsewhere
are moved here, units not in stock are added, units expected and not found leave, and unserialised
units are set to what was counted. ``station check`` stays clean after each.
"""
from __future__ import annotations

import pytest
from helpers import places
from helpers.places import line, opened, post
from sqlalchemy import select
from test_post_locations import levels, moves, party, product, receive, where

from station.domain import catalogue, posting, serials, stock
from station.domain.errors import Refusal
from station.domain.models import SerialNumber
from station.domain.vocabulary import DocumentKind as K


@pytest.fixture
def shop(session):
    """Site MAIN with A (A-01, A-02) and B-01; site NORTH with N-01; WID-1 (serials), LOOSE (units)."""
    places.shop(session)
    return session


def refused(session, kind, *lines, at="MAIN", **kw) -> str:
    doc = opened(session, kind, at, **kw)
    for one in lines:
        line(session, doc, **one)
    with pytest.raises(Refusal) as refusal:
        posting.post(session, doc)
    session.rollback()
    return refusal.value.code


def in_transit(session, serial):
    record = serials.get_serial(session, serial)
    session.refresh(record)
    return record.transfer_id


def test_move_takes_units_from_where_they_are_to_the_line_s_place(shop):
    """Guards move posting: quantity 0 from the serial's place; units from the document's place first."""
    receive(shop, ("SN-1", "A-01"), ("SN-2", "A-02"), ("3", "A-01"), ("1", "B-01"))
    loose = product(shop, "LOOSE")
    doc = post(shop, K.move, {"serial": "SN-1", "at": "B-01"}, {"serial": "SN-2", "at": "A-01"},
               {"product": loose, "at": "A-02"}, {"product": loose, "at": "A-02"}, at="B-01")
    assert moves(shop, doc) == [("SN-1", "move", 0, "A-01", "B-01"), ("SN-2", "move", 0, "A-02", "A-01"),
                                (None, "move", 0, "B-01", "A-02"), (None, "move", 0, "A-01", "A-02")]
    assert (where(shop, "SN-1"), where(shop, "SN-2")) == ("B-01", "A-01")
    assert levels(shop) == {"A-01": 2, "A-02": 2}
    assert stock.check(shop) == []


@pytest.mark.parametrize("state, code", [
    pytest.param("there", "serial_already_there", id="already_there"),
    pytest.param("north", "serial_at_other_site", id="at_other_site"),
    pytest.param("sold", "serial_not_in_stock", id="not_in_stock"),
])
def test_move_refuses_what_changed_since_the_scan(shop, state, code):
    """Guards move posting's checks under the lock: a unit already there, at another site, or gone."""
    receive(shop, ("SN-1", {"there": "B-01", "north": "N-01", "sold": "A-01"}[state]))
    if state == "sold":
        post(shop, K.sale, {"serial": "SN-1"}, at="A-01", customer=party(shop, "customer", "BOB"))
    shop.commit()
    assert refused(shop, K.move, {"serial": "SN-1", "at": "B-01"}, at="B-01") == code


def test_transfer_then_arrival(shop):
    """Guards the transfer's round trip: out at no site and in transit, then in at the arrival's place."""
    receive(shop, ("SN-1", "A-01"), ("SN-2", "B-01"))
    transfer = post(shop, K.transfer, {"serial": "SN-1", "at": "NORTH"}, {"serial": "SN-2", "at": "NORTH"},
                    at="NORTH")
    assert moves(shop, transfer) == [("SN-1", "transfer_out", -1, "A-01", None),
                                     ("SN-2", "transfer_out", -1, "B-01", None)]
    assert where(shop, "SN-1") is None and in_transit(shop, "SN-1") == transfer.id
    assert not serials.get_serial(shop, "SN-1").in_stock
    assert stock.check(shop) == []
    received = opened(shop, K.receipt, "A-01", supplier=party(shop, "supplier", "ACME"))
    with pytest.raises(Refusal) as refusal:  # not received again while it travels: refused as it is scanned
        line(shop, received, serial="SN-1", product=product(shop, "WID-1"))
        posting.post(shop, received)
    assert refusal.value.code == "serial_in_transit" and "Place NORTH (NORTH)" in refusal.value.message


def arrive(session, transfer, *lines, at="NORTH"):
    doc = opened(session, K.arrival, at)
    doc.order_id = transfer.id
    session.flush()
    for one in lines:
        line(session, doc, **one)
    posting.post(session, doc)
    return doc


def test_arrival_puts_units_in_stock_at_their_line_s_place(shop):
    """Guards transfer_in: +1 to the line's place (the last LOC:) or the document's (the transfer's destination)."""
    receive(shop, ("SN-1", "A-01"), ("SN-2", "B-01"), ("SN-3", "B-01"))
    transfer = post(shop, K.transfer, *({"serial": s, "at": "NORTH"} for s in ("SN-1", "SN-2", "SN-3")),
                    at="NORTH")
    arrival = arrive(shop, transfer, {"serial": "SN-1", "at": "N-01"}, {"serial": "SN-2"})
    assert moves(shop, arrival) == [("SN-1", "transfer_in", 1, None, "N-01"), ("SN-2", "transfer_in", 1, None, "NORTH")]
    assert (where(shop, "SN-1"), where(shop, "SN-2")) == ("N-01", "NORTH")
    assert in_transit(shop, "SN-1") is None and in_transit(shop, "SN-3") == transfer.id
    assert stock.check(shop) == []
    shop.commit()
    other = post(shop, K.transfer, {"serial": "SN-1", "at": "MAIN"}, at="MAIN")
    shop.commit()
    doc = opened(shop, K.arrival, "NORTH")
    doc.order_id = transfer.id
    line(shop, doc, serial="SN-1")
    with pytest.raises(Refusal) as refusal:
        posting.post(shop, doc)
    assert refusal.value.code == "serial_not_on_transfer"
    del other


def count(session, root, *lines):
    doc = opened(session, K.count, root)
    for one in lines:
        line(session, doc, **one)
    posting.post(session, doc)
    return doc


def test_count_moves_adds_and_takes_out_and_sets_units(shop):
    """Guards count posting: found elsewhere (any site) moved here, not in stock added, not found out, units set."""
    receive(shop, ("SN-1", "A-01"), ("SN-2", "A-02"), ("SN-3", "B-01"), ("SN-4", "N-01"), ("SN-5", "A-01"),
            ("4", "A-01"), ("2", "A-02"), ("7", "B-01"))
    post(shop, K.sale, {"serial": "SN-5"}, at="A-01", customer=party(shop, "customer", "BOB"))
    post(shop, K.customer_return, {"serial": "SN-5"}, at="A-01")
    serials.adjust_serial(shop, serials.get_serial(shop, "SN-5"), "out", "lost")
    loose = product(shop, "LOOSE")
    doc = count(shop, "A", {"serial": "SN-1", "at": "A-01"}, {"serial": "SN-3", "at": "A-02"},
                {"serial": "SN-4", "at": "A-01"}, {"serial": "SN-5", "at": "A-02"}, {"serial": "NEW-1", "at": "A-01",
                                                                                     "product": product(shop, "WID-1")},
                *({"product": loose, "at": "A-01"} for _ in range(5)), {"product": loose, "at": "A-02"})
    assert sorted(moves(shop, doc), key=str) == sorted([
        ("SN-3", "move", 0, "B-01", "A-02"), ("SN-4", "move", 0, "N-01", "A-01"),
        ("SN-5", "adjustment", 1, None, "A-02"), ("NEW-1", "adjustment", 1, None, "A-01"),
        ("SN-2", "adjustment", -1, "A-02", None),
        (None, "adjustment", 1, None, "A-01"), (None, "adjustment", -1, "A-02", None)], key=str)
    assert [where(shop, s) for s in ("SN-1", "SN-2", "SN-3", "SN-4", "SN-5", "NEW-1")] == [
        "A-01", None, "A-02", "A-01", "A-02", "A-01"]
    assert levels(shop) == {"A-01": 5, "A-02": 1, "B-01": 7}
    assert catalogue.get_product(shop, "LOOSE").unserialised_on_hand == 13
    assert stock.check(shop) == []


def test_count_posts_against_what_the_database_holds_when_it_posts(shop):
    """Guards "expected at posting": a unit sold after it was counted has left and is neither missing nor moved."""
    receive(shop, ("SN-1", "A-01"), ("SN-2", "A-01"), ("SN-3", "B-01"))
    doc = opened(shop, K.count, "A")
    line(shop, doc, serial="SN-1", at="A-01")
    line(shop, doc, serial="SN-3", at="A-01")
    post(shop, K.sale, {"serial": "SN-1"}, {"serial": "SN-2"}, {"serial": "SN-3"}, at="A-01",
         customer=party(shop, "customer", "BOB"))
    posting.post(shop, doc)
    assert moves(shop, doc) == []
    assert stock.check(shop) == []
    assert shop.scalar(select(SerialNumber.customer_id).where(SerialNumber.serial == "SN-3")) is not None
