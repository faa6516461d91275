"""SPEC 3 rule 7 (stock adjustments), on SQLite and PostgreSQL.

A supervisor moves a serial into or out of stock, or a product's
unserialised quantity up or down, always with a reason; stock never goes
below zero; a refused adjustment writes nothing.
"""
from __future__ import annotations

import pytest
from helpers.database import count
from helpers.world import make_world
from sqlalchemy import select

from station.domain import catalogue, documents, posting, serials, stock
from station.domain.errors import Invalid, Refusal
from station.domain.models import Document, DocumentKind, DocumentStatus, Movement


@pytest.fixture
def world(session):
    """A serialised product and one kept as unserialised units."""
    return make_world(session, "widget", "bulk")


def test_serial_adjusted_in_and_out_with_a_reason(session, world):
    """Guards against a serial moved in or out of stock without a trace of why, by whom, where."""
    record = serials.create_serial(session, "SN-1", product="WID-1")
    doc_in = serials.adjust_serial(session, record, "in", "found on the shelf", station="office", user="sue")
    session.commit()
    assert record.in_stock and catalogue.on_hand(session, world.widget) == 1
    assert (doc_in.kind, doc_in.status, doc_in.reason) == (DocumentKind.adjustment, DocumentStatus.posted,
                                                           "found on the shelf")
    doc_out = serials.adjust_serial(session, record, "out", "damaged", station="office", user="sue")
    session.commit()
    assert not record.in_stock and catalogue.on_hand(session, world.widget) == 0
    entries, _ = serials.history(session, record)
    assert [(e.kind, e.movement.quantity, e.movement.document_reason, e.movement.user) for e in entries] == [
        ("adjustment", 1, "found on the shelf", "sue"), ("adjustment", -1, "damaged", "sue")]
    assert [e.movement.document_id for e in entries] == [doc_in.id, doc_out.id]
    assert stock.check(session) == []


def test_unserialised_quantity_up_and_down(session, world):
    """Guards against unserialised stock that a stock count cannot correct."""
    stock.adjust_product(session, world.bulk, 10, "stock count")
    stock.adjust_product(session, world.bulk, -4, "cut to length")
    stock.adjust_product(session, world.bulk, -6, "written off")
    session.commit()
    assert world.bulk.unserialised_on_hand == 0
    moves = session.scalars(select(Movement).order_by(Movement.id)).all()
    assert [(m.kind.value, m.quantity, m.serial, m.document.reason) for m in moves] == [
        ("adjustment", 10, None, "stock count"), ("adjustment", -4, None, "cut to length"),
        ("adjustment", -6, None, "written off")]
    assert stock.check(session) == []


@pytest.mark.parametrize(
    "reason",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="only_space"),
        pytest.param("x" * 501, id="too_long"),
        pytest.param("broken\x00", id="control_character"),
    ],
)
@pytest.mark.parametrize("target", ["serial", "product"])
def test_adjustment_needs_a_reason(session, world, reason, target):
    """Guards against stock changed by hand with no reason recorded."""
    record = serials.create_serial(session, "SN-1", product="WID-1")
    session.commit()
    with pytest.raises(Invalid):
        if target == "serial":
            serials.adjust_serial(session, record, "in", reason)
        else:
            stock.adjust_product(session, world.bulk, 5, reason)
    session.commit()
    assert count(session, Document) == 0 and count(session, Movement) == 0
    assert not record.in_stock and world.bulk.unserialised_on_hand == 0


def _serial_in_twice(session, w):
    record = serials.create_serial(session, "SN-1", product="WID-1")
    serials.adjust_serial(session, record, "in", "found")
    session.commit()
    return lambda: serials.adjust_serial(session, record, "in", "found again")


def _serial_out_not_in_stock(session, w):
    record = serials.create_serial(session, "SN-1", product="WID-1")
    session.commit()
    return lambda: serials.adjust_serial(session, record, "out", "lost")


def _serial_on_open_document(session, w):
    record = serials.create_serial(session, "SN-1", product="WID-1")
    receipt = documents.open_document(session, DocumentKind.receipt)
    documents.add_line(session, receipt, serial="SN-1")
    session.commit()
    return lambda: serials.adjust_serial(session, record, "in", "found")


def _down_below_zero(session, w):
    stock.adjust_product(session, w.bulk, 3, "count")
    session.commit()
    return lambda: stock.adjust_product(session, w.bulk, -4, "lost")


def _down_from_nothing(session, w):
    return lambda: stock.adjust_product(session, w.bulk, -1, "lost")


def _bad_direction(session, w):
    record = serials.create_serial(session, "SN-1", product="WID-1")
    session.commit()
    return lambda: serials.adjust_serial(session, record, "sideways", "found")


def _zero_quantity(session, w):
    return lambda: stock.adjust_product(session, w.bulk, 0, "nothing")


@pytest.mark.parametrize(
    "arrange, code",
    [
        pytest.param(_serial_in_twice, "serial_in_stock", id="serial_in_when_in_stock"),
        pytest.param(_serial_out_not_in_stock, "serial_not_in_stock", id="serial_out_when_not_in_stock"),
        pytest.param(_serial_on_open_document, "serial_on_open_document", id="serial_on_open_document"),
        pytest.param(_down_below_zero, "out_of_stock", id="unserialised_below_zero"),
        pytest.param(_down_from_nothing, "out_of_stock", id="unserialised_from_nothing"),
        pytest.param(_bad_direction, "invalid_field", id="direction_unknown"),
        pytest.param(_zero_quantity, "invalid_quantity", id="quantity_zero"),
    ],
)
def test_adjustment_refused_writes_nothing(session, world, arrange, code):
    """Guards against stock below zero or a serial counted twice, and against a refusal leaving a stray document."""
    attempt = arrange(session, world)
    documents_before, movements_before = count(session, Document), count(session, Movement)
    with pytest.raises(Refusal) as exc, session.begin_nested():
        attempt()
    assert exc.value.code == code
    session.commit()  # a caller that rolls its savepoint back, records the refusal and commits keeps nothing
    assert (count(session, Document), count(session, Movement)) == (documents_before, movements_before)
    assert stock.check(session) == []


def test_multi_line_adjustment_cannot_take_more_than_on_hand(session, world):
    """Guards against two "down" lines on one adjustment each checked against the whole stock."""
    stock.adjust_product(session, world.bulk, 3, "count")
    doc = documents.open_document(session, DocumentKind.adjustment, reason="recount")
    documents.add_line(session, doc, product=world.bulk, quantity=-2)
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, doc, product=world.bulk, quantity=-2)
    assert exc.value.code == "out_of_stock"
    documents.add_line(session, doc, product=world.bulk, quantity=-1)
    posting.post(session, doc)
    session.commit()
    assert world.bulk.unserialised_on_hand == 0
    assert stock.check(session) == []
