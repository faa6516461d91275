"""The service desk at the station's edges: the product API and CSV's warranty_months, ``[service]``, the reader.

warranty_months is a whole number of months from 0 to 600, 0 when not given:
POST, PATCH and GET /api/products carry it, a wrong type or range is 400
``invalid_field`` with nothing written; the products CSV has the column (a
file without it leaves a warranty as it is). ``[service] overdue_days`` is
typed and ranged like every key. The reader reads CMD:SERVICE and
CMD:REPLACE, and says whether a known serial is in service.
"""
from __future__ import annotations

import io
import re

import pytest
from helpers.api import assert_error, snapshot

from station.config import from_dict
from station.domain.barcodes import normalise_barcode
from station.domain.errors import ConfigError
from station.domain.models import Product
from station.interchange.imports import ImportFailed, import_products
from station.scan_core.reading import Kind, ProductInfo, read

WIDGET = ProductInfo("WID-1", "Widget", True, True)


def test_products_api_carries_warranty_months(client, db):
    """Guards SPEC 5's product keys: warranty_months given, defaulted to 0, changed by PATCH, read by GET."""
    made = client.post("/api/products", json={"code": "PHONE", "name": "Phone", "warranty_months": 24})
    assert made.status_code == 201 and made.get_json()["warranty_months"] == 24
    plain = client.post("/api/products", json={"code": "CABLE", "name": "Cable"}).get_json()
    assert plain["warranty_months"] == 0
    changed = client.patch("/api/products/PHONE", json={"warranty_months": 600})
    assert changed.status_code == 200 and changed.get_json()["warranty_months"] == 600
    assert client.patch("/api/products/PHONE", json={"name": "Phone 2"}).get_json()["warranty_months"] == 600
    assert client.get("/api/products/PHONE").get_json()["warranty_months"] == 600
    assert [p["warranty_months"] for p in client.get("/api/products").get_json()["products"]] == [0, 600]


@pytest.mark.parametrize("value", [601, -1, True, "12", 1.5, None])
def test_products_api_refuses_a_wrong_warranty(client, db, value):
    """Guards the range and type: 400 invalid_field naming the field, nothing written."""
    client.post("/api/products", json={"code": "PHONE", "name": "Phone", "warranty_months": 12})
    before = snapshot(db)
    for response in (client.post("/api/products", json={"code": "TAB", "name": "Tablet", "warranty_months": value}),
                     client.patch("/api/products/PHONE", json={"warranty_months": value})):
        assert "warranty_months" in assert_error(response, 400, "invalid_field")["message"]
    assert snapshot(db) == before


HEADER = "code,name,serial_required_for_purchase,serial_required_for_sales,warranty_months,barcodes\n"


def months(session) -> dict[str, int]:
    session.expire_all()
    return {p.code: p.warranty_months for p in session.query(Product).order_by(Product.code)}


def test_products_csv_carries_warranty_months(session):
    """Guards the import column: given, empty (0), and a file without it leaving a warranty as it is."""
    result = import_products(session, io.StringIO(HEADER + "PHONE,Phone,,,24,\nCABLE,Cable,no,no,,\n"))
    assert (result.created, months(session)) == (2, {"CABLE": 0, "PHONE": 24})
    again = import_products(session, io.StringIO(HEADER + "PHONE,Phone,,,24,\nCABLE,Cable,no,no,,\n"))
    assert again.unchanged == 2
    older = import_products(session, io.StringIO("code,name,serial_required_for_sales\nPHONE,Phone,yes\n"))
    assert older.unchanged == 1 and months(session)["PHONE"] == 24
    import_products(session, io.StringIO(HEADER + "PHONE,Phone,,,36,\n"))
    assert months(session)["PHONE"] == 36


@pytest.mark.parametrize("value, words", [
    pytest.param("601", "from 0 (no warranty) to 600", id="too_long"),
    pytest.param("-3", "whole number of months", id="negative"),
    pytest.param("1.5", "whole number of months", id="fraction"),
    pytest.param("twelve", "whole number of months", id="word"),
])
def test_products_csv_refuses_a_wrong_warranty_at_its_line_and_column(db, session, value, words):
    """Guards the file-or-nothing rule for the new column: the bad row's line and column named, nothing written."""
    with pytest.raises(ImportFailed) as exc:
        import_products(session, io.StringIO(HEADER + "PHONE,Phone,,,24,\n" + f"TAB,Tablet,,,{value},\n"))
    assert (exc.value.line, exc.value.column) == (3, "warranty_months") and words in str(exc.value)
    session.rollback()
    assert months(session) == {}


def test_service_section_is_typed():
    """Guards [service] overdue_days: read, ranged, and a misspelt key named with the nearest known one."""
    assert from_dict({}).service.overdue_days == 14
    assert from_dict({"service": {"overdue_days": 3}}).service.overdue_days == 3
    for raw, says in (({"overdue_days": 0}, "from 1 to 3650"), ({"overdue_days": "2"}, "whole number"),
                      ({"overdue_day": 2}, "did you mean 'overdue_days'")):
        with pytest.raises(ConfigError) as exc:
            from_dict({"service": raw})
        assert says in exc.value.message
    assert from_dict({"stations": [{"id": "desk", "mode": "service"}]}).stations[0].mode == "service"


class Lookups:
    """The reader's questions, answered for SN-1 (in service) and SN-2 (not)."""

    def product_by_barcode(self, text):
        return WIDGET if normalise_barcode(text) == "09501101020917" else None

    def serial_product(self, text):
        return text in ("SN-1", "SN-2"), WIDGET if text in ("SN-1", "SN-2") else None

    def serial_in_service(self, text):
        return text == "SN-1"

    def party_exists(self, kind, code):
        return False

    def order_exists(self, reference):
        return False


def r(text):
    return read(text, Lookups(), document_re=re.compile(r"^PO-\d+$"))


def test_reader_reads_the_desk_s_commands_and_serials():
    """Guards SPEC 4's commands CMD:SERVICE and CMD:REPLACE, and the in-service flag the machine decides on."""
    assert (r("CMD:SERVICE").kind, r("cmd:service").mode) == (Kind.mode, "service")
    assert r("CMD:REPLACE").kind is Kind.replace
    assert (r("SN-1").kind, r("SN-1").in_service, r("SN-2").in_service) == (Kind.known_serial, True, False)
    gs1 = r("]d20109501101020917\x1d21SN-1")
    assert (gs1.kind, gs1.serial, gs1.in_service) == (Kind.gs1, "SN-1", True)
    assert r("]d20109501101020917").in_service is False
