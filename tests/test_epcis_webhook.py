"""A webhook of ``format = "epcis"`` (issue 24, part 3): each posted document's EPCIS events, one EPCISDocument a
POST, signed and retried as every delivery is, to a real HTTP receiver on loopback (tests/helpers/receiver.py).
"""
from __future__ import annotations

import base64

import pytest
from helpers.epcis import errors
from helpers.receiver import Receiver, verify

from station.config import from_dict, load
from station.domain import catalogue, events, posting, stock
from station.domain.documents import add_line, open_document
from station.domain.errors import ConfigError
from station.domain.vocabulary import DocumentKind
from station.webhooks.deliverer import Deliverer
from station.webhooks.outbox import Schedule

SECRET = "whsec_" + base64.b64encode(b"epcis-webhook-key-of-32-bytes...").decode()
QUICK = Schedule(delays=(0.05,), then=0.05)  # a failed attempt is tried again after 0.05 s


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def deliverer(db, tmp_path, receiver):
    path = tmp_path / "station.toml"
    path.write_text(f'[database]\nurl = "{db.url}"\n\n[traceability]\nbase_uri = "https://shop.example"\n\n'
                    f'[[webhooks]]\nurl = "{receiver.url}"\nsecret = "{SECRET}"\nformat = "epcis"\n',
                    encoding="utf-8")
    config = load(path)
    assert config.webhooks[0].events == ("document.posted",)
    d = Deliverer(config, db.engine, holder="test", timeout=2.0, schedule=QUICK, look_again=5.0)
    d.start()
    yield d
    d.stop(2.0)


def test_each_posted_document_is_one_signed_epcis_document(db, world, receiver, deliverer):
    """Guards SPEC 5 Traceability: a receipt of two serials and a sale of one reach the receiver as two POSTs,
    each an EPCISDocument valid against GS1's schema holding that document's events only, signed (Standard
    Webhooks), webhook-id the event id; a product.changed event in between is not sent; a 500 is retried and
    the retry carries the same bytes."""
    receiver.script("500")  # the first attempt fails; the retry goes through
    with db.Session.begin() as s:
        receipt = open_document(s, DocumentKind.receipt, station="default",
                                supplier=catalogue.get_party(s, "supplier", "ACME"))
        for serial in ("E1", "E2"):
            add_line(s, receipt, product=catalogue.get_product(s, "WID-1"), serial=serial)
        posting.post(s, receipt)
        received_id = events.last_id(s)
    with db.Session.begin() as s:
        catalogue.create_product(s, "NEW", "New")  # product.changed: not for an epcis webhook
    with db.Session.begin() as s:
        sale = open_document(s, DocumentKind.sale, station="default",
                             customer=catalogue.get_party(s, "customer", "BOB"))
        add_line(s, sale, serial="E1")
        posting.post(s, sale)
        sold_id = events.last_id(s)
    receiver.wait_for(lambda got: [r.event_id for r in got if r.delivered] == [received_id, sold_id], 20,
                      "the receipt's and the sale's EPCIS documents")
    failed, *delivered = receiver.received
    assert failed.status == 500 and failed.event_id == received_id and failed.body == delivered[0].body
    assert [r.event_id for r in delivered] == [received_id, sold_id]
    receipt_doc, sale_doc = (r.json() for r in delivered)
    for r in delivered:
        assert verify(SECRET, r) and r.headers["content-type"].startswith("application/json")
        assert errors(r.json()) == []
    epcs = [e["epcList"] for e in receipt_doc["epcisBody"]["eventList"]]
    assert epcs == [["https://id.gs1.org/01/00036000291452/21/E1"], ["https://id.gs1.org/01/00036000291452/21/E2"]]
    (sold,) = sale_doc["epcisBody"]["eventList"]
    assert sold["bizStep"] == "retail_selling" and sold["epcList"] == epcs[0]
    assert sold["destinationList"] == [{"type": "owning_party", "destination": "https://shop.example/customers/BOB"}]


def test_a_document_without_movements_still_sends_a_valid_document(db, world, receiver, deliverer):
    """An adjustment of loose units is one quantity event; each delivery is a whole, valid document."""
    with db.Session.begin() as s:
        stock.adjust_product(s, catalogue.get_product(s, "LOOSE"), 3, "found")
        posted = events.last_id(s)
    receiver.wait_for(lambda got: any(r.delivered for r in got), 20, "the adjustment's EPCIS document")
    (r,) = receiver.received
    assert r.event_id == posted and errors(r.json()) == []
    (event,) = r.json()["epcisBody"]["eventList"]
    assert event["quantityList"] == [{"epcClass": "https://shop.example/products/LOOSE", "quantity": 3}]


def test_an_epcis_webhook_takes_posted_documents_only():
    """format = "epcis" with other event types is refused in one sentence that says what to do."""
    hook = {"url": "https://erp.example/h", "secret": SECRET, "format": "epcis", "events": ["serial.changed"]}
    with pytest.raises(ConfigError, match=r'takes document.posted events only: leave events out'):
        from_dict({"webhooks": [hook]})
