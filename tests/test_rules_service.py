"""SPEC 3b rules 11-14 (the service desk) through the domain, on SQLite and PostgreSQL.

Rule 11: a check-in needs a serial with a customer; it stays theirs, out of
our stock, and is in service from the posting on (``service_in``, quantity 0);
one check-in holds one customer's serials. Rule 12: a check-out needs a serial
in service (``service_out``, quantity 0). Rule 13: a replacement on a
check-out line is of the same product, in stock, on no other open document;
the faulty serial becomes ours, faulty, out of stock, never sold again, and
leaves by a supplier return or an adjustment out; the new one goes to the
customer (quantity -1) with the later warranty end. Rule 14: a serial in
service is not sold, returned or received. ``station check`` agrees after
every flow, and reports each of the new materialised figures when tampered.
"""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import Date, DateTime, bindparam, select, text

from station.domain import catalogue, document_record, documents, posting, serials, service_desk, stock
from station.domain.errors import Refusal
from station.domain.models import Document, DocumentKind, Movement
from station.domain.stock import Difference
from station.domain.warranty import add_months, utc_today
from station.interchange import representation


@pytest.fixture
def w(session):
    """A phone with 24 months of warranty, a cable with none, a supplier, Jane and Bob; phones in stock, some sold."""
    w = SimpleNamespace(
        phone=catalogue.create_product(session, "PHONE", "Phone", warranty_months=24),
        tablet=catalogue.create_product(session, "TAB", "Tablet", warranty_months=12),
        cable=catalogue.create_product(session, "CABLE", "Cable"),
        acme=catalogue.create_party(session, "supplier", "ACME", "Acme Ltd"),
        jane=catalogue.create_party(session, "customer", "JANE", "Jane Doe"),
        bob=catalogue.create_party(session, "customer", "BOB", "Bob"),
    )
    receive(session, w.acme, w.phone, "SN-1", "SN-2", "SN-3", "SN-9", "SN-8", "SN-B")
    receive(session, w.acme, w.tablet, "TB-1")
    receive(session, w.acme, w.cable, "CB-1")
    sell(session, w.jane, "SN-1", "SN-2", "SN-3", "CB-1")
    sell(session, w.bob, "SN-B")
    session.commit()
    return w


def receive(session, supplier, product, *texts):
    doc = documents.open_document(session, DocumentKind.receipt, supplier=supplier)
    for t in texts:
        documents.add_line(session, doc, product=product, serial=t)
    posting.post(session, doc)


def sell(session, customer, *texts):
    doc = documents.open_document(session, DocumentKind.sale, customer=customer)
    for t in texts:
        documents.add_line(session, doc, serial=t)
    posting.post(session, doc)


def check_in(session, *texts, customer=None) -> Document:
    doc = documents.open_document(session, DocumentKind.service_check_in, station="desk", customer=customer)
    for t in texts:
        service_desk.add_unit(session, doc, serial=t)
    posting.post(session, doc)
    return doc


def check_out(session, *units, customer=None) -> Document:
    """``units``: serials, or (faulty, replacement) pairs."""
    doc = documents.open_document(session, DocumentKind.service_check_out, station="desk", customer=customer)
    for unit in units:
        faulty, replacement = unit if isinstance(unit, tuple) else (unit, None)
        service_desk.add_unit(session, doc, serial=faulty)
        if replacement is not None:
            service_desk.add_replacement(session, doc, serial=replacement)
    posting.post(session, doc)
    return doc


def record(session, text):
    session.expire_all()
    return serials.get_serial(session, text)


def state(session, text):
    r = record(session, text)
    return (representation.status(serials.record_by_id(session, r.id)), r.in_stock, r.in_service,
            r.customer.code if r.customer else None)


def kinds(session, text):
    r = record(session, text)
    return [(m.kind.value, m.quantity) for m in session.scalars(
        select(Movement).where(Movement.serial_id == r.id).order_by(Movement.id))]


# Typed binds: the database driver's own date adapters differ (and sqlite3's are deprecated).
SET_END = text("UPDATE serial_number SET warranty_until = :d WHERE serial = :serial").bindparams(
    bindparam("d", type_=Date))


def refused(code, call, *args, **kwargs):
    with pytest.raises(Refusal) as exc:
        call(*args, **kwargs)
    assert exc.value.code == code, exc.value
    assert exc.value.message.strip()
    return exc.value


# --- rule 11 -------------------------------------------------------------------------------------

def test_check_in_keeps_the_customer_and_puts_it_in_service(session, w):
    """Guards rule 11: a checked-in unit stays its customer's, out of our stock, in service, by a movement of 0."""
    doc = check_in(session, "SN-1", "SN-2")
    session.commit()
    assert state(session, "SN-1") == ("in_service", False, True, "JANE")
    assert kinds(session, "SN-1")[-1] == ("service_in", 0)
    assert session.get(Document, doc.id).customer.code == "JANE"  # taken from its first unit
    assert doc.reference.startswith("SI-")
    assert catalogue.on_hand(session, w.phone) == 2  # SN-9 and SN-8: no unit came into stock
    assert stock.check(session) == []


def _faulty(s, w):
    check_in(s, "SN-1")
    check_out(s, ("SN-1", "SN-9"))


@pytest.mark.parametrize("setup, text_, code", [
    pytest.param(lambda s, w: None, "SN-9", "serial_no_customer", id="in_stock_nobody_s"),
    pytest.param(lambda s, w: serials.create_serial(s, "HM-1", product="PHONE"), "HM-1", "serial_no_customer",
                 id="never_sold"),
    pytest.param(_faulty, "SN-1", "serial_no_customer", id="faulty_and_ours"),
    pytest.param(lambda s, w: check_in(s, "SN-1"), "SN-1", "serial_in_service", id="checked_in_already"),
])
def test_check_in_refuses_a_unit_not_with_a_customer(session, w, setup, text_, code):
    """Guards rule 11: only a customer's unit is checked in, and never twice."""
    setup(session, w)
    doc = documents.open_document(session, DocumentKind.service_check_in)
    refused(code, service_desk.add_unit, session, doc, serial=text_)


def test_one_check_in_holds_one_customer_s_units(session, w):
    """Guards rule 11 and ERPNext #48590: a unit of another customer is refused, by scan or at posting."""
    doc = documents.open_document(session, DocumentKind.service_check_in, customer=w.jane)
    service_desk.add_unit(session, doc, serial="SN-1")
    error = refused("serial_wrong_customer", service_desk.add_unit, session, doc, serial="SN-B")
    assert "Bob" in error.message and "Jane Doe" in error.message
    # A document filled behind the desk's back (no customer named, lines of two customers) is refused at posting.
    other = documents.open_document(session, DocumentKind.service_check_in)
    documents.add_line(session, other, serial="SN-2")
    documents.add_line(session, other, serial="SN-B")
    refused("serial_wrong_customer", posting.post, session, other)


def test_a_named_customer_s_check_in_refuses_another_s_first_unit(session, w):
    """Guards SPEC 4: CUS: first, then the serial must be that customer's."""
    doc = documents.open_document(session, DocumentKind.service_check_in, customer=w.bob)
    refused("serial_wrong_customer", service_desk.add_unit, session, doc, serial="SN-1")
    service_desk.add_unit(session, doc, serial="SN-B")


def test_service_documents_take_serials_only(session, w):
    """Guards the desk against unserialised lines: a unit is checked in by its own serial."""
    doc = documents.open_document(session, DocumentKind.service_check_in)
    refused("serial_required", documents.add_line, session, doc, product=w.cable)


# --- rule 12 -------------------------------------------------------------------------------------

def test_check_out_gives_the_unit_back(session, w):
    """Guards rule 12: service_out of 0, the unit with its customer again, its warranty unchanged."""
    sold_until = record(session, "SN-1").warranty_until
    check_in(session, "SN-1")
    doc = check_out(session, "SN-1")
    session.commit()
    assert doc.reference.startswith("SO-")
    assert state(session, "SN-1") == ("with_customer", False, False, "JANE")
    assert kinds(session, "SN-1")[-2:] == [("service_in", 0), ("service_out", 0)]
    assert record(session, "SN-1").warranty_until == sold_until
    assert stock.check(session) == []


def test_check_out_refuses_a_unit_not_in_service(session, w):
    """Guards rule 12: serial_not_in_service, on the line and again at posting."""
    doc = documents.open_document(session, DocumentKind.service_check_out)
    refused("serial_not_in_service", service_desk.add_unit, session, doc, serial="SN-1")


# --- rule 13 -------------------------------------------------------------------------------------

def test_replacement_swaps_the_units(session, w):
    """Guards rule 13: the faulty unit is ours, faulty, out of stock, customer cleared; the new one the customer's."""
    check_in(session, "SN-1")
    doc = check_out(session, ("SN-1", "SN-9"))
    session.commit()
    assert state(session, "SN-1") == ("faulty", False, False, None)
    assert state(session, "SN-9") == ("with_customer", False, False, "JANE")
    assert kinds(session, "SN-1")[-2:] == [("service_in", 0), ("replaced", 0)]
    assert kinds(session, "SN-9")[-1] == ("replacement", -1)
    assert catalogue.on_hand(session, w.phone) == 1  # SN-8 only: the replacement left stock, the faulty never came in
    faulty = record(session, "SN-1")
    history = representation.serial(session, serials.record_by_id(session, faulty.id))["movements"]
    assert history[-1]["kind"] == "replaced" and history[-1]["replacement"] == "SN-9"
    assert history[-1]["party"] == {"code": "JANE", "name": "Jane Doe"}  # the history keeps who had it
    assert representation.serial(session, serials.record(session, "SN-9"))["movements"][-1]["replaces"] == "SN-1"
    lines = representation.document(session, document_record.by_id(session, doc.id))["lines"]
    assert [(line["serial"], line.get("replaces")) for line in lines] == [("SN-1", None), ("SN-9", "SN-1")]
    assert stock.check(session) == []


@pytest.mark.parametrize("replacement, code", [
    pytest.param("TB-1", "serial_wrong_product", id="another_product"),
    pytest.param("SN-B", "serial_has_customer", id="someone_else_s"),
    pytest.param("SN-2", "serial_has_customer", id="sold"),
    pytest.param("NEW-1", "serial_not_in_stock", id="unknown"),
    pytest.param("SN-1", "serial_on_open_document", id="itself"),
])
def test_replacement_must_be_a_free_unit_of_the_product_in_stock(session, w, replacement, code):
    """Guards rule 13's usual codes: same product, in stock, nobody's, on no other open document."""
    check_in(session, "SN-1")
    doc = documents.open_document(session, DocumentKind.service_check_out)
    service_desk.add_unit(session, doc, serial="SN-1")
    if replacement == "NEW-1":
        serials.create_serial(session, "NEW-1", product="PHONE")
    refused(code, service_desk.add_replacement, session, doc, serial=replacement)


def test_replacement_on_another_open_document_is_refused(session, w):
    """Guards rule 8 for replacements: a unit held by another open document cannot be handed out here."""
    sale = documents.open_document(session, DocumentKind.sale, customer=w.bob, station="till")
    documents.add_line(session, sale, serial="SN-9")
    check_in(session, "SN-1")
    doc = documents.open_document(session, DocumentKind.service_check_out)
    service_desk.add_unit(session, doc, serial="SN-1")
    error = refused("serial_on_open_document", service_desk.add_replacement, session, doc, serial="SN-9")
    assert sale.reference in error.message


def test_nothing_to_replace(session, w):
    """Guards CMD:REPLACE's domain side: a replacement follows a unit going back, one replacement each."""
    check_in(session, "SN-1")
    doc = documents.open_document(session, DocumentKind.service_check_out)
    refused("nothing_to_replace", service_desk.add_replacement, session, doc, serial="SN-9")
    service_desk.add_unit(session, doc, serial="SN-1")
    service_desk.add_replacement(session, doc, serial="SN-9")
    refused("nothing_to_replace", service_desk.add_replacement, session, doc, serial="SN-8")
    documents.undo_last_line(session, doc)  # the replacement taken away: SN-1 can have another
    service_desk.add_replacement(session, doc, serial="SN-8")
    posting.post(session, doc)
    assert state(session, "SN-8")[0] == "with_customer" and state(session, "SN-9")[0] == "in_stock"


def test_faulty_unit_is_never_sold_again_and_leaves_by_a_supplier_return(session, w):
    """Guards rule 13: serial_faulty at a sale, a receipt or an adjustment in; a supplier return takes it away."""
    check_in(session, "SN-1")
    check_out(session, ("SN-1", "SN-9"))
    sale = documents.open_document(session, DocumentKind.sale, customer=w.bob)
    refused("serial_faulty", documents.add_line, session, sale, serial="SN-1")
    receipt = documents.open_document(session, DocumentKind.receipt, supplier=w.acme)
    refused("serial_faulty", documents.add_line, session, receipt, product=w.phone, serial="SN-1")
    refused("serial_faulty", serials.adjust_serial, session, record(session, "SN-1"), "in", "found")
    refused("serial_faulty", serials.update_serial, session, record(session, "SN-1"), customer="BOB")
    back = documents.open_document(session, DocumentKind.supplier_return, supplier=w.acme)
    documents.add_line(session, back, serial="SN-1")
    posting.post(session, back)
    session.commit()
    assert state(session, "SN-1") == ("not_in_stock", False, False, None)
    assert kinds(session, "SN-1")[-1] == ("supplier_return", 0)  # it was not in our stock: it left our hands
    assert catalogue.on_hand(session, w.phone) == 1
    assert stock.check(session) == []


def test_faulty_unit_may_leave_by_an_adjustment_out(session, w):
    """Guards rule 13's other way out: an adjustment out (quantity 0), after which it is not_in_stock."""
    check_in(session, "SN-1")
    check_out(session, ("SN-1", "SN-9"))
    serials.adjust_serial(session, record(session, "SN-1"), "out", "scrapped")
    session.commit()
    assert state(session, "SN-1") == ("not_in_stock", False, False, None)
    assert kinds(session, "SN-1")[-1] == ("adjustment", 0)
    assert stock.check(session) == []


def test_replacement_keeps_the_later_warranty_end(session, w):
    """Guards rule 13 and ERPNext #41646: the customer keeps the faulty unit's end when it is later."""
    check_in(session, "SN-1", "SN-2")
    check_out(session, ("SN-1", "SN-9"))
    session.commit()
    today = utc_today()
    assert record(session, "SN-9").warranty_until == add_months(today, 24)  # sold today too: the same end
    # The faulty unit's warranty made longer (as a sale months ago under a longer term would): it is kept.
    later = add_months(today, 30)
    session.execute(text("UPDATE movement SET warranty_months = 30 WHERE kind = 'sale' AND serial_id = "
                         "(SELECT id FROM serial_number WHERE serial = 'SN-2')"))
    session.execute(SET_END.bindparams(serial="SN-2"), {"d": later})
    assert stock.check(session) == []
    check_out(session, ("SN-2", "SN-8"))
    session.commit()
    assert record(session, "SN-8").warranty_until == later
    assert stock.check(session) == []


def test_a_replacement_s_replacement_keeps_the_chain_s_end(session, w):
    """Guards station check's chain: a replacement replaced again still derives the end it was given."""
    session.execute(text("UPDATE movement SET warranty_months = 40 WHERE kind = 'sale' AND serial_id = "
                         "(SELECT id FROM serial_number WHERE serial = 'SN-1')"))
    session.execute(SET_END.bindparams(serial="SN-1"), {"d": add_months(utc_today(), 40)})
    check_in(session, "SN-1")
    check_out(session, ("SN-1", "SN-9"))
    check_in(session, "SN-9")
    check_out(session, ("SN-9", "SN-8"))
    session.commit()
    assert record(session, "SN-8").warranty_until == add_months(utc_today(), 40)
    assert stock.check(session) == []


def test_a_product_without_warranty_gives_none(session, w):
    """Guards SPEC 2: warranty_until is null when the product has no warranty, and when never sold."""
    assert record(session, "CB-1").warranty_until is None
    assert record(session, "SN-9").warranty_until is None
    assert record(session, "SN-1").warranty_until == add_months(utc_today(), 24)


def test_a_changed_warranty_term_applies_to_sales_from_then_on(session, w):
    """Guards the warranty given: a product's new term never rewrites what a sale gave (check stays clean)."""
    given = record(session, "SN-1").warranty_until
    catalogue.update_product(session, w.phone, warranty_months=6)
    sell(session, w.bob, "SN-9")
    session.commit()
    assert record(session, "SN-1").warranty_until == given
    assert record(session, "SN-9").warranty_until == add_months(utc_today(), 6)
    assert stock.check(session) == []


# --- rule 14 -------------------------------------------------------------------------------------

def test_a_unit_in_service_is_not_sold_returned_received_or_adjusted(session, w):
    """Guards rule 14: serial_in_service for every document but a check-out, and for a customer change."""
    check_in(session, "SN-1")
    for kind, party in ((DocumentKind.sale, {"customer": w.bob}), (DocumentKind.customer_return, {}),
                        (DocumentKind.supplier_return, {"supplier": w.acme}),
                        (DocumentKind.receipt, {"supplier": w.acme})):
        doc = documents.open_document(session, kind, **party)
        refused("serial_in_service", documents.add_line, session, doc, serial="SN-1",
                product=w.phone if kind == DocumentKind.receipt else None)
    refused("serial_in_service", serials.adjust_serial, session, record(session, "SN-1"), "in", "found")
    refused("serial_in_service", serials.update_serial, session, record(session, "SN-1"), customer="BOB")


def test_status_is_the_first_that_holds(session, w):
    """Guards SPEC 2's status order: in_service, faulty, in_stock, with_customer, not_in_stock."""
    serials.create_serial(session, "IDLE-1")
    check_in(session, "SN-1")
    check_in(session, "SN-2")
    check_out(session, ("SN-2", "SN-9"))
    session.commit()
    got = {t: representation.status(serials.record(session, t))
           for t in ("SN-1", "SN-2", "SN-8", "SN-3", "IDLE-1")}
    assert got == {"SN-1": "in_service", "SN-2": "faulty", "SN-8": "in_stock", "SN-3": "with_customer",
                   "IDLE-1": "not_in_stock"}
    summary = representation.serial_summary(serials.record(session, "SN-1"))
    assert (summary["in_service"], summary["status"], summary["warranty_until"]) == (
        True, "in_service", add_months(utc_today(), 24).isoformat())


# --- station check -------------------------------------------------------------------------------

SERIAL = "(SELECT id FROM serial_number WHERE serial = '{}')"


@pytest.mark.parametrize("tamper, expected", [
    pytest.param("UPDATE serial_number SET in_service = false WHERE serial = 'SN-3'",
                 [Difference("serial", "SN-3", 0, 1, "in_service")], id="in_service_cleared"),
    pytest.param("UPDATE serial_number SET in_service = true WHERE serial = 'SN-B'",
                 [Difference("serial", "SN-B", 1, 0, "in_service")], id="in_service_set"),
    pytest.param("UPDATE serial_number SET faulty = false WHERE serial = 'SN-1'",
                 [Difference("serial", "SN-1", 0, 1, "faulty")], id="faulty_cleared"),
    pytest.param("UPDATE serial_number SET faulty = true WHERE serial = 'SN-8'",
                 [Difference("serial", "SN-8", 1, 0, "faulty")], id="faulty_set"),
    pytest.param(f"DELETE FROM movement WHERE kind = 'service_out' AND serial_id = {SERIAL.format('SN-2')}",
                 [Difference("serial", "SN-2", 0, 1, "in_service")], id="check_out_movement_deleted"),
    pytest.param("UPDATE serial_number SET warranty_until = NULL WHERE serial = 'SN-B'",
                 [Difference("serial", "SN-B", "none", "{sold}", "warranty_until")], id="warranty_cleared"),
    pytest.param("UPDATE serial_number SET warranty_until = NULL WHERE serial = 'SN-9'",
                 [Difference("serial", "SN-9", "none", "{sold}", "warranty_until")], id="replacement_warranty_cleared"),
    pytest.param(f"UPDATE movement SET warranty_months = 0 WHERE kind = 'sale' AND serial_id = {SERIAL.format('SN-B')}",
                 [Difference("serial", "SN-B", "{sold}", "none", "warranty_until")], id="sale_gave_none"),
])
def test_check_reports_the_tampered_service_figure(db, session, w, tamper, expected):
    """Guards in_service, faulty (so status) and warranty_until drifting from the movements unnoticed."""
    check_in(session, "SN-1", "SN-2", "SN-3")
    check_out(session, ("SN-1", "SN-9"), "SN-2")
    session.commit()
    assert stock.check(session) == []
    session.rollback()  # SQLite: let the tampering connection write
    sold = add_months(utc_today(), 24).isoformat()
    with db.engine.begin() as conn:
        conn.execute(text(tamper))
    expected = [Difference(d.what, d.key, d.stored.format(sold=sold) if isinstance(d.stored, str) else d.stored,
                           d.derived.format(sold=sold) if isinstance(d.derived, str) else d.derived, d.field)
                for d in expected]
    with db.Session() as fresh:
        assert stock.check(fresh) == expected


def test_difference_of_a_service_figure_reads_as_a_sentence():
    """Guards `station check` naming which figure of a serial is wrong."""
    assert str(Difference("serial", "SN-3", 0, 1, "in_service")) == "serial SN-3 in_service: stored 0, movements say 1"


def test_overdue_lists_units_in_service_since_before_a_time(session, w):
    """Guards the overview's list: units still in service, longest first; checked-out ones are not listed."""
    check_in(session, "SN-1")
    check_in(session, "SN-2")
    check_out(session, "SN-2")
    session.execute(text("UPDATE movement SET at = :at WHERE kind = 'service_in'"
                         f" AND serial_id = {SERIAL.format('SN-1')}")
                    .bindparams(bindparam("at", type_=DateTime(timezone=True))),
                    {"at": record(session, "SN-1").created_at - timedelta(days=20)})
    session.commit()
    units, total = service_desk.overdue(session, record(session, "SN-1").created_at - timedelta(days=10))
    assert total == 1 and [(u.serial, u.customer) for u in units] == [("SN-1", "Jane Doe")]
