"""A receipt's new serials are made as its posting leaves them; one made meanwhile is still checked (issue 22).

Posting makes the records of serials first seen on the document in one
INSERT ... SELECT, and a receipt makes them in stock, with its supplier and
product, so that no UPDATE writes them a second time. What that must not
change: the records and movements are as before, ``station check`` agrees,
and a record another request made between the scan and the posting is still
locked, checked and brought up to date (or refuses the posting).
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from station.domain import catalogue, documents, posting, stock
from station.domain.errors import Refusal
from station.domain.models import Document, DocumentKind, Movement, SerialNumber


@pytest.fixture
def receipt(db):
    """An open receipt of ACME holding WID-1 serials SN-0..SN-4, none of which has a record yet."""
    with db.Session.begin() as s:
        widget = catalogue.create_product(s, "WID-1", "Widget")
        acme = catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        doc = documents.open_document(s, DocumentKind.receipt, station="in", supplier=acme)
        for n in range(5):
            documents.add_line(s, doc, product=widget, serial=f"SN-{n}")
        return doc.id, widget.id, acme.id


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
