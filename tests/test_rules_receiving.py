"""SPEC 3 rules 2 and 3 (receiving) and purchase orders, on SQLite and PostgreSQL.

Rule 2: without ``serial_required_for_purchase`` units are received as a
quantity, and a scanned serial is still recorded.
Rule 3: a serial in stock, on another open document or of another product is
refused; a known serial not in stock is accepted and takes the product;
posting sets its supplier. Purchase orders: receipts against an order, never
more than it expects, several receipts filling one order.
"""
from __future__ import annotations

import re

import pytest
from helpers.database import count
from helpers.world import make_world, refused_unwritten
from sqlalchemy import select

from station.domain import catalogue, documents, posting, serials, stock
from station.domain.errors import Conflict, Invalid, NotFound, Refusal
from station.domain.models import Document, DocumentKind, DocumentStatus, Movement, SerialNumber

PO_PATTERN = re.compile(r"^PO-\d+$")


@pytest.fixture
def world(session):
    """A serialised product, one received by quantity, suppliers and a customer."""
    return make_world(session, "widget", "gadget", "loose", "acme", "other", "bob")


def receive(session, product, *serial_texts, supplier=None):
    doc = documents.open_document(session, DocumentKind.receipt, station="goods-in", supplier=supplier)
    for text in serial_texts:
        documents.add_line(session, doc, product=product, serial=text)
    posting.post(session, doc)
    return doc


# --- rule 2 ------------------------------------------------------------------------------------


def test_without_purchase_flag_units_are_received_as_a_quantity(session, world):
    """Guards against forcing serials on a product that needs none at purchase."""
    doc = documents.open_document(session, DocumentKind.receipt, supplier=world.acme)
    documents.add_line(session, doc, product=world.loose, quantity=50)
    documents.add_line(session, doc, product=world.loose)
    posting.post(session, doc)
    session.commit()
    assert world.loose.unserialised_on_hand == 51
    assert catalogue.on_hand(session, world.loose) == 51
    assert count(session, SerialNumber) == 0
    moves = session.scalars(select(Movement).order_by(Movement.id)).all()
    assert [(m.quantity, m.serial, m.supplier, m.kind.value) for m in moves] == [
        (50, None, world.acme, "receipt"), (1, None, world.acme, "receipt")]
    assert stock.check(session) == []


def test_purchase_flag_needs_a_serial_for_every_unit(session, world):
    """Guards against receiving a serialised product as an anonymous quantity."""
    doc = documents.open_document(session, DocumentKind.receipt, supplier=world.acme)
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, doc, product=world.widget)
    assert exc.value.code == "serial_required"
    with pytest.raises(Invalid) as exc:
        documents.add_line(session, doc, product=world.widget, serial="SN-1", quantity=3)
    assert exc.value.code == "invalid_quantity"
    assert doc.lines == []


def test_without_purchase_flag_a_scanned_serial_is_still_recorded(session, world):
    """Guards against dropping a serial the clerk scanned for a product that did not need one."""
    doc = documents.open_document(session, DocumentKind.receipt, supplier=world.acme)
    documents.add_line(session, doc, product=world.loose, quantity=2)
    documents.add_line(session, doc, product=world.loose, serial="LP-1")
    posting.post(session, doc)
    session.commit()
    record = serials.get_serial(session, "LP-1")
    assert (record.product, record.supplier, record.in_stock) == (world.loose, world.acme, True)
    assert world.loose.unserialised_on_hand == 2
    assert catalogue.on_hand(session, world.loose) == 3
    assert stock.check(session) == []


# --- rule 3 ------------------------------------------------------------------------------------


def _in_stock(session, w):
    receive(session, w.widget, "SN-1", supplier=w.acme)


def _on_other_receipt(session, w):
    other = documents.open_document(session, DocumentKind.receipt, station="bench-2", supplier=w.other)
    documents.add_line(session, other, product=w.widget, serial="SN-1")


def _other_product(session, w):
    serials.create_serial(session, "SN-1", product="GAD-1")


def _other_product_out_of_stock(session, w):
    receive(session, w.gadget, "SN-1", supplier=w.acme)
    back = documents.open_document(session, DocumentKind.supplier_return, supplier=w.acme)
    documents.add_line(session, back, serial="SN-1")
    posting.post(session, back)


def _sold(session, w):
    receive(session, w.widget, "SN-1", supplier=w.acme)
    sale = documents.open_document(session, DocumentKind.sale, customer=w.bob)
    documents.add_line(session, sale, serial="SN-1")
    posting.post(session, sale)


@pytest.mark.parametrize(
    "arrange, code, words",
    [
        pytest.param(_in_stock, "serial_in_stock", "in stock", id="in_stock_already"),
        pytest.param(_on_other_receipt, "serial_on_open_document", "bench-2", id="on_another_open_document"),
        pytest.param(_other_product, "serial_wrong_product", "Gadget", id="belongs_to_another_product"),
        pytest.param(_other_product_out_of_stock, "serial_wrong_product", "Gadget",
                     id="another_product_out_of_stock"),
    ],
)
def test_receiving_a_serial_refused(session, world, arrange, code, words):
    """Guards against one serial entering stock twice, on two documents, or under two products."""
    arrange(session, world)
    session.commit()
    doc = documents.open_document(session, DocumentKind.receipt, supplier=world.acme)
    assert words in refused_unwritten(session, doc, code, product=world.widget, serial="SN-1").message


def test_same_serial_twice_on_one_receipt_refused(session, world):
    """Guards against a double scan receiving one serial as two units."""
    doc = documents.open_document(session, DocumentKind.receipt, supplier=world.acme)
    documents.add_line(session, doc, product=world.widget, serial="SN-1")
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, doc, product=world.widget, serial="SN-1")
    assert exc.value.code == "serial_on_open_document"
    assert len(doc.lines) == 1


@pytest.mark.parametrize(
    "made_with",
    [
        pytest.param({}, id="no_product"),
        pytest.param({"product": "WID-1"}, id="same_product"),
        pytest.param({"product": "WID-1", "supplier": "OTHER"}, id="other_supplier_before"),
    ],
)
def test_known_serial_not_in_stock_accepted_and_takes_product(session, world, made_with):
    """Guards against refusing a hand-made serial at goods-in, or leaving it without product or supplier."""
    serials.create_serial(session, "HM-1", **made_with)
    session.commit()
    receive(session, world.widget, "HM-1", supplier=world.acme)
    session.commit()
    record = serials.get_serial(session, "HM-1")
    assert (record.product, record.supplier, record.in_stock) == (world.widget, world.acme, True)
    assert catalogue.on_hand(session, world.widget) == 1
    assert stock.check(session) == []


def test_serial_returned_to_supplier_received_again(session, world):
    """Guards against a serial sent back to the supplier never being receivable again."""
    receive(session, world.widget, "SN-1", supplier=world.acme)
    back = documents.open_document(session, DocumentKind.supplier_return, supplier=world.acme)
    documents.add_line(session, back, serial="SN-1")
    posting.post(session, back)
    receive(session, world.widget, "SN-1", supplier=world.other)
    session.commit()
    record = serials.get_serial(session, "SN-1")
    assert record.in_stock and record.supplier is world.other
    entries, _ = serials.history(session, record)
    assert [(e.kind, e.movement.supplier_code) for e in entries] == [
        ("receipt", "ACME"), ("supplier_return", "ACME"), ("receipt", "OTHER")]
    assert stock.check(session) == []


def test_sold_serial_received_from_a_supplier_is_ours_again(session, world):
    """Guards against a serial in stock that still names a customer (SPEC 2: empty while it is ours).

    Such a serial could be "returned" by that customer on top, counting one unit twice.
    """
    _sold(session, world)
    receive(session, world.widget, "SN-1", supplier=world.other)
    session.commit()
    record = serials.get_serial(session, "SN-1")
    assert record.in_stock and record.customer is None and record.supplier is world.other
    ret = documents.open_document(session, DocumentKind.customer_return, customer=world.bob)
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, ret, serial="SN-1")
    assert exc.value.code == "serial_no_customer"
    entries, _ = serials.history(session, record)
    assert [(e.kind, e.movement.customer_code) for e in entries] == [
        ("receipt", None), ("sale", world.bob.code), ("receipt", None)]
    assert stock.check(session) == []


def test_serial_scanned_alone_takes_its_known_product(session, world):
    """Guards against needing the product scanned first when the serial already names it."""
    serials.create_serial(session, "HM-1", product="GAD-1")
    doc = documents.open_document(session, DocumentKind.receipt, supplier=world.acme)
    line = documents.add_line(session, doc, serial="HM-1")
    assert line.product.id == world.gadget.id
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, doc, serial="NEW-1")
    assert exc.value.code == "product_required"


def test_posting_sets_the_supplier(session, world):
    """Guards against a received serial that does not say who provided it."""
    doc = documents.open_document(session, DocumentKind.receipt, supplier=world.acme)
    documents.add_line(session, doc, product=world.widget, serial="SN-1")
    assert serials.find_serial(session, "SN-1") is None  # a line is not stock: the record comes with posting
    posting.post(session, doc)
    session.commit()
    record = serials.get_serial(session, "SN-1")
    assert record.supplier is world.acme
    assert doc.status == DocumentStatus.posted and doc.posted_at is not None


# --- purchase orders ---------------------------------------------------------------------------


def make_order(session, reference="PO-1042", lines=(("WID-1", 3), ("LOOSE", 10))):
    return documents.create_purchase_order(session, reference, "ACME", list(lines), pattern=PO_PATTERN)


def progress(session, order):
    return {row["product"]: (row["expected"], row["received"]) for row in documents.order_progress(session, order)}


def test_receipt_against_purchase_order(session, world):
    """Guards against a receipt that does not count towards its order, or lacks the order's supplier."""
    order = make_order(session)
    session.commit()
    assert order.status == DocumentStatus.open and order.reference == "PO-1042"
    assert progress(session, order) == {"WID-1": (3, 0), "LOOSE": (10, 0)}
    doc = documents.open_document(session, DocumentKind.receipt, station="goods-in", order=order)
    assert doc.supplier is world.acme and doc.order is order
    documents.add_line(session, doc, product=world.widget, serial="SN-1")
    documents.add_line(session, doc, product=world.loose, quantity=4)
    assert progress(session, order) == {"WID-1": (3, 0), "LOOSE": (10, 0)}  # open lines are not received
    posting.post(session, doc)
    session.commit()
    assert progress(session, order) == {"WID-1": (3, 1), "LOOSE": (10, 4)}
    assert serials.get_serial(session, "SN-1").supplier is world.acme
    assert stock.check(session) == []


@pytest.mark.parametrize(
    "product, serial, quantity",
    [
        pytest.param("WID-1", "SN-4", 1, id="one_serial_too_many"),
        pytest.param("LOOSE", None, 8, id="quantity_too_many"),
        pytest.param("GAD-1", "G-1", 1, id="product_not_on_order"),
    ],
)
def test_quantity_exceeds_order(session, world, product, serial, quantity):
    """Guards against receiving more than the purchase order expects, counting lines still open."""
    order = make_order(session)
    doc = documents.open_document(session, DocumentKind.receipt, order=order)
    for text in ("SN-1", "SN-2", "SN-3"):
        documents.add_line(session, doc, product=world.widget, serial=text)
    documents.add_line(session, doc, product=world.loose, quantity=3)
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, doc, product=catalogue.get_product(session, product),
                           serial=serial, quantity=quantity)
    assert exc.value.code == "quantity_exceeds_order"
    assert order.reference in exc.value.message
    assert len(doc.lines) == 4


def test_several_receipts_fill_one_order(session, world):
    """Guards against an order that only one receipt can fill, or overfilled across receipts."""
    order = make_order(session)
    session.commit()
    first = documents.open_document(session, DocumentKind.receipt, order=order)
    documents.add_line(session, first, product=world.widget, serial="SN-1")
    documents.add_line(session, first, product=world.loose, quantity=6)
    posting.post(session, first)
    cancelled = documents.open_document(session, DocumentKind.receipt, order=order)
    documents.add_line(session, cancelled, product=world.loose, quantity=4)
    documents.cancel(session, cancelled)
    second = documents.open_document(session, DocumentKind.receipt, order=order)
    documents.add_line(session, second, product=world.widget, serial="SN-2")
    documents.add_line(session, second, product=world.widget, serial="SN-3")
    documents.add_line(session, second, product=world.loose, quantity=4)
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, second, product=world.loose, quantity=1)
    assert exc.value.code == "quantity_exceeds_order"
    posting.post(session, second)
    session.commit()
    assert progress(session, order) == {"WID-1": (3, 3), "LOOSE": (10, 10)}  # the cancelled one counts nothing
    third = documents.open_document(session, DocumentKind.receipt, order=order)
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, third, product=world.widget, serial="SN-9")
    assert exc.value.code == "quantity_exceeds_order"


def test_two_open_receipts_cannot_overfill_an_order(session, world):
    """Guards against two benches each receiving the last units of one order (checked again on posting)."""
    order = make_order(session, lines=(("LOOSE", 5),))
    a = documents.open_document(session, DocumentKind.receipt, station="bench-1", order=order)
    b = documents.open_document(session, DocumentKind.receipt, station="bench-2", order=order)
    documents.add_line(session, a, product=world.loose, quantity=4)
    documents.add_line(session, b, product=world.loose, quantity=4)
    posting.post(session, a)
    session.commit()
    with pytest.raises(Refusal) as exc:
        posting.post(session, b)
    assert exc.value.code == "quantity_exceeds_order"
    session.rollback()
    assert b.status == DocumentStatus.open
    assert progress(session, order) == {"LOOSE": (5, 4)}
    assert world.loose.unserialised_on_hand == 4


@pytest.mark.parametrize(
    "change, error, code",
    [
        pytest.param({"supplier": "NOPE"}, NotFound, "unknown_party", id="unknown_supplier"),
        pytest.param({"lines": [("NOPE", 1)]}, NotFound, "unknown_product", id="unknown_product"),
        pytest.param({"lines": [("WID-1", 0)]}, Invalid, "invalid_quantity", id="zero_quantity"),
        pytest.param({"lines": [("WID-1", 10_000_000)]}, Invalid, "invalid_field", id="quantity_too_large"),
        pytest.param({"lines": []}, Invalid, "invalid_field", id="no_lines"),
        pytest.param({"reference": "ORDER 7"}, Invalid, "invalid_field", id="reference_not_scannable"),
        pytest.param({"reference": "PO-1"}, Conflict, "duplicate", id="duplicate_reference"),
    ],
)
def test_purchase_order_refused(session, world, change, error, code):
    """Guards against purchase orders that could never be scanned or received against."""
    make_order(session, reference="PO-1")
    session.commit()
    data = {"reference": "PO-2", "supplier": "ACME", "lines": [("WID-1", 1)], **change}
    with pytest.raises(error) as exc:
        documents.create_purchase_order(session, **data, pattern=PO_PATTERN)
    assert exc.value.code == code
    session.rollback()
    assert count(session, Document) == 1


def test_purchase_order_is_not_posted(session, world):
    """Guards against a purchase order itself moving stock."""
    order = make_order(session)
    with pytest.raises(Refusal):
        posting.post(session, order)
    assert count(session, Movement) == 0
