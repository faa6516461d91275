"""Service desks racing on one PostgreSQL: no unit is checked in twice, no replacement handed to two customers.

Each desk is a thread with its own connection, scanning through the daemon's
path (``run_in_transaction`` around ``ScanService.process``); a
``threading.Barrier`` lines the desks up so that they scan the same serial at
the same moment, and each posts at its own rhythm, so postings race with line
adds too. What stops the second desk is what stops a second till: rule 8's
unique index while the winner's line is open, the re-read of the serial after
the line is written (documents._recheck) once the winner has posted, and the
checks under the posting's row locks. Two tests replay the stale read by hand
on two connections, so the re-check is proved, not only hoped for. After
every race ``station check`` finds no difference.
"""
from __future__ import annotations

from collections import defaultdict

import pytest
from helpers.database import POSTGRES_ONLY
from helpers.race import StationThreads
from sqlalchemy import select

from station.config import from_dict
from station.domain import catalogue, documents, posting, service_desk, stock
from station.domain.errors import Refusal
from station.domain.models import DocumentKind, Movement, MovementKind, SerialNumber
from station.domain.rules import Lookups
from station.scanning.service import ScanService

pytestmark = [pytest.mark.slow, POSTGRES_ONLY]

DESKS = 6
UNITS = 90
ROUNDS = 30


class Desks(StationThreads):
    """Desks as threads, lined up by a barrier before each round; every answer is kept."""

    what = "a desk"

    def __init__(self, db, count: int):
        stations = [f"desk{k}" for k in range(count)]
        super().__init__(db, ScanService(from_dict({"stations": [{"id": s, "mode": "service"} for s in stations]})),
                         stations)

    def finish(self, station: str) -> None:
        """Post what the desk holds; a document a lost race left unpostable is dropped, as an operator would."""
        result = self.scan(station, "CMD:FINISH")
        if result.code not in (None, "no_open_document"):
            result = self.scan(station, "CMD:CANCEL")
        assert result.code in (None, "no_open_document"), result


def _shop(db, *, customers: int, units_each: int, spares: int = 0) -> None:
    """Phones sold, ``units_each`` to each customer (U-<customer>-<n>), and ``spares`` in stock (S-<n>)."""
    with db.Session.begin() as s:
        phone = catalogue.create_product(s, "PHONE", "Phone", warranty_months=24)
        acme = catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        receipt = documents.open_document(s, DocumentKind.receipt, supplier=acme)
        owned = {c: [f"U-{c}-{n:03d}" for n in range(units_each)] for c in range(customers)}
        for text in [t for texts in owned.values() for t in texts] + [f"S-{n:03d}" for n in range(spares)]:
            documents.add_line(s, receipt, product=phone, serial=text)
        posting.post(s, receipt)
        for c, texts in owned.items():
            sale = documents.open_document(s, DocumentKind.sale, customer=catalogue.create_party(
                s, "customer", f"C{c}", f"Customer {c}"))
            for text in texts:
                documents.add_line(s, sale, serial=text)
            posting.post(s, sale)


def _kinds_per_serial(session) -> dict[str, list[MovementKind]]:
    out: dict[str, list[MovementKind]] = defaultdict(list)
    for serial, kind in session.execute(select(SerialNumber.serial, Movement.kind)
                                        .join(Movement, Movement.serial_id == SerialNumber.id).order_by(Movement.id)):
        out[serial].append(kind)
    return out


def test_desks_never_check_one_unit_in_twice(db):
    """Six desks scanning each of a customer's units at once, posting at their own rhythm: each unit's check-ins
    and check-outs alternate (never two check-ins in a row), and the losers are refused with a code."""
    _shop(db, customers=1, units_each=UNITS)
    desks = Desks(db, DESKS)

    def script(desks: Desks, k: int, station: str) -> None:
        for n in range(UNITS):
            desks.line_up()
            desks.scan(station, f"U-0-{n:03d}")
            if n % (2 + k) == k % 2:  # each desk posts at its own rhythm, some right after their scan
                desks.finish(station)
        desks.finish(station)

    desks.run(script)
    assert set(desks.codes()) <= {"serial_on_open_document", "serial_in_service", "serial_not_in_service",
                                  "document_open", "no_open_document"}, desks.codes()
    with db.Session() as s:
        moves = _kinds_per_serial(s)
        for serial, kinds in moves.items():
            service = [k for k in kinds if k in (MovementKind.service_in, MovementKind.service_out)]
            assert service[:1] == [MovementKind.service_in], (serial, kinds)
            assert all(a != b for a, b in zip(service, service[1:], strict=False)), (
                f"{serial} checked in twice: {kinds}")
        assert sum(k == MovementKind.service_in for ks in moves.values() for k in ks) >= UNITS
        assert stock.check(s) == []


def test_desks_never_hand_one_replacement_to_two_customers(db):
    """Each round six desks check out six customers' units and all offer the same spare as the replacement at
    once: exactly one customer gets it, the other units go back as they are."""
    _shop(db, customers=DESKS, units_each=ROUNDS, spares=ROUNDS)
    with db.Session.begin() as s:
        for c in range(DESKS):
            doc = documents.open_document(s, DocumentKind.service_check_in, customer=catalogue.get_party(
                s, "customer", f"C{c}"))
            for n in range(ROUNDS):
                service_desk.add_unit(s, doc, serial=f"U-{c}-{n:03d}")
            posting.post(s, doc)
    desks = Desks(db, DESKS)

    def script(desks: Desks, k: int, station: str) -> None:
        for n in range(ROUNDS):
            desks.scan(station, f"U-{k}-{n:03d}")
            desks.scan(station, "CMD:REPLACE")
            desks.line_up()
            if not desks.scan(station, f"S-{n:03d}").accepted:  # everyone offers the same spare
                desks.scan(station, "CMD:UNDO")  # lost it: this unit goes back as it is (the operator disarms)
            if k % 2 or n % 3 == 0:
                desks.finish(station)  # some post at once, racing the others' scans of the spare
        desks.finish(station)

    desks.run(script)
    assert set(desks.codes()) <= {"serial_on_open_document", "serial_has_customer", "serial_not_in_stock",
                                  "no_open_document"}, desks.codes()
    with db.Session() as s:
        moves = _kinds_per_serial(s)
        for n in range(ROUNDS):
            spare = f"S-{n:03d}"
            assert moves[spare].count(MovementKind.replacement) == 1, (spare, moves[spare])
            record = s.scalar(select(SerialNumber).where(SerialNumber.serial == spare))
            replaced = [u for u, kinds in moves.items() if u.startswith("U-") and u.endswith(f"-{n:03d}")
                        and MovementKind.replaced in kinds]
            assert len(replaced) == 1, (spare, replaced)
            assert record.customer.code == f"C{replaced[0].split('-')[1]}"  # the customer whose unit it replaced
        for unit, kinds in moves.items():
            if unit.startswith("U-"):
                assert kinds[-1] in (MovementKind.replaced, MovementKind.service_out), (unit, kinds)
        assert stock.check(s) == []


def test_a_stale_read_at_check_in_is_refused_at_the_scan(db):
    """Guards documents._recheck for the desk: desk B read the unit before desk A's check-in committed; once its
    line is in, B reads the unit again and is refused serial_in_service, at its scan, not at its posting."""
    _shop(db, customers=1, units_each=1)
    with db.Session() as b:
        b_doc = documents.open_document(b, DocumentKind.service_check_in, station="desk-b")
        stale = Lookups(b)
        assert not stale.serial("U-0-000").in_service  # B's scan reads the unit: not in service yet
        with db.Session.begin() as a:
            a_doc = documents.open_document(a, DocumentKind.service_check_in, station="desk-a")
            service_desk.add_unit(a, a_doc, serial="U-0-000")
            posting.post(a, a_doc)
        with pytest.raises(Refusal) as exc:
            service_desk.add_unit(b, b_doc, serial="U-0-000", lookups=stale)
        assert exc.value.code == "serial_in_service"
        b.rollback()
    with db.Session() as s:
        assert _kinds_per_serial(s)["U-0-000"].count(MovementKind.service_in) == 1
        assert stock.check(s) == []


def test_a_stale_read_of_a_replacement_is_refused_at_the_scan(db):
    """Guards the replacement the same way: desk B read the spare in stock before desk A handed it out."""
    _shop(db, customers=2, units_each=1, spares=1)
    docs = {}
    with db.Session.begin() as s:
        for c in range(2):
            doc = documents.open_document(s, DocumentKind.service_check_in)
            service_desk.add_unit(s, doc, serial=f"U-{c}-000")
            posting.post(s, doc)
    with db.Session() as b:
        docs["b"] = documents.open_document(b, DocumentKind.service_check_out, station="desk-b")
        service_desk.add_unit(b, docs["b"], serial="U-1-000")
        stale = Lookups(b)
        assert stale.serial("S-000").in_stock
        b.commit()  # B's check-out with its unit is saved; B's read of the spare is now stale
        with db.Session.begin() as a:
            a_doc = documents.open_document(a, DocumentKind.service_check_out, station="desk-a")
            service_desk.add_unit(a, a_doc, serial="U-0-000")
            service_desk.add_replacement(a, a_doc, serial="S-000")
            posting.post(a, a_doc)
        with pytest.raises(Refusal) as exc:
            service_desk.add_replacement(b, docs["b"], serial="S-000", lookups=stale)
        assert exc.value.code == "serial_has_customer"
        b.rollback()
        posting.post(b, docs["b"])  # the unit goes back as it is
        b.commit()
    with db.Session() as s:
        spare = s.scalar(select(SerialNumber).where(SerialNumber.serial == "S-000"))
        assert spare.customer.code == "C0"
        assert stock.check(s) == []
