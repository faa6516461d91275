"""A unit in transit that never arrives, adjusted out (SPEC 3c: "units never arrived stay in_transit until they
do or a supervisor adjusts them out"), through the HTTP API on SQLite and PostgreSQL.

The transfer is scanned and posted as stations send it (POST /api/stations/<id>/scans), one unit arrives, the
other is written off with POST /api/serials/<serial>/adjust; ``station check`` (stock.check, which recomputes
every place and transfer from the movements alone) is clean after each step.
"""
from __future__ import annotations

import json

import pytest
from helpers.api import assert_error
from helpers.epcis import errors
from helpers.places import add_location

from station.config import from_dict
from station.domain import catalogue, locations, stock
from station.domain.vocabulary import MAIN_SITE, MAIN_SITE_NAME
from station.traceability import epcis
from web.app import create_app

GTIN = "09501101020917"
STATIONS = [{"id": "goods-in", "mode": "receive"}, {"id": "mover", "mode": "move"},
            {"id": "north-in", "mode": "receive", "location": "NORTH"}]


@pytest.fixture
def api(db):
    """The API with a goods-in and a mover at MAIN and a goods-in at NORTH (a second site); WID-1, ACME."""
    with db.Session.begin() as s:
        if locations.find(s, MAIN_SITE) is None:  # the tables are emptied after each test
            locations.add(s, MAIN_SITE, MAIN_SITE_NAME)
        add_location(s, "NORTH", "North shop")
        add_location(s, "N-1", "North back room", "NORTH")
        catalogue.create_product(s, "WID-1", "Widget", barcodes=[GTIN])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    app = create_app(from_dict({"database": {"url": db.url}, "stations": STATIONS}), engine=db.engine)
    app.testing = True
    return app.test_client()


def scan(client, station: str, *texts: str) -> dict:
    for text in texts:
        answer = client.post(f"/api/stations/{station}/scans", json={"data": text}).get_json()
        assert answer["accepted"], (text, answer["code"], answer["message"])
    return answer


def clean(db) -> None:
    with db.Session() as s:
        assert stock.check(s) == []


def test_a_unit_never_arrived_is_adjusted_out_of_its_transfer(api, db):
    """Guards the write-off of a unit in transit: the adjustment out is accepted (not serial_not_in_stock), the
    serial leaves its transfer (no longer in_transit, still out of stock, still nobody's), its movement is an
    adjustment of quantity 0 naming no location with the reason given, the transfer shows it shipped and not
    arrived, a late arrival of it is refused, and station check stays clean throughout."""
    scan(api, "goods-in", "SUP:ACME", GTIN, "SN-1", "SN-2", "CMD:FINISH")
    transfer = scan(api, "mover", "LOC:N-1", "SN-1", "SN-2", "CMD:FINISH")["document"]["reference"]
    scan(api, "north-in", transfer, "SN-1", "CMD:FINISH")
    assert api.get("/api/serials/SN-2").get_json()["status"] == "in_transit"
    clean(db)

    adjusted = api.post("/api/serials/SN-2/adjust", json={"direction": "out", "reason": "lost in transit"})
    assert adjusted.status_code == 200, adjusted.get_data(as_text=True)
    record = adjusted.get_json()
    assert record["status"] == "not_in_stock" and record["in_stock"] is False
    assert record["location"] is None and record["customer"] is None
    last = record["movements"][-1]
    assert (last["kind"], last["quantity"], last["from_location"], last["to_location"], last["reason"]) == \
        ("adjustment", 0, None, None, "lost in transit")
    assert [m["kind"] for m in record["movements"]] == ["receipt", "transfer_out", "adjustment"]
    clean(db)

    units = {u["serial"]: u for u in api.get(f"/api/documents/{transfer}").get_json()["units"]}
    assert (units["SN-1"]["shipped"], units["SN-1"]["arrived"]) == (True, True)
    assert (units["SN-2"]["shipped"], units["SN-2"]["arrived"]) == (True, False)
    late = api.post("/api/stations/north-in/scans", json={"data": transfer}).get_json()
    assert late["accepted"]
    late = api.post("/api/stations/north-in/scans", json={"data": "SN-2"}).get_json()
    assert (late["accepted"], late["code"]) == (False, "serial_not_on_transfer")
    api.post("/api/stations/north-in/scans", json={"data": "CMD:CANCEL"})
    clean(db)

    config = from_dict({"database": {"url": db.url}, "stations": STATIONS})
    with db.Session() as s:
        document = json.loads("".join(epcis.document_text(s, config, epcis.movement_rows(s))))
    assert errors(document) == []
    written_off = document["epcisBody"]["eventList"][-1]  # gone from our records, not a faulty unit kept
    assert (written_off["bizStep"], written_off["action"]) == ("stock_taking", "DELETE")
    assert "disposition" not in written_off and "bizLocation" not in written_off


def test_a_unit_in_transit_is_not_adjusted_in_and_a_written_off_one_can_be(api, db):
    """Guards the other direction: adjusting in a unit still in transit is refused (serial_in_transit: it is
    ours, on its way), and one written off can be adjusted in again when it turns up, at a location, check clean."""
    scan(api, "goods-in", "SUP:ACME", GTIN, "SN-1", "CMD:FINISH")
    scan(api, "mover", "LOC:N-1", "SN-1", "CMD:FINISH")
    assert_error(api.post("/api/serials/SN-1/adjust", json={"direction": "in", "reason": "found"}), 422,
                 "serial_in_transit")
    assert api.post("/api/serials/SN-1/adjust", json={"direction": "out", "reason": "lost"}).status_code == 200
    assert_error(api.post("/api/serials/SN-1/adjust", json={"direction": "out", "reason": "again"}), 422,
                 "serial_not_in_stock")
    back = api.post("/api/serials/SN-1/adjust", json={"direction": "in", "reason": "turned up"}).get_json()
    assert back["in_stock"] is True and back["location"]["code"] == "MAIN"
    clean(db)
