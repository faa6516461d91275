"""SPEC 3 rules 5 and 6 (customer and supplier returns), on SQLite and PostgreSQL.

Rule 5: a customer return needs a serial with a customer; it comes back into
stock, its customer is cleared, and the history keeps who had it.
Rule 6: a supplier return needs a serial in stock; it leaves stock.
"""
from __future__ import annotations

import pytest
from helpers.world import make_world, refused_unwritten, takes_only_the_stock

from station.domain import catalogue, documents, posting, serials, stock
from station.domain.models import DocumentKind


@pytest.fixture
def world(session):
    """A serialised product, a product without serials, a supplier and a customer."""
    return make_world(session, "widget", "bulk", "acme", "bob")


def receive(session, w, *serial_texts):
    doc = documents.open_document(session, DocumentKind.receipt, supplier=w.acme)
    for text in serial_texts:
        documents.add_line(session, doc, product=w.widget, serial=text)
    posting.post(session, doc)


def post_one(session, kind, serial=None, **kwargs):
    doc = documents.open_document(session, kind, station="till", **kwargs)
    documents.add_line(session, doc, serial=serial)
    posting.post(session, doc)
    return doc


# --- rule 5 ------------------------------------------------------------------------------------


def test_customer_return_brings_it_back_and_clears_the_customer(session, world):
    """Guards against a returned serial still marked as the customer's, or a history that forgets who had it."""
    receive(session, world, "SN-1")
    post_one(session, DocumentKind.sale, "SN-1", customer=world.bob)
    ret = post_one(session, DocumentKind.customer_return, "SN-1")
    session.commit()
    record = serials.get_serial(session, "SN-1")
    assert (record.in_stock, record.customer, record.supplier) == (True, None, world.acme)
    assert catalogue.on_hand(session, world.widget) == 1
    entries, _ = serials.history(session, record)
    last = entries[-1].movement
    assert (last.kind.value, last.quantity, last.document_id, last.customer_code) == (
        "customer_return", 1, ret.id, world.bob.code)
    assert stock.check(session) == []


def _never_sold(session, w):
    receive(session, w, "SN-1")


def _returned_already(session, w):
    receive(session, w, "SN-1")
    post_one(session, DocumentKind.sale, "SN-1", customer=w.bob)
    post_one(session, DocumentKind.customer_return, "SN-1")


def _hand_made(session, w):
    serials.create_serial(session, "SN-1", product="WID-1")


def _unknown(session, w):
    pass


def test_customer_set_by_hand_can_return(session, world):
    """Guards against refusing the return of a serial whose buyer was recorded by the supervisor."""
    serials.create_serial(session, "OLD-1", product="WID-1", customer="BOB")
    post_one(session, DocumentKind.customer_return, "OLD-1")
    session.commit()
    record = serials.get_serial(session, "OLD-1")
    assert record.in_stock and record.customer is None
    assert stock.check(session) == []


def test_unserialised_customer_return(session, world):
    """Guards against refusing a return of a product sold without serials."""
    doc = documents.open_document(session, DocumentKind.customer_return, customer=world.bob)
    documents.add_line(session, doc, product=world.bulk, quantity=2)
    posting.post(session, doc)
    session.commit()
    assert world.bulk.unserialised_on_hand == 2
    assert stock.check(session) == []


# --- rule 6 ------------------------------------------------------------------------------------


def test_supplier_return_takes_it_out_of_stock(session, world):
    """Guards against a serial sent back to the supplier still counted in stock."""
    receive(session, world, "SN-1", "SN-2")
    back = post_one(session, DocumentKind.supplier_return, "SN-1", supplier=world.acme)
    session.commit()
    record = serials.get_serial(session, "SN-1")
    assert (record.in_stock, record.customer, record.supplier) == (False, None, world.acme)
    assert catalogue.on_hand(session, world.widget) == 1
    last = serials.history(session, record)[0][-1].movement
    assert (last.kind.value, last.quantity, last.document_id, last.supplier_code) == (
        "supplier_return", -1, back.id, world.acme.code)
    assert stock.check(session) == []


def _sold(session, w):
    receive(session, w, "SN-1")
    post_one(session, DocumentKind.sale, "SN-1", customer=w.bob)


def _sent_back(session, w):
    receive(session, w, "SN-1")
    post_one(session, DocumentKind.supplier_return, "SN-1", supplier=w.acme)


#: What each return refuses, and with which code: a customer return a unit nobody bought (rule 5), a supplier
#: return one we do not have (rule 6).
CUSTOMER = (DocumentKind.customer_return, "serial_no_customer")
SUPPLIER = (DocumentKind.supplier_return, "serial_not_in_stock")


@pytest.mark.parametrize(
    "refusing, arrange",
    [
        pytest.param(CUSTOMER, _never_sold, id="customer_in_stock_never_sold"),
        pytest.param(CUSTOMER, _returned_already, id="customer_returned_already"),
        pytest.param(CUSTOMER, _hand_made, id="customer_hand_made_no_customer"),
        pytest.param(CUSTOMER, _unknown, id="customer_unknown_serial"),
        pytest.param(SUPPLIER, _sold, id="supplier_sold"),
        pytest.param(SUPPLIER, _sent_back, id="supplier_sent_back_already"),
        pytest.param(SUPPLIER, _hand_made, id="supplier_hand_made_never_in_stock"),
        pytest.param(SUPPLIER, _unknown, id="supplier_unknown_serial"),
    ],
)
def test_a_return_refuses_a_unit_it_cannot_take(session, world, refusing, arrange):
    """Guards rules 5 and 6: a customer "return" of a unit nobody had sold (stock counted twice), and a supplier
    return of a unit we do not have (stock going negative), are refused: no line, no movement."""
    kind, code = refusing
    arrange(session, world)
    session.commit()
    party = {"customer": world.bob} if kind is DocumentKind.customer_return else {"supplier": world.acme}
    refused_unwritten(session, documents.open_document(session, kind, **party), code, serial="SN-1")


def test_unserialised_supplier_return_needs_units(session, world):
    """Guards against sending back more unserialised units than are in stock."""
    doc = documents.open_document(session, DocumentKind.receipt, supplier=world.acme)
    documents.add_line(session, doc, product=world.bulk, quantity=2)
    posting.post(session, doc)
    back = documents.open_document(session, DocumentKind.supplier_return, supplier=world.acme)
    takes_only_the_stock(session, back, world.bulk, too_many=3, rest=2)
