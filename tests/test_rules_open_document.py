"""SPEC 3 rules 8 and 9, undo and cancel, on SQLite and PostgreSQL.

Rule 8: a serial stands on at most one open document, enforced by the
database's partial unique index, not only by the check in Python: proven by
inserting behind the check's back, and by two real connections racing.
Rule 9: posting writes all of a document's movements, or none.
"""
from __future__ import annotations

import threading

import pytest
from helpers.database import count
from helpers.world import make_world
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from station.domain import catalogue, documents, posting, stock
from station.domain.errors import Refusal
from station.domain.models import Document, DocumentKind, DocumentLine, DocumentStatus, Movement, SerialNumber


@pytest.fixture
def world(session):
    """A serialised product, one with unserialised stock, a supplier and customers."""
    return make_world(session, "widget", "loose", "bulk", "acme", "bob", "eve")


def _receiving_sn1(session, world) -> Document:
    """A receipt open at bench-1 with the widget's SN-1 on it."""
    doc = documents.open_document(session, DocumentKind.receipt, station="bench-1")
    documents.add_line(session, doc, product=world.widget, serial="SN-1")
    return doc


# --- rule 8: the database enforces one open document per serial -------------------------------


def _orm_line(session, doc):
    doc.lines.append(DocumentLine(line_no=len(doc.lines) + 1, serial="SN-1", quantity=1, is_open=True))
    session.flush()


def _core_insert(session, doc):
    session.execute(insert(DocumentLine).values(document_id=doc.id, line_no=99, serial="SN-1", quantity=1,
                                                is_open=True))


@pytest.mark.parametrize(
    "sneak_in",
    [
        pytest.param(_orm_line, id="orm"),
        pytest.param(_core_insert, id="sql_insert"),
    ],
)
def test_unique_index_refuses_second_open_line(session, world, sneak_in):
    """Guards against rule 8 living only in Python: a line inserted behind the check's back is refused."""
    _receiving_sn1(session, world)
    second = documents.open_document(session, DocumentKind.receipt, station="bench-2")
    session.commit()
    with pytest.raises(IntegrityError):
        sneak_in(session, second)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(DocumentLine).where(DocumentLine.serial == "SN-1")) == 1


def _posted(session, doc):
    posting.post(session, doc)


def _cancelled(session, doc):
    documents.cancel(session, doc)


@pytest.mark.parametrize(
    "close",
    [
        pytest.param(_posted, id="posted"),
        pytest.param(_cancelled, id="cancelled"),
    ],
)
def test_closed_document_frees_the_serial(session, world, close):
    """Guards against a posted or cancelled document holding its serials for ever."""
    first = _receiving_sn1(session, world)
    close(session, first)
    session.commit()
    assert all(not line.is_open for line in first.lines)
    # Behind the check's back, the index now lets another open line have the serial...
    other = documents.open_document(session, DocumentKind.adjustment, reason="test")
    _core_insert(session, other)
    session.rollback()
    # ...and so do the rules: a sale if it was received, a new receipt if it was cancelled.
    kind = DocumentKind.sale if first.status == DocumentStatus.posted else DocumentKind.receipt
    again = documents.open_document(session, kind, customer=world.bob)
    documents.add_line(session, again, product=world.widget, serial="SN-1")
    posting.post(session, again)
    session.commit()
    assert stock.check(session) == []


def test_two_connections_race_for_one_serial(db, world, monkeypatch):
    """Guards against two stations both putting one serial on open documents (two real connections).

    On PostgreSQL a barrier holds both threads after the Python check has
    passed for each, so only the unique index can stop the second insert.
    SQLite takes its write lock at BEGIN (``BEGIN IMMEDIATE``), so there the
    second connection waits for the first and its own check refuses.
    """
    with db.Session() as s:
        for station in ("till-1", "till-2"):
            documents.open_document(s, DocumentKind.receipt, station=station)
        s.commit()

    barrier = threading.Barrier(2, timeout=10) if db.backend == "postgresql" else None
    checked: list[str] = []
    real_check = documents.check_line

    def check_then_wait(*args, **kwargs):
        resolved = real_check(*args, **kwargs)
        checked.append(threading.current_thread().name)
        if barrier is not None:
            barrier.wait()
        return resolved

    monkeypatch.setattr(documents, "check_line", check_then_wait)
    results: dict[str, object] = {}

    def scan(station: str) -> None:
        with db.Session() as s:
            try:
                doc = s.scalars(select(Document).where(Document.station == station)).one()
                product = catalogue.get_product(s, "WID-1")
                documents.add_line(s, doc, product=product, serial="SN-RACE")
                s.commit()
                results[station] = "added"
            except Refusal as exc:
                s.rollback()
                results[station] = exc.code
            except Exception as exc:  # anything else is a failure of the test, reported below
                s.rollback()
                results[station] = repr(exc)

    threads = [threading.Thread(target=scan, args=(st,), name=st) for st in ("till-1", "till-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert sorted(results.values()) == ["added", "serial_on_open_document"], results
    if barrier is not None:
        assert sorted(checked) == ["till-1", "till-2"]  # both passed the Python check: the index decided
    with db.Session() as s:
        rows = s.scalars(select(DocumentLine).where(DocumentLine.serial == "SN-RACE")).all()
        assert len(rows) == 1 and rows[0].is_open


# --- rule 9: all movements or none -------------------------------------------------------------


def _unit_taken_meanwhile(session, w):
    """A sale of two hand-made serials; one of the two unserialised units is written off meanwhile."""
    doc = documents.open_document(session, DocumentKind.receipt, supplier=w.acme)
    documents.add_line(session, doc, product=w.loose, quantity=2)
    posting.post(session, doc)
    sale = documents.open_document(session, DocumentKind.sale, station="till", customer=w.bob)
    documents.add_line(session, sale, product=w.loose, serial="HM-1")
    documents.add_line(session, sale, product=w.loose, serial="HM-2")
    stock.adjust_product(session, w.loose, -1, "broken")
    return sale, "serial_not_in_stock"


def _sold_meanwhile(session, w):
    """A sale of a serial and two cables; the cables are sold at another till meanwhile."""
    doc = documents.open_document(session, DocumentKind.receipt, supplier=w.acme)
    documents.add_line(session, doc, product=w.widget, serial="SN-1")
    documents.add_line(session, doc, product=w.bulk, quantity=2)
    posting.post(session, doc)
    sale = documents.open_document(session, DocumentKind.sale, station="till-1", customer=w.bob)
    documents.add_line(session, sale, serial="SN-1")
    documents.add_line(session, sale, product=w.bulk, quantity=2)
    other = documents.open_document(session, DocumentKind.sale, station="till-2", customer=w.eve)
    documents.add_line(session, other, product=w.bulk, quantity=2)
    posting.post(session, other)
    return sale, "out_of_stock"


def _order_filled_meanwhile(session, w):
    """A receipt of a serial and four units against an order that another bench fills meanwhile."""
    order = documents.create_purchase_order(session, "PO-1", "ACME", [("WID-1", 1), ("LOOSE", 5)])
    receipt = documents.open_document(session, DocumentKind.receipt, station="bench-1", order=order)
    documents.add_line(session, receipt, product=w.widget, serial="SN-1")
    documents.add_line(session, receipt, product=w.loose, quantity=4)
    other = documents.open_document(session, DocumentKind.receipt, station="bench-2", order=order)
    documents.add_line(session, other, product=w.loose, quantity=2)
    posting.post(session, other)
    return receipt, "quantity_exceeds_order"


@pytest.mark.parametrize(
    "arrange",
    [
        pytest.param(_unit_taken_meanwhile, id="unserialised_unit_taken_meanwhile"),
        pytest.param(_sold_meanwhile, id="stock_sold_meanwhile"),
        pytest.param(_order_filled_meanwhile, id="order_filled_meanwhile"),
    ],
)
def test_posting_fails_on_second_line_writes_nothing(session, world, arrange):
    """Guards against half a document posted: its first line's movements kept when the second fails."""
    doc, code = arrange(session, world)
    session.commit()
    movements, serial_records = count(session, Movement), count(session, SerialNumber)
    on_hand = {p.code: p.unserialised_on_hand for p in (world.widget, world.loose, world.bulk)}

    with pytest.raises(Refusal) as exc, session.begin_nested():
        posting.post(session, doc)
    assert exc.value.code == code
    # A caller that rolls its savepoint back, records the refusal and commits (the daemon logs every
    # scan so) keeps nothing of the post.
    session.commit()

    assert doc.status == DocumentStatus.open and doc.posted_at is None
    assert all(line.is_open for line in doc.lines)
    session.expire_all()  # counts were written by UPDATE: read them again, as the scan service does
    assert count(session, Movement) == movements
    assert session.scalar(select(func.count()).select_from(Movement).where(Movement.document_id == doc.id)) == 0
    assert count(session, SerialNumber) == serial_records
    assert {p.code: p.unserialised_on_hand for p in (world.widget, world.loose, world.bulk)} == on_hand
    assert stock.check(session) == []
    # The document is still whole: dropping the failing line lets it post.
    documents.undo_last_line(session, doc)
    posting.post(session, doc)
    session.commit()
    assert stock.check(session) == []


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("empty", id="empty_document"),
        pytest.param("posted", id="posted_twice"),
        pytest.param("cancelled", id="cancelled_document"),
    ],
)
def test_post_refused(session, world, kind):
    """Guards against posting a document with nothing on it, or posting one twice."""
    doc = documents.open_document(session, DocumentKind.adjustment, reason="count")
    if kind != "empty":
        documents.add_line(session, doc, product=world.bulk, quantity=1)
        posting.post(session, doc) if kind == "posted" else documents.cancel(session, doc)
    session.commit()
    before = count(session, Movement)
    with pytest.raises(Refusal) as exc:
        posting.post(session, doc)
    assert exc.value.code == ("empty_document" if kind == "empty" else "document_not_open")
    assert count(session, Movement) == before


# --- undo and cancel ---------------------------------------------------------------------------


def test_undo_last_line(session, world):
    """Guards against undo removing the wrong line, or keeping the undone serial held."""
    doc = _receiving_sn1(session, world)
    documents.add_line(session, doc, product=world.widget, serial="SN-2")
    undone = documents.undo_last_line(session, doc)
    session.commit()
    assert undone.serial == "SN-2"
    assert [line.serial for line in doc.lines] == ["SN-1"]
    other = documents.open_document(session, DocumentKind.receipt, station="bench-2")
    documents.add_line(session, other, product=world.widget, serial="SN-2")  # free again
    line = documents.add_line(session, doc, product=world.widget, serial="SN-3")
    assert line.line_no == 2
    session.commit()


def test_undo_with_nothing_to_undo(session, world):
    """Guards against undo on an empty document failing with anything but nothing_to_undo."""
    doc = documents.open_document(session, DocumentKind.receipt)
    with pytest.raises(Refusal) as exc:
        documents.undo_last_line(session, doc)
    assert exc.value.code == "nothing_to_undo"
    documents.add_line(session, doc, product=world.widget, serial="SN-1")
    documents.undo_last_line(session, doc)
    with pytest.raises(Refusal) as exc:
        documents.undo_last_line(session, doc)
    assert exc.value.code == "nothing_to_undo"


def test_undo_on_posted_document_refused(session, world):
    """Guards against undo reaching into a document that has already moved stock."""
    doc = documents.open_document(session, DocumentKind.receipt)
    documents.add_line(session, doc, product=world.widget, serial="SN-1")
    posting.post(session, doc)
    with pytest.raises(Refusal) as exc:
        documents.undo_last_line(session, doc)
    assert exc.value.code == "document_not_open"
    assert len(doc.lines) == 1


def test_cancel_releases_serials(session, world):
    """Guards against a cancelled document's serials staying blocked for every other station."""
    doc = _receiving_sn1(session, world)
    documents.add_line(session, doc, product=world.loose, quantity=3)
    session.commit()
    other = documents.open_document(session, DocumentKind.receipt, station="bench-2")
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, other, product=world.widget, serial="SN-1")
    assert exc.value.code == "serial_on_open_document"
    documents.cancel(session, doc)
    session.commit()
    assert doc.status == DocumentStatus.cancelled
    documents.add_line(session, other, product=world.widget, serial="SN-1")
    posting.post(session, other)
    session.commit()
    assert count(session, Movement) == 1 and world.loose.unserialised_on_hand == 0
    for action in (documents.cancel, documents.undo_last_line, posting.post):
        with pytest.raises(Refusal) as exc:
            action(session, doc)
        assert exc.value.code == "document_not_open"
    with pytest.raises(Refusal):
        documents.add_line(session, doc, product=world.loose, quantity=1)
