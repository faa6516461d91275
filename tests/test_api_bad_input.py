"""Bad input on every endpoint: always a 4xx JSON error with a code and a message, never a 500, nothing half-written."""
from __future__ import annotations

import pytest
from helpers.api import JSON, assert_error, snapshot

from station.config import from_dict
from station.domain import catalogue, documents, serials
from web import create_app

# Values no text field of the API accepts as a new code or serial.
BAD_TEXT = {
    "empty": "",
    "blank": "   ",
    "over_64": "x" * 65,
    "nul": "a\x00b",
    "escape": "a\x1bb",
    "newline": "a\nb",
    "c1_control": "a\x85b",
    "zero_width": "a\u200bb",
    "number": 5,
    "float": 1.5,
    "bool": True,
    "null": None,
    "list": ["a"],
    "object": {"a": 1},
}
BAD_NAME = {k: v for k, v in BAD_TEXT.items() if k != "over_64"} | {"over_200": "x" * 201}
BAD_SERIAL = BAD_TEXT | {"command": "CMD:FINISH", "party": "sup:ACME", "document_ref": "PO-77",
                         "product_barcode": "0036000291452"}
# Codes naming a record that does not exist (or cannot): 404 when well-typed, else 400.
BAD_REF = {"unknown": "NOPE", "empty": "", "over_64": "x" * 65, "nul": "a\x00b", "number": 5, "bool": False,
           "list": ["WID-1"], "object": {"code": "WID-1"}}
BAD_REF_REQUIRED = BAD_REF | {"null": None}
BAD_FLAG = {"string": "true", "number": 1, "null": None, "list": [True]}
BAD_QUANTITY = {"string": "5", "float": 1.5, "bool": True, "null": None, "zero": 0, "huge": 10 ** 20,
                "beyond_int": 2 ** 31, "list": [5]}
BAD_REASON = {"empty": "", "null": None, "number": 5, "over_500": "x" * 501, "nul": "a\x00b", "list": ["x"]}
BAD_DIRECTION = {"up": "up", "upper": "IN", "null": None, "number": 1, "list": ["in"]}
BAD_BARCODE = {k: v for k, v in BAD_TEXT.items() if k not in ("zero_width",)} | {
    "command": "CMD:X", "taken": "0036000291452", "is_serial": "SN-1"}
BAD_BARCODES = {"string": "036000291452", "numbers": [5], "nul": ["GOOD-1", "a\x00"],
                "taken": ["GOOD-1", "036000291452"],
                "is_serial": ["GOOD-1", "SN-1"], "null": None, "empty_item": ["GOOD-1", ""]}
BAD_LINES = {"empty": [], "string": "WID-1", "numbers": [5], "null": None,
             "quantity_string": [{"product": "WID-1", "quantity": "5"}],
             "quantity_zero": [{"product": "WID-1", "quantity": 0}],
             "quantity_huge": [{"product": "WID-1", "quantity": 10 ** 20}],
             "second_unknown": [{"product": "WID-1", "quantity": 1}, {"product": "NOPE", "quantity": 1}],
             "second_nul": [{"product": "WID-1", "quantity": 1}, {"product": "a\x00", "quantity": 1}],
             "missing_product": [{"quantity": 1}]}
BAD_KIND = {"sale": "sale", "null": None, "number": 5}

# Every write endpoint: (id, method, path, a body that succeeds, {field: bad values}).
WRITES = [
    ("serial_create", "POST", "/api/serials", {"serial": "NEW-1", "product": "WID-1", "supplier": "ACME"},
     {"serial": BAD_SERIAL, "product": BAD_REF, "supplier": BAD_REF, "customer": BAD_REF}),
    ("serial_patch", "PATCH", "/api/serials/SN-1", {"product": "WID-2", "supplier": "ACME", "customer": "BOB"},
     {"product": BAD_REF, "supplier": BAD_REF, "customer": BAD_REF}),
    ("serial_adjust", "POST", "/api/serials/SN-1/adjust", {"direction": "in", "reason": "count"},
     {"direction": BAD_DIRECTION, "reason": BAD_REASON}),
    ("product_create", "POST", "/api/products",
     {"code": "NEW-1", "name": "New", "serial_required_for_purchase": True, "serial_required_for_sales": True,
      "barcodes": ["GOOD-2"]},
     {"code": BAD_TEXT, "name": BAD_NAME, "serial_required_for_purchase": BAD_FLAG,
      "serial_required_for_sales": BAD_FLAG, "barcodes": BAD_BARCODES | {"twice": ["GOOD-1", "GOOD-1"]}}),
    ("product_patch", "PATCH", "/api/products/WID-2", {"name": "Widget X", "serial_required_for_sales": False},
     {"name": BAD_NAME, "serial_required_for_sales": BAD_FLAG, "barcodes": BAD_BARCODES}),
    ("product_barcode", "POST", "/api/products/WID-2/barcodes", {"barcode": "GOOD-3"}, {"barcode": BAD_BARCODE}),
    ("product_adjust", "POST", "/api/products/LOOSE/adjust", {"quantity": 3, "reason": "count"},
     {"quantity": BAD_QUANTITY, "reason": BAD_REASON}),
    ("supplier_create", "POST", "/api/suppliers", {"code": "S-2", "name": "Second"},
     {"code": BAD_TEXT, "name": BAD_NAME}),
    ("customer_create", "POST", "/api/customers", {"code": "C-2", "name": "Second"},
     {"code": BAD_TEXT, "name": BAD_NAME}),
    ("document_create", "POST", "/api/documents",
     {"kind": "purchase_order", "reference": "PO-2", "supplier": "ACME",
      "lines": [{"product": "WID-1", "quantity": 2}]},
     {"kind": BAD_KIND, "reference": BAD_TEXT | {"wrong_pattern": "ORDER-2"}, "supplier": BAD_REF_REQUIRED,
      "lines": BAD_LINES}),
]
NO_CONTENT_TYPE = object()
BODY_ATTACKS = {
    "malformed": (b'{"serial": ', JSON, 400, "invalid_json"),
    "trailing_garbage": (b'{"a": 1} x', JSON, 400, "invalid_json"),
    "list_body": (b'[{"serial": "X"}]', JSON, 400, "invalid_json"),
    "string_body": (b'"X"', JSON, 400, "invalid_json"),
    "null_body": (b"null", JSON, 400, "invalid_json"),
    "empty_body": (b"", JSON, 400, "invalid_json"),
    "bad_utf8": (b'{"serial": "\xff\xfe"}', JSON, 400, "invalid_json"),
    "nan": (b'{"quantity": NaN}', JSON, 400, "invalid_json"),
    "lone_surrogate": (b'{"x": "\\ud800"}', JSON, 400, "invalid_json"),
    "deep_nesting": (b"[" * 2000 + b"]" * 2000, JSON, 400, "invalid_json"),
    "utf8_bom": (b'\xef\xbb\xbf{"a": 1}', JSON, 400, "invalid_json"),
    "text_plain": (b'{"a": 1}', "text/plain", 415, "unsupported_media_type"),
    "form": (b"serial=X", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    "no_content_type": (b'{"a": 1}', NO_CONTENT_TYPE, 415, "unsupported_media_type"),
    "latin1_charset": (b'{"a": 1}', "application/json; charset=latin-1", 415, "unsupported_media_type"),
    "json_suffix_type": (b'{"a": 1}', "application/problem+json", 415, "unsupported_media_type"),
    "over_4k": (b'{"name": "' + b"x" * 4100 + b'"}', JSON, 413, "too_large"),
    "unknown_field": (b'{"colour": "red"}', JSON, 400, None),
}


def _field_cases():
    for name, method, path, good, fields in WRITES:
        for field, values in fields.items():
            for label, value in values.items():
                yield pytest.param(method, path, good | {field: value}, id=f"{name}-{field}-{label}")


def _body_cases():
    for name, method, path, _good, _fields in WRITES:
        for label, (data, ctype, status, code) in BODY_ATTACKS.items():
            yield pytest.param(method, path, data, ctype, status, code, id=f"{name}-{label}")


#: Serials no record can have: none such, NUL, too long, not UTF-8, a lone surrogate.
UNKNOWN_SERIALS = ("NOPE", "%00", "x" * 65, "%FF%FE", "%ED%A0%80")
#: Query strings of /api/serials out of their range or type: pages, page sizes, flags, search text.
SERIAL_QUERIES = ("page=0", "page=-1", "page=abc", "page=" + "9" * 30, "page=%D9%A3", "per_page=0",
                  "per_page=100000", "in_stock=maybe", "q=%00", "q=" + "x" * 65)

# Reads and routes: (method, path, status, code).
OTHER = [
    *(("GET", "/api/serials/" + serial, 404, "unknown_serial") for serial in UNKNOWN_SERIALS),
    ("PATCH", "/api/serials/NOPE", 404, "unknown_serial", {"supplier": "ACME"}),
    ("POST", "/api/serials/NOPE/adjust", 404, "unknown_serial", {"direction": "in", "reason": "x"}),
    ("POST", "/api/serials/%00/adjust", 404, "unknown_serial", {"direction": "in", "reason": "x"}),
    ("GET", "/api/products/NOPE", 404, "unknown_product"),
    ("GET", "/api/products/%00", 404, "unknown_product"),
    ("PATCH", "/api/products/NOPE", 404, "unknown_product", {"name": "x"}),
    ("POST", "/api/products/NOPE/adjust", 404, "unknown_product", {"quantity": 1, "reason": "x"}),
    ("POST", "/api/products/NOPE/barcodes", 404, "unknown_product", {"barcode": "B-1"}),
    ("DELETE", "/api/products/NOPE/barcodes/123", 404, "unknown_product"),
    ("DELETE", "/api/products/WID-1/barcodes/%00", 404, "unknown_barcode"),
    ("DELETE", "/api/products/WID-1/barcodes/NOPE", 404, "unknown_barcode"),
    ("GET", "/api/suppliers/NOPE", 404, "unknown_party"),
    ("GET", "/api/customers/%00", 404, "unknown_party"),
    ("GET", "/api/documents/PO-404", 404, "unknown_document"),
    ("GET", "/api/documents/%00", 404, "unknown_document"),
    *(("GET", "/api/serials?" + query, 400, "invalid_field") for query in SERIAL_QUERIES),
    ("GET", "/api/serials?product=NOPE", 404, "unknown_product"),
    ("GET", "/api/serials?product=%00", 400, "invalid_field"),
    ("GET", "/api/products?barcode=%00", 400, "invalid_field"),
    ("GET", "/api/products?q=%1b", 400, "invalid_field"),
    ("GET", "/api/products?page=1e3", 400, "invalid_field"),
    ("GET", "/api/serials?page=", 400, "invalid_field"),  # no number is not page 1 (issue 25: as the document says)
    ("GET", "/api/operators?per_page=", 400, "invalid_field"),
    ("GET", "/api/documents/PO-1?page=0", 400, "invalid_field"),
    ("GET", "/api/suppliers?per_page=-5", 400, "invalid_field"),
    ("GET", "/api/customers?q=%00", 400, "invalid_field"),
    ("GET", "/api/nothing", 404, "not_found"),
    ("GET", "/api/serials/", 404, "not_found"),
    ("GET", "/api", 404, "not_found"),
    ("DELETE", "/api/serials", 405, "method_not_allowed"),
    ("PUT", "/api/serials/SN-1", 405, "method_not_allowed", {"supplier": "ACME"}),
    ("POST", "/api/serials/SN-1", 405, "method_not_allowed", {"direction": "in", "reason": "x"}),
    ("DELETE", "/api/serials/SN-1", 405, "method_not_allowed"),
    ("DELETE", "/api/products/WID-1", 405, "method_not_allowed"),
    ("POST", "/api/products/WID-1", 405, "method_not_allowed", {"name": "x"}),
    ("PATCH", "/api/suppliers/ACME", 405, "method_not_allowed", {"name": "x"}),
    ("GET", "/api/documents", 405, "method_not_allowed"),
]


def seed(session) -> None:
    """WID-1 (a UPC-A barcode), WID-2, LOOSE, ACME, BOB, serial SN-1 of WID-1 (out of stock), order PO-1."""
    catalogue.create_product(session, "WID-1", "Widget", barcodes=["036000291452"])
    catalogue.create_product(session, "WID-2", "Gadget")
    catalogue.create_product(session, "LOOSE", "Loose", serial_required_for_purchase=False)
    catalogue.create_party(session, "supplier", "ACME", "Acme Ltd")
    catalogue.create_party(session, "customer", "BOB", "Bob")
    serials.create_serial(session, "SN-1", product="WID-1")
    documents.create_purchase_order(session, "PO-1", "ACME", [("WID-1", 1)])


@pytest.fixture
def seeded(database):
    """The module's database, seeded once and kept between the refused requests (no emptying: they write nothing)."""
    with database.Session.begin() as s:
        if catalogue.product_by_barcode(s, "036000291452") is None:
            seed(s)
    return database


@pytest.fixture(scope="module")
def fuzz_app(database):
    """One app per module and backend: hundreds of requests need not build hundreds of apps."""
    app = create_app(from_dict({"database": {"url": database.url}}), engine=database.engine)
    app.testing = True
    return app


@pytest.fixture
def fuzz_client(fuzz_app, seeded):
    return fuzz_app.test_client()


@pytest.mark.parametrize("name,method,path,good", [pytest.param(*w[:4], id=w[0]) for w in WRITES])
def test_good_bodies_succeed(client, db, name, method, path, good):
    """The bodies the attacks start from are good ones, so each attack tests exactly one bad field."""
    with db.Session.begin() as s:
        seed(s)
    resp = client.open(path, method=method, json=good)
    assert resp.status_code in (200, 201), resp.get_json()


@pytest.mark.parametrize("method,path,body", list(_field_cases()))
def test_bad_field(fuzz_client, seeded, method, path, body):
    """One bad field in an otherwise good body: a 4xx JSON error, and the database exactly as before."""
    before = snapshot(seeded)
    resp = fuzz_client.open(path, method=method, json=body)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.get_json())
    assert_error(resp, resp.status_code)
    assert snapshot(seeded) == before


@pytest.mark.parametrize("method,path,data,ctype,status,code", list(_body_cases()))
def test_bad_body(fuzz_client, seeded, method, path, data, ctype, status, code):
    """Malformed, mistyped, oversized or wrongly labelled bodies: the right 4xx code, nothing written."""
    before = snapshot(seeded)
    headers = {} if ctype is NO_CONTENT_TYPE else {"Content-Type": ctype}
    resp = fuzz_client.open(path, method=method, data=data, headers=headers)
    assert_error(resp, status, code)
    assert snapshot(seeded) == before


@pytest.mark.parametrize("method,path,status,code,body",
                         [pytest.param(*o, *([None] * (5 - len(o))), id=f"{o[0]} {o[1][:40]}") for o in OTHER])
def test_bad_path_or_query(fuzz_client, seeded, method, path, status, code, body):
    """Unknown keys, undecodable paths, bad query arguments, unknown routes and methods: JSON errors, no writes."""
    before = snapshot(seeded)
    resp = fuzz_client.open(path, method=method, **({} if body is None else {"json": body}))
    assert_error(resp, status, code)
    if status == 405:
        assert resp.headers["Allow"]
    assert snapshot(seeded) == before


def test_specific_codes(fuzz_client, seeded):
    """The codes a client acts on: invalid_serial, unknown_product, unknown_party, read_only, unknown_field."""
    assert_error(fuzz_client.post("/api/serials", json={"serial": "x" * 65}), 400, "invalid_serial")
    assert_error(fuzz_client.post("/api/serials", json={"serial": "a\x07b"}), 400, "invalid_serial")
    assert_error(fuzz_client.post("/api/serials", json={"serial": 42}), 400, "invalid_serial")
    assert_error(fuzz_client.post("/api/serials", json={}), 400, "invalid_serial")
    assert_error(fuzz_client.post("/api/serials", json={"serial": "036000291452"}), 400, "invalid_serial")
    assert_error(fuzz_client.patch("/api/serials/SN-1", json={"product": "NOPE"}), 404, "unknown_product")
    assert_error(fuzz_client.patch("/api/serials/SN-1", json={"customer": "NOPE"}), 404, "unknown_party")
    assert_error(fuzz_client.patch("/api/serials/SN-1", json={"serial": "SN-2"}), 400, "unknown_field")
    assert_error(fuzz_client.post("/api/products", json={"code": "N", "name": "N", "barcodes": ["GOOD", "a\x00"]}),
                 400, "invalid_barcode")
    assert fuzz_client.get("/api/products/N").status_code == 404
    page = fuzz_client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"  # JSON errors stay under /api
