"""The integration feed (SPEC 5): an event per posted document and per record made or edited, written in the
change's own transaction, read with GET /api/events?after=&limit=."""
from __future__ import annotations

import pytest
from helpers.api import assert_error
from sqlalchemy import func, select

from station.config import from_dict
from station.domain import catalogue, events, stock
from station.domain.errors import Refusal
from station.domain.models import FeedEvent
from station.scanning.service import ScanService
from station.storage.retry import run_in_transaction

BARCODE = "036000291452"


def feed(client, after: int = 0, limit: int | None = None) -> dict:
    query = f"?after={after}" + (f"&limit={limit}" if limit is not None else "")
    response = client.get("/api/events" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def count(db) -> int:
    with db.Session() as s:
        return s.scalar(select(func.count()).select_from(FeedEvent))


def test_a_posted_receipt_is_one_event_with_the_document_as_the_api_gives_it_and_its_movements(client, db, world):
    """Guards document.posted: one event when CMD:FINISH posts, in that transaction, carrying what GET
    /api/documents/<ref> answers (every line) and the movements, each with its product, serial and user."""
    before = feed(client)["last_id"]
    svc = ScanService(from_dict({"stations": [{"id": "goods-in", "mode": "receive"}]}))
    for text in ("SUP:ACME", BARCODE, "SN-1", "SN-2"):
        run_in_transaction(db.Session, lambda s, t=text: svc.process(s, "goods-in", t))
    assert feed(client, before)["events"] == []  # lines are not events; only the posting is
    run_in_transaction(db.Session, lambda s: svc.process(s, "goods-in", "CMD:FINISH"))
    answer = feed(client, before)
    (event,) = answer["events"]
    assert answer["last_id"] == event["id"] and event["id"] > before
    assert set(event) == {"id", "type", "at", "document"} and event["type"] == "document.posted"
    document = event["document"]
    shown = client.get(f"/api/documents/{document['reference']}").get_json()
    assert document == {k: v for k, v in shown.items() if k not in ("page", "per_page")}
    movements = document.pop("movements")
    assert [(m["kind"], m["quantity"], m["serial"], m["product"]["code"], m["party"]["code"]) for m in movements] == [
        ("receipt", 1, "SN-1", "WID-1", "ACME"), ("receipt", 1, "SN-2", "WID-1", "ACME")]


def test_record_edits_are_changed_events_and_a_save_of_the_same_values_is_none(client, db, world):
    """Guards serial.changed, product.changed and party.changed: made or edited through the API (the pages and
    imports call the same domain functions), the record as the API gives it; nothing when nothing changed."""
    start = feed(client)["last_id"]
    client.post("/api/serials", json={"serial": "SN-9"})
    client.patch("/api/serials/SN-9", json={"product": "WID-1"})
    client.patch("/api/serials/SN-9", json={"product": "WID-1"})  # the same again: no event
    client.patch("/api/products/WID-2", json={"name": "Gadget Pro"})
    client.patch("/api/products/WID-2", json={"name": "Gadget Pro"})  # no event
    client.post("/api/products/WID-2/barcodes", json={"barcode": "4006381333931"})
    client.post("/api/customers", json={"code": "ANN", "name": "Ann"})
    got = feed(client, start)["events"]
    assert [e["type"] for e in got] == ["serial.changed", "serial.changed", "product.changed", "product.changed",
                                        "party.changed"]
    assert got[1]["serial"]["product"] == {"code": "WID-1", "name": "Widget"}
    assert got[1]["serial"] == client.get("/api/serials/SN-9").get_json()
    assert got[3]["product"]["barcodes"] == ["04006381333931"]
    assert got[4]["party"] == {"kind": "customer", "code": "ANN", "name": "Ann"}


def test_a_refused_change_writes_no_event(client, db, world):
    """Guards the outbox's half of the transaction: an edit or posting that is refused leaves no event behind."""
    start = count(db)
    assert_error(client.patch("/api/serials/NOPE", json={"product": "WID-1"}), 404)
    assert client.post("/api/products/LOOSE/adjust", json={"quantity": -5, "reason": "lost"}).status_code == 422
    with pytest.raises(Refusal), db.Session.begin() as s:
        catalogue.create_product(s, "NEW", "New")
        stock.adjust_product(s, catalogue.get_product(s, "LOOSE"), -1, "none left")
    assert count(db) == start


def test_the_feed_pages_by_id_and_refuses_a_limit_out_of_range(client, db, world):
    """Guards the feed's paging: oldest first, ``limit`` of them (default 100), last_id the last one's or the
    given ``after``; a limit outside 1-1000 or not a whole number is 400 invalid_field."""
    for i in range(5):
        client.post("/api/customers", json={"code": f"C{i}", "name": f"C {i}"})
    every = feed(client)
    ids = [e["id"] for e in every["events"]]
    assert ids == sorted(ids) and len(ids) == count(db) and every["last_id"] == ids[-1]
    assert [e["id"] for e in feed(client, ids[1], 2)["events"]] == ids[2:4]
    assert feed(client, ids[-1]) == {"events": [], "last_id": ids[-1]}
    assert feed(client, 10**6) == {"events": [], "last_id": 10**6}
    for bad in ("0", "1001", "-1", "1.5", "ten", ""):
        assert_error(client.get(f"/api/events?limit={bad}"), 400, "invalid_field")
    assert_error(client.get("/api/events?after=x"), 400, "invalid_field")
    with db.Session() as s:
        assert events.last_id(s) == ids[-1]
