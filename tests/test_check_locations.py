"""``station check`` of where units are (SPEC 3c): recomputed from the movements alone, on SQLite and PostgreSQL.

After each posting kind there is no difference; a serial's location, its transfer, or a stock level
changed behind posting's back is reported, exactly.
"""
from __future__ import annotations

import pytest
from helpers.places import line, opened, post, shop
from sqlalchemy import text
from test_post_locations import party, product, receive

from station.domain import posting, stock
from station.domain.stock import Difference
from station.domain.vocabulary import DocumentKind as K


def every_kind(session) -> None:
    """Receipts, a sale, returns, an adjustment, a move, a transfer, an arrival and a count, committed."""
    shop(session, (("A", "MAIN"), ("A-01", "A"), ("B-01", "MAIN"), ("NORTH", None), ("N-01", "NORTH")))
    assert stock.check(session) == []
    receive(session, ("SN-1", "A-01"), ("SN-2", "A-01"), ("SN-3", "B-01"), ("SN-4", "B-01"), ("6", "A-01"))
    assert stock.check(session) == []
    post(session, K.sale, {"serial": "SN-2"}, {"product": product(session, "LOOSE"), "quantity": 1}, at="A-01",
         customer=party(session, "customer", "BOB"))
    assert stock.check(session) == []
    post(session, K.customer_return, {"serial": "SN-2", "at": "B-01"}, at="B-01")
    assert stock.check(session) == []
    post(session, K.move, {"serial": "SN-2", "at": "A-01"}, {"product": product(session, "LOOSE"), "at": "B-01"},
         at="A-01")
    assert stock.check(session) == []
    transfer = post(session, K.transfer, {"serial": "SN-4", "at": "NORTH"}, {"serial": "SN-3", "at": "NORTH"},
                    at="NORTH")
    assert stock.check(session) == []
    arrival = opened(session, K.arrival, "NORTH")
    arrival.order_id = transfer.id
    line(session, arrival, serial="SN-3", at="N-01")
    posting.post(session, arrival)
    assert stock.check(session) == []
    count = opened(session, K.count, "A")
    line(session, count, serial="SN-1", at="A-01")
    line(session, count, product=product(session, "LOOSE"), at="A-01")
    posting.post(session, count)  # SN-2 not found; LOOSE at A-01 set to 1
    assert stock.check(session) == []
    session.commit()


def test_no_difference_after_each_kind(session):
    """Guards against check crying wolf: every posting kind keeps the places true (asserted after each)."""
    every_kind(session)


SERIAL = "(SELECT id FROM serial_number WHERE serial = '{}')"
LOC = "(SELECT id FROM location WHERE code = '{}')"


@pytest.mark.parametrize("tamper, expected", [
    pytest.param(f"UPDATE serial_number SET location_id = {LOC.format('B-01')} WHERE serial = 'SN-1'",
                 [Difference("serial", "SN-1", "B-01", "A-01", "location")], id="serial_moved_by_hand"),
    pytest.param("UPDATE serial_number SET location_id = NULL WHERE serial = 'SN-1'",
                 [Difference("serial", "SN-1", "none", "A-01", "location")], id="in_stock_serial_at_no_place"),
    pytest.param(f"UPDATE serial_number SET location_id = {LOC.format('N-01')} WHERE serial = 'SN-4'",
                 [Difference("serial", "SN-4", "N-01", "none", "location")], id="in_transit_serial_given_a_place"),
    pytest.param("UPDATE serial_number SET transfer_id = NULL WHERE serial = 'SN-4'",
                 [Difference("serial", "SN-4", "none", "T-000005", "transfer")], id="transfer_cleared"),
    pytest.param(f"UPDATE stock_level SET quantity = 3 WHERE location_id = {LOC.format('B-01')}",
                 [Difference("units", "LOOSE at B-01", 3, 1)], id="stock_level_changed"),
    pytest.param(f"UPDATE movement SET to_location_id = {LOC.format('B-01')} "
                 f"WHERE kind = 'transfer_in' AND serial_id = {SERIAL.format('SN-3')}",
                 [Difference("serial", "SN-3", "N-01", "B-01", "location")], id="movement_rewritten"),
])
def test_check_reports_the_tampered_place(db, session, tamper, expected):
    """Guards the proof of SPEC 3c: a place or quantity drifting from the movements is named, and nothing else."""
    every_kind(session)
    with db.engine.begin() as conn:
        conn.execute(text(tamper))
    with db.Session() as fresh:
        assert stock.check(fresh) == expected
