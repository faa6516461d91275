"""What the API takes: request bodies and query arguments, as exact as the server's own checks.

"Exact" both ways: a body the schema calls valid is never refused as
malformed (400), and one it calls invalid always is (schemathesis checks both
from outside, tests/test_contract_fuzz.py). So each field says what
web.api.fields and the domain's validation accept: the text patterns of
web.contract.text, lengths after stripping, the purchase order pattern of
this station's configuration, ``additionalProperties: false`` where the
server refuses unknown keys. The one 400 no schema can foresee is listed in
codes.BEYOND_SCHEMA.
"""
from __future__ import annotations

import re
from typing import Any

from station.domain.validation import QUANTITY_MAX
from station.domain.vocabulary import CODE_MAX, SERIAL_MAX
from station.domain.warranty import MAX_MONTHS

from ..api.events import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT
from ..api.inputs import MAX_PAGE, MAX_PER_PAGE, PER_PAGE
from ..api.stations import SOURCES
from . import text
from .records import Schema, closed, nullable, ref

NAME_MAX = 200
REASON_MAX = 500
KEY_MAX = 200  # a scan's idempotency key (station.scanning.service.check_key)
QUERY_MAX = 64
SEARCH_MAX = 200  # q of products and parties


def _not_pattern(pattern: re.Pattern[str] | None) -> list[Schema]:
    return [] if pattern is None else [{"not": {"pattern": pattern.pattern}}]


def text_schemas(pattern: re.Pattern[str] | None) -> dict[str, Schema]:
    """The kinds of text a body holds; ``pattern`` is the configured purchase order pattern."""
    scannable = [{"not": {"pattern": text.scannable_prefix()}}, *_not_pattern(pattern)]
    serial_text = [*text.trimmed(SERIAL_MAX), *scannable]
    return {
        "Code": {"type": "string", "allOf": text.trimmed(CODE_MAX),
                 "description": f"1-{CODE_MAX} printable characters once surrounding whitespace is stripped."},
        "Name": {"type": "string", "allOf": text.trimmed(NAME_MAX),
                 "description": f"1-{NAME_MAX} printable characters once surrounding whitespace is stripped."},
        "Reason": {"type": "string", "allOf": text.trimmed(REASON_MAX),
                   "description": f"Why (1-{REASON_MAX} printable characters once stripped)."},
        "Badge": {"type": "string", "pattern": text.badge(CODE_MAX),
                  "description": f"An operator's code: 1-{CODE_MAX} ASCII characters without spaces (a Code 128 "
                                 "badge holds USR:<code>)."},
        "NewSerial": {"type": "string", "allOf": serial_text,
                      "description": f"1-{SERIAL_MAX} printable characters once stripped; not starting with CMD:, "
                                     "SUP:, CUS: or USR:, not a purchase order reference, and not a product "
                                     "barcode (400 invalid_serial: that one depends on the products)."},
        "NewBarcode": {"type": "string", "allOf": serial_text,
                       "description": f"1-{SERIAL_MAX} printable characters once stripped; not starting with CMD:, "
                                      "SUP:, CUS: or USR:, and not a purchase order reference. EAN-8, UPC-A, "
                                      "EAN-13 and GTIN-14 forms of one number are one barcode."},
        "OrderReference": {"type": "string", "allOf": [*text.trimmed(CODE_MAX),
                                                       *([] if pattern is None else [{"pattern": pattern.pattern}])],
                           "description": "The purchase order's reference: it must match the configured document "
                                          f"pattern{'' if pattern is None else ' ' + pattern.pattern}."},
    }


def bodies() -> dict[str, Schema]:
    """Request bodies by name (``components/schemas``)."""
    code_ref = {"type": ["string", "null"], "description": "A code (404 when none has it); null clears."}
    return {
        "ScanRequest": closed({
            "data": {"type": "string", "description": "The scanned text, as the scanner sent it (refusals of "
                                                      "its content are answers, not errors)."},
            "id": nullable({"type": "string", "pattern": text.plain(), "minLength": 1, "maxLength": KEY_MAX,
                            "description": "Idempotency key: the same id twice is processed once."}),
            "source": {"type": "string", "enum": list(SOURCES), "default": "api"},
        }, optional=("id", "source")),
        "SerialCreate": closed({"serial": ref("NewSerial"), "product": code_ref, "customer": code_ref,
                                "supplier": code_ref}, optional=("product", "customer", "supplier")),
        "SerialPatch": closed({"product": code_ref, "customer": code_ref, "supplier": code_ref},
                              optional=("product", "customer", "supplier"),
                              description="in_stock is derived from the movements: naming it is 400 read_only."),
        "SerialAdjust": closed({"direction": {"type": "string", "enum": ["in", "out"]}, "reason": ref("Reason")}),
        "ProductCreate": closed(_product_fields(), optional=("serial_required_for_purchase",
                                                             "serial_required_for_sales", "warranty_months",
                                                             "barcodes")),
        "ProductPatch": closed({k: v for k, v in _product_fields().items() if k != "code"},
                               optional=("name", "serial_required_for_purchase", "serial_required_for_sales",
                                         "warranty_months", "barcodes"),
                               description="The code, on_hand and serials_in_stock cannot be set (400 read_only)."),
        "BarcodeAdd": closed({"barcode": ref("NewBarcode")}),
        "ProductAdjust": closed({"quantity": {"type": "integer", "minimum": -QUANTITY_MAX, "maximum": QUANTITY_MAX,
                                              "not": {"const": 0},
                                              "description": "Unserialised units in (+) or out (-)."},
                                 "reason": ref("Reason")}),
        "PartyCreate": closed({"code": ref("Code"), "name": ref("Name")}),
        "PurchaseOrder": closed({
            "kind": {"const": "purchase_order"}, "reference": ref("OrderReference"), "supplier": ref("Code"),
            "lines": {"type": "array", "minItems": 1, "items": closed({
                "product": ref("Code"), "quantity": {"type": "integer", "minimum": 1, "maximum": QUANTITY_MAX}})},
        }),
        "OperatorCreate": closed({"code": ref("Badge"), "name": ref("Name")}),
        "OperatorPatch": {**closed({"name": ref("Name"), "active": {"type": "boolean"}}, optional=("name", "active")),
                          "minProperties": 1,
                          "description": "Rename, deactivate (false) or reactivate (true); the code is what the "
                                         "badge holds and cannot be changed (400 read_only)."},
    }


def _product_fields() -> dict[str, Schema]:
    return {"code": ref("Code"), "name": ref("Name"), "serial_required_for_purchase": {"type": "boolean"},
            "serial_required_for_sales": {"type": "boolean"},
            "warranty_months": {"type": "integer", "minimum": 0, "maximum": MAX_MONTHS},
            "barcodes": {"type": "array", "items": ref("NewBarcode"),
                         "description": "Each unique across all products (409 duplicate_barcode) and never a "
                                        "serial (409 barcode_is_serial). PATCH replaces the whole list."}}


def _query(name: str, schema: Schema, description: str, *, empty: bool = True) -> dict[str, Any]:
    """A query argument; ``empty``: ``name=`` is taken as not given (web.api.inputs), else refused."""
    out = {"name": name, "in": "query", "required": False, "schema": schema, "description": description}
    if empty:
        out["allowEmptyValue"] = True
    return out


def paging(per_page: int = PER_PAGE) -> list[dict[str, Any]]:
    return [_query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                   "Pages are counted from 1; a page past the end is empty.", empty=False),
            _query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": per_page},
                   "Items a page.", empty=False)]


def search(name: str, max_len: int, description: str) -> dict[str, Any]:
    return _query(name, {"type": "string", "pattern": text.plain(), "maxLength": max_len}, description)


def flag(name: str, description: str) -> dict[str, Any]:
    return _query(name, {"type": "string", "pattern": text.flag()},
                  description + " true or false (1 or 0, any case); empty: either.")


def feed(what: str = "events") -> list[dict[str, Any]]:
    return [_query("after", {"type": "integer", "minimum": 0, "maximum": MAX_ID, "default": 0},
                   "The last event id seen: the events after it, oldest first.", empty=False),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                   f"At most this many {what}.", empty=False)]


def line_page() -> list[dict[str, Any]]:
    return [_query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                   "The document's lines, 500 a page, counted from 1.", empty=False)]
