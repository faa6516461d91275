"""Random days of a chain of shops (issue 23): any sequence of receipts, sales, returns, moves, transfers,
arrivals and counts, posted through the domain's functions as scanning will fill them, keeps ``station check``
clean and every unit in stock in exactly one place, on SQLite and PostgreSQL.

Each step is one document in a savepoint: a refusal (the scan rules' or posting's own) takes back that
document only, as a station's would. Sized for a 2-core machine.
"""
from __future__ import annotations

import pytest
from helpers.places import line, opened, place
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from station.domain import catalogue, posting, stock
from station.domain.errors import Refusal
from station.domain.models import Document, Location, SerialNumber, StockLevel
from station.domain.vocabulary import DocumentKind as K

SERIALS = [f"H-{n}" for n in range(1, 7)]
PLACES = ["MAIN", "A-01", "A-02", "NORTH", "N-01"]
OPS = ["receive", "sell", "return", "move", "move", "move_units", "transfer", "transfer", "arrive", "arrive", "count",
       "units", "sell_units"]


@pytest.fixture(scope="module")
def chain(database):
    """Site MAIN (A-01, A-02 under it), site NORTH (N-01); WID-1 by serial, LOOSE without; ACME, BOB."""
    database.empty()
    with database.Session.begin() as s:
        place(s, "A-01", "MAIN")
        place(s, "A-02", "MAIN")
        place(s, "NORTH")
        place(s, "N-01", "NORTH")
        catalogue.create_product(s, "WID-1", "Widget")
        catalogue.create_product(s, "LOOSE", "Loose", serial_required_for_purchase=False,
                                 serial_required_for_sales=False)
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_party(s, "customer", "BOB", "Bob")
    yield database
    database.empty()


def _site_of(s, code):
    loc = s.scalar(select(Location).where(Location.code == code))
    return s.get(Location, loc.site_id).code


def _step(s, op: str, serials: list[str], where: str) -> None:
    widget, loose = catalogue.get_product(s, "WID-1"), catalogue.get_product(s, "LOOSE")
    bob, acme = catalogue.get_party(s, "customer", "BOB"), catalogue.get_party(s, "supplier", "ACME")
    lines: list[dict] = []
    if op == "receive":
        doc = opened(s, K.receipt, where, supplier=acme)
        lines = [{"product": widget, "serial": x, "at": where} for x in serials]
    elif op == "units":
        doc = opened(s, K.receipt, where, supplier=acme)
        lines = [{"product": loose, "quantity": len(serials) + 1, "at": where}]
    elif op == "sell":
        doc = opened(s, K.sale, where, customer=bob)
        lines = [{"serial": x, "at": where} for x in serials]
    elif op == "sell_units":
        doc = opened(s, K.sale, where, customer=bob)
        lines = [{"product": loose, "quantity": len(serials) + 1, "at": where}]
    elif op == "return":
        doc = opened(s, K.customer_return, where)
        lines = [{"serial": x, "at": where} for x in serials]
    elif op in ("move", "transfer"):
        doc = opened(s, K.move if op == "move" else K.transfer, where)
        lines = [{"serial": x, "at": where} for x in serials]
    elif op == "move_units":
        doc = opened(s, K.move, "A-01")
        lines = [{"product": loose, "at": where}]
    elif op == "arrive":  # the units of the oldest transfer still on its way, as they come out of the box
        transfer = s.scalar(select(SerialNumber.transfer_id).where(SerialNumber.transfer_id.is_not(None))
                            .order_by(SerialNumber.transfer_id).limit(1))
        if transfer is None:
            return
        serials = list(s.scalars(select(SerialNumber.serial).where(SerialNumber.transfer_id == transfer)))
        destination = s.get(Location, s.get(Document, transfer).location_id).code
        doc = opened(s, K.arrival, destination)
        doc.order_id = transfer
        here = where if _site_of(s, where) == _site_of(s, destination) else None
        lines = [{"serial": x, "at": here} for x in serials]
    else:  # count: what was found where, units too
        doc = opened(s, K.count, where)
        lines = [{"serial": x, "at": where, "product": widget} for x in serials] + [{"product": loose, "at": where}]
    for one in lines:
        line(s, doc, **one)
    posting.post(s, doc)
    event(f"posted a {op}")


def invariants(s) -> None:
    """check clean; every unit in stock in exactly one place, a unit in transit in none and not in stock."""
    assert stock.check(s) == []
    for r in s.scalars(select(SerialNumber)):
        s.refresh(r)
        assert (r.location_id is not None) == bool(r.in_stock), r.serial
        if r.transfer_id is not None:
            assert not r.in_stock and r.location_id is None, r.serial
    assert all(q >= 0 for q in s.scalars(select(StockLevel.quantity)))


DAY = [("units", ["H-1", "H-2"], "A-02"), ("move", ["H-1"], "A-02"), ("transfer", ["H-2", "H-3"], "N-01"),
       ("arrive", ["H-2"], "N-01"), ("sell", ["H-4"], "A-01"), ("return", ["H-4"], "MAIN"),
       ("move_units", ["H-1"], "MAIN"), ("sell_units", ["H-1"], "A-01"), ("count", ["H-1", "H-5", "H-2"], "MAIN"),
       ("count", ["H-2"], "NORTH"), ("arrive", ["H-3"], "N-01")]
steps = st.lists(st.tuples(st.sampled_from(OPS), st.lists(st.sampled_from(SERIALS), min_size=1, max_size=3,
                                                          unique=True), st.sampled_from(PLACES)),
                 min_size=1, max_size=14)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(steps=steps)
@example(steps=DAY)  # every run posts each kind at least once
def test_any_sequence_keeps_every_unit_in_one_place(chain, steps):
    """Guards SPEC 3c's "every unit in stock has exactly one location", proven by station check after each step."""
    with chain.Session() as s:
        try:
            _step(s, "receive", SERIALS[:4], "A-01")  # a day starts with stock, so most steps have units to move
            for op, serials, where in steps:
                savepoint = s.begin_nested()
                try:
                    _step(s, op, serials, where)
                    savepoint.commit()
                except Refusal as refused:
                    savepoint.rollback()
                    s.expire_all()
                    event(f"refused {op}: {refused.code}")
                invariants(s)
        finally:
            s.rollback()
