"""SPEC 3 rules 1 and 10: serial records and their history, on SQLite and PostgreSQL.

Rule 1: a serial is created with only its text; product, customer and supplier
are changed afterwards; ``in_stock`` is never writable; an in-stock serial
changing product moves between the products' stock by an adjustment pair; a
customer only while the serial is not in stock.
Rule 10: the history lists every movement oldest first with its details, plus
the refused scans of that serial, and can be paged.
"""
from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from helpers.database import count
from sqlalchemy import func, select

from station.domain import catalogue, documents, posting, serials, stock
from station.domain.errors import Conflict, Invalid, NotFound, Refusal
from station.domain.models import Document, DocumentKind, Movement, ScanLog, SerialNumber


@pytest.fixture
def world(session):
    """Two serialised products (one with a UPC-A barcode), two suppliers and two customers."""
    w = SimpleNamespace(
        widget=catalogue.create_product(session, "WID-1", "Widget", barcodes=["036000291452"]),
        gadget=catalogue.create_product(session, "GAD-1", "Gadget"),
        acme=catalogue.create_party(session, "supplier", "ACME", "Acme Ltd"),
        other=catalogue.create_party(session, "supplier", "OTHER", "Other Ltd"),
        bob=catalogue.create_party(session, "customer", "BOB", "Bob"),
        eve=catalogue.create_party(session, "customer", "EVE", "Eve"),
    )
    session.commit()
    return w


def receive(session, product, *serial_texts, supplier=None, station="goods-in", user=None):
    doc = documents.open_document(session, DocumentKind.receipt, station=station, user=user, supplier=supplier)
    for text in serial_texts:
        documents.add_line(session, doc, product=product, serial=text)
    posting.post(session, doc)
    return doc


def sell(session, text, customer, station="till", user=None):
    doc = documents.open_document(session, DocumentKind.sale, station=station, user=user, customer=customer)
    documents.add_line(session, doc, serial=text)
    posting.post(session, doc)
    return doc


# --- rule 1: creating a serial -------------------------------------------------------------


def test_serial_created_with_only_its_number(session, world):
    """Guards against requiring a product, customer or supplier to create a serial."""
    record = serials.create_serial(session, "  HM-1  ")
    session.commit()
    assert record.serial == "HM-1"  # stored as scanned, surrounding space trimmed
    assert (record.product, record.customer, record.supplier, record.in_stock) == (None, None, None, False)
    assert count(session, Movement) == 0


@pytest.mark.parametrize(
    "data, code, error",
    [
        pytest.param({"serial": ""}, "invalid_serial", Invalid, id="empty"),
        pytest.param({"serial": "   "}, "invalid_serial", Invalid, id="only_space"),
        pytest.param({"serial": "X" * 65}, "invalid_serial", Invalid, id="over_64_characters"),
        pytest.param({"serial": "SN\x07-1"}, "invalid_serial", Invalid, id="control_character"),
        pytest.param({"serial": "SN\x85-1"}, "invalid_serial", Invalid, id="c1_control_character"),
        pytest.param({"serial": "CMD:FINISH"}, "invalid_serial", Invalid, id="command_prefix"),
        pytest.param({"serial": "sup:ACME"}, "invalid_serial", Invalid, id="supplier_prefix_any_case"),
        pytest.param({"serial": "CUS:BOB"}, "invalid_serial", Invalid, id="customer_prefix"),
        pytest.param({"serial": "PO-1042"}, "invalid_serial", Invalid, id="document_pattern"),
        pytest.param({"serial": "036000291452"}, "invalid_serial", Refusal, id="equals_product_barcode"),
        pytest.param({"serial": "0036000291452"}, "invalid_serial", Refusal, id="equals_barcode_other_gtin_form"),
        pytest.param({"serial": "SN-1", "product": "NOPE"}, "unknown_product", NotFound, id="unknown_product"),
        pytest.param({"serial": "SN-1", "supplier": "NOPE"}, "unknown_party", NotFound, id="unknown_supplier"),
    ],
)
def test_create_serial_refused(session, world, data, code, error):
    """Guards against storing a serial that could never be scanned, or one with a forced in_stock."""
    with pytest.raises(error) as exc:
        serials.create_serial(session, **data, pattern=re.compile(r"^PO-\d+$"))
    assert exc.value.code == code
    session.commit()
    assert session.scalar(select(func.count()).select_from(SerialNumber)) == 0


def test_duplicate_serial_is_a_conflict(session, world):
    """Guards against two records for one serial (the serial is unique in the whole database)."""
    serials.create_serial(session, "SN-1")
    with pytest.raises(Conflict) as exc:
        serials.create_serial(session, " SN-1")
    assert exc.value.code == "duplicate"


def test_product_customer_supplier_changed_afterwards(session, world):
    """Guards against product, customer or supplier being settable only at creation."""
    record = serials.create_serial(session, "HM-1")
    serials.update_serial(session, record, product="WID-1", customer="BOB", supplier="ACME")
    session.commit()
    assert (record.product, record.customer, record.supplier) == (world.widget, world.bob, world.acme)
    serials.update_serial(session, record, product=None, customer=None, supplier=None)
    session.commit()
    assert (record.product, record.customer, record.supplier) == (None, None, None)
    assert count(session, Movement) == 0  # a serial not in stock changes product without movements


def test_product_change_of_in_stock_serial_is_an_adjustment_pair(session, world):
    """Guards against product counts going wrong when an in-stock serial changes product."""
    receive(session, world.widget, "SN-1", "SN-2", supplier=world.acme)
    record = serials.get_serial(session, "SN-1")
    assert (catalogue.on_hand(session, world.widget), catalogue.on_hand(session, world.gadget)) == (2, 0)

    serials.update_serial(session, record, product="GAD-1", station="office", user="sue")
    session.commit()

    assert record.product is world.gadget and record.in_stock
    assert (catalogue.on_hand(session, world.widget), catalogue.on_hand(session, world.gadget)) == (1, 1)
    assert catalogue.serials_in_stock(session, world.gadget) == 1
    entries, total = serials.history(session, record)
    assert total == 3
    assert [(e.kind, e.movement.quantity, e.movement.product_code) for e in entries] == [
        ("receipt", 1, "WID-1"),
        ("adjustment", -1, "WID-1"),
        ("adjustment", 1, "GAD-1"),
    ]
    assert {(e.movement.station, e.movement.user) for e in entries[1:]} == {("office", "sue")}
    assert all(e.movement.document_reason for e in entries[1:])
    assert stock.check(session) == []


def test_product_change_refused_while_on_open_document(session, world):
    """Guards against a serial changing product under an open sale or receipt line."""
    receive(session, world.widget, "SN-1", supplier=world.acme)
    sale = documents.open_document(session, DocumentKind.sale, customer=world.bob)
    documents.add_line(session, sale, serial="SN-1")
    record = serials.get_serial(session, "SN-1")
    with pytest.raises(Refusal) as exc:
        serials.update_serial(session, record, product="GAD-1")
    assert exc.value.code == "serial_on_open_document"
    assert sale.reference in exc.value.message
    assert record.product is world.widget


def test_customer_only_when_not_in_stock(session, world):
    """Guards against an in-stock serial being marked as someone's (rule 1: serial_in_stock)."""
    receive(session, world.widget, "SN-1", supplier=world.acme)
    record = serials.get_serial(session, "SN-1")
    with pytest.raises(Refusal) as exc:
        serials.update_serial(session, record, customer="BOB")
    assert exc.value.code == "serial_in_stock"
    session.commit()
    assert record.customer is None

    sell(session, "SN-1", world.bob)
    serials.update_serial(session, record, customer="EVE")  # out of stock: allowed
    session.commit()
    assert record.customer is world.eve and not record.in_stock


@pytest.mark.parametrize(
    "data, code",
    [
        pytest.param({"supplier": "ACME", "product": "NOPE"}, "unknown_product", id="unknown_product_after_supplier"),
        pytest.param({"customer": "BOB", "supplier": "NOPE"}, "unknown_party", id="unknown_supplier_after_customer"),
    ],
)
def test_refused_edit_writes_nothing(session, world, data, code):
    """Guards against a refused edit leaving half of its changes behind (a Refusal writes nothing)."""
    record = serials.create_serial(session, "HM-1")
    session.commit()
    with pytest.raises(Refusal) as exc:
        serials.update_serial(session, record, **data)
    assert exc.value.code == code
    session.commit()  # a caller that logs the refusal and commits keeps nothing of the edit
    session.expire_all()
    assert (record.product, record.customer, record.supplier) == (None, None, None)


# --- rule 10: history ------------------------------------------------------------------------


def test_history_oldest_first_with_details_and_refused_scans(session, world):
    """Guards against a history out of order, missing who/where, or hiding refused scans of the serial."""
    receive(session, world.widget, "SN-1", supplier=world.acme, station="goods-in", user="ann")
    sale = sell(session, "SN-1", world.bob, station="till", user="tom")
    ret = documents.open_document(session, DocumentKind.customer_return, station="till", user="tom")
    documents.add_line(session, ret, serial="SN-1")
    posting.post(session, ret)
    session.commit()
    record = serials.get_serial(session, "SN-1")
    moves = session.scalars(select(Movement).where(Movement.serial_id == record.id).order_by(Movement.id)).all()
    between = moves[0].at + (moves[1].at - moves[0].at) / 2
    after = moves[2].at + timedelta(seconds=1)
    session.add_all([
        ScanLog(at=between, station="till", device="kbd0", raw="SN-1", read_as="serial", serial_text="SN-1",
                accepted=False, code="serial_in_stock", message="Serial SN-1 is in stock already."),
        ScanLog(at=after, station="goods-in", device="kbd1", raw="SN-1", read_as="serial", serial_text="SN-1",
                accepted=False, code="serial_in_stock", message="refused again"),
        # Neither of these belongs in SN-1's history: accepted, or another serial.
        ScanLog(at=between, station="till", device="kbd0", raw="SN-1", read_as="serial", serial_text="SN-1",
                accepted=True, message="Sold."),
        ScanLog(at=between, station="till", device="kbd0", raw="SN-2", read_as="serial", serial_text="SN-2",
                accepted=False, code="unknown_barcode", message="Unknown"),
    ])
    session.commit()

    entries, total = serials.history(session, record)
    assert total == 5
    assert [e.kind for e in entries] == ["receipt", "refused_scan", "sale", "customer_return", "refused_scan"]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    receipt, refused, sold, returned, refused_later = entries
    m = receipt.movement
    assert (m.station, m.user, m.supplier_code, m.customer_code, m.quantity) == (
        "goods-in", "ann", world.acme.code, None, 1)
    assert m.document_kind == DocumentKind.receipt and m.document_reference.startswith("R-")
    m = sold.movement
    assert (m.station, m.user, m.customer_code, m.document_id, m.document_reference, m.quantity) == (
        "till", "tom", world.bob.code, sale.id, sale.reference, -1)
    assert returned.movement.customer_code == world.bob.code  # the history keeps who had it
    assert refused.scan.code == "serial_in_stock" and refused.movement is None
    assert refused_later.scan.message == "refused again"


ALL_KINDS = ["receipt", "sale", "customer_return", "sale", "customer_return", "supplier_return"]


@pytest.mark.parametrize(
    "page, per_page, kinds",
    [
        pytest.param(1, 2, ALL_KINDS[0:2], id="first_page"),
        pytest.param(2, 2, ALL_KINDS[2:4], id="middle_page"),
        pytest.param(2, 4, ALL_KINDS[4:6], id="last_page_short"),
        pytest.param(4, 2, [], id="past_the_end"),
        pytest.param(0, 2, ALL_KINDS[0:2], id="page_zero_is_first"),
        pytest.param(1, 50, ALL_KINDS, id="one_page"),
    ],
)
def test_history_paging(session, world, page, per_page, kinds):
    """Guards against pages that overlap, skip entries or lose the total."""
    receive(session, world.widget, "SN-1", supplier=world.acme)
    for customer in (world.bob, world.eve):
        sell(session, "SN-1", customer)
        ret = documents.open_document(session, DocumentKind.customer_return)
        documents.add_line(session, ret, serial="SN-1")
        posting.post(session, ret)
    back = documents.open_document(session, DocumentKind.supplier_return, supplier=world.acme)
    documents.add_line(session, back, serial="SN-1")
    posting.post(session, back)
    session.commit()
    record = serials.get_serial(session, "SN-1")
    entries, total = serials.history(session, record, page=page, per_page=per_page)
    assert total == len(ALL_KINDS)
    assert [e.kind for e in entries] == kinds
    if kinds == ALL_KINDS[2:4]:
        assert [e.movement.customer_code for e in entries] == [world.bob.code, world.eve.code]


def test_history_of_unmoved_serial_is_empty(session, world):
    """Guards against a history failing, or inventing entries, for a serial that never moved."""
    record = serials.create_serial(session, "HM-1")
    assert serials.history(session, record) == ([], 0)
    assert session.scalar(select(func.count()).select_from(Document)) == 0
