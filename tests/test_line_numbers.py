"""A document's line count is the number of its last line, whoever writes its lines, on SQLite and PostgreSQL.

A line takes its number from the document's count in its own INSERT
(documents._COUNT_AND_INSERT). On PostgreSQL the same statement counts the
document up; on SQLite the trigger of migration 0012 raises the count to the
line's number once it is written: it raises, never adds, so a writer of lines
that keeps the count itself (counting up before its INSERT, or setting it
after) finds the figure it meant, and a line turned away by rule 8's unique
index leaves the count as it was.
"""
from __future__ import annotations

import pytest
from helpers.world import make_world
from sqlalchemy import func, insert, select, text, update

from station.domain import documents
from station.domain.errors import Refusal
from station.domain.models import Document, DocumentKind, DocumentLine, DocumentTally
from station.domain.rules import Lookups

D, L = Document.__table__, DocumentLine.__table__


@pytest.fixture
def world(session):
    return make_world(session, "widget", "loose", "acme")


def _stands(session, doc_id: int):
    """The document's count, its lines' numbers and its tallies (product, units, taken), as stored."""
    count = session.scalar(select(D.c.line_count).where(D.c.id == doc_id))
    numbers = session.scalars(select(L.c.line_no).where(L.c.document_id == doc_id).order_by(L.c.line_no)).all()
    tallies = session.execute(select(DocumentTally.product_id, DocumentTally.units, DocumentTally.taken)
                              .where(DocumentTally.document_id == doc_id)).all()
    return count, numbers, [tuple(t) for t in tallies]


def test_lines_added_and_undone_keep_the_count_at_the_last_number(session, world):
    """Guards the line numbered in its own INSERT: lines added, one undone and its number given again, on a
    document of serials and of units: the count is the lines' number, the lines are numbered 1..n."""
    doc = documents.open_document(session, DocumentKind.receipt, station="in", supplier=world.acme)
    for serial in ("N-1", "N-2", "N-3"):
        documents.add_line(session, doc, product=world.widget, serial=serial)
    documents.add_line(session, doc, product=world.loose, quantity=4)
    assert documents.undo_last_line(session, doc).line_no == 4
    assert documents.undo_last_line(session, doc).serial == "N-3"
    assert documents.add_line(session, doc, product=world.widget, serial="N-4").line_no == 3
    assert documents.add_line(session, doc, product=world.loose, quantity=2).line_no == 4
    assert _stands(session, doc.id) == (4, [1, 2, 3, 4], sorted([(world.widget.id, 3, 0), (world.loose.id, 2, 0)]))
    session.commit()
    assert doc.line_count == 4


def test_a_line_the_unique_index_turns_away_leaves_its_document_as_it_was(session, world):
    """Guards rule 8's last word on SQLite too: a receipt whose look-ups read N-9 free before another receipt took
    it (stale look-ups, as two scans racing would hold) writes its line, its unique index refuses it; the scan is
    refused serial_on_open_document and its document keeps its count, lines and tallies (no count to take back
    on SQLite: the refused INSERT fired no trigger)."""
    first = documents.open_document(session, DocumentKind.receipt, station="in", supplier=world.acme)
    second = documents.open_document(session, DocumentKind.receipt, station="in-2", supplier=world.acme)
    documents.add_line(session, second, product=world.widget, serial="N-1")
    stale = Lookups(session)
    # The scan's reader reads the text (a barcode? a serial?), as a scan's does: free.
    assert stale.product_by_barcode("N-9") is None and stale.serial("N-9").open_document_id is None
    documents.add_line(session, first, product=world.widget, serial="N-9")
    before = _stands(session, second.id)
    with pytest.raises(Refusal) as refused:
        documents.add_line(session, second, product=world.widget, serial="N-9", lookups=stale)
    assert refused.value.code == "serial_on_open_document" and "was just put on" in refused.value.message  # the index
    assert _stands(session, second.id) == before == (1, [1], [(world.widget.id, 1, 0)])
    assert documents.add_line(session, second, product=world.widget, serial="N-10").line_no == 2


def test_writers_that_keep_the_count_themselves_find_it_as_they_meant(session, world):
    """Guards the trigger's rule (it raises the count to a line's number, never adds to it): a writer that counts
    up before its INSERT (as tests.helpers.places.line does), one that writes many lines and sets the count after
    (the bench's large document), and the ORM's purchase order leave the count at their last line's number."""
    doc = documents.open_document(session, DocumentKind.receipt, station="in", supplier=world.acme)
    number = session.execute(update(D).where(D.c.id == doc.id).values(line_count=D.c.line_count + 1)
                             .returning(D.c.line_count)).scalar_one()
    session.execute(insert(L).values(document_id=doc.id, line_no=number, product_id=world.widget.id, serial="W-1",
                                     quantity=1, is_open=True))
    session.execute(insert(L), [{"document_id": doc.id, "line_no": n, "product_id": world.widget.id,
                                 "serial": f"W-{n}", "quantity": 1, "is_open": True} for n in range(2, 6)])
    session.execute(update(D).where(D.c.id == doc.id).values(line_count=5))
    assert session.scalar(select(D.c.line_count).where(D.c.id == doc.id)) == 5
    assert documents.add_line(session, doc, product=world.widget, serial="W-6").line_no == 6
    order = documents.create_purchase_order(session, "PO-1", "ACME", [("WID-1", 3), ("LOOSE", 2)])
    assert session.scalar(select(D.c.line_count).where(D.c.id == order.id)) == 2
    assert session.scalar(select(func.max(L.c.line_no)).where(L.c.document_id == order.id)) == 2


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # PostgreSQL counts up in the INSERT: no trigger
def test_on_sqlite_a_line_raises_its_documents_count_to_its_number(session, world):
    """Guards migration 0012's trigger itself (SQLite drops a table's triggers with it: a migration that copies
    document_line must make it again): lines written with numbers and no count raise it to the highest, and one
    numbered below the count leaves it."""
    assert session.scalar(text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                               " AND name = 'document_line_counted' AND tbl_name = 'document_line'")) == 1
    doc = documents.open_document(session, DocumentKind.receipt, station="in", supplier=world.acme)
    rows = [{"document_id": doc.id, "line_no": n, "product_id": world.widget.id, "serial": f"T-{n}", "quantity": 1,
             "is_open": True} for n in (1, 3, 2)]
    session.execute(insert(L), rows)
    assert session.scalar(select(D.c.line_count).where(D.c.id == doc.id)) == 3
