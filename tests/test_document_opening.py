"""A document opened in one statement (documents.open_head, the scan's) is the document the ORM's opening makes.

The scan's opening takes the id, makes the reference of it, writes the row and returns its head in one INSERT ...
SELECT ... RETURNING, its party, order and place named by subqueries of the RETURNING (facts.head_returned). These
tests hold it to what a read of the document gives (facts.head_of), to the reference the ORM's open_document makes of
the same id (``f"{prefix}-{id:06d}"``, past a million too), and to the refusals of an opening against an order.
"""
from __future__ import annotations

import pytest
from helpers.places import add_location
from helpers.world import make_world
from sqlalchemy import insert, select, text

from station.domain import documents
from station.domain.errors import NotFound, Refusal
from station.domain.facts import head_of
from station.domain.models import Document, DocumentKind, DocumentStatus

D = Document.__table__


@pytest.fixture
def world(session):
    return make_world(session, "widget", "acme", "bob")


def test_the_head_an_opening_returns_is_the_head_read_after_it(session, world):
    """Guards facts.head_returned against head_columns: a receipt for a supplier at a bin, a sale for a customer, a
    receipt against a purchase order (its supplier the order's), each as a read of the row gives it."""
    bin_ = add_location(session, "BIN-1", "Bin 1", "MAIN")
    order = documents.create_purchase_order(session, "PO-1", "ACME", [("WID-1", 2)])
    session.commit()
    opened = [
        documents.open_head(session, DocumentKind.receipt, station="in", user="ann", supplier_id=world.acme.id,
                            location_id=bin_.id),
        documents.open_head(session, DocumentKind.sale, station="till", customer_id=world.bob.id),
        documents.open_head(session, DocumentKind.receipt, station="in", order=documents.order_for(session, "PO-1")),
    ]
    for head in opened:
        assert head == head_of(session, head.id)
    receipt, sale, against = opened
    assert (receipt.party_name, receipt.site_id, receipt.status, receipt.line_count) == \
        ("Acme Ltd", bin_.site_id, DocumentStatus.open, 0)
    assert (sale.party_code, sale.supplier_code, sale.location_id, sale.site_id) == ("BOB", None, None, None)
    assert (against.order_id, against.order_reference, against.supplier_id) == (order.id, "PO-1", world.acme.id)


def test_the_reference_is_the_id_in_six_digits_or_more(session, db):
    """Guards the reference made in SQL (lpad on PostgreSQL, printf on SQLite) against Python's ``{id:06d}``: the
    first document, and ids past a million, by the scan's opening and by the ORM's."""
    first = documents.open_head(session, DocumentKind.receipt)
    assert first.reference == f"R-{first.id:06d}" and len(first.reference) == 8
    if db.backend == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('document', 'id'), 1234566)"))
    else:
        session.execute(insert(D).values(id=1234566, reference="X-1", kind=DocumentKind.adjustment,
                                         status=DocumentStatus.cancelled))
    big = documents.open_head(session, DocumentKind.sale)
    after = documents.open_document(session, DocumentKind.customer_return)
    assert (big.id, big.reference) == (1234567, "S-1234567")
    assert (after.id, after.reference) == (1234568, "CR-1234568")
    assert session.scalars(select(D.c.reference).where(D.c.id >= 1234567).order_by(D.c.id)).all() == \
        ["S-1234567", "CR-1234568"]


def test_an_opening_against_the_wrong_document_is_refused_before_it_writes(session, world):
    """Guards the refusals the scan's opening keeps from get_document and open_document: an unknown reference, and
    a receipt against a sale (an arrival against anything but a transfer); nothing is written either way."""
    sale = documents.open_head(session, DocumentKind.sale, customer_id=world.bob.id)
    session.commit()
    with pytest.raises(NotFound) as unknown:
        documents.order_for(session, "PO-404")
    assert (unknown.value.code, unknown.value.message) == ("unknown_document", "There is no document PO-404.")
    for kind, wanted in ((DocumentKind.receipt, "purchase order"), (DocumentKind.arrival, "transfer")):
        with pytest.raises(Refusal) as wrong:
            documents.open_head(session, kind, order=documents.order_for(session, sale.reference))
        assert (wrong.value.code, wrong.value.message) == ("unknown_document",
                                                           f"{sale.reference} is not a {wanted}.")
    assert session.scalars(select(D.c.reference)).all() == [sale.reference]


def test_an_orm_opening_rolled_back_leaves_its_id_to_the_next(session, world):
    """Guards open_document's id taken before its flush: a document opened and rolled back is gone from the session
    too, and the next opening (on SQLite the same id again) is a document of its own."""
    gone = documents.open_document(session, DocumentKind.receipt, supplier=world.acme)
    session.rollback()
    again = documents.open_document(session, DocumentKind.sale, customer=world.bob)
    session.commit()
    assert again is not gone and again.reference == f"S-{again.id:06d}"
    assert session.scalars(select(D.c.reference)).all() == [again.reference]
