"""A receipt's new serials are made as its posting leaves them; one made meanwhile is still checked (issue 22).

Posting makes the records of serials first seen on the document in one
INSERT ... SELECT, and a receipt makes them in stock, with its supplier and
product, so that no UPDATE writes them a second time. What that must not
change: the records and movements are as before, ``station check`` agrees,
and a record another request made between the scan and the posting is still
locked, checked and brought up to date (or refuses the posting).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from helpers.receipts import receipt_of_new_serials
from sqlalchemy import event, func, insert, select

from station.domain import catalogue, documents, posting, stock
from station.domain.errors import Refusal
from station.domain.models import Document, DocumentKind, Movement, Product, SerialNumber, Supplier


@pytest.fixture
def receipt(db):
    """An open receipt of ACME holding WID-1 serials SN-0..SN-4, none of which has a record yet."""
    return receipt_of_new_serials(db)


def records(s) -> dict[str, tuple]:
    return {r.serial: (r.in_stock, r.product_id, r.supplier_id, r.customer_id)
            for r in s.scalars(select(SerialNumber).order_by(SerialNumber.serial))}


def test_new_serials_are_posted_in_stock_with_supplier_and_product(db, receipt):
    """Guards the records a receipt makes at posting: in stock, its supplier, the line's product, one movement each,
    and station check clean."""
    doc_id, widget, acme = receipt
    with db.Session.begin() as s:
        posting.post(s, s.get(Document, doc_id))
    with db.Session() as s:
        assert records(s) == {f"SN-{n}": (True, widget, acme, None) for n in range(5)}
        moved = s.execute(select(SerialNumber.serial, Movement.quantity, Movement.supplier_id)
                          .join(Movement, Movement.serial_id == SerialNumber.id).order_by(Movement.id)).all()
        assert [tuple(m) for m in moved] == [(f"SN-{n}", 1, acme) for n in range(5)]
        assert stock.check(s) == []


def test_a_record_made_meanwhile_is_checked_and_brought_up_to_date(db, receipt):
    """Guards the records the posting did not make: one created by hand after the scan, before the posting (no
    product, not in stock), is locked, checked and updated like any known serial, beside the ones the posting made."""
    doc_id, widget, acme = receipt
    with db.Session.begin() as s:
        s.add(SerialNumber(serial="SN-2"))  # by hand, between the scan and the posting
    with db.Session.begin() as s:
        posting.post(s, s.get(Document, doc_id))
    with db.Session() as s:
        assert records(s) == {f"SN-{n}": (True, widget, acme, None) for n in range(5)}
        assert stock.check(s) == []


def test_a_serial_received_meanwhile_refuses_the_posting(db, receipt):
    """Guards the check of a record made meanwhile: a serial another receipt brought into stock since the scan
    refuses this posting (serial_in_stock), which writes nothing."""
    doc_id, widget, acme = receipt
    with db.Session.begin() as s:
        s.add(SerialNumber(serial="SN-3", product_id=widget, in_stock=True))
    with db.Session() as s, pytest.raises(Refusal) as refused, s.begin():
        posting.post(s, s.get(Document, doc_id))
    assert refused.value.code == "serial_in_stock"
    with db.Session() as s:
        assert set(records(s)) == {"SN-3"}
        assert s.scalar(select(Movement.id).limit(1)) is None


def test_a_receipt_of_new_serials_writes_each_record_once(db, receipt):
    """Guards the statements a receipt of new serials leaves out: no UPDATE of the records it has just made as the
    posting leaves them, and no read of where they are (a record-less serial is nowhere); the records, movements
    and station check are as the first test of this file says."""
    doc_id, widget, acme = receipt
    issued: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        issued.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with db.Session.begin() as s:
            posting.post(s, s.get(Document, doc_id))
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert [st for st in issued if st.startswith("UPDATE serial_number")] == []
    assert [st for st in issued if "document AS transfer" in st] == []  # site_rules.read
    assert sum(st.startswith("INSERT INTO serial_number") for st in issued) == 1
    with db.Session() as s:
        assert records(s) == {f"SN-{n}": (True, widget, acme, None) for n in range(5)}
        assert stock.check(s) == []


@pytest.fixture
def loose_sale(db):
    """LOOSE (received without serials, sold with them): 3 units on hand, and an open sale to BOB of 3 serials
    LS-0..LS-2 first seen on it, each to take one of those units (rule 4)."""
    with db.Session.begin() as s:
        loose = catalogue.create_product(s, "LOOSE", "Loose part", serial_required_for_purchase=False)
        acme = catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        bob = catalogue.create_party(s, "customer", "BOB", "Bob")
        receipt = documents.open_document(s, DocumentKind.receipt, supplier=acme)
        documents.add_line(s, receipt, product=loose, quantity=3)
        posting.post(s, receipt)
        sale = documents.open_document(s, DocumentKind.sale, station="till", customer=bob)
        for n in range(3):
            documents.add_line(s, sale, product=loose, serial=f"LS-{n}")
        return sale.id, loose.id


def test_each_new_serial_of_a_sale_takes_its_own_unit(db, loose_sale):
    """Guards the check of record-less serials, decided once per product and quantity: still every line of them
    takes one unserialised unit (rule 4), three units for three serials, with its adjustment pair."""
    sale_id, loose = loose_sale
    with db.Session.begin() as s:
        posting.post(s, s.get(Document, sale_id))
    with db.Session() as s:
        assert s.get(Product, loose).unserialised_on_hand == 0
        kinds = s.scalars(select(Movement.kind).where(Movement.document_id == sale_id)).all()
        assert sorted(k.value for k in kinds) == ["adjustment"] * 6 + ["sale"] * 3
        assert stock.check(s) == []


def test_new_serials_of_a_sale_refuse_when_a_unit_is_gone(db, loose_sale):
    """Guards the same check when the units ran short since the scans: one unit adjusted out meanwhile refuses the
    posting (serial_not_in_stock, naming the first serial that takes a unit), which writes nothing."""
    sale_id, loose = loose_sale
    with db.Session.begin() as s:
        posting.post_adjustment(s, "lost", [(s.get(Product, loose), None, -1)])
    with db.Session() as s, pytest.raises(Refusal) as refused, s.begin():
        posting.post(s, s.get(Document, sale_id))
    assert refused.value.code == "serial_not_in_stock" and "LS-0" in refused.value.message
    with db.Session() as s:
        assert s.get(Product, loose).unserialised_on_hand == 2
        assert s.scalar(select(Movement.id).where(Movement.document_id == sale_id).limit(1)) is None


@contextmanager
def _made_after_the_read(db, serial: str, **values) -> Iterator[list[str]]:
    """While in the block, a record of ``serial`` (with ``values``) made and committed by another request right after
    the posting's read (facts.document_read: its ``locked_head``), once; yields the serials so made."""
    made: list[str] = []

    def meanwhile(conn, cursor, statement, parameters, context, executemany):
        if "locked_head" in statement and not made:
            made.append(serial)
            with db.engine.begin() as other:
                other.execute(insert(SerialNumber.__table__).values(serial=serial, created_at=func.now(), **values))

    event.listen(db.engine, "after_cursor_execute", meanwhile)
    try:
        yield made
    finally:
        event.remove(db.engine, "after_cursor_execute", meanwhile)


def test_a_record_made_after_the_locks_is_checked_where_it_is(db, receipt):
    """Guards the whereabouts of a record another request makes between the posting's locked read and its INSERT
    (PostgreSQL, READ COMMITTED): found by the insert's conflict, locked, and refused like a known one, here a unit
    in transit (serial_in_transit), which leaves nothing written."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite takes one writer at a time: no record can be made while a posting runs")
    doc_id, widget, acme = receipt
    with db.Session.begin() as s:
        away = documents.open_document(s, DocumentKind.receipt, station="elsewhere", supplier=s.get(Supplier, acme))
        away_id = away.id
    with _made_after_the_read(db, "SN-2", transfer_id=away_id) as made, db.Session() as s, \
            pytest.raises(Refusal) as refused, s.begin():
        posting.post(s, s.get(Document, doc_id))
    assert made == ["SN-2"] and refused.value.code == "serial_in_transit"
    with db.Session() as s:
        assert set(records(s)) == {"SN-2"}
        assert s.scalar(select(Movement.id).limit(1)) is None


def test_a_harmless_record_made_after_the_read_is_brought_up_to_date_once(db, receipt):
    """Guards the records a posting's INSERT skips (PostgreSQL, READ COMMITTED): a record another request makes after
    the posting's read (here by hand: no product, not in stock) is found by the insert's conflict, locked, checked
    and brought up to date beside the ones the posting made: one movement a serial, none twice, station check
    clean."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite takes one writer at a time: no record can be made while a posting runs")
    doc_id, widget, acme = receipt
    with _made_after_the_read(db, "SN-2") as made, db.Session.begin() as s:
        posting.post(s, s.get(Document, doc_id))
    assert made == ["SN-2"]
    with db.Session() as s:
        assert records(s) == {f"SN-{n}": (True, widget, acme, None) for n in range(5)}
        moved = s.scalars(select(SerialNumber.serial).join(Movement, Movement.serial_id == SerialNumber.id)
                          .order_by(SerialNumber.serial)).all()
        assert moved == [f"SN-{n}" for n in range(5)]
        assert stock.check(s) == []
