"""Whole scan flows through ScanService, on SQLite and PostgreSQL, one committed transaction per scan.

Each scan is processed as the daemon processes it: its own transaction, the
station's state read from and saved to the database. So these tests also
prove that the state survives between scans, and across a new service
(a restart).
"""
from __future__ import annotations

import re
import threading
from types import SimpleNamespace

import pytest
from helpers.scanning import service_fixture
from helpers.scanning import station_snapshot as snapshot
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from station.config import from_dict
from station.domain import catalogue, document_record, documents, posting, serials, stock
from station.domain.errors import Conflict
from station.domain.models import (
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Movement,
    ScanLog,
    SerialNumber,
    StationState,
)
from station.interchange import representation
from station.scanning.service import ScanService

WIDGET_GTIN = "09501101020917"
LOOSE_EAN = "5901234123457"
GADGET_EAN = "4006381333931"
GS = "\x1d"

STATIONS = [
    {"id": "goods-in", "mode": "receive"},
    {"id": "goods-in-2", "mode": "receive"},
    {"id": "till", "mode": "sell"},
    {"id": "till-2", "mode": "sell"},
    {"id": "returns", "mode": "return"},
]

#: SPEC 4's refusal codes: stable, in the API.
SPEC_CODES = (
    "unknown_barcode", "invalid_scan", "no_open_document", "serial_required", "serial_in_stock",
    "serial_on_open_document", "serial_wrong_product", "serial_has_customer", "serial_not_in_stock",
    "serial_no_customer", "unknown_party", "quantity_exceeds_order", "nothing_to_undo", "document_open",
    "unknown_document",
)
# A message that says how to fix it names something to do.
FIX = re.compile(r"\b(scan|finish|cancel|add|receive|adjust|check|import|print|set|take|key)\b", re.IGNORECASE)


def make_service() -> ScanService:
    return ScanService(from_dict({"stations": STATIONS}))


service = service_fixture(make_service)


@pytest.fixture
def world(db):
    """Products with each flag, a supplier, a customer and a purchase order of 5 widgets."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=[WIDGET_GTIN])
        catalogue.create_product(s, "GAD-1", "Gadget", barcodes=[GADGET_EAN])
        catalogue.create_product(s, "LOOSE", "Loose", barcodes=[LOOSE_EAN], serial_required_for_purchase=False,
                                 serial_required_for_sales=False)
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_party(s, "customer", "BOB", "Bob")
        documents.create_purchase_order(s, "PO-1042", "ACME", [("WID-1", 5)])
    return SimpleNamespace(db=db)


def scan(db, service, station, text, **kw):
    """One scan in its own committed transaction, as the daemon does it."""
    with db.Session.begin() as s:
        return service.process(s, station, text, **kw)


def scans(db, service, station, *texts):
    return [scan(db, service, station, t) for t in texts]


def serial(db, text) -> SerialNumber:
    with db.Session() as s:
        record = s.scalar(select(SerialNumber).where(SerialNumber.serial == text))
        if record is not None:
            _ = (record.product, record.customer, record.supplier)
        return record


def receive_directly(db, *texts, product="WID-1"):
    """Stock put in through the domain, not by scanning (the world the scans meet)."""
    with db.Session.begin() as s:
        doc = documents.open_document(s, DocumentKind.receipt, station="setup",
                                      supplier=catalogue.get_party(s, "supplier", "ACME"))
        for text in texts:
            documents.add_line(s, doc, product=catalogue.get_product(s, product), serial=text)
        posting.post(s, doc)


def sell_directly(db, text, customer="BOB"):
    with db.Session.begin() as s:
        doc = documents.open_document(s, DocumentKind.sale, station="setup",
                                      customer=catalogue.get_party(s, "customer", customer))
        documents.add_line(s, doc, serial=text)
        posting.post(s, doc)


def accepted(results):
    return [r for r in results if r.accepted]


# -- the flows of the issue ------------------------------------------------------------------


def test_purchase_order_of_five_received_with_gs1(db, service, world):
    """Guards receiving against an order with GS1 scans: counted per order, batch and expiry kept, never over."""
    r = scan(db, service, "goods-in", "PO-1042")
    assert r.accepted and r.document["order"] == "PO-1042" and r.document["party"]["code"] == "ACME"
    for n in range(1, 6):
        r = scan(db, service, "goods-in", f"]d201{WIDGET_GTIN}1727123110LOT-{n}{GS}21GS-{n}")
        assert r.accepted, r
        assert r.prompt.startswith(f"Widget X: {n} of 5 received.")
        assert r.message == f"Added Widget X, serial GS-{n}."
    r = scan(db, service, "goods-in", f"]d201{WIDGET_GTIN}21GS-6")
    assert not r.accepted and r.code == "quantity_exceeds_order"
    assert "All expected units are in" in r.prompt
    r = scan(db, service, "goods-in", "CMD:FINISH")
    assert r.accepted and r.message.startswith("Posted R-")
    posted = r.document
    assert posted["status"] == "posted" and posted["kind"] == "receipt" and posted["order"] == "PO-1042"
    assert [(line["serial"], line["batch"], line["expiry"]) for line in posted["lines"]] == [
        (f"GS-{n}", f"LOT-{n}", "271231") for n in range(1, 6)]
    assert serial(db, "GS-3").supplier.code == "ACME" and serial(db, "GS-3").in_stock
    with db.Session() as s:
        order = representation.document(s, document_record.by_reference(s, "PO-1042"))
        assert order["progress"] == [{"product": "WID-1", "name": "Widget X", "expected": 5, "received": 5}]
    assert scan(db, service, "goods-in", "CMD:FINISH").code == "no_open_document"
    # A new receipt against the filled order: its product is refused at once, not each serial after it
    # (issue 10, defect 8: it said "5 of 5 received. Scan the serial." and then refused every serial).
    assert scan(db, service, "goods-in", "PO-1042").accepted
    r = scan(db, service, "goods-in", WIDGET_GTIN)
    assert not r.accepted and r.code == "quantity_exceeds_order"
    assert "expects 5 of Widget X; 5 are received already" in r.message
    assert "Scan the serial" not in r.prompt
    r = scan(db, service, "goods-in", GADGET_EAN)  # a product not on the order at all: said at once too
    assert not r.accepted and r.code == "quantity_exceeds_order" and "not on purchase order PO-1042" in r.message


def test_box_of_fifty_is_fifty_one_scans(db, service, world):
    """Guards the sticky product: one product scan and fifty serials receive a box of fifty."""
    assert scan(db, service, "goods-in", "SUP:ACME").accepted
    results = scans(db, service, "goods-in", WIDGET_GTIN, *[f"BOX-{n:02d}" for n in range(50)])
    assert len(results) == 51 and len(accepted(results)) == 51
    assert results[0].prompt == "Widget X: 0 received. Scan the serial."
    assert results[-1].prompt == "Widget X: 50 received. Scan the next serial, another product, or CMD:FINISH."
    r = scan(db, service, "goods-in", "CMD:FINISH")
    assert r.accepted and len(r.document["lines"]) == 50
    with db.Session() as s:
        assert catalogue.on_hand(s, catalogue.get_product(s, "WID-1")) == 50
        assert stock.check(s) == []


def test_sale_by_serial_alone_to_the_walk_in_customer(db, service, world):
    """Guards the counter's fastest sale: just the serial, no customer scanned, sold to the walk-in customer."""
    receive_directly(db, "SN-1", "SN-2")
    r = scan(db, service, "till", "SN-1")
    assert r.accepted and r.document["kind"] == "sale" and r.document["customer"]["code"] == "WALKIN"
    assert r.message.startswith("Opened sale S-") and "Added Widget X, serial SN-1." in r.message
    assert scan(db, service, "till", "SN-2").accepted
    r = scan(db, service, "till", "CMD:FINISH")
    assert r.accepted and [line["serial"] for line in r.document["lines"]] == ["SN-1", "SN-2"]
    record = serial(db, "SN-1")
    assert not record.in_stock and record.customer.code == "WALKIN"
    r = scan(db, service, "till", "SN-1")
    assert r.code == "serial_has_customer" and "return" in r.message


def test_a_tills_first_serial_refused_leaves_no_sale_open(db, service, world):
    """Guards the opening taken back without a savepoint (issue 22): a serial scanned at an idle till opens the
    walk-in sale and adds its line in one scan; refused by the line's rules, it leaves no document (none open, the
    station idle, the sale's number not taken), and the next serial opens the sale as if it had never been."""
    receive_directly(db, "SN-1", "SN-2")
    assert [r.code for r in scans(db, service, "till", "SN-1", "CMD:FINISH")] == [None, None]  # WALKIN made
    with db.Session() as s:
        documents_before = s.scalar(select(func.count()).select_from(Document))
        last_sale = s.scalar(select(func.max(Document.id)).where(Document.kind == DocumentKind.sale))
    refused = scan(db, service, "till", "SN-1")
    assert refused.code == "serial_has_customer" and refused.document is None
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == documents_before
        assert s.get(StationState, "till").document_id is None
    r = scan(db, service, "till", "SN-2")
    assert r.accepted and r.document["customer"]["code"] == "WALKIN"
    with db.Session() as s:
        sale = s.scalar(select(Document).where(Document.kind == DocumentKind.sale, Document.id > last_sale))
        assert sale.status == DocumentStatus.open and [line.serial for line in sale.lines] == ["SN-2"]


def test_sale_with_customer_product_then_serial(db, service, world):
    """Guards the named-customer sale: CUS:, then a product and its serial; FINISH refused while it waits."""
    receive_directly(db, "SN-1")
    results = scans(db, service, "till", "CUS:BOB", WIDGET_GTIN, "CMD:FINISH", "SN-1", "CMD:FINISH")
    assert [r.code for r in results] == [None, None, "serial_required", None, None]
    assert results[1].prompt == "Widget X: scan the serial of this unit."
    assert serial(db, "SN-1").customer.code == "BOB"


def test_customer_return_opened_by_the_sold_serial(db, service, world):
    """Guards the return station: the sold serial alone opens a return from its customer and comes back in."""
    receive_directly(db, "SN-1")
    sell_directly(db, "SN-1")
    r = scan(db, service, "returns", "SN-1")
    assert r.accepted and r.document["kind"] == "customer_return" and r.document["customer"]["code"] == "BOB"
    r = scan(db, service, "returns", "CMD:FINISH")
    assert r.accepted
    record = serial(db, "SN-1")
    assert record.in_stock and record.customer is None
    with db.Session() as s:
        entries, _ = serials.history(s, s.get(SerialNumber, record.id))
        assert [(e.kind, e.movement.customer_code) for e in entries] == [
            ("receipt", None), ("sale", "BOB"), ("customer_return", "BOB")]


def test_supplier_return_starts_with_sup(db, service, world):
    """Guards the supplier return: SUP: first at a return station, then the serial leaves stock."""
    receive_directly(db, "SN-1")
    results = scans(db, service, "returns", "SUP:ACME", "SN-1", "CMD:FINISH")
    assert all(r.accepted for r in results), results
    assert results[0].document["kind"] == "supplier_return"
    record = serial(db, "SN-1")
    assert not record.in_stock
    with db.Session() as s:
        kinds = s.scalars(select(Movement.kind).where(Movement.serial_id == record.id).order_by(Movement.id)).all()
        assert [k.value for k in kinds] == ["receipt", "supplier_return"]
    r = scan(db, service, "till", "SN-1")
    assert r.code == "serial_not_in_stock" and "receive" in r.message and "adjust" in r.message


def test_undo_and_cancel_release_serials_to_another_station(db, service, world):
    """Guards releasing: a serial undone or cancelled at one station can be taken by another at once."""
    scans(db, service, "goods-in", "SUP:ACME", WIDGET_GTIN, "SN-1", "SN-2")
    scans(db, service, "goods-in-2", "SUP:ACME", WIDGET_GTIN)
    assert scan(db, service, "goods-in-2", "SN-2").code == "serial_on_open_document"
    r = scan(db, service, "goods-in", "CMD:UNDO")
    assert r.accepted and r.message == "Removed the last line: Widget X, serial SN-2."
    assert scan(db, service, "goods-in-2", "SN-2").accepted
    r = scan(db, service, "goods-in-2", "SN-1")
    assert r.code == "serial_on_open_document" and "goods-in" in r.message
    r = scan(db, service, "goods-in", "CMD:CANCEL")
    assert r.accepted and "free again" in r.message and r.document is None
    assert scan(db, service, "goods-in-2", "SN-1").accepted
    r = scan(db, service, "goods-in-2", "CMD:FINISH")
    assert [line["serial"] for line in r.document["lines"]] == ["SN-2", "SN-1"]
    with db.Session() as s:
        cancelled = s.scalars(select(Document).where(Document.status == DocumentStatus.cancelled)).all()
        assert len(cancelled) == 1 and all(not line.is_open for line in cancelled[0].lines)


def test_two_stations_scan_one_new_serial(db, service, world):
    """Guards rule 8 at the scan level: the second station to scan a serial already on an open document is refused."""
    for station in ("goods-in", "goods-in-2"):
        scans(db, service, station, "SUP:ACME", WIDGET_GTIN)
    assert scan(db, service, "goods-in", "NEW-1").accepted
    before = snapshot(db, "goods-in-2")
    r = scan(db, service, "goods-in-2", "NEW-1")
    assert not r.accepted and r.code == "serial_on_open_document"
    assert snapshot(db, "goods-in-2") == before


def test_two_stations_race_for_one_serial(db, service, world):
    """Guards rule 8 under a real race: two connections scan one new serial at once; exactly one wins, every round."""
    for station in ("goods-in", "goods-in-2"):
        scans(db, service, station, "SUP:ACME", WIDGET_GTIN)
    for round_ in range(5):
        barrier = threading.Barrier(2)
        results: dict[str, object] = {}

        def contend(station: str, barrier=barrier, results=results, round_=round_) -> None:
            try:
                with db.Session.begin() as s:
                    if db.backend == "postgresql":
                        # Each thread holds its own connection before the race starts (SQLite's
                        # BEGIN IMMEDIATE would make the second wait here, before the barrier).
                        s.connection()
                    barrier.wait(timeout=10)
                    results[station] = make_service().process(s, station, f"RACE-{round_}")
            except Exception as exc:  # reported below, not lost in the thread
                results[station] = exc

        threads = [threading.Thread(target=contend, args=(st,)) for st in ("goods-in", "goods-in-2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        outcomes = sorted((r.accepted, r.code) for r in results.values())
        assert outcomes == [(False, "serial_on_open_document"), (True, None)], results
    with db.Session() as s:
        raced = s.scalars(select(DocumentLine.serial).where(DocumentLine.is_open.is_(True))).all()
        assert sorted(raced) == [f"RACE-{n}" for n in range(5)]
        # The loser's line was refused after it was numbered: its number is taken back (no savepoint does it).
        counts = s.execute(select(Document.line_count, func.count(DocumentLine.id))
                           .outerjoin(DocumentLine, DocumentLine.document_id == Document.id)
                           .where(Document.station.in_(["goods-in", "goods-in-2"])).group_by(Document.id)).all()
        assert len(counts) == 2 and all(kept == lines for kept, lines in counts), counts


def test_idempotency_key_processes_a_scan_once(db, service, world):
    """Guards retries: the same key twice at one station is processed once and answers the same."""
    receive_directly(db, "SN-1", "SN-2")
    first = scan(db, service, "till", "SN-1", key="k-1")
    again = scan(db, service, "till", "SN-1", key="k-1")
    assert first == again and again.replayed and first.accepted
    elsewhere = scan(db, service, "till-2", "SN-2", key="k-1")  # keys are per station
    assert elsewhere.accepted and elsewhere.document["lines"][0]["serial"] == "SN-2"
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(ScanLog).where(ScanLog.idempotency_key == "k-1")) == 2
        doc = documents.get_document(s, first.document["reference"])
        assert [line.serial for line in doc.lines] == ["SN-1"]


@pytest.mark.parametrize("other", [
    pytest.param("SN-2", id="another_serial"),
    pytest.param("SN-1 ", id="trailing_space"),
    pytest.param(b"SN-1", id="same_text_as_bytes_is_the_same_data"),
    pytest.param("\\x07", id="the_escaped_form_of_a_control"),
])
def test_idempotency_key_with_other_data_is_refused(db, service, world, other):
    """Guards issue 20 item 8: the same key with other data is refused as ``id_reused`` (a Conflict: 409 in the
    API), never answered with the first scan's result; nothing is written, and the first scan still replays."""
    receive_directly(db, "SN-1", "SN-2")
    first = scan(db, service, "till", "\x07", key="k-ctl")
    assert first.code == "invalid_scan"
    first = scan(db, service, "till", "SN-1", key="k-1")
    if other == b"SN-1":  # a spooled scan comes back as bytes: the same data, the same answer
        assert scan(db, service, "till", other, key="k-1") == first
        return
    key = "k-ctl" if other == "\\x07" else "k-1"
    with db.Session() as s:
        logged = s.scalar(select(func.count()).select_from(ScanLog))
    with pytest.raises(Conflict) as refused:
        scan(db, service, "till", other, key=key)
    assert refused.value.code == "id_reused"
    assert refused.value.message.startswith(f"Id {key} was sent to station till before with other data")
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(ScanLog)) == logged
        doc = documents.get_document(s, first.document["reference"])
        assert [line.serial for line in doc.lines] == ["SN-1"]
    assert scan(db, service, "till", "SN-1", key="k-1") == first


def test_idempotency_key_is_unique_in_the_database(db, world):
    """Guards the key's uniqueness where it counts: the database refuses a second log row with it."""
    with pytest.raises(IntegrityError), db.Session.begin() as s:
        for _ in range(2):
            s.add(ScanLog(station="till", device="api", raw="x", accepted=True, message="", idempotency_key="dup"))
        s.flush()


def test_mode_and_open_document_survive_a_restart(db, world):
    """Guards restarts: the mode in force and the open document with its waiting product live in the database."""
    first = make_service()
    assert scan(db, first, "till", "CMD:RECEIVE").accepted
    scans(db, first, "till", "SUP:ACME", WIDGET_GTIN)
    restarted = make_service()
    with db.Session.begin() as s:
        view = restarted.view(s, "till")
    assert view["mode"] == "receive" and view["document"]["kind"] == "receipt"
    assert view["prompt"] == "Widget X: 0 received. Scan the serial."
    r = scan(db, restarted, "till", "SN-9")
    assert r.accepted and r.document["lines"][0]["serial"] == "SN-9"
    assert scan(db, make_service(), "till", "CMD:FINISH").accepted
    with db.Session.begin() as s:
        assert make_service().view(s, "till")["mode"] == "receive"


def test_a_stored_phase_its_mode_never_has_is_read_as_open(db, service, world):
    """Guards the station's row against a phase the machine's table has no entry for (a till stored as 'sticky',
    which only receiving is, say by hand or by an older version): it is read as an open document, so the station
    keeps scanning instead of failing every scan on a State that cannot be built."""
    receive_directly(db, "SN-77")
    assert scan(db, service, "till", WIDGET_GTIN).accepted  # a sale waiting for the widget's serial
    with db.Session.begin() as s:
        s.execute(update(StationState).where(StationState.station == "till").values(phase="sticky"))
    r = scan(db, service, "till", "SN-77")
    assert r.accepted and r.document["lines"][0]["serial"] == "SN-77"
    assert snapshot(db, "till")[1] == "open"


def test_serial_history_includes_its_refused_scans(db, service, world):
    """Guards SPEC 3.10: a serial's history lists its refused scans beside its movements."""
    receive_directly(db, "SN-1")
    scans(db, service, "goods-in", "SUP:ACME", WIDGET_GTIN)
    r = scan(db, service, "goods-in", "SN-1")
    assert r.code == "serial_in_stock"
    r = scan(db, service, "returns", "SN-1")
    assert r.code == "serial_no_customer"
    with db.Session() as s:
        record = s.scalar(select(SerialNumber).where(SerialNumber.serial == "SN-1"))
        entries, total = serials.history(s, record)
        assert [e.kind for e in entries] == ["receipt", "refused_scan", "refused_scan"] and total == 3
        assert [(e.scan.station, e.scan.code) for e in entries[1:]] == [
            ("goods-in", "serial_in_stock"), ("returns", "serial_no_customer")]
        as_json = representation.serial(s, serials.record(s, "SN-1"))
        # SPEC 5: two lists, so a client adding up movements is never misled by a refusal.
        assert [m["kind"] for m in as_json["movements"]] == ["receipt"]
        assert [(r["station"], r["device"], r["code"]) for r in as_json["refused_scans"]] == [
            ("goods-in", "api", "serial_in_stock"), ("returns", "api", "serial_no_customer")]
        assert all(set(r) == {"at", "station", "device", "code", "message", "user"} for r in as_json["refused_scans"])


def test_unserialised_product_takes_one_unit_per_scan(db, service, world):
    """Guards products without the serial flags: each product scan is one unit; a serial next is recorded on it."""
    results = scans(db, service, "goods-in", "SUP:ACME", LOOSE_EAN, LOOSE_EAN, "LS-1", LOOSE_EAN)
    assert all(r.accepted for r in results), results
    assert results[3].message == "Recorded serial LS-1 on the last unit of Loose."
    r = scan(db, service, "goods-in", "CMD:FINISH")
    assert [(line["serial"], line["quantity"]) for line in r.document["lines"]] == [(None, 1), ("LS-1", 1), (None, 1)]
    with db.Session() as s:
        assert catalogue.on_hand(s, catalogue.get_product(s, "LOOSE")) == 3
    results = scans(db, service, "till", LOOSE_EAN, LOOSE_EAN, "CMD:FINISH")
    assert all(r.accepted for r in results), results


# -- every refusal code of SPEC 4 ------------------------------------------------------------

def _stock_world(db):
    """Serials in each situation a refusal needs."""
    receive_directly(db, "SN-IN", "SN-SOLD", "SN-LEFT")
    sell_directly(db, "SN-SOLD")
    with db.Session.begin() as s:
        doc = documents.open_document(s, DocumentKind.supplier_return, station="setup",
                                      supplier=catalogue.get_party(s, "supplier", "ACME"))
        documents.add_line(s, doc, serial="SN-LEFT")
        posting.post(s, doc)
        serials.create_serial(s, "HM-1", product="WID-1")


# (code, setup scans as (station, text), the refused scan's station and text)
REFUSALS = [
    pytest.param("unknown_barcode", [], "till", "NOPE-123", id="unknown_barcode"),
    pytest.param("invalid_scan", [], "till", "bad\x07scan", id="invalid_scan"),
    pytest.param("no_open_document", [], "till", "CMD:FINISH", id="no_open_document"),
    pytest.param("serial_required", [("goods-in", "SUP:ACME"), ("goods-in", WIDGET_GTIN)], "goods-in", "CMD:FINISH",
                 id="serial_required"),
    pytest.param("serial_in_stock", [("goods-in", "SUP:ACME"), ("goods-in", WIDGET_GTIN)], "goods-in", "SN-IN",
                 id="serial_in_stock"),
    pytest.param("serial_on_open_document", [("till-2", "SN-IN")], "till", "SN-IN", id="serial_on_open_document"),
    pytest.param("serial_wrong_product", [("goods-in", "SUP:ACME"), ("goods-in", GADGET_EAN)], "goods-in", "HM-1",
                 id="serial_wrong_product"),
    pytest.param("serial_has_customer", [], "till", "SN-SOLD", id="serial_has_customer"),
    pytest.param("serial_not_in_stock", [], "till", "SN-LEFT", id="serial_not_in_stock"),
    pytest.param("serial_no_customer", [], "returns", "SN-IN", id="serial_no_customer"),
    pytest.param("unknown_party", [], "till", "CUS:NOBODY", id="unknown_party"),
    pytest.param("quantity_exceeds_order", [("goods-in", "PO-1042")], "goods-in", LOOSE_EAN,
                 id="quantity_exceeds_order"),
    pytest.param("nothing_to_undo", [("till", "CUS:BOB")], "till", "CMD:UNDO", id="nothing_to_undo"),
    pytest.param("document_open", [("till", "SN-IN")], "till", "CMD:RECEIVE", id="document_open"),
    pytest.param("unknown_document", [], "goods-in", "PO-9999", id="unknown_document"),
]


@pytest.mark.parametrize("code, setup, station, text", REFUSALS)
def test_every_refusal_code_is_reachable(db, service, world, code, setup, station, text):
    """Guards SPEC 4's refusal codes: each is reachable by scanning, says how to fix it, and changes nothing."""
    _stock_world(db)
    for where, what in setup:
        assert scan(db, service, where, what).accepted, (where, what)
    before = snapshot(db, station)
    r = scan(db, service, station, text)
    assert (r.accepted, r.code) == (False, code), r
    assert FIX.search(r.message), f"{code}: the message does not say how to fix it: {r.message!r}"
    assert r.prompt
    if before is not None:
        assert snapshot(db, station) == before
    with db.Session() as s:
        logged = s.scalars(select(ScanLog).where(ScanLog.station == station).order_by(ScanLog.id.desc())).first()
        assert (logged.accepted, logged.code, logged.message) == (False, code, r.message)


def test_refusal_table_covers_spec_codes():
    """Guards against a SPEC 4 refusal code left without a scenario that reaches it."""
    assert {p.values[0] for p in REFUSALS} == set(SPEC_CODES)


# -- refused input is logged, stored safely and answered -------------------------------------

@pytest.mark.parametrize(
    "raw, stored",
    [
        pytest.param(b"\xff\xfeSN", "\\xff\\xfeSN", id="invalid_utf8"),
        pytest.param("SN\x00-1", "SN\\x00-1", id="nul"),
        pytest.param("SN\x1b[2J", "SN\\x1b[2J", id="terminal_escape"),
        pytest.param("SN\ud800", "SN\\ud800", id="lone_surrogate"),
        pytest.param("X" * 600, "X" * 600, id="over_512"),
        pytest.param("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>", id="html"),
        pytest.param("1'; DELETE FROM serial_number; --", "1'; DELETE FROM serial_number; --", id="sql"),
    ],
)
def test_refused_input_is_logged_and_answered(db, service, world, raw, stored):
    """Guards against bad input crashing a station or being lost: refused, logged as text any database stores."""
    receive_directly(db, "SN-KEEP")
    r = scan(db, service, "till", raw, device="/dev/ttyUSB0")
    assert not r.accepted and r.code in ("invalid_scan", "unknown_barcode") and r.message and r.prompt
    with db.Session() as s:
        logged = s.scalars(select(ScanLog).order_by(ScanLog.id.desc())).first()
        assert (logged.raw, logged.device, logged.accepted, logged.code) == (stored, "/dev/ttyUSB0", False, r.code)
        assert s.scalar(select(func.count()).select_from(SerialNumber)) == 1
    assert scan(db, service, "till", "SN-KEEP").accepted, "the station must go on scanning"


def test_every_scan_is_logged_with_its_outcome(db, service, world):
    """Guards the scan log: accepted and refused scans alike, with station, device, reading and message."""
    scans(db, service, "goods-in", "SUP:ACME", "NOPE")
    with db.Session() as s:
        rows = s.scalars(select(ScanLog).order_by(ScanLog.id)).all()
        assert [(row.station, row.device, row.read_as, row.accepted, row.code) for row in rows] == [
            ("goods-in", "api", "supplier", True, None), ("goods-in", "api", "unknown", False, "unknown_barcode")]
        assert re.fullmatch(r"Opened receipt R-\d{6} from Acme Ltd\.", rows[0].message)
