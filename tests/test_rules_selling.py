"""SPEC 3 rule 4 (selling), on SQLite and PostgreSQL.

Every sold unit of a ``serial_required_for_sales`` product needs a serial of
that product, with no customer, on no other open document. A serial never in
stock is sold by taking one unserialised unit (an adjustment pair, then the
sale) without switching any product flag; a serial that left stock, or one
with no unserialised unit to take, is refused with ``serial_not_in_stock``
and a message that says how to fix it. Posting sets the customer.
"""
from __future__ import annotations

import pytest
from helpers.database import count
from helpers.world import make_world, refused_unwritten, takes_only_the_stock
from sqlalchemy import select

from station.domain import catalogue, documents, posting, serials, stock
from station.domain.errors import Refusal
from station.domain.models import Document, DocumentKind, Movement, SerialNumber


@pytest.fixture
def world(session):
    """Serialised products, one received by quantity (no serial at purchase), a supplier, customers."""
    return make_world(session, "widget", "gadget", "loose", "bulk", "acme", "bob", "eve")


def receive(session, product, *serial_texts, quantity=0, supplier=None):
    doc = documents.open_document(session, DocumentKind.receipt, station="goods-in", supplier=supplier)
    for text in serial_texts:
        documents.add_line(session, doc, product=product, serial=text)
    if quantity:
        documents.add_line(session, doc, product=product, quantity=quantity)
    posting.post(session, doc)
    return doc


def flags(product) -> tuple[bool, bool]:
    return product.serial_required_for_purchase, product.serial_required_for_sales


def test_in_stock_serial_leaves_stock_and_takes_the_customer(session, world):
    """Guards against a sold serial staying in stock or not saying who bought it."""
    receive(session, world.widget, "SN-1", "SN-2", supplier=world.acme)
    sale = documents.open_document(session, DocumentKind.sale, station="till", customer=world.bob)
    line = documents.add_line(session, sale, serial="SN-1")  # the serial alone names its product
    assert line.product.id == world.widget.id
    documents.add_line(session, sale, product=world.widget, serial="SN-2")
    assert serials.get_serial(session, "SN-1").customer is None  # a line is not yet a sale
    posting.post(session, sale)
    session.commit()
    for text in ("SN-1", "SN-2"):
        record = serials.get_serial(session, text)
        assert (record.in_stock, record.customer, record.supplier) == (False, world.bob, world.acme)
    assert catalogue.on_hand(session, world.widget) == 0
    moves = session.scalars(select(Movement).where(Movement.document_id == sale.id)).all()
    assert {(m.kind.value, m.quantity, m.customer.code, m.station) for m in moves} == {("sale", -1, "BOB", "till")}
    assert stock.check(session) == []


def _serial_required(session, w, sale):
    return {"product": w.widget}


def _wrong_product(session, w, sale):
    return {"product": w.gadget, "serial": "SN-1"}


def _has_customer(session, w, sale):
    earlier = documents.open_document(session, DocumentKind.sale, customer=w.eve)
    documents.add_line(session, earlier, serial="SN-1")
    posting.post(session, earlier)
    return {"serial": "SN-1"}


def _on_other_open_sale(session, w, sale):
    other = documents.open_document(session, DocumentKind.sale, station="till-2", customer=w.eve)
    documents.add_line(session, other, serial="SN-1")
    return {"serial": "SN-1"}


def _twice_on_this_sale(session, w, sale):
    documents.add_line(session, sale, serial="SN-1")
    return {"serial": "SN-1"}


def _unknown_serial_alone(session, w, sale):
    return {"serial": "NEVER-SEEN"}


@pytest.mark.parametrize(
    "arrange, code, words",
    [
        pytest.param(_serial_required, "serial_required", "serial", id="serial_required"),
        pytest.param(_wrong_product, "serial_wrong_product", "Widget", id="serial_of_another_product"),
        pytest.param(_has_customer, "serial_has_customer", "Eve", id="serial_has_customer"),
        pytest.param(_on_other_open_sale, "serial_on_open_document", "till-2", id="on_another_open_document"),
        pytest.param(_twice_on_this_sale, "serial_on_open_document", "this document", id="twice_on_this_sale"),
        pytest.param(_unknown_serial_alone, "product_required", "product", id="unknown_serial_without_product"),
    ],
)
def test_sale_refused(session, world, arrange, code, words):
    """Guards against selling a unit without its serial, the wrong product's serial, or one serial twice."""
    receive(session, world.widget, "SN-1", supplier=world.acme)
    sale = documents.open_document(session, DocumentKind.sale, station="till", customer=world.bob)
    session.commit()
    kwargs = arrange(session, world, sale)
    session.commit()
    assert words in refused_unwritten(session, sale, code, **kwargs).message


@pytest.mark.parametrize(
    "made",
    [
        pytest.param("by_hand", id="created_by_hand"),
        pytest.param("first_seen_at_sale", id="first_seen_at_the_sale"),
    ],
)
def test_serial_never_in_stock_sold_from_an_unserialised_unit(session, world, made):
    """Guards against the flag-toggling workaround: a serial never in stock sells by taking one unserialised unit."""
    receive(session, world.loose, quantity=3, supplier=world.acme)
    if made == "by_hand":
        record = serials.create_serial(session, "HM-1")
        serials.update_serial(session, record, product="LOOSE", supplier="ACME")
    session.commit()
    before = flags(world.loose)
    assert before == (False, True)

    sale = documents.open_document(session, DocumentKind.sale, station="till", customer=world.bob)
    documents.add_line(session, sale, product=world.loose, serial="HM-1")
    assert flags(world.loose) == before
    posting.post(session, sale)
    session.commit()
    session.expire_all()

    assert flags(world.loose) == before  # neither flag touched, not even for a moment that was committed
    record = serials.get_serial(session, "HM-1")
    assert (record.product, record.customer, record.in_stock) == (world.loose, world.bob, False)
    assert world.loose.unserialised_on_hand == 2
    assert catalogue.on_hand(session, world.loose) == 2
    moves = session.scalars(select(Movement).where(Movement.document_id == sale.id).order_by(Movement.id)).all()
    assert [(m.kind.value, m.quantity, m.serial is not None) for m in moves] == [
        ("adjustment", -1, False),  # one unserialised unit out...
        ("adjustment", 1, True),    # ...becomes the serial...
        ("sale", -1, True),         # ...which leaves by the sale
    ]
    entries, _ = serials.history(session, record)
    assert [(e.kind, e.movement.quantity) for e in entries] == [("adjustment", 1), ("sale", -1)]
    assert stock.check(session) == []


@pytest.mark.parametrize(
    "stock_units, pending",
    [
        pytest.param(0, 0, id="none_received"),
        pytest.param(1, 1, id="last_unit_taken_by_an_earlier_line"),
    ],
)
def test_no_unserialised_unit_left(session, world, stock_units, pending):
    """Guards against selling a serial out of thin air, and against a refusal that does not say how to fix it."""
    if stock_units:
        receive(session, world.loose, quantity=stock_units, supplier=world.acme)
    serials.create_serial(session, "HM-1", product="LOOSE")
    sale = documents.open_document(session, DocumentKind.sale, customer=world.bob)
    if pending:
        documents.add_line(session, sale, product=world.loose, serial="HM-0")
    session.commit()
    before = flags(world.loose)
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, sale, serial="HM-1")
    assert exc.value.code == "serial_not_in_stock"
    message = exc.value.message.lower()
    assert "receive" in message and "adjust" in message
    assert flags(world.loose) == before
    assert len(sale.lines) == pending


def _returned_to_supplier(session, w):
    back = documents.open_document(session, DocumentKind.supplier_return, supplier=w.acme)
    documents.add_line(session, back, serial="SN-1")
    posting.post(session, back)


def _adjusted_out(session, w):
    serials.adjust_serial(session, serials.get_serial(session, "SN-1"), "out", "lost in the warehouse")


@pytest.mark.parametrize(
    "leave",
    [
        pytest.param(_returned_to_supplier, id="returned_to_supplier"),
        pytest.param(_adjusted_out, id="adjusted_out"),
    ],
)
def test_serial_that_left_stock_is_not_sold(session, world, leave):
    """Guards against selling a serial that left stock by taking some other unserialised unit for it."""
    receive(session, world.loose, "SN-1", quantity=5, supplier=world.acme)
    leave(session, world)
    session.commit()
    sale = documents.open_document(session, DocumentKind.sale, customer=world.bob)
    with pytest.raises(Refusal) as exc:
        documents.add_line(session, sale, serial="SN-1")
    assert exc.value.code == "serial_not_in_stock"
    assert "receive" in exc.value.message and "adjust" in exc.value.message
    assert world.loose.unserialised_on_hand == 5


def test_serial_sold_after_a_customer_return(session, world):
    """Guards against a returned serial that can never be sold again, or keeps its first buyer."""
    receive(session, world.widget, "SN-1", supplier=world.acme)
    for customer in (world.bob, world.eve):
        sale = documents.open_document(session, DocumentKind.sale, customer=customer)
        documents.add_line(session, sale, serial="SN-1")
        posting.post(session, sale)
        if customer is world.bob:
            ret = documents.open_document(session, DocumentKind.customer_return)
            documents.add_line(session, ret, serial="SN-1")
            posting.post(session, ret)
    session.commit()
    assert serials.get_serial(session, "SN-1").customer is world.eve
    assert stock.check(session) == []


def test_unserialised_sale_by_quantity(session, world):
    """Guards against needing serials for a product sold by quantity, or selling more than is in stock."""
    receive(session, world.bulk, quantity=3, supplier=world.acme)
    sale = documents.open_document(session, DocumentKind.sale, customer=world.bob)
    documents.add_line(session, sale, product=world.bulk, quantity=2)
    takes_only_the_stock(session, sale, world.bulk, too_many=2, rest=1)
    assert count(session, SerialNumber) == 0


def test_refused_sale_line_leaves_no_document_change(session, world):
    """Guards against a refused line that still lands on the document when the caller commits."""
    serials.create_serial(session, "HM-1", product="WID-1")
    sale = documents.open_document(session, DocumentKind.sale, customer=world.bob)
    session.commit()
    with pytest.raises(Refusal):
        documents.add_line(session, sale, serial="HM-1")
    session.commit()
    session.expire_all()
    assert sale.lines == []
    assert count(session, Document) == 1
