"""A document's tallies are what its lines add up to, whoever writes them, on SQLite and PostgreSQL (issue 22).

On SQLite a line naming a serial and a product is tallied by its own INSERT (migration 0014's trigger
``document_line_tallied``: units its quantity, taken its ``takes_unit``), so a serial scan sends five statements
where it sent six; its writers add nothing more. A line of unserialised units, an undo, a take-back and every
line on PostgreSQL are tallied by their writers, as before. Counted twice or not at all, a tally shows on the
station's prompt ("3 of 5") and decides what the rules let out of stock, so these check both.
"""
from __future__ import annotations

import pytest
from helpers.world import make_world
from sqlalchemy import insert, select, text

from station.bench import large_document
from station.domain import documents, posting, tallies
from station.domain.errors import Refusal
from station.domain.models import DocumentKind, DocumentLine, DocumentTally

L, T = DocumentLine.__table__, DocumentTally.__table__


@pytest.fixture
def world(session):
    return make_world(session, "widget", "loose", "acme", "bob")


def _tallied(session, doc_id: int) -> dict[int, tuple[int, int]]:
    """The document's tallies as stored: product -> (units, taken)."""
    rows = session.execute(select(T.c.product_id, T.c.units, T.c.taken).where(T.c.document_id == doc_id))
    return {row.product_id: (row.units, row.taken) for row in rows}


def test_a_receipts_serials_units_and_undo_are_tallied_once(session, world):
    """Guards the tally of a serial's line (the trigger on SQLite) against counting it twice or not at all, beside
    lines of units (tallied by their writer) and an undo of each (counted down by its writer)."""
    doc = documents.open_document(session, DocumentKind.receipt, station="in", supplier=world.acme)
    for serial in ("T-1", "T-2", "T-3"):
        documents.add_line(session, doc, product=world.widget, serial=serial)
    documents.add_line(session, doc, product=world.loose, quantity=4)
    assert _tallied(session, doc.id) == {world.widget.id: (3, 0), world.loose.id: (4, 0)}
    documents.undo_last_line(session, doc)
    documents.undo_last_line(session, doc)
    assert _tallied(session, doc.id) == {world.widget.id: (2, 0), world.loose.id: (0, 0)}
    documents.add_line(session, doc, product=world.widget, serial="T-4")
    assert _tallied(session, doc.id)[world.widget.id] == (3, 0)
    assert tallies.summary(session, doc.id)[-1].units == 3  # the prompt's count of widgets


def test_serials_sold_from_unserialised_units_take_them_and_no_more(session, world):
    """Guards ``taken`` of a serial's line: a serial never in stock, sold, takes one unserialised unit (its line's
    ``takes_unit``); once the two received are taken by two such lines the third is refused ``serial_not_in_stock``,
    and an undo gives one back."""
    receipt = documents.open_document(session, DocumentKind.receipt, station="in", supplier=world.acme)
    documents.add_line(session, receipt, product=world.loose, quantity=2)
    posting.post(session, receipt)
    session.commit()
    sale = documents.open_document(session, DocumentKind.sale, station="till", customer=world.bob)
    for serial in ("HM-1", "HM-2"):
        assert documents.add_line(session, sale, product=world.loose, serial=serial).takes_unit
    assert _tallied(session, sale.id) == {world.loose.id: (2, 2)}
    with pytest.raises(Refusal) as refused:
        documents.add_line(session, sale, product=world.loose, serial="HM-3")
    assert refused.value.code == "serial_not_in_stock"
    assert _tallied(session, sale.id) == {world.loose.id: (2, 2)}
    documents.undo_last_line(session, sale)
    assert _tallied(session, sale.id) == {world.loose.id: (1, 1)}
    documents.add_line(session, sale, product=world.loose, serial="HM-3")
    assert _tallied(session, sale.id) == {world.loose.id: (2, 2)}


def test_serials_written_in_bulk_are_tallied_once(db):
    """Guards the bench's writer of a receipt's lines in bulk (large_document._write_lines, as the pallet and the
    big posting fill their receipts): its tally is its lines, whichever database counts them."""
    large_document._catalogue(db.Session)
    doc_id = large_document._write_lines(db.Session, "bulk-in", range(1, 251), prefix="BULK-")
    doc_id = large_document._write_lines(db.Session, "bulk-in", range(251, 301), prefix="BULK-")
    with db.Session() as s:
        assert list(_tallied(s, doc_id).values()) == [(300, 0)]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # PostgreSQL's writers send the tally themselves
def test_on_sqlite_a_serials_line_is_tallied_by_its_insert(session, world):
    """Guards migration 0014's trigger itself (SQLite drops a table's triggers with it: a migration that copies
    document_line must make it again): a serial's line written by a bare INSERT is tallied (an adjustment's -1
    too); a line of units, or one without a product, is not; a line the unique index of rule 8 turns away, not."""
    assert session.scalar(text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                               " AND name = 'document_line_tallied' AND tbl_name = 'document_line'")) == 1
    doc = documents.open_document(session, DocumentKind.receipt, station="in", supplier=world.acme)
    line = {"document_id": doc.id, "product_id": world.widget.id, "quantity": 1, "is_open": True, "takes_unit": False}
    session.execute(insert(L), [line | {"line_no": 1, "serial": "B-1", "takes_unit": True},
                                line | {"line_no": 2, "serial": "B-2"},
                                line | {"line_no": 3, "serial": "B-3", "quantity": -1},
                                line | {"line_no": 4, "serial": None, "quantity": 7},
                                line | {"line_no": 5, "serial": "B-5", "product_id": None}])
    assert _tallied(session, doc.id) == {world.widget.id: (1, 1)}  # 1 + 1 - 1 units, one taken
    turned_away = session.execute(insert(L).values(line | {"line_no": 6, "serial": "B-1"})
                                  .prefix_with("OR IGNORE"))
    assert turned_away.rowcount == 0
    assert _tallied(session, doc.id) == {world.widget.id: (1, 1)}
