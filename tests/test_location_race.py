"""Two stations race on one PostgreSQL to move, transfer, sell and count the same serial (issue 23).

Each round receives a fresh unit at A-01, leaves two documents open that name it (a sale, move or transfer
holds its serial by rule 8; a count's line holds nothing, so it races with any of them), then two threads,
lined up by a barrier, post one each at the same moment through ``run_in_transaction`` (a deadlock is
retried, as the daemon does). Whatever the order: ``station check`` is clean, the unit is never in two
places (one location, or in transit and at none), never sold while in transit, and a count posts against
what the database holds when it posts. A sale racing a transfer for a unit takes its line only through
rule 8's index, so it is refused or it wins; it never sells a unit on its way.
"""
from __future__ import annotations

import threading

import pytest
from helpers.database import POSTGRES_ONLY
from helpers.places import line, opened, place
from sqlalchemy import select

from station.domain import catalogue, posting, stock
from station.domain.errors import Refusal
from station.domain.models import Document, Movement, MovementKind, SerialNumber
from station.domain.vocabulary import DocumentKind as K
from station.storage.retry import run_in_transaction

pytestmark = [pytest.mark.slow, POSTGRES_ONLY]

ROUNDS = 8


@pytest.fixture
def chain(db):
    with db.Session.begin() as s:
        for code, parent in (("A-01", "MAIN"), ("A-02", "MAIN"), ("B-01", "MAIN"), ("NORTH", None), ("N-01", "NORTH")):
            place(s, code, parent)
        catalogue.create_product(s, "WID-1", "Widget")
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_party(s, "customer", "BOB", "Bob")
    return db


def _document(s, kind: str, serial: str) -> int:
    """One open document naming ``serial``: what a station would have scanned before CMD:FINISH."""
    widget = catalogue.get_product(s, "WID-1")
    if kind == "sale":
        doc = opened(s, K.sale, "A-01", customer=catalogue.get_party(s, "customer", "BOB"))
        line(s, doc, serial=serial, at="A-01")
    elif kind == "move":
        doc = opened(s, K.move, "A-01")
        line(s, doc, serial=serial, at="A-02")
    elif kind == "transfer":
        doc = opened(s, K.transfer, "NORTH")
        line(s, doc, serial=serial, at="NORTH")
    else:  # a count at B-01 (kind "count") or at A-02 ("count2"), each finding the unit there
        where = "B-01" if kind == "count" else "A-02"
        doc = opened(s, K.count, where)
        line(s, doc, serial=serial, at=where, product=widget)
    return doc.id


def _race(db, first: int, second: int) -> list[str]:
    """Post both documents at once; answers each outcome ("posted" or the refusal's code)."""
    barrier, outcomes = threading.Barrier(2), [None, None]

    def post(n: int, doc_id: int) -> None:
        def work(s):
            posting.post(s, s.get(Document, doc_id))

        barrier.wait(timeout=30)
        try:
            run_in_transaction(db.Session, work)
            outcomes[n] = "posted"
        except Refusal as refused:
            outcomes[n] = refused.code

    threads = [threading.Thread(target=post, args=(n, d)) for n, d in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a posting hung"
    return outcomes


def _never_two_places(s, serial: str) -> None:
    """The unit's history: never sold or moved while in transit; its record in one place at most."""
    record = s.scalar(select(SerialNumber).where(SerialNumber.serial == serial))
    assert (record.location_id is not None) == record.in_stock
    assert record.transfer_id is None or record.location_id is None
    travelling = False
    for (kind,) in s.execute(select(Movement.kind).where(Movement.serial_id == record.id)
                                    .order_by(Movement.id)):
        if travelling:
            assert kind in (MovementKind.transfer_in, MovementKind.adjustment), f"{serial}: {kind} while in transit"
        travelling = kind == MovementKind.transfer_out


@pytest.mark.parametrize("kinds", [
    pytest.param(("sale", "count"), id="sale_vs_count"),
    pytest.param(("move", "count"), id="move_vs_count"),
    pytest.param(("transfer", "count"), id="transfer_vs_count"),
    pytest.param(("count", "count2"), id="count_vs_count"),
])
def test_posting_races_keep_the_unit_in_one_place(chain, kinds):
    """Guards SPEC 3c under contention: whichever posts first, the other posts against what it left."""
    seen = set()
    for n in range(ROUNDS):
        serial = f"RACE-{n}"
        with chain.Session.begin() as s:
            receipt = opened(s, K.receipt, "A-01", supplier=catalogue.get_party(s, "supplier", "ACME"))
            line(s, receipt, serial=serial, product=catalogue.get_product(s, "WID-1"), at="A-01")
            posting.post(s, receipt)
        with chain.Session.begin() as s:
            first, second = (_document(s, kind, serial) for kind in kinds)
        outcomes = _race(chain, first, second)
        seen.add(tuple(outcomes))
        assert all(o in ("posted", "serial_not_in_stock", "serial_in_transit", "serial_at_other_site",
                         "serial_already_there") for o in outcomes), outcomes
        with chain.Session() as s:
            assert stock.check(s) == []
            _never_two_places(s, serial)
    assert seen


def _ship_and_sell(db, serial: str) -> tuple[int, list[str]]:
    """A transfer of ``serial`` posts while a till scans and posts the same unit: the till's refusals."""
    with db.Session.begin() as s:
        receipt = opened(s, K.receipt, "A-01", supplier=catalogue.get_party(s, "supplier", "ACME"))
        line(s, receipt, serial=serial, product=catalogue.get_product(s, "WID-1"), at="A-01")
        posting.post(s, receipt)
        transfer = _document(s, "transfer", serial)
    barrier, refused = threading.Barrier(2), []

    def ship() -> None:
        barrier.wait(timeout=30)
        run_in_transaction(db.Session, lambda s: posting.post(s, s.get(Document, transfer)))

    def sell() -> None:
        barrier.wait(timeout=30)
        try:
            run_in_transaction(db.Session, lambda s: posting.post(s, s.get(Document, _document(s, "sale", serial))))
        except Refusal as refusal:
            refused.append(refusal.code)

    threads = [threading.Thread(target=ship), threading.Thread(target=sell)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a posting hung"
    return transfer, refused


def test_a_unit_on_its_way_is_never_sold(chain):
    """Guards "never sold while in transit": a till races a transfer's posting for the unit on it."""
    for n in range(ROUNDS):
        serial = f"AWAY-{n}"
        transfer, refused = _ship_and_sell(chain, serial)
        assert refused and refused[0] in ("serial_on_open_document", "serial_not_in_stock", "serial_in_transit")
        with chain.Session() as s:
            assert stock.check(s) == []
            _never_two_places(s, serial)
            assert s.scalar(select(SerialNumber.transfer_id).where(SerialNumber.serial == serial)) == transfer
