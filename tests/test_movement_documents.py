"""A movement names one document everywhere (issue 20, item 4), on SQLite and PostgreSQL.

A movement's ``document`` is the document whose posting wrote it (the
receipt ``R-...``), ``order`` the purchase order that receipt filled (or
null), and ``reason`` an adjustment's reason (else null): the same in the
API's serial and document, the event feed (whose JSON the webhooks POST),
the export in CSV and JSON, and the serial page's Movements tab. Before, the
API and the page named a receipt by its purchase order and the export by the
receipt itself.
"""
from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import pytest

from station.domain import catalogue, documents, events, posting, serials
from station.domain.models import DocumentKind
from station.interchange.export import movement_rows, write_csv, write_json
from station.webhooks import payload

REASON = "dropped in the store, screen cracked"


@pytest.fixture
def moved(db):
    """SN-1 received at goods-in against PO-1001, then adjusted out with a reason; SN-2 received without an order.
    Answers the three documents' references: (receipt against the order, adjustment, receipt without one)."""
    with db.Session.begin() as s:
        widget = catalogue.create_product(s, "WID-1", "Widget")
        acme = catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        order = documents.create_purchase_order(s, "PO-1001", "ACME", [("WID-1", 2)])
        receipt = documents.open_document(s, DocumentKind.receipt, station="goods-in", order=order)
        documents.add_line(s, receipt, product=widget, serial="SN-1")
        posting.post(s, receipt)
        adjustment = serials.adjust_serial(s, serials.get_serial(s, "SN-1"), "out", REASON, station="office")
        plain = documents.open_document(s, DocumentKind.receipt, station="goods-in", supplier=acme)
        documents.add_line(s, plain, product=widget, serial="SN-2")
        posting.post(s, plain)
        return receipt.reference, adjustment.reference, plain.reference


def named(movements) -> list[tuple]:
    return [(m["kind"], m["document"], m["order"], m["reason"]) for m in movements]


def expected(moved) -> dict[str, list[tuple]]:
    receipt, adjustment, plain = moved
    assert receipt.startswith("R-") and adjustment.startswith("A-") and plain.startswith("R-")
    return {"SN-1": [("receipt", receipt, "PO-1001", None), ("adjustment", adjustment, None, REASON)],
            "SN-2": [("receipt", plain, None, None)]}


def test_the_api_names_the_posting_document_and_its_order(client, db, moved):
    """Guards GET /api/serials/<serial> and GET /api/documents/<ref>: the receipt's own reference, the order
    beside it, the adjustment's reason; and SPEC 5's movement keys in its order."""
    want = expected(moved)
    for serial, movements in want.items():
        body = client.get(f"/api/serials/{serial}").get_json()
        assert named(body["movements"]) == movements
        assert list(body["movements"][0]) == ["at", "kind", "quantity", "document", "order", "station",
                                              "from_location", "to_location", "party", "user", "reason"]
    for reference in moved:
        body = client.get(f"/api/documents/{reference}").get_json()
        assert {(m["document"], m["order"], m["reason"]) for m in body["movements"]} == {
            (d, o, r) for moves in want.values() for _, d, o, r in moves if d == reference}


def test_the_events_and_the_webhooks_name_the_same(client, db, moved):
    """Guards document.posted: each movement of the posted document names it, its order and its reason, in the
    feed and in the body a webhook is sent (the same JSON, made by payload.event)."""
    want = {d: (o, r) for moves in expected(moved).values() for _, d, o, r in moves}
    answer = client.get("/api/events?after=0&limit=1000").get_json()
    posted = [e for e in answer["events"] if e["type"] == "document.posted"]
    assert [e["document"]["reference"] for e in posted] == list(moved)
    with db.Session() as s:
        rows = {row.id: row for row in events.after(s, 0, 1000)}
        for event in posted:
            sent = json.loads(payload.body(payload.event(s, rows[event["id"]])))
            assert sent == event
            for m in event["document"]["movements"]:
                assert (m["document"], (m["order"], m["reason"])) == (event["document"]["reference"],
                                                                     want[event["document"]["reference"]])


def test_the_export_names_the_same_in_csv_and_json(db, moved):
    """Guards `station export movements`: CSV and JSON carry the posting document, its order and the reason."""
    want = [move for serial in ("SN-1", "SN-2") for move in expected(moved)[serial]]
    with db.Session() as s:
        out = io.StringIO()
        write_csv(movement_rows(s), out)
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert [(r["kind"], r["document"], r["order"] or None, r["reason"] or None) for r in rows] == want
        out = io.StringIO()
        write_json(movement_rows(s), out)
        assert named(json.loads(out.getvalue())) == want


class _Cells(HTMLParser):
    """The text of each row of the serial page's Movements table, cell by cell."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "movements" in (dict(attrs).get("class") or ""):
            self._in = True
        elif self._in and tag == "tr":
            self.rows.append([])
        elif self._in and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._in = False
        elif self._in and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_the_serial_page_shows_the_document_and_the_order(client, db, moved):
    """Guards the serial page's Movements tab: a Document and an Order column (the receipt and the order it
    filled), and the adjustment's reason, as the API gives them."""
    receipt, adjustment, _ = moved
    parser = _Cells()
    parser.feed(client.get("/serials/SN-1").get_data(as_text=True))
    head, *rows = parser.rows
    columns = {name.split(" (")[0]: i for i, name in enumerate(head)}
    assert [(row[columns["Document"]], row[columns["Order"]]) for row in rows] == [(receipt, "PO-1001"),
                                                                                   (adjustment, "")]
    assert REASON in rows[1][columns["Kind"]] and REASON not in rows[0][columns["Kind"]]
