"""The service desk through scans (SPEC 3b, SPEC 4's Service flow), on SQLite and PostgreSQL.

Each scan is processed as the daemon processes it: its own committed
transaction, the station's state read from and saved to the database. A
whole repair day runs here, then each rule of 3b as a scanner meets it:
the check-in and check-out opened by the serial itself, never sharing a
document, one customer's units each, CMD:REPLACE armed through refusals and
across a restart, rule 14 at the other stations, and every prompt saying the
warranty.
"""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from helpers.scanning import service_fixture
from helpers.scanning import station_snapshot as snapshot
from helpers.shop import PHONE_EAN, stock_shop
from sqlalchemy import Date, DateTime, bindparam, select, text

from station.config import from_dict
from station.domain import documents, serials, stock
from station.domain.models import Document, DocumentKind, DocumentStatus, Movement
from station.domain.warranty import add_months, utc_today
from station.interchange import representation
from station.interchange.export import movement_rows, write_csv
from station.scan_core import machine, prompts
from station.scanning import station_row
from station.scanning.service import ScanService

STATIONS = [
    {"id": "desk", "mode": "service"},
    {"id": "desk-2", "mode": "service"},
    {"id": "till", "mode": "sell"},
    {"id": "returns", "mode": "return"},
    {"id": "goods-in", "mode": "receive"},
]


def make_service() -> ScanService:
    return ScanService(from_dict({"stations": STATIONS}))


service = service_fixture(make_service)


@pytest.fixture
def world(db):
    """Phones (24 months of warranty) SN-1..3 sold to Jane, SN-B to Bob, SN-8 and SN-9 in stock; a tablet in stock;
    a cable without warranty sold to Jane."""
    with db.Session.begin() as s:
        stock_shop(s, [("PHONE", "SN-1"), ("PHONE", "SN-2"), ("PHONE", "SN-3"), ("PHONE", "SN-B"), ("PHONE", "SN-8"),
                       ("PHONE", "SN-9"), ("TAB", "TB-1"), ("CABLE", "CB-1")],
                   {"JANE": ("SN-1", "SN-2", "SN-3", "CB-1"), "BOB": ("SN-B",)},
                   station="setup", phone_barcodes=[PHONE_EAN])
    service = make_service()
    for station in STATIONS:  # every station's state row, made as its first scan makes it
        mode = service.config.station(station["id"]).mode
        with db.Session.begin() as s:
            station_row.load_or_make(s, station["id"], mode, prompts.prompt(machine.State(mode=mode), prompts.Facts()))
    return db


def scan(db, service, station, raw):
    """One scan in its own committed transaction, as the daemon does it."""
    with db.Session.begin() as s:
        return service.process(s, station, raw, device="test")


def scans(db, service, station, *raws):
    return [scan(db, service, station, raw) for raw in raws]


def accepted(db, service, station, *raws):
    results = scans(db, service, station, *raws)
    for raw, result in zip(raws, results, strict=True):
        assert result.accepted, (raw, result.code, result.message)
    return results[-1]


def refused(db, service, station, raw, code):
    before = snapshot(db, station)
    result = scan(db, service, station, raw)
    assert (result.accepted, result.code) == (False, code), result.message
    assert snapshot(db, station) == before, "a refused scan changed the station"
    return result


def status(db, text_):
    with db.Session() as s:
        r = serials.get_serial(s, text_)
        return representation.status(serials.record(s, text_)), r.customer.code if r.customer else None


def movement_kinds(db, text_):
    with db.Session() as s:
        r = serials.get_serial(s, text_)
        return [(m.kind.value, m.quantity) for m in s.scalars(select(Movement).where(Movement.serial_id == r.id)
                                                            .order_by(Movement.id))]


def check(db):
    with db.Session() as s:
        assert stock.check(s) == []


def until(months=24) -> str:
    return add_months(utc_today(), months).isoformat()


def test_a_whole_repair_day(world, service):
    """Guards the desk's day: three of Jane's units in (Bob's refused), two back, one of them replaced."""
    db = world
    first = accepted(db, service, "desk", "CUS:JANE")
    assert first.prompt.startswith("Check-in SI-") and "Jane Doe" in first.prompt
    r = accepted(db, service, "desk", "SN-1")
    assert r.prompt == f"Phone SN-1 of Jane Doe: in warranty until {until()}. Scan the next serial or CMD:FINISH."
    accepted(db, service, "desk", "SN-2")
    wrong = refused(db, service, "desk", "SN-B", "serial_wrong_customer")
    assert "Bob" in wrong.message and "Jane Doe" in wrong.message
    accepted(db, service, "desk", "SN-3")
    posted = accepted(db, service, "desk", "CMD:FINISH")
    check_in = posted.document["reference"]
    assert check_in.startswith("SI-") and posted.document["line_count"] == 3
    assert [status(db, t) for t in ("SN-1", "SN-2", "SN-3", "SN-B")] == [
        ("in_service", "JANE"), ("in_service", "JANE"), ("in_service", "JANE"), ("with_customer", "BOB")]
    check(db)

    r = accepted(db, service, "desk", "SN-1")
    assert r.message.startswith("Opened check-out SO-")
    assert "CMD:REPLACE" in r.prompt and f"in warranty until {until()}" in r.prompt
    accepted(db, service, "desk", "SN-2", "CMD:REPLACE")
    refused(db, service, "desk", "TB-1", "serial_wrong_product")  # stays armed
    r = accepted(db, service, "desk", "SN-9")
    assert r.prompt == (f"Phone SN-9 replaces SN-2 for Jane Doe: in warranty until {until()}. "
                        "Scan the next serial or CMD:FINISH.")
    posted = accepted(db, service, "desk", "CMD:FINISH")
    assert posted.document["reference"].startswith("SO-")
    assert [(line["serial"], line.get("replaces")) for line in posted.document["lines"]] == [
        ("SN-1", None), ("SN-2", None), ("SN-9", "SN-2")]

    assert status(db, "SN-1") == ("with_customer", "JANE")
    assert status(db, "SN-2") == ("faulty", None)
    assert status(db, "SN-3") == ("in_service", "JANE")  # still at the desk
    assert status(db, "SN-9") == ("with_customer", "JANE")
    assert movement_kinds(db, "SN-1")[-2:] == [("service_in", 0), ("service_out", 0)]
    assert movement_kinds(db, "SN-2")[-2:] == [("service_in", 0), ("replaced", 0)]
    assert movement_kinds(db, "SN-9")[-1] == ("replacement", -1)
    with db.Session() as s:
        assert serials.get_serial(s, "SN-9").warranty_until.isoformat() == until()
        faulty = representation.serial(s, serials.record(s, "SN-2"))
        assert (faulty["status"], faulty["in_service"], faulty["movements"][-1]["replacement"]) == ("faulty", False,
                                                                                                    "SN-9")
    check(db)

    # The faulty unit is never sold again; it goes back to the supplier.
    refused(db, service, "till", "SN-2", "serial_faulty")
    accepted(db, service, "returns", "SUP:ACME", "SN-2", "CMD:FINISH")
    assert status(db, "SN-2") == ("not_in_stock", None)
    check(db)


def test_the_export_carries_the_service_movements(world, service):
    """Guards station export movements: the new kinds, each with its quantity, serial, document and customer."""
    db = world
    accepted(db, service, "desk", "SN-1", "SN-2", "CMD:FINISH", "SN-1", "SN-2", "CMD:REPLACE", "SN-9", "CMD:FINISH")
    with db.Session() as s:
        out = io.StringIO()
        write_csv(movement_rows(s), out)
    rows = [(r["kind"], r["quantity"], r["serial"], r["customer"], r["document"][:3])
            for r in csv.DictReader(io.StringIO(out.getvalue())) if r["document"][:3] in ("SI-", "SO-")]
    assert rows == [("service_in", "0", "SN-1", "JANE", "SI-"), ("service_in", "0", "SN-2", "JANE", "SI-"),
                    ("service_out", "0", "SN-1", "JANE", "SO-"), ("replaced", "0", "SN-2", "JANE", "SO-"),
                    ("replacement", "-1", "SN-9", "JANE", "SO-")]


def test_check_in_and_check_out_never_share_a_document(world, service):
    """Guards SPEC 4: a unit in service is refused on a check-in with lines, and the other way round."""
    db = world
    accepted(db, service, "desk", "SN-1", "CMD:FINISH")
    accepted(db, service, "desk", "SN-2")
    refused(db, service, "desk", "SN-1", "document_open")
    accepted(db, service, "desk", "CMD:FINISH", "SN-1")
    refused(db, service, "desk", "SN-3", "document_open")
    check(db)


def test_a_named_customer_carries_over_to_the_check_out(world, service):
    """Guards CUS: first at the desk: the empty check-in gives way to a check-out for the same customer, and a
    unit of another customer is refused there too (ERPNext #48590, the other way round)."""
    db = world
    accepted(db, service, "desk", "SN-1", "CMD:FINISH")
    accepted(db, service, "desk-2", "SN-B", "CMD:FINISH")
    r = accepted(db, service, "desk", "CUS:BOB")
    assert r.document["kind"] == "service_check_in"
    refused(db, service, "desk", "SN-1", "serial_wrong_customer")
    r = accepted(db, service, "desk", "SN-B")
    assert r.document["kind"] == "service_check_out" and r.document["customer"]["code"] == "BOB"
    with db.Session() as s:
        dropped = [d.customer.code for d in s.scalars(select(Document).where(
            Document.kind == DocumentKind.service_check_in, Document.status == DocumentStatus.cancelled))]
    assert dropped == ["BOB"]
    check(db)


@pytest.mark.parametrize(("first", "unit", "named", "advice"), [
    pytest.param(("CUS:BOB",), "SN-1", "SI-", "cancel it (CMD:CANCEL)", id="in_service_at_an_empty_check_in"),
    pytest.param(("CUS:BOB",), "SN-2", "SI-", "cancel it (CMD:CANCEL)", id="not_in_service_at_an_empty_check_in"),
    pytest.param(("SN-B",), "SN-1", "SO-", "finish it (CMD:FINISH)", id="at_a_check_out_with_a_unit"),
])
def test_serial_wrong_customer_names_the_document_that_is_open(world, service, first, unit, named, advice):
    """Guards issue 20 item 5: the refusal names the document open at the desk (and it exists, open), never one
    the scan would have opened in its place and rolled back ("SO-000010 holds ..." while SI-000009 was open),
    and says what to do with it: an empty one is cancelled, not finished."""
    db = world
    accepted(db, service, "desk", "SN-1", "CMD:FINISH")  # Jane's SN-1 in service
    accepted(db, service, "desk-2", "SN-B", "CMD:FINISH")  # Bob's SN-B in service
    opened = accepted(db, service, "desk", *first).document["reference"]
    assert opened.startswith(named)
    result = refused(db, service, "desk", unit, "serial_wrong_customer")
    assert result.message == (f"Serial {unit} is Jane Doe's, not Bob's: {opened} holds Bob's units only. "
                              f"Scan Bob's units, or {advice} and then scan this one.")
    with db.Session() as s:
        assert documents.get_document(s, opened).status == DocumentStatus.open
    check(db)


def test_replace_stays_armed_through_refusals_and_a_restart(world, service):
    """Guards SPEC 4: CMD:REPLACE holds until a serial is accepted, across refused scans and a new service."""
    db = world
    accepted(db, service, "desk", "SN-1", "SN-2", "CMD:FINISH", "SN-1", "CMD:REPLACE")
    for raw, code in (("SN-B", "serial_has_customer"), ("SN-2", "serial_in_service"), ("NOPE-1", "unknown_barcode"),
                      (PHONE_EAN, "serial_required"), ("CUS:JANE", "document_open"), ("TB-1", "serial_wrong_product")):
        r = refused(db, service, "desk", raw, code)
        assert r.prompt.startswith("Replacing Phone SN-1 of Jane Doe (in warranty until")
    restarted = make_service()
    r = accepted(db, restarted, "desk", "SN-8")
    assert "SN-8 replaces SN-1" in r.prompt
    accepted(db, restarted, "desk", "CMD:FINISH")
    assert status(db, "SN-8") == ("with_customer", "JANE") and status(db, "SN-1") == ("faulty", None)
    check(db)


def test_undo_disarms_or_takes_the_replacement_away(world, service):
    """Guards CMD:UNDO at the desk: while armed it gives no replacement; after one it takes that line away."""
    db = world
    accepted(db, service, "desk", "SN-1", "CMD:FINISH", "SN-1", "CMD:REPLACE")
    r = accepted(db, service, "desk", "CMD:UNDO")
    assert r.message == "No replacement: the unit goes back as it is." and r.document["line_count"] == 1
    accepted(db, service, "desk", "CMD:REPLACE", "SN-9")
    r = accepted(db, service, "desk", "CMD:UNDO")
    assert "SN-9" in r.message and r.document["line_count"] == 1
    refused(db, service, "desk", "SN-9", "document_open")  # not in service: it cannot join the check-out
    accepted(db, service, "desk", "CMD:REPLACE", "SN-8", "CMD:FINISH")
    assert status(db, "SN-9") == ("in_stock", None) and status(db, "SN-8") == ("with_customer", "JANE")
    check(db)


@pytest.mark.parametrize("station, opening, code", [
    pytest.param("till", (), "serial_in_service", id="sold"),
    pytest.param("till", ("CUS:BOB",), "serial_in_service", id="sold_to_someone"),
    pytest.param("returns", (), "serial_in_service", id="returned"),
    pytest.param("returns", ("SUP:ACME",), "serial_in_service", id="sent_to_the_supplier"),
    pytest.param("goods-in", ("SUP:ACME", PHONE_EAN), "serial_in_service", id="received"),
])
def test_rule_14_a_unit_in_service_is_refused_elsewhere(world, service, station, opening, code):
    """Guards rule 14 at the other stations: serial_in_service, the station left as it was."""
    db = world
    accepted(db, service, "desk", "SN-1", "CMD:FINISH")
    if opening:
        accepted(db, service, station, *opening)
    refused(db, service, station, "SN-1", code)


def test_replace_outside_a_check_out(world, service):
    """Guards CMD:REPLACE's refusals: not at the desk, nothing open, on a check-in."""
    db = world
    refused(db, service, "till", "CMD:REPLACE", "wrong_mode")
    refused(db, service, "desk", "CMD:REPLACE", "no_open_document")
    accepted(db, service, "desk", "SN-1")
    refused(db, service, "desk", "CMD:REPLACE", "nothing_to_replace")


def _sold_on(db, text_, when: datetime) -> None:
    """Move a serial's sale to ``when`` (and its warranty with it, as posting then would have written it)."""
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE movement SET at = :at WHERE kind = 'sale' AND serial_id = "
                          "(SELECT id FROM serial_number WHERE serial = :s)")
                     .bindparams(bindparam("at", type_=DateTime(timezone=True))), {"at": when, "s": text_})
        conn.execute(text("UPDATE serial_number SET warranty_until = :d WHERE serial = :s")
                     .bindparams(bindparam("d", type_=Date)), {"d": add_months(when.date(), 24), "s": text_})


def test_every_desk_prompt_says_the_warranty(world, service):
    """Guards rule 14's sentences: in warranty until, out of warranty since (its last day), no warranty."""
    db = world
    _sold_on(db, "SN-2", datetime(2023, 12, 31, 18, 0, tzinfo=UTC))  # ended 2025-12-31
    check(db)
    assert accepted(db, service, "desk", "SN-1").prompt.startswith(
        f"Phone SN-1 of Jane Doe: in warranty until {until()}.")
    assert accepted(db, service, "desk", "SN-2").prompt == ("Phone SN-2 of Jane Doe: out of warranty since 2025-12-31. "
                                                            "Scan the next serial or CMD:FINISH.")
    assert accepted(db, service, "desk", "CB-1").prompt == ("Cable CB-1 of Jane Doe: no warranty. "
                                                            "Scan the next serial or CMD:FINISH.")
    accepted(db, service, "desk", "CMD:FINISH")
    r = accepted(db, service, "desk", "SN-2", "CMD:REPLACE")
    assert r.prompt == ("Replacing Phone SN-2 of Jane Doe (out of warranty since 2025-12-31): scan the replacement's "
                        "serial, or CMD:UNDO to give none.")
    # A replacement counts from today: the new unit's own term is later than the faulty one's end.
    assert accepted(db, service, "desk", "SN-9").prompt.startswith(f"Phone SN-9 replaces SN-2 for Jane Doe: "
                                                                    f"in warranty until {until()}.")
    accepted(db, service, "desk", "CMD:FINISH")
    check(db)


def test_the_station_s_view_and_idle_prompt_at_the_desk(world, service):
    """Guards the desk's idle prompt and mode in the station's view (GET /api/stations/<id>)."""
    db = world
    with db.Session() as s:
        view = service.view(s, "desk")
    assert view["mode"] == "service" and view["prompt"].startswith("Service desk. Scan the serial")
    r = accepted(db, service, "till", "CMD:SERVICE")
    assert r.message == "Mode: service desk." and r.prompt.startswith("Service desk.")


def test_the_api_shows_the_desk_s_records(client, world, service):
    """Guards SPEC 5's serial JSON (in_service, status, warranty_until) and a check-out's lines through the API."""
    db = world
    accepted(db, service, "desk", "SN-1", "SN-2", "CMD:FINISH", "SN-2", "CMD:REPLACE", "SN-9")
    checkout = accepted(db, service, "desk", "CMD:FINISH").document["reference"]
    body = client.get("/api/serials/SN-1").get_json()
    assert (body["in_service"], body["status"], body["warranty_until"]) == (True, "in_service", until())
    assert body["movements"][-1]["kind"] == "service_in" and body["movements"][-1]["quantity"] == 0
    body = client.get("/api/serials/SN-9").get_json()
    assert (body["status"], body["customer"]["code"], body["movements"][-1]["replaces"]) == ("with_customer", "JANE",
                                                                                              "SN-2")
    doc = client.get(f"/api/documents/{checkout}").get_json()
    assert doc["kind"] == "service_check_out" and doc["customer"]["code"] == "JANE"
    assert [line.get("replaces") for line in doc["lines"]] == [None, "SN-2"]
    listed = client.get("/api/serials?q=SN-2").get_json()["serials"][0]
    assert (listed["status"], listed["in_service"]) == ("faulty", False)
    answer = client.patch("/api/serials/SN-1", json={"customer": "BOB"}).get_json()
    assert answer["error"]["code"] == "serial_in_service"
