"""A line refused after it is written leaves its document as it was, with no savepoint (issue 22).

documents.add_line checks a line before writing it; on PostgreSQL it then
reads the serial again as committed now (documents._recheck), in the
statement that counts the line's tally. A scan that read the serial before
another transaction took it is refused there, after its writes: the line,
its number and its tally are taken back by add_line itself, so the caller
that commits after the refusal (a scan logging it) keeps none of them.
Replayed by hand on two connections, as tests/test_service_race.py does.
"""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from helpers.database import POSTGRES_ONLY
from sqlalchemy import select

from station.domain import catalogue, documents, posting
from station.domain.errors import Refusal
from station.domain.models import Document, DocumentKind, DocumentLine, DocumentTally
from station.domain.rules import Lookups

pytestmark = POSTGRES_ONLY


def _stock(db) -> None:
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget")
        catalogue.create_product(s, "WID-2", "Gadget")
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        doc = documents.open_document(s, DocumentKind.receipt, supplier=catalogue.get_party(s, "supplier", "ACME"))
        for serial, product in (("Y-1", "WID-1"), ("X-1", "WID-1"), ("X-2", "WID-2")):
            documents.add_line(s, doc, product=catalogue.get_product(s, product), serial=serial)
        posting.post(s, doc)


@contextmanager
def _till_b_sold_y1(db):
    """Till B's open sale of Y-1, committed: its session, the sale, how the sale stands, and B's lookups (which
    are about to read a serial that another till then takes)."""
    _stock(db)
    with db.Session() as b:
        sale = documents.open_document(b, DocumentKind.sale, station="till-b")
        documents.add_line(b, sale, serial="Y-1")
        b.commit()
        yield b, sale, _as_it_stands(b, sale.id), Lookups(b)


def _as_it_stands(s, doc_id: int):
    lines = s.scalars(select(DocumentLine.serial).where(DocumentLine.document_id == doc_id)
                      .order_by(DocumentLine.line_no)).all()
    tallies = s.execute(select(DocumentTally.product_id, DocumentTally.units, DocumentTally.taken)
                        .where(DocumentTally.document_id == doc_id).order_by(DocumentTally.product_id)).all()
    return s.scalar(select(Document.line_count).where(Document.id == doc_id)), lines, tallies


@pytest.mark.parametrize("serial", [pytest.param("X-1", id="tally_added_to"), pytest.param("X-2", id="tally_made")])
def test_a_stale_sale_line_is_taken_back_whole(db, serial):
    """Guards add_line's take-back: till B's sale of Y-1 read ``serial`` in stock before an adjustment took it out;
    its line is refused serial_not_in_stock after it was written, and B, committing, keeps Y-1's line alone (its
    count, and its tallies: the one it added to counted down, the one it made gone)."""
    with _till_b_sold_y1(db) as (b, sale, before, stale):
        # B's scan reads the text, as its reader does (a barcode? a serial?): the unit is in stock.
        assert stale.product_by_barcode(serial) is None and stale.serial(serial).in_stock
        with db.Session.begin() as a:
            posting.post_adjustment(a, "lost", [(None, serial, -1)])
        with pytest.raises(Refusal) as exc:
            documents.add_line(b, sale, serial=serial, lookups=stale)
        assert exc.value.code == "serial_not_in_stock"
        b.commit()
    with db.Session() as s:
        assert _as_it_stands(s, sale.id) == before


@pytest.mark.parametrize("serial", [pytest.param("X-1", id="tally_added_to"), pytest.param("X-2", id="tally_made")])
def test_a_line_the_unique_index_refuses_takes_its_tally_back(db, serial):
    """Guards the line and its tally sent together (documents._insert_tallied, one round trip): till B's sale read
    ``serial`` free before till A's sale took it; B's line is refused serial_on_open_document by rule 8's unique
    index, after its tally was counted in the same round trip, and B, committing, keeps Y-1's line alone (its
    count, and its tallies: the one it added to counted down, the one it made gone)."""
    with _till_b_sold_y1(db) as (b, sale, before, stale):
        assert stale.product_by_barcode(serial) is None and stale.serial(serial).open_document_id is None
        with db.Session.begin() as a:
            documents.add_line(a, documents.open_document(a, DocumentKind.sale, station="till-a"), serial=serial)
        with pytest.raises(Refusal) as exc:
            documents.add_line(b, sale, serial=serial, lookups=stale)
        assert exc.value.code == "serial_on_open_document"
        b.commit()
    with db.Session() as s:
        assert _as_it_stands(s, sale.id) == before
