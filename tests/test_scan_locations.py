"""LOC: scans, the station's location, and where every scanned document and line says its units are (SPEC 3c).

Scans go through ScanService as the daemon sends them, one committed
transaction each, on SQLite and PostgreSQL; the locations are rows made
directly (tests/helpers/places.py). Posting of the new kinds is not tested
here: the scan side (documents, lines, refusals, prompts, station state) is.
"""
from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest
from helpers.places import add_location, location_id
from sqlalchemy import select, update

from station.config import from_dict
from station.domain import catalogue, documents, posting
from station.domain.errors import ConfigError
from station.domain.facts import head_of
from station.domain.models import (
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    SerialNumber,
    StationState,
    StockLevel,
)
from station.scanning import counting
from station.scanning.service import ScanService

WIDGET_GTIN = "09501101020917"
LOOSE_EAN = "5901234123457"

STATIONS = [
    {"id": "goods-in", "mode": "receive"},
    {"id": "till", "mode": "sell"},
    {"id": "floor-till", "mode": "sell", "location": "FLOOR"},
    {"id": "mover", "mode": "move"},
    {"id": "counter", "mode": "count"},
    {"id": "north-in", "mode": "receive", "location": "NORTH"},
    {"id": "north-till", "mode": "sell", "location": "NORTH"},
    {"id": "north-mover", "mode": "move", "location": "NORTH"},
    {"id": "returns", "mode": "return"},
]


@pytest.fixture
def service():
    return ScanService(from_dict({"stations": STATIONS}))


@pytest.fixture
def world(db):
    """MAIN with a floor and aisle A (bins A-03, A-04), a second site NORTH, products, a supplier, a customer."""
    with db.Session.begin() as s:
        add_location(s, "FLOOR", "Shop floor", "MAIN")
        add_location(s, "A", "Aisle A", "MAIN")
        add_location(s, "A-03", "Aisle A, bin 3", "A")
        add_location(s, "A-04", "Aisle A, bin 4", "A")
        add_location(s, "NORTH", "North shop")
        add_location(s, "N-1", "North back room", "NORTH")
        add_location(s, "OLD", "Old shelf", "MAIN", active=False)
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=[WIDGET_GTIN])
        catalogue.create_product(s, "LOOSE", "Loose", barcodes=[LOOSE_EAN], serial_required_for_purchase=False,
                                 serial_required_for_sales=False)
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_party(s, "customer", "BOB", "Bob")
    return SimpleNamespace(db=db)


def scan(db, service, station, text):
    with db.Session.begin() as s:
        return service.process(s, station, text)


def scans(db, service, station, *texts):
    return [scan(db, service, station, t) for t in texts]


def lines_of(db, reference):
    """(serial, quantity, location code) of a document's lines, in order."""
    with db.Session() as s:
        doc = s.scalar(select(Document).where(Document.reference == reference))
        return [(line.serial, line.quantity, _code(s, line.location_id)) for line in doc.lines]


def document_place(db, reference):
    with db.Session() as s:
        doc = s.scalar(select(Document).where(Document.reference == reference))
        return doc.kind, _code(s, doc.location_id)


def _code(s, place_id):
    from station.domain.models import Location
    return s.get(Location, place_id).code if place_id is not None else None


def station_place(db, station):
    with db.Session() as s:
        return _code(s, s.get(StationState, station).location_id)


def receive(db, service, station, *serials, product=WIDGET_GTIN):
    """Receive ``serials`` of a product at a station by scanning, and post."""
    results = scans(db, service, station, "SUP:ACME", product, *serials, "CMD:FINISH")
    assert all(r.accepted for r in results), [r.message for r in results if not r.accepted]
    return results[-1].document["reference"]


# -- LOC: read -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    pytest.param("LOC:NOWHERE", id="no_such_location"),
    pytest.param("LOC:OLD", id="inactive"),
    pytest.param("LOC:", id="empty"),
    pytest.param("LOC:" + "X" * 40, id="too_long_for_a_code"),
])
def test_a_loc_scan_that_names_no_active_location_is_unknown_location(db, service, world, text):
    """Guards SPEC 4's unknown_location: a code that is not an active location is refused, saying what to do,
    in every mode, and leaves the station as it was."""
    for station in ("goods-in", "till", "mover", "counter"):
        result = scan(db, service, station, text)
        assert not result.accepted and result.code == "unknown_location", result
        assert "no active location" in result.message and "station location add" in result.message
        assert result.read_as == "location"


def test_loc_is_read_before_a_product_or_serial_of_the_same_text(db, service, world):
    """Guards the order of precedence: LOC:... is a location even when a serial or barcode reads the same."""
    with db.Session.begin() as s:  # a serial of that text, made through the domain (no scan could make it)
        doc = documents.open_document(s, DocumentKind.receipt, supplier=catalogue.get_party(s, "supplier", "ACME"))
        documents.add_line(s, doc, product=catalogue.get_product(s, "WID-1"), serial="LOC:A-03")
        posting.post(s, doc)
    result = scan(db, service, "mover", "LOC:A-03")
    assert result.accepted and result.read_as == "location"
    assert result.document["kind"] == "move"


def test_a_till_refuses_a_location_with_wrong_mode(db, service, world):
    """Guards the modes that take no LOC: they say which modes do."""
    result = scan(db, service, "till", "LOC:A-03")
    assert not result.accepted and result.code == "wrong_mode" and "CMD:MOVE" in result.message


# -- the station's location -----------------------------------------------------------------------------

def test_the_location_key_defaults_to_main_and_takes_a_code():
    """Guards the config key: default MAIN, any location code, and one sentence for a code that cannot be one."""
    config = from_dict({"stations": [{"id": "a"}, {"id": "b", "location": "A-03"}]})
    assert [s.location for s in config.stations] == ["MAIN", "A-03"]
    with pytest.raises(ConfigError, match="location must be a location's code"):
        from_dict({"stations": [{"id": "a", "location": "bin 3"}]})


@pytest.mark.parametrize("command", ["serve", "run"])
def test_run_and_serve_refuse_to_start_while_a_stations_location_is_not_active(tmp_path, command):
    """Guards SPEC 3c: `station run` and `station serve` refuse to start, in one sentence naming the station, its
    location and `station location add`, while a station's location is not an active location."""
    config = tmp_path / "station.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/s.db"\n[web]\nport = 0\n'
                      '[[stations]]\nid = "till"\n[[stations]]\nid = "back"\nlocation = "BACK"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "station", "--config", str(config), command], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin",
                                                                           "STATE_DIRECTORY": str(tmp_path)})
    assert done.returncode == 1, done.stdout + done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert error == ["Error: station back's location BACK is not an active location: add it with "
                     "`station location add` (or set the station's location to an active one)"], done.stderr
    assert "Traceback" not in done.stderr


# -- every scanned document and line says where ---------------------------------------------------------

def test_documents_and_lines_record_the_stations_location(db, service, world):
    """Guards locations.md: every document opened by scanning records the station's location, and every line
    where its unit goes or leaves from first (so posting never needs the configuration)."""
    reference = receive(db, service, "goods-in", "SN-1", "SN-2")
    assert document_place(db, reference) == (DocumentKind.receipt, "MAIN")
    assert lines_of(db, reference) == [("SN-1", 1, "MAIN"), ("SN-2", 1, "MAIN")]
    sale = scan(db, service, "floor-till", "SN-1").document["reference"]
    assert document_place(db, sale) == (DocumentKind.sale, "FLOOR")
    assert lines_of(db, sale) == [("SN-1", 1, "FLOOR")]


def test_put_away_while_receiving(db, service, world):
    """Guards put-away: a LOC: on an open receipt sends the serials after it there (the product stays chosen),
    the station remembers it until the receipt closes, and one of another site is refused."""
    results = scans(db, service, "goods-in", "SUP:ACME", WIDGET_GTIN, "SN-1", "LOC:A-03", "SN-2", "SN-3",
                    "LOC:A-04", "SN-4")
    assert all(r.accepted for r in results), [r.message for r in results if not r.accepted]
    assert results[3].message == "Putting away at Aisle A, bin 3 (A-03): the next units go there."
    assert results[-1].prompt.startswith("Widget X: 4 received. Putting away at Aisle A, bin 4 (A-04). Scan the next")
    reference = results[-1].document["reference"]
    assert station_place(db, "goods-in") == "A-04"
    refused = scan(db, service, "goods-in", "LOC:N-1")
    assert refused.code == "location_at_other_site" and "North shop (NORTH)" in refused.message
    assert station_place(db, "goods-in") == "A-04"
    assert scan(db, service, "goods-in", "CMD:FINISH").accepted
    assert [(s, where) for s, _, where in lines_of(db, reference)] == [
        ("SN-1", "MAIN"), ("SN-2", "A-03"), ("SN-3", "A-03"), ("SN-4", "A-04")]
    assert station_place(db, "goods-in") is None


def test_put_away_before_the_receipt_is_no_open_document(db, service, world):
    """Guards the idle receiving station: LOC: needs a receipt to put away."""
    result = scan(db, service, "goods-in", "LOC:A-03")
    assert result.code == "no_open_document" and "SUP:" in result.message


def test_a_cancelled_document_forgets_its_location(db, service, world):
    """Guards StationState.location_id: cleared when the document closes, so the next receipt starts at home."""
    scans(db, service, "goods-in", "SUP:ACME", "LOC:A-03", WIDGET_GTIN, "SN-1", "CMD:CANCEL")
    assert station_place(db, "goods-in") is None
    reference = receive(db, service, "goods-in", "SN-1")
    assert lines_of(db, reference) == [("SN-1", 1, "MAIN")]


def test_a_refused_loc_leaves_the_station_as_it_was(db, service, world):
    """Guards the savepoint: a refused LOC: changes neither the station's place nor its document."""
    scans(db, service, "goods-in", "SUP:ACME", "LOC:A-03")
    assert scan(db, service, "goods-in", "LOC:NOWHERE").code == "unknown_location"
    assert station_place(db, "goods-in") == "A-03"


def test_direct_documents_still_open_without_a_location(db, world):
    """Guards the domain's callers that are not scans (imports, the API): a document without a location opens."""
    with db.Session.begin() as s:
        doc = documents.open_document(s, DocumentKind.receipt, supplier=catalogue.get_party(s, "supplier", "ACME"))
        documents.add_line(s, doc, product=catalogue.get_product(s, "WID-1"), serial="D-1")
        posting.post(s, doc)
        assert s.scalar(select(DocumentLine.location_id).where(DocumentLine.serial == "D-1")) is None
        assert location_id(s, "MAIN") is not None


# -- moving and transferring (SPEC 3c) -------------------------------------------------------------------

def put(db, serial, code):
    """Where a serial is, as posting will materialise it (posting of locations is another branch's)."""
    with db.Session.begin() as s:
        s.execute(update(SerialNumber).where(SerialNumber.serial == serial)
                  .values(location_id=location_id(s, code), in_stock=True, transfer_id=None))


def in_transit(db, serial, transfer_to="N-1"):
    """A serial on a transfer to ``transfer_to``, as posting its transfer_out will leave it."""
    with db.Session.begin() as s:
        doc = documents.open_document(s, DocumentKind.transfer, station="setup",
                                      location_id=location_id(s, transfer_to))
        s.execute(update(Document).where(Document.id == doc.id).values(status=DocumentStatus.posted))
        s.execute(update(SerialNumber).where(SerialNumber.serial == serial)
                  .values(location_id=None, in_stock=False, transfer_id=doc.id))
        return doc.reference


@pytest.fixture
def stocked(db, service, world):
    """SN-1..SN-4 received at MAIN (SN-3 then at A-03, SN-4 at North shop), LOOSE units in stock."""
    receive(db, service, "goods-in", "SN-1", "SN-2", "SN-3", "SN-4")
    receive(db, service, "goods-in", LOOSE_EAN, LOOSE_EAN, product=LOOSE_EAN)
    for serial, code in (("SN-1", "MAIN"), ("SN-2", "MAIN"), ("SN-3", "A-03"), ("SN-4", "N-1")):
        put(db, serial, code)
    return world


def test_a_unit_before_any_location_is_no_location(db, service, stocked):
    """Guards SPEC 3c's no_location: in move mode a serial or product scanned before any LOC: is refused."""
    for text in ("SN-1", LOOSE_EAN):
        result = scan(db, service, "mover", text)
        assert result.code == "no_location" and "LOC:" in result.message


def test_a_move_takes_units_to_its_destination_and_a_second_loc_changes_it(db, service, stocked):
    """Guards the move document: LOC: opens M- with its destination, each serial or product scan is one line going
    there, and another LOC: changes where the scans after it go."""
    results = scans(db, service, "mover", "LOC:A-04", "SN-1", "SN-3", "LOC:FLOOR", "SN-2", LOOSE_EAN)
    assert all(r.accepted for r in results), [r.message for r in results if not r.accepted]
    assert results[0].message == "Opened move M-{:06d} to Aisle A, bin 4 (A-04).".format(
        int(results[0].document["reference"][2:]))
    assert results[3].message == "Destination: Shop floor (FLOOR). Scan the units that go there."
    reference = results[-1].document["reference"]
    assert reference.startswith("M-") and document_place(db, reference) == (DocumentKind.move, "A-04")
    assert lines_of(db, reference) == [("SN-1", 1, "A-04"), ("SN-3", 1, "A-04"), ("SN-2", 1, "FLOOR"),
                                       (None, 1, "FLOOR")]
    assert "to Shop floor (FLOOR)" in results[-1].prompt


@pytest.mark.parametrize("serial, code, words", [
    pytest.param("SN-3", "serial_already_there", "is at A-03 already", id="already_there"),
    pytest.param("SN-4", "serial_at_other_site", "SN-4 is at North shop (NORTH): transfer it here first.",
                 id="at_other_site"),
    pytest.param("SN-9", "unknown_barcode", "Unknown barcode SN-9", id="unknown"),
])
def test_a_move_refuses_what_cannot_go(db, service, stocked, serial, code, words):
    """Guards the move's refusals, each with its code and a sentence naming the place."""
    assert scan(db, service, "mover", "LOC:A-03").accepted
    result = scan(db, service, "mover", serial)
    assert result.code == code and words in result.message, result


def test_a_sold_unit_is_not_moved(db, service, stocked):
    """Guards serial_not_in_stock: a unit that left stock cannot be moved."""
    assert all(r.accepted for r in scans(db, service, "till", "CUS:BOB", "SN-2", "CMD:FINISH"))
    assert scan(db, service, "mover", "LOC:A-03").accepted
    result = scan(db, service, "mover", "SN-2")
    assert result.code == "serial_not_in_stock" and "Bob" in result.message


def test_a_location_of_another_site_makes_the_move_a_transfer(db, service, stocked):
    """Guards SPEC 3c's transfer: a LOC: of another site opens T- with that destination; an empty move gives way
    to it; one with lines refuses it (document_open), so one document is never both; and back."""
    first = scans(db, service, "mover", "LOC:A-04", "LOC:N-1")
    assert all(r.accepted for r in first), [r.message for r in first]
    transfer = first[-1].document["reference"]
    assert transfer.startswith("T-") and document_place(db, transfer) == (DocumentKind.transfer, "N-1")
    assert scan(db, service, "mover", "SN-1").accepted
    refused = scan(db, service, "mover", "LOC:A-04")
    assert refused.code == "document_open" and "transfer with 1 line" in refused.message.lower()
    assert lines_of(db, transfer) == [("SN-1", 1, "N-1")]
    assert scan(db, service, "mover", "CMD:CANCEL").accepted
    again = scans(db, service, "mover", "LOC:A-04", "SN-1", "LOC:N-1")
    assert again[-1].code == "document_open" and "North shop (NORTH)" in again[-1].message
    assert again[-1].document["kind"] == "move"


def test_a_unit_in_transit_is_refused_naming_where_it_goes(db, service, stocked):
    """Guards serial_in_transit: a unit on a transfer is not moved, sold, counted or sent again, and the message
    names where it is going."""
    transfer = in_transit(db, "SN-1")
    for station, opening in (("mover", "LOC:A-03"), ("till", None), ("counter", "LOC:MAIN")):
        if opening:
            assert scan(db, service, station, opening).accepted
        result = scan(db, service, station, "SN-1")
        assert result.code == "serial_in_transit", (station, result)
        assert f"in transit to North back room (N-1) at North shop on {transfer}" in result.message


def test_a_sale_refuses_a_unit_at_another_site(db, service, stocked):
    """Guards SPEC 3c: a sale takes a serial from the station's site only, whichever site the station is at."""
    result = scan(db, service, "till", "SN-4")
    assert result.code == "serial_at_other_site"
    assert result.message.startswith("SN-4 is at North shop (NORTH): transfer it here first.")
    assert scan(db, service, "north-till", "SN-4").accepted
    assert scan(db, service, "north-till", "CMD:CANCEL").accepted
    assert scan(db, service, "north-till", "SN-1").code == "serial_at_other_site"


def test_a_supplier_return_refuses_a_unit_at_another_site_or_in_transit(db, service, stocked):
    """Guards SPEC 3c for goods going back to the supplier: from the station's site only, never in transit."""
    assert scan(db, service, "returns", "SUP:ACME").accepted
    result = scan(db, service, "returns", "SN-4")
    assert result.code == "serial_at_other_site" and "North shop (NORTH)" in result.message
    in_transit(db, "SN-2")
    assert scan(db, service, "returns", "SN-2").code == "serial_in_transit"
    assert scan(db, service, "returns", "SN-1").accepted


# -- arrivals (SPEC 3c) -------------------------------------------------------------------------------------

def test_a_transfers_reference_opens_its_arrival_and_takes_its_units(db, service, stocked):
    """Guards the arrival: in receive mode the transfer's reference opens TI- against it at its destination; its
    units come in one by one, a LOC: sends the next elsewhere, and a unit of another transfer or none is refused
    with serial_not_on_transfer."""
    transfer = in_transit(db, "SN-1")
    other = in_transit(db, "SN-2")
    results = scans(db, service, "north-in", transfer, "SN-1")
    assert all(r.accepted for r in results), [r.message for r in results]
    arrival = results[0].document["reference"]
    assert arrival.startswith("TI-") and results[0].message == f"Opened arrival {arrival} against {transfer}."
    with db.Session() as s:
        doc = s.scalar(select(Document).where(Document.reference == arrival))
        assert doc.kind is DocumentKind.arrival and doc.order.reference == transfer
        assert _code(s, doc.location_id) == "N-1"
    for serial, words in (("SN-2", f"is on {other}"), ("SN-3", "is not in transit")):
        refused = scan(db, service, "north-in", serial)
        assert refused.code == "serial_not_on_transfer" and words in refused.message
    assert scan(db, service, "north-in", "LOC:NORTH").accepted
    assert lines_of(db, arrival) == [("SN-1", 1, "N-1")]


def test_an_arrival_at_another_site_or_of_an_unsent_transfer_is_refused(db, service, stocked):
    """Guards the arrival's opening: a transfer is received at its destination's site, once sent."""
    transfer = in_transit(db, "SN-1")
    refused = scan(db, service, "goods-in", transfer)
    assert refused.code == "location_at_other_site" and "North shop (NORTH)" in refused.message
    assert scan(db, service, "north-in", "T-999999").code == "unknown_document"


# -- counting (SPEC 3c) -------------------------------------------------------------------------------------

@pytest.fixture
def shelf(db, service, world):
    """Aisle A holds C-1..C-4 (C-4 in bin A-04), A-04 also 3 LOOSE; C-9 is on the floor; C-5 was sold; C-7 is at
    North."""
    receive(db, service, "goods-in", *(f"C-{n}" for n in (1, 2, 3, 4, 5, 7, 9)))
    for serial, code in (("C-1", "A"), ("C-2", "A"), ("C-3", "A-03"), ("C-4", "A-04"), ("C-9", "FLOOR"),
                         ("C-7", "N-1")):
        put(db, serial, code)
    with db.Session.begin() as s:
        product = catalogue.get_product(s, "LOOSE")
        s.add(StockLevel(product_id=product.id, location_id=location_id(s, "A-04"), quantity=3))
    assert all(r.accepted for r in scans(db, service, "till", "CUS:BOB", "C-5", "CMD:FINISH"))
    return world


def test_each_count_scan_says_at_once_what_the_unit_was(db, service, shelf):
    """Guards the count's answers: counted here ("12 of 40 expected here"), recorded elsewhere (where), not in
    stock (will be added), a repeat refused already_counted and never counted twice, a product one unit; the
    document's ``count`` says expected, counted, the missing list and the last scan's kind."""
    opened = scan(db, service, "counter", "LOC:A")
    assert opened.accepted and opened.document["kind"] == "count"
    reference = opened.document["reference"]
    assert opened.document["count"] == {"expected": 4, "counted": 0, "missing": ["C-1", "C-2", "C-3", "C-4"],
                                        "missing_total": 4, "last": None, "serial": None, "from": None}
    assert document_place(db, reference) == (DocumentKind.count, "A")
    first = scan(db, service, "counter", "C-2")
    assert first.message == "C-2 counted: 1 of 4 expected here."
    assert first.document["count"] == {"expected": 4, "counted": 1, "missing": ["C-1", "C-3", "C-4"],
                                       "missing_total": 3, "last": "counted", "serial": "C-2", "from": None}
    assert ": 1 of 4 expected here counted." in first.prompt
    elsewhere = scan(db, service, "counter", "C-9")
    assert elsewhere.message == "C-9 counted: recorded at FLOOR, will move here."
    assert elsewhere.document["count"]["last"] == "elsewhere" and elsewhere.document["count"]["counted"] == 1
    assert (elsewhere.document["count"]["serial"], elsewhere.document["count"]["from"]) == ("C-9", "FLOOR")
    with db.Session() as s:  # the station's view says the same, from its last scan
        seen = service.view(s, "counter")["document"]["count"]
    assert (seen["last"], seen["serial"], seen["from"]) == ("elsewhere", "C-9", "FLOOR")
    other_site = scan(db, service, "counter", "C-7")
    assert other_site.message == "C-7 counted: recorded at N-1 at North shop, will move here."
    added = scan(db, service, "counter", "C-5")
    assert added.code == "serial_has_customer"  # sold: a customer's unit is refused with its usual code
    again = scan(db, service, "counter", "C-2")
    assert not again.accepted and again.code == "already_counted" and "never counted twice" in again.message
    assert again.document["count"]["last"] == "already" and again.document["count"]["counted"] == 1
    assert (again.document["count"]["serial"], again.document["count"]["from"]) == ("C-2", None)
    assert scan(db, service, "counter", "LOC:A-04").message == "Counting at Aisle A, bin 4 (A-04): scan the units " \
                                                               "found there."
    unit = scan(db, service, "counter", LOOSE_EAN)
    assert unit.message == "1 unit of Loose counted: 1 of 3 without a serial expected here."
    assert scan(db, service, "counter", "C-4").accepted
    assert lines_of(db, reference) == [("C-2", 1, "A"), ("C-9", 1, "A"), ("C-7", 1, "A"), (None, 1, "A-04"),
                                       ("C-4", 1, "A-04")]
    with db.Session() as s:
        view = service.view(s, "counter")
    assert view["document"]["count"] == {"expected": 4, "counted": 2, "missing": ["C-1", "C-3"],
                                         "missing_total": 2, "last": "counted", "serial": "C-4", "from": None}
    assert scan(db, service, "counter", "C-9").code == "already_counted"
    with db.Session() as s:
        view = service.view(s, "counter")
    assert (view["document"]["count"]["last"], view["document"]["count"]["serial"]) == ("already", "C-9")


def test_a_unit_not_in_stock_is_counted_to_be_added(db, service, shelf):
    """Guards "not in stock at all": a unit returned to us but never put back, or adjusted out, is counted."""
    with db.Session.begin() as s:
        s.execute(update(SerialNumber).where(SerialNumber.serial == "C-1").values(in_stock=False, location_id=None))
    assert scan(db, service, "counter", "LOC:A").accepted
    result = scan(db, service, "counter", "C-1")
    assert result.message == "C-1 counted: not in stock, will be added."
    assert result.document["count"]["last"] == "added"


def test_count_lines_do_not_hold_their_serials(db, service, shelf):
    """Guards SPEC 3c: a count's lines are observations, so a counted unit can still be sold or counted elsewhere
    (rule 8's index never sees them)."""
    assert all(r.accepted for r in scans(db, service, "counter", "LOC:A", "C-1"))
    with db.Session() as s:
        assert s.scalar(select(DocumentLine.is_open).where(DocumentLine.serial == "C-1")) is False
    assert scan(db, service, "till", "C-1").accepted


def test_a_count_location_outside_the_counted_place(db, service, shelf):
    """Guards the count's place: a LOC: under it says where units were found; one outside it re-roots an empty
    count and is refused (document_open) once units are counted; another site's is refused."""
    assert scan(db, service, "counter", "LOC:A-03").accepted
    moved = scan(db, service, "counter", "LOC:A")
    assert moved.accepted and moved.document["count"]["expected"] == 4
    assert scan(db, service, "counter", "C-1").accepted
    refused = scan(db, service, "counter", "LOC:FLOOR")
    assert refused.code == "document_open" and "FLOOR is not under it" in refused.message
    assert scan(db, service, "counter", "LOC:N-1").code == "location_at_other_site"


def test_a_faulty_unit_is_counted(db, service, shelf):
    """Guards SPEC 3c: a faulty unit is counted, and stays faulty (the count's words say so)."""
    with db.Session.begin() as s:
        s.execute(update(SerialNumber).where(SerialNumber.serial == "C-3")
                  .values(in_stock=False, location_id=None, faulty=True))
    assert scan(db, service, "counter", "LOC:A").accepted
    result = scan(db, service, "counter", "C-3")
    assert result.message == "C-3 counted: faulty, it stays faulty." and result.document["count"]["last"] == "faulty"


def test_the_new_modes_prompt_what_to_scan_next(db, service, stocked):
    """Guards the prompts of moving and counting: the mode's first step, the destination or place, the next."""
    assert scan(db, service, "till", "CMD:MOVE").prompt == (
        "Moving. Scan the location the units go to (LOC:...), then the units.")
    transfer = scan(db, service, "till", "LOC:N-1")
    assert transfer.prompt == (f"Transfer {transfer.document['reference']} to North back room (N-1). Scan the units "
                               "to send (serials, or a product for a unit without one).")
    assert scan(db, service, "till", "SN-1").prompt.endswith("1 line. Scan the next unit, or CMD:FINISH to send them.")
    assert scan(db, service, "counter", "CMD:COUNT").prompt == (
        "Counting. Scan the location to count (LOC:...), then every unit found there.")
    count = scan(db, service, "counter", "LOC:A")
    assert count.prompt == (f"Count {count.document['reference']} at Aisle A (A): 0 of 1 expected here counted. "
                            "Scan every unit found here (serials, or a product for a unit without one).")


def test_a_counted_unit_leaves_the_missing_list_and_the_next_takes_its_place(db, service, world):
    """Guards the count's list read before its line is written (one longer than shown): the unit just counted
    leaves it, the 51st missing comes in, and counted, missing and expected agree with a fresh read."""
    receive(db, service, "goods-in", *[f"M-{n:03d}" for n in range(60)])
    scan(db, service, "counter", "LOC:MAIN")
    answer = scan(db, service, "counter", "M-007").document["count"]
    assert answer["missing"] == [f"M-{n:03d}" for n in range(51) if n != 7]
    assert (answer["expected"], answer["counted"], answer["missing_total"], answer["last"]) == (60, 1, 59, "counted")
    with db.Session() as s:
        doc = s.scalar(select(Document).where(Document.kind == DocumentKind.count))
        fresh = counting.progress(s, head_of(s, doc.id))
    assert (fresh.expected, fresh.counted, fresh.missing_total, list(fresh.missing)) == (
        answer["expected"], answer["counted"], answer["missing_total"], answer["missing"])
