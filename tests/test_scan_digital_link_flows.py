"""A Digital Link QR code through real scans, on SQLite and PostgreSQL: it does what its element string does.

One serial's life (received, sold, checked in and out at the service desk,
returned) is scanned twice on an emptied database: once with the GS1
DataMatrix element string ``]d2 (01)GTIN (21)SN/1``, once with a Digital Link
QR code of the same (01)(21), in one of the forms QR codes carry. Every scan's
answer, every posted line and the serial's record must be the same.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from station.config import from_dict
from station.domain import catalogue
from station.domain.models import Movement, SerialNumber
from station.scanning.service import ScanService

GTIN = "09520123456788"
SERIAL = "SN/1"
ELEMENT_STRING = f"]d201{GTIN}21{SERIAL}"
STATIONS = [{"id": "goods-in", "mode": "receive"}, {"id": "till", "mode": "sell"},
            {"id": "desk", "mode": "service"}, {"id": "returns", "mode": "return"}]
REFERENCE = re.compile(r"\b[A-Z]{1,3}-\d{6}\b")


def life(code: str) -> list[tuple[str, str]]:
    """(station, scan) of one serial's life, the unit scanned as ``code`` each time."""
    return [("goods-in", "SUP:ACME"), ("goods-in", code), ("goods-in", "CMD:FINISH"),
            ("till", code), ("till", "CMD:FINISH"),
            ("desk", code), ("desk", "CMD:FINISH"), ("desk", code), ("desk", "CMD:FINISH"),
            ("returns", code), ("returns", "CMD:FINISH")]


def lived(db, code: str) -> tuple[list, tuple, list]:
    """Scan the life through the scan service, one committed transaction a scan; what every scan answered
    (references masked), the serial's record and its movements."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=[GTIN])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    service = ScanService(from_dict({"stations": STATIONS}))
    answers = []
    for station, text in life(code):
        with db.Session.begin() as s:
            result = service.process(s, station, text)
        lines = [(line["product"], line["serial"], line["batch"], line["expiry"], line["quantity"])
                 for line in (result.document or {}).get("lines", [])]
        answers.append((station, result.accepted, result.code, REFERENCE.sub("REF", result.message),
                        REFERENCE.sub("REF", result.prompt), result.read_as, lines))
    with db.Session() as s:
        record = s.scalar(select(SerialNumber).where(SerialNumber.serial == SERIAL))
        state = (record.product.code, record.in_stock, record.in_service, record.customer.code if record.customer
                 else None, record.supplier.code)
        movements = [(m.kind.value, m.quantity) for m in s.scalars(select(Movement).order_by(Movement.id))]
    db.empty()
    return answers, state, movements


@pytest.mark.parametrize("link", [
    pytest.param(f"]Q1https://id.gs1.org/01/{GTIN}/21/SN%2F1", id="gs1_resolver_with_qr_aim"),
    pytest.param(f"HTTPS://EXAMPLE.COM/01/{GTIN}/21/SN%2F1/", id="upper_case_and_trailing_slash"),
    pytest.param(f"http://brand.example.com/dl/01/{GTIN}/21/SN%2f1?utm_source=label", id="http_prefix_tracking"),
])
def test_a_digital_link_lives_the_life_of_its_element_string(db, link):
    """Guards SPEC 4's Digital Link rule end to end in every mode: the QR code receives, sells, services and
    returns the serial with the same answers, lines, movements and record as its GS1 element string."""
    expected = lived(db, ELEMENT_STRING)
    assert all(accepted for _, accepted, *_ in expected[0]), expected[0]
    assert expected[1] == ("WID-1", True, False, None, "ACME")
    assert lived(db, link) == expected


def test_a_url_that_is_no_digital_link_is_refused_and_changes_nothing(db):
    """Guards "any other URL is unknown_barcode" where a new serial would otherwise be taken: a receipt waiting
    for its product's next serial refuses a web address, keeps waiting, and records no serial."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=[GTIN])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    service = ScanService(from_dict({"stations": STATIONS}))

    def scan(text):
        with db.Session.begin() as s:
            return service.process(s, "goods-in", text)

    assert scan("SUP:ACME").accepted and scan(GTIN).accepted
    refused = scan("https://www.example.com/products/widget?id=7")
    assert (refused.accepted, refused.code) == (False, "unknown_barcode")
    assert refused.prompt.startswith("Widget X: 0 received.")
    assert scan("SN-2").accepted
    posted = scan("CMD:FINISH")
    assert [line["serial"] for line in posted.document["lines"]] == ["SN-2"]


def test_a_digital_link_through_the_http_api(db):
    """Guards the scan API with Digital Links (every exchange checked against the OpenAPI document by the
    contract client): a QR code's URI receives its serial, and a URL that is none answers unknown_barcode."""
    from web.app import create_app

    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=[GTIN])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    app = create_app(from_dict({"database": {"url": db.url}, "stations": STATIONS}), engine=db.engine)
    client = app.test_client()

    def scan(text):
        answer = client.post("/api/stations/goods-in/scans", json={"data": text})
        assert answer.status_code == 200
        return answer.get_json()

    assert scan("SUP:ACME")["accepted"]
    added = scan(f"]Q1https://id.gs1.org/01/{GTIN}/21/SN%2F1?17=261231&utm_source=label")
    assert added["accepted"] and added["message"] == "Added Widget X, serial SN/1."
    assert [(line["serial"], line["expiry"]) for line in added["document"]["lines"]] == [("SN/1", "261231")]
    refused = scan("https://www.example.com/")
    assert (refused["accepted"], refused["code"]) == (False, "unknown_barcode")
    assert scan("CMD:FINISH")["accepted"]
