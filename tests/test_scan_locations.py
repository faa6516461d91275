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
from sqlalchemy import select

from station.config import from_dict
from station.domain import catalogue, documents, posting
from station.domain.errors import ConfigError
from station.domain.models import Document, DocumentKind, DocumentLine, StationState
from station.scanning.service import ScanService
from tests.helpers.places import add_location, location_id

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
