"""Properties of the service desk over whole scan sequences, on SQLite and PostgreSQL.

Hypothesis drives sequences of scans (the desk's commands, customers,
serials in every state, product barcodes, noise) through two service desks
and the stations around them, in one transaction per example that is rolled
back afterwards, so every example meets the same shop. After every sequence,
and again once each station has tried to post what it holds, ``station
check`` finds no difference, and the desk's invariants hold: a unit in
service is a customer's, a faulty one nobody's and out of stock.
"""
from __future__ import annotations

import pytest
from helpers.shop import PHONE_EAN, stock_shop
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from station.config import from_dict
from station.domain import stock
from station.domain.models import Movement, SerialNumber
from station.scanning.results import ScanResult
from station.scanning.service import ScanService

CONFIG = from_dict({"stations": [{"id": "desk", "mode": "service"}, {"id": "desk-2", "mode": "service"},
                                 {"id": "till", "mode": "sell"}, {"id": "returns", "mode": "return"}]})
STATIONS = [s.id for s in CONFIG.stations]
SERIALS = ["SN-J1", "SN-J2", "SN-J3", "SN-B1", "SN-S1", "SN-S2", "SN-S3", "TB-S1", "CB-J1", "SN-NEW"]
TEXTS = ["CMD:SERVICE", "CMD:SELL", "CMD:RETURN", "CMD:FINISH", "CMD:CANCEL", "CMD:UNDO", "CMD:REPLACE",
         "CUS:JANE", "CUS:BOB", "SUP:ACME", PHONE_EAN, "NOT-A-THING", *SERIALS]


@pytest.fixture(scope="module")
def shop(database):
    """Jane has SN-J1..3 and a cable, Bob SN-B1; SN-S1..3 (phones) and a tablet are in stock."""
    database.empty()
    with database.Session.begin() as s:
        phones = ("SN-J1", "SN-J2", "SN-J3", "SN-B1", "SN-S1", "SN-S2", "SN-S3")
        stock_shop(s, [*(("PHONE", text) for text in phones), ("TAB", "TB-S1"), ("CABLE", "CB-J1")],
                   {"JANE": ("SN-J1", "SN-J2", "SN-J3", "CB-J1"), "BOB": ("SN-B1",)}, phone_barcodes=[PHONE_EAN])
    yield database
    database.empty()


def invariants(session) -> None:
    """station check is clean, and the desk's states are consistent with the customer and the stock."""
    assert stock.check(session) == []
    for r in session.scalars(select(SerialNumber)):
        if r.in_service:
            assert r.customer_id is not None and not r.in_stock and not r.faulty, r.serial
        if r.faulty:
            assert r.customer_id is None and not r.in_stock, r.serial


# Fragments of a desk's day (units in and posted; a unit back with a replacement), stray desk scans, and anything
# anywhere, in any order: so check-ins are posted, come back, get replacements, and meet every other station.
desks = st.sampled_from(["desk", "desk", "desk-2"])
serial = st.sampled_from(SERIALS)
jane_s = st.one_of(st.sampled_from(["SN-J1", "SN-J2", "SN-J3", "CB-J1"]), serial)  # mostly units Jane brings
spare = st.one_of(st.sampled_from(["SN-S1", "SN-S2", "SN-S3", "TB-S1"]), serial)  # mostly units in stock
desk_step = st.tuples(desks, st.sampled_from(["CMD:FINISH", "CMD:REPLACE", "CMD:UNDO", "CMD:CANCEL", "CUS:JANE",
                                              *SERIALS]))
any_step = st.tuples(st.sampled_from(STATIONS), st.sampled_from(TEXTS))
units_in = st.builds(lambda d, units: [(d, u) for u in units] + [(d, "CMD:FINISH")], desks,
                     st.lists(jane_s, min_size=1, max_size=3))
swap = st.builds(lambda d, unit, new: [(d, unit), (d, "CMD:REPLACE"), (d, new), (d, "CMD:FINISH")], desks, jane_s,
                 spare)
to_supplier = st.builds(lambda unit: [("returns", "SUP:ACME"), ("returns", unit), ("returns", "CMD:FINISH")], jane_s)
fragment = st.one_of(units_in, swap, to_supplier, st.lists(desk_step, min_size=1, max_size=4),
                     st.lists(any_step, min_size=1, max_size=3))
scan_steps = st.lists(fragment, min_size=1, max_size=8).map(lambda parts: [step for part in parts for step in part])


DAY = [("desk", "SN-J1"), ("desk", "SN-J2"), ("desk", "CMD:FINISH"), ("desk", "SN-J1"), ("desk", "CMD:REPLACE"),
       ("desk", "SN-S1"), ("desk", "SN-J2"), ("desk", "CMD:FINISH"), ("till", "SN-J1"), ("returns", "SUP:ACME"),
       ("returns", "SN-J1"), ("returns", "CMD:FINISH"), ("desk-2", "SN-S1"), ("desk-2", "CMD:FINISH")]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=scan_steps)
@example(steps=DAY)  # every run meets a replacement, its faulty unit sent back and the new unit checked in
def test_any_scan_sequence_at_the_desk_keeps_station_check_clean(shop, steps):
    """Guards the desk against any sequence of scans leaving stock, service state or warranties untrue."""
    service = ScanService(CONFIG)
    with shop.Session() as s:
        try:
            for station, raw in steps:
                result = service.process(s, station, raw, device="hypothesis")
                assert isinstance(result, ScanResult) and result.message and result.prompt
                assert (result.code is None) is result.accepted
            invariants(s)
            for station in STATIONS:  # post whatever each station holds (a product waiting is dropped first)
                if service.process(s, station, "CMD:FINISH").code == "serial_required":
                    service.process(s, station, "CMD:UNDO")
                    service.process(s, station, "CMD:FINISH")
            invariants(s)
            for kind in sorted({m.value for m in s.scalars(select(Movement.kind).distinct())}):
                event(f"posted a {kind} movement")  # --hypothesis-show-statistics: how far the sequences got
        finally:
            s.rollback()
