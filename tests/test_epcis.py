"""EPCIS 2.0 (issue 24, part 3): each posted movement as one ObjectEvent, every document valid against GS1's schema.

The schema and GS1's own examples are in tests/data/epcis/ (helpers.epcis). Movements of every kind the station
writes are built here as rows (move, transfer_out and transfer_in have no posting on this branch yet), and a
receipt, a sale and an adjustment are also posted for real, so the mapping is checked on what posting writes.
"""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from helpers.epcis import EXAMPLES, errors, validator
from sqlalchemy import insert, select

from station.config import from_dict
from station.domain import catalogue, events, posting
from station.domain.documents import add_line, open_document
from station.domain.models import Document, Location, Movement, SerialNumber
from station.domain.vocabulary import DocumentKind, DocumentStatus, EventType, MovementKind
from station.traceability import epcis

AT = datetime(2026, 7, 1, 12, 30, 15, 123000, tzinfo=UTC)
CONFIG = from_dict({"web": {"timezone": "Europe/Berlin"},
                    "traceability": {"base_uri": "https://station.example.com"}})


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_gs1_examples_validate(example):
    """The validator is set up right: GS1's own example documents pass it, with formats checked."""
    assert errors(json.loads(example.read_text(encoding="utf-8"))) == []


def test_the_validator_refuses_what_the_schema_refuses():
    """The validator is not a yes-machine: a bizStep outside CBV, a time that is no time and a missing
    eventList are each refused (so the passes below mean something)."""
    good = json.loads(EXAMPLES[1].read_text(encoding="utf-8"))
    for path, value in ((("epcisBody", "eventList", 0, "bizStep"), "returning"),
                        (("epcisBody", "eventList", 0, "eventTime"), "yesterday"),
                        (("epcisBody", "eventList", 0, "eventID"), "not a uri")):
        bad = json.loads(json.dumps(good))
        target = bad
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        assert errors(bad), path
    del good["epcisBody"]["eventList"]
    assert not validator().is_valid(good)


def _location(s, code: str, parent: Location | None = None) -> Location:
    found = s.scalar(select(Location).where(Location.code == code))
    if found is None:
        found = Location(code=code, name=code, parent_id=parent.id if parent else None)
        s.add(found)
        s.flush()
        found.site_id = parent.site_id if parent else found.id
    return found


@pytest.fixture
def places(db, world):
    """Sites MAIN (with A-01 under it) and NORTH; a purchase order PO-1 of ACME, a transfer T-1; serial SN/1 of
    WID-1 (which has a GTIN)."""
    with db.Session.begin() as s:
        main = _location(s, "MAIN")
        _location(s, "A-01", main)
        _location(s, "NORTH")
        s.add(Document(reference="PO-1", kind=DocumentKind.purchase_order, status=DocumentStatus.open,
                       supplier_id=catalogue.get_party(s, "supplier", "ACME").id))
        s.add(Document(reference="T-1", kind=DocumentKind.transfer, status=DocumentStatus.posted))
        s.add(SerialNumber(serial="SN/1", product_id=catalogue.get_product(s, "WID-1").id))
    return db


KINDS = {
    # kind: (document kind, quantity, serial?, from, to, party)
    MovementKind.receipt: (DocumentKind.receipt, 1, True, None, "A-01", "supplier"),
    MovementKind.sale: (DocumentKind.sale, -1, True, "A-01", None, "customer"),
    MovementKind.customer_return: (DocumentKind.customer_return, 1, True, None, "MAIN", "customer"),
    MovementKind.supplier_return: (DocumentKind.supplier_return, -1, True, "MAIN", None, "supplier"),
    MovementKind.adjustment: (DocumentKind.adjustment, -3, False, "MAIN", None, None),
    MovementKind.service_in: (DocumentKind.service_check_in, 0, True, None, None, "customer"),
    MovementKind.service_out: (DocumentKind.service_check_out, 0, True, None, None, "customer"),
    MovementKind.replaced: (DocumentKind.service_check_out, 0, True, None, None, "customer"),
    MovementKind.replacement: (DocumentKind.service_check_out, -1, True, "MAIN", None, "customer"),
    MovementKind.move: (DocumentKind.move, 0, False, "MAIN", "A-01", None),
    MovementKind.transfer_out: (DocumentKind.transfer, -1, True, "A-01", None, None),
    MovementKind.transfer_in: (DocumentKind.arrival, 1, True, None, "NORTH", None),
}


def _movement(db, kind: MovementKind, *, count: int = 1, quantity: int | None = None,
              document: DocumentKind | None = None, order: str | None = None) -> tuple[int, list[int]]:
    """``count`` movements of ``kind`` on one posted document (with its event): the event id and movement ids."""
    doc_kind, default_quantity, serial, src, dst, party = KINDS[kind]
    with db.Session.begin() as s:
        product = catalogue.get_product(s, "WID-1" if serial else "LOOSE")
        supplier = catalogue.get_party(s, "supplier", "ACME")
        customer = catalogue.get_party(s, "customer", "BOB")
        doc_kind = document or doc_kind
        number = s.scalar(select(Document.id).order_by(Document.id.desc()).limit(1)) or 0
        doc = Document(reference=f"D-{number + 1}", kind=doc_kind, status=DocumentStatus.posted,
                       supplier_id=supplier.id if party == "supplier" else None,
                       customer_id=customer.id if party == "customer" else None,
                       order_id=s.scalar(select(Document.id).where(Document.reference == order)) if order else None)
        s.add(doc)
        s.flush()
        locations = {loc.code: loc.id for loc in s.scalars(select(Location))}
        serial_id = s.scalar(select(SerialNumber.id).where(SerialNumber.serial == "SN/1")) if serial else None
        ids = s.scalars(insert(Movement).returning(Movement.id), [
            {"at": AT, "kind": kind, "quantity": default_quantity if quantity is None else quantity,
             "product_id": product.id, "serial_id": serial_id, "document_id": doc.id, "station": "default",
             "supplier_id": supplier.id if party == "supplier" else None,
             "customer_id": customer.id if party == "customer" else None,
             "from_location_id": locations.get(src), "to_location_id": locations.get(dst)}
            for _ in range(count)]).all()
        event = events.record(s, EventType.document_posted, "document", doc.id, at=AT)
    return event, list(ids)


def _document(db, **kwargs) -> dict:
    with db.Session() as s:
        text = "".join(epcis.document_text(s, CONFIG, epcis.movement_rows(s, **kwargs)))
    return json.loads(text)


@pytest.mark.parametrize("kind", list(MovementKind), ids=str)
def test_every_movement_kind_validates(places, kind):
    """Guards SPEC 5 Traceability: every kind of movement the station writes is one ObjectEvent with the CBV
    bizStep and disposition of its kind, in a document GS1's schema accepts."""
    _, (movement_id,) = _movement(places, kind, order="PO-1" if kind is MovementKind.receipt else None)
    document = _document(places)
    assert errors(document) == []
    (event,) = document["epcisBody"]["eventList"]
    step = epcis.VOCABULARY[kind]
    assert event["type"] == "ObjectEvent" and event["bizStep"] == step.biz_step
    assert event.get("disposition") == (None if kind is MovementKind.adjustment else step.disposition)
    assert event["eventTime"] == "2026-07-01T12:30:15.123Z" and event["eventTimeZoneOffset"] == "+02:00"
    quantity = KINDS[kind][1]
    assert event["action"] == ("ADD" if quantity > 0 else "DELETE" if quantity < 0 else "OBSERVE")
    assert event["eventID"] == "urn:uuid:" + str(uuid.uuid5(
        uuid.NAMESPACE_URL, f"https://station.example.com/movement/{movement_id}"))


def test_what_each_event_names(places):
    """The serial by its Digital Link URI, the locations as readPoint and bizLocation (none for a unit that
    left us; the station's location where the movement names none), the receipt and its purchase order as
    business transactions, the supplier or customer as owning party, unserialised units by the product's URI."""
    _movement(places, MovementKind.receipt, order="PO-1")
    _movement(places, MovementKind.sale)
    _movement(places, MovementKind.adjustment, quantity=-3)
    _movement(places, MovementKind.service_in)
    receipt, sale, adjustment, service = _document(places)["epcisBody"]["eventList"]
    base = "https://station.example.com"
    assert receipt["epcList"] == ["https://id.gs1.org/01/00036000291452/21/SN%2F1"]
    assert receipt["readPoint"] == receipt["bizLocation"] == {"id": f"{base}/location/A-01"}
    assert receipt["bizTransactionList"] == [{"type": "po", "bizTransaction": f"{base}/documents/PO-1"},
                                             {"type": "recadv", "bizTransaction": f"{base}/documents/D-3"}]
    assert receipt["sourceList"] == [{"type": "owning_party", "source": f"{base}/suppliers/ACME"}]
    assert sale["readPoint"] == {"id": f"{base}/location/A-01"} and "bizLocation" not in sale
    assert sale["destinationList"] == [{"type": "owning_party", "destination": f"{base}/customers/BOB"}]
    assert sale["bizTransactionList"] == [{"type": "inv", "bizTransaction": f"{base}/documents/D-4"}]
    assert "epcList" not in adjustment
    assert adjustment["quantityList"] == [{"epcClass": f"{base}/products/LOOSE", "quantity": 3}]
    assert adjustment["action"] == "DELETE" and "sourceList" not in adjustment
    assert service["readPoint"] == {"id": f"{base}/location/MAIN"} and "bizLocation" not in service
    assert service["sourceList"] == [{"type": "possessing_party", "source": f"{base}/customers/BOB"}]


def test_counts_are_cycle_counting(places):
    """A count's movements (its adjustments and the moves of units found elsewhere) are ``cycle_counting``."""
    _movement(places, MovementKind.adjustment, quantity=1, document=DocumentKind.count)
    _movement(places, MovementKind.move, document=DocumentKind.count)
    found, moved = _document(places)["epcisBody"]["eventList"]
    assert found["bizStep"] == moved["bizStep"] == "cycle_counting"
    assert found["action"] == "ADD" and found["disposition"] == "sellable_accessible"
    assert moved["action"] == "OBSERVE"


def test_event_ids_are_stable_and_the_order_is_the_feeds(places):
    """The same movement gives the same event on every read; documents come in the order of their events
    (not of their movements' ids), each document's movements in id order; ``event_ids`` picks documents."""
    first_event, first = _movement(places, MovementKind.receipt, count=2)
    second_event, second = _movement(places, MovementKind.sale)
    with places.Session.begin() as s:  # the first document's event is now the later one
        s.execute(Movement.__table__.update().where(Movement.id.in_(first)).values(at=AT))
        from station.domain.models import FeedEvent
        s.execute(FeedEvent.__table__.update().where(FeedEvent.id == first_event).values(id=second_event + 1))
    one = _document(places)["epcisBody"]["eventList"]
    again = _document(places)["epcisBody"]["eventList"]
    assert one == again
    assert [e["eventID"] for e in one] == [epcis.event_id(CONFIG, i) for i in (*second, *first)]
    only = _document(places, event_ids=[second_event + 1])["epcisBody"]["eventList"]
    assert [e["eventID"] for e in only] == [epcis.event_id(CONFIG, i) for i in first]


def test_posted_documents_validate(db, world):
    """What posting really writes (a receipt of serials and loose units from ACME, a sale to BOB, an
    adjustment) makes a valid document with one event per movement."""
    with db.Session.begin() as s:
        receipt = open_document(s, DocumentKind.receipt, station="default",
                                supplier=catalogue.get_party(s, "supplier", "ACME"))
        for serial in ("A1", "A 2"):  # "A 2": no GS1 form (a space), so the station's own URI
            add_line(s, receipt, product=catalogue.get_product(s, "WID-1"), serial=serial)
        add_line(s, receipt, product=catalogue.get_product(s, "LOOSE"), quantity=4)
        posting.post(s, receipt)
    with db.Session.begin() as s:
        sale = open_document(s, DocumentKind.sale, station="default",
                             customer=catalogue.get_party(s, "customer", "BOB"))
        add_line(s, sale, serial="A1")
        posting.post(s, sale)
    with db.Session.begin() as s:
        posting.post_adjustment(s, "broken", [(catalogue.get_product(s, "LOOSE"), None, -1)], station="default")
    document = _document(db)
    assert errors(document) == []
    kinds = [(e["bizStep"], e["action"]) for e in document["epcisBody"]["eventList"]]
    assert kinds == [("receiving", "ADD")] * 3 + [("retail_selling", "DELETE"), ("stock_taking", "DELETE")]
    serials = [e["epcList"][0] for e in document["epcisBody"]["eventList"][:2]]
    assert serials[0].startswith("http://127.0.0.1:8700/serial/A1") or serials[0].endswith("/21/A1")
    assert serials[1].endswith("/serial/A%202")


def test_a_transfer_is_shipped_and_received(places):
    """A transfer's unit leaves (shipping, in_transit, no bizLocation) and arrives (receiving at the other site),
    the arrival naming its transfer as the despatch advice and itself as the receiving advice."""
    _movement(places, MovementKind.transfer_out)
    _movement(places, MovementKind.transfer_in, order="T-1")
    document = _document(places)
    assert errors(document) == []
    out, arrived = document["epcisBody"]["eventList"]
    base = "https://station.example.com"
    assert (out["bizStep"], out["disposition"], out["action"]) == ("shipping", "in_transit", "DELETE")
    assert out["readPoint"] == {"id": f"{base}/location/A-01"} and "bizLocation" not in out
    assert (arrived["bizStep"], arrived["action"]) == ("receiving", "ADD")
    assert arrived["bizLocation"] == {"id": f"{base}/location/NORTH"}
    assert arrived["bizTransactionList"] == [{"type": "desadv", "bizTransaction": f"{base}/documents/T-1"},
                                             {"type": "recadv", "bizTransaction": f"{base}/documents/D-4"}]


def test_a_location_with_a_gln_is_named_by_it(places):
    """Guards SPEC 5 Traceability: a location with a ``gln`` is ``https://id.gs1.org/414/<GLN>`` wherever an event
    names it (bizLocation and readPoint where a unit went, readPoint where it left, and the station's own location
    when the movement names none); one without keeps ``<base_uri>/location/<code>``; the document still validates
    against GS1's schema."""
    with places.Session.begin() as s:
        for code, gln in (("A-01", "9520123456788"), ("MAIN", "4012345000009")):
            s.scalar(select(Location).where(Location.code == code)).gln = gln
    _movement(places, MovementKind.receipt, order="PO-1")
    _movement(places, MovementKind.sale)
    _movement(places, MovementKind.service_in)
    _movement(places, MovementKind.transfer_in, order="T-1")
    document = _document(places)
    assert errors(document) == []
    receipt, sale, service, arrived = document["epcisBody"]["eventList"]
    shelf = {"id": "https://id.gs1.org/414/9520123456788"}
    assert receipt["bizLocation"] == receipt["readPoint"] == shelf
    assert sale["readPoint"] == shelf and "bizLocation" not in sale
    assert service["readPoint"] == {"id": "https://id.gs1.org/414/4012345000009"}
    assert arrived["bizLocation"] == {"id": "https://station.example.com/location/NORTH"}
