"""Where each unit is, from the scanner to the record (SPEC 3c; issue 23): every flow here is scanned through
ScanService as a station sends it and posted by CMD:FINISH, on SQLite and PostgreSQL, and ``station check``
(stock.check, which recomputes every place from the movements alone) is clean after each.

The scan side and the posting side are each tested on their own elsewhere (test_scan_locations, test_post_*);
this file proves they agree: what scanning writes on documents and lines is what posting needs.
"""
from __future__ import annotations

import json

import pytest
from helpers.epcis import validator
from helpers.places import add_location
from sqlalchemy import select

from station.config import from_dict
from station.domain import catalogue, stock
from station.domain.models import Document, Location, Movement, SerialNumber, StockLevel
from station.scanning.service import ScanService
from station.traceability import epcis

GTIN = "09501101020917"
LOOSE = "5901234123457"
GADGET = "4006381333931"
STATIONS = [
    {"id": "goods-in", "mode": "receive", "location": "GOODS-IN"},
    {"id": "till", "mode": "sell", "location": "FLOOR"},
    {"id": "mover", "mode": "move"},
    {"id": "counter", "mode": "count"},
    {"id": "north-in", "mode": "receive", "location": "NORTH"},
    {"id": "north-till", "mode": "sell", "location": "NORTH"},
    {"id": "returns", "mode": "return"},
]


@pytest.fixture
def shop(db):
    """MAIN with goods-in, a floor and aisle A (bin A-03); a second site NORTH with a back room; a widget with a
    GTIN and a loose product without serials; a supplier and a customer."""
    with db.Session.begin() as s:
        for code, name, parent in (("GOODS-IN", "Goods in", "MAIN"), ("FLOOR", "Shop floor", "MAIN"),
                                   ("A", "Aisle A", "MAIN"), ("A-03", "Aisle A, bin 3", "A"),
                                   ("NORTH", "North shop", None), ("N-1", "North back room", "NORTH")):
            add_location(s, code, name, parent)
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=[GTIN])
        catalogue.create_product(s, "LOOSE", "Loose", barcodes=[LOOSE], serial_required_for_purchase=False,
                                 serial_required_for_sales=False)
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_party(s, "customer", "BOB", "Bob")
    service = ScanService(from_dict({"stations": STATIONS}))

    def scan(station: str, *texts: str):
        answers = []
        for text in texts:
            with db.Session.begin() as s:
                answers.append(service.process(s, station, text))
        return answers

    return scan


def _where(db, serial: str) -> tuple[str | None, bool, str | None]:
    """A serial's location code, whether it is in stock, and the transfer it is on."""
    with db.Session() as s:
        sn = s.scalar(select(SerialNumber).where(SerialNumber.serial == serial))
        code = s.scalar(select(Location.code).where(Location.id == sn.location_id)) if sn.location_id else None
        transfer = s.scalar(select(Document.reference).where(Document.id == sn.transfer_id)) if sn.transfer_id else None
        return code, sn.in_stock, transfer


def _clean(db) -> None:
    with db.Session() as s:
        assert stock.check(s) == []


def _accepted(answers) -> None:
    assert all(a.accepted for a in answers), [(a.code, a.message) for a in answers if not a.accepted]


def test_receive_with_put_away_then_move_then_sell(db, shop):
    """Receiving puts units at the station's location, or at the LOC: scanned on the receipt; a move takes one to
    another place of the site; a sale takes it from wherever it is there, each movement naming from and to."""
    _accepted(shop("goods-in", "SUP:ACME", GTIN, "SN-1", "LOC:A-03", "SN-2", "SN-3", "CMD:FINISH"))
    assert [_where(db, s)[0] for s in ("SN-1", "SN-2", "SN-3")] == ["GOODS-IN", "A-03", "A-03"]
    _clean(db)

    _accepted(shop("mover", "LOC:FLOOR", "SN-2", "CMD:FINISH"))
    assert _where(db, "SN-2") == ("FLOOR", True, None)
    _clean(db)

    _accepted(shop("till", "CUS:BOB", "SN-2", "CMD:FINISH"))
    assert _where(db, "SN-2") == (None, False, None)
    with db.Session() as s:
        moves = s.execute(select(Movement.kind, Movement.quantity, Movement.from_location_id, Movement.to_location_id)
                          .join(SerialNumber, SerialNumber.id == Movement.serial_id)
                          .where(SerialNumber.serial == "SN-2").order_by(Movement.id)).all()
        codes = dict(s.execute(select(Location.id, Location.code)).all())
    assert [(k.value, q, codes.get(f), codes.get(t)) for k, q, f, t in moves] == [
        ("receipt", 1, None, "A-03"), ("move", 0, "A-03", "FLOOR"), ("sale", -1, "FLOOR", None)]
    _clean(db)


def _places(document) -> list[tuple[str, str | None, str | None]]:
    return [(x["serial"], x["from_location"], x["to_location"]) for x in document["lines"]]


def test_each_answer_names_where_its_lines_units_go_and_come_from(db, shop):
    """Guards the places of the lines in every scan's answer and in the station's view: a receipt's lines name
    where each unit goes, a sale's and a move's where each comes from (the serial's place: places.line_places).
    Most answers are the station's locked read with the new line joined to it; a product's first line on a
    document with others is read again after it is written (answer_read.read)."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "GAD-1", "Gadget", barcodes=[GADGET])
    receipt = shop("goods-in", "SUP:ACME", GTIN, "SN-1", "LOC:A-03", "SN-2", "SN-3", "SN-4")
    _accepted(receipt)
    assert [_places(a.document) for a in receipt[2:]] == [
        [("SN-1", None, "GOODS-IN")], [("SN-1", None, "GOODS-IN")],
        [("SN-1", None, "GOODS-IN"), ("SN-2", None, "A-03")],
        [("SN-1", None, "GOODS-IN"), ("SN-2", None, "A-03"), ("SN-3", None, "A-03")],
        [("SN-1", None, "GOODS-IN"), ("SN-2", None, "A-03"), ("SN-3", None, "A-03"), ("SN-4", None, "A-03")]]
    service = ScanService(from_dict({"stations": STATIONS}))
    with db.Session() as s:
        assert _places(service.view(s, "goods-in")["document"]) == _places(receipt[-1].document)
    _accepted(shop("goods-in", GADGET, "G-1", "CMD:FINISH"))
    sale = shop("till", "CUS:BOB", "SN-1", "SN-2", "G-1", "SN-3")
    _accepted(sale)
    assert [_places(a.document) for a in sale[1:]] == [
        [("SN-1", "GOODS-IN", None)], [("SN-1", "GOODS-IN", None), ("SN-2", "A-03", None)],
        [("SN-1", "GOODS-IN", None), ("SN-2", "A-03", None), ("G-1", "A-03", None)],
        [("SN-1", "GOODS-IN", None), ("SN-2", "A-03", None), ("G-1", "A-03", None), ("SN-3", "A-03", None)]]
    moved = shop("mover", "LOC:FLOOR", "SN-4")
    _accepted(moved)
    assert _places(moved[-1].document) == [("SN-4", "A-03", "FLOOR")]
    with db.Session() as s:
        assert _places(service.view(s, "till")["document"]) == _places(sale[-1].document)
        assert _places(service.view(s, "mover")["document"]) == [("SN-4", "A-03", "FLOOR")]


def test_a_transfer_is_in_transit_until_it_arrives_and_cannot_be_sold_meanwhile(db, shop):
    """A LOC: of another site makes the move a transfer; its units are in transit (refused for a sale at either
    site) until the destination scans the transfer's reference and the units out of the box."""
    _accepted(shop("goods-in", "SUP:ACME", GTIN, "SN-1", "SN-2", "CMD:FINISH"))
    finished = shop("mover", "LOC:N-1", "SN-1", "SN-2", "CMD:FINISH")
    _accepted(finished)
    transfer = finished[-1].document["reference"]
    assert transfer.startswith("T-")
    assert _where(db, "SN-1") == (None, False, transfer)
    _clean(db)

    for station in ("till", "north-till"):
        refused = shop(station, "SN-1")[0]
        assert (refused.accepted, refused.code) == (False, "serial_in_transit"), refused.message

    arrived = shop("north-in", transfer, "SN-1", "CMD:FINISH")
    _accepted(arrived)
    assert _where(db, "SN-1") == ("N-1", True, None)
    assert _where(db, "SN-2") == (None, False, transfer)  # never arrived: still in transit
    _clean(db)
    _accepted(shop("north-till", "SN-1", "CMD:FINISH"))
    refused = shop("till", "SN-2")[0]
    assert refused.code == "serial_in_transit"
    _clean(db)


def test_a_count_moves_what_it_found_adds_what_was_unknown_and_writes_off_what_is_missing(db, shop):
    """A count of aisle A posts, in one go: a unit found there but recorded on the floor moves, one not in stock
    (sent back to its supplier) is added, one expected and not found is adjusted out; unserialised units are set
    to what was counted."""
    _accepted(shop("goods-in", "SUP:ACME", "LOC:A-03", GTIN, "SN-1", "SN-2", "SN-3", "SN-4", LOOSE, LOOSE, LOOSE,
                   "CMD:FINISH"))
    _accepted(shop("mover", "LOC:FLOOR", "SN-3", "CMD:FINISH"))
    _accepted(shop("returns", "SUP:ACME", "SN-4", "CMD:FINISH"))
    answers = shop("counter", "LOC:A", "SN-1", "SN-3", "SN-4", LOOSE, "SN-1", "CMD:FINISH")
    assert [a.code for a in answers] == [None, None, None, None, None, "already_counted", None]
    with db.Session() as s:
        found = s.scalar(select(SerialNumber.location_id).where(SerialNumber.serial == "SN-1"))
        aisle = s.scalar(select(Location.code).where(Location.id == found))
        units = s.scalar(select(StockLevel.quantity).join(Location, Location.id == StockLevel.location_id)
                         .where(Location.code.in_(["A", "A-03"]), StockLevel.quantity > 0))
    assert aisle == "A-03"  # counted in place: it stays where it was recorded
    assert _where(db, "SN-3")[:2] == ("A", True)  # found in the aisle, recorded on the floor: moved here
    assert _where(db, "SN-4")[:2] == ("A", True)  # not in stock: added
    assert _where(db, "SN-2")[:2] == (None, False)  # expected, not found: adjusted out
    assert units == 1
    _clean(db)


def test_every_flow_scanned_and_posted_reads_as_valid_epcis(db, shop):
    """Guards issue 24 on real postings of every location flow: receipts with put-away, a move, a transfer and its
    arrival, a count that moves, adds and writes off, a sale and a supplier return all export as one EPCIS 2.0
    document that GS1's schema accepts, each movement one event at the place it names."""
    _accepted(shop("goods-in", "SUP:ACME", "LOC:A-03", GTIN, "SN-1", "SN-2", "SN-3", "SN-4", "SN-5", LOOSE,
                   "CMD:FINISH"))
    _accepted(shop("mover", "LOC:FLOOR", "SN-3", "CMD:FINISH"))
    transfer = shop("mover", "LOC:N-1", "SN-4", "CMD:FINISH")[-1].document["reference"]
    _accepted(shop("north-in", transfer, "SN-4", "CMD:FINISH"))
    _accepted(shop("returns", "SUP:ACME", "SN-5", "CMD:FINISH"))
    _accepted(shop("counter", "LOC:A", "SN-1", "SN-3", "SN-5", LOOSE, "CMD:FINISH"))
    _accepted(shop("till", "CUS:BOB", "SN-3", "CMD:FINISH"))
    config = from_dict({"stations": STATIONS})
    with db.Session() as s:
        document = json.loads("".join(epcis.document_text(s, config, epcis.movement_rows(s))))
        kinds = [kind.value for kind in s.scalars(select(Movement.kind).order_by(Movement.id))]
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(document)]
    assert problems == []
    events = document["epcisBody"]["eventList"]
    assert len(events) == len(kinds)
    assert {"receipt", "move", "transfer_out", "transfer_in", "supplier_return", "adjustment", "sale"} <= set(kinds)
    assert all(e["type"] == "ObjectEvent" and e["readPoint"]["id"] for e in events)
    arrived = [e for e in events if e["bizStep"] == "receiving" and transfer in json.dumps(e)]
    assert arrived and all(e["bizLocation"]["id"].endswith("/location/N-1") for e in arrived)
