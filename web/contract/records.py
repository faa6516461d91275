"""The records the API answers with, as JSON Schemas (the document's ``components/schemas``).

Each mirrors one function of station.interchange.representation (or the scan
answer and station view of station.scanning), key for key: every key is
required and no other is allowed, so a key renamed or added in one code path
fails the test that reached it (tests/helpers/contract.py). The enums of
modes, kinds and statuses are read from station.domain.vocabulary, so a new
word there reaches the document with no edit here.
"""
from __future__ import annotations

from typing import Any

from station.domain.vocabulary import DocumentKind, DocumentStatus, Mode, MovementKind
from station.domain.warranty import MAX_MONTHS

from .codes import BY_STATUS, SCAN_REFUSALS

Schema = dict[str, Any]

STATUSES = ("in_service", "faulty", "in_transit", "in_stock", "with_customer", "not_in_stock")  # SPEC 2/3c, the first
CODE_OR_NULL: Schema = {"type": ["string", "null"], "description": "A location's code (SPEC 3c), or null."}
EVENT_TYPES = {"document.posted": "document", "serial.changed": "serial", "product.changed": "product",
               "party.changed": "party", "location.changed": "location"}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    if set(schema) == {"type"} and isinstance(schema["type"], str):
        return {"type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def closed(properties: dict[str, Schema], *, optional: tuple[str, ...] = (), description: str = "") -> Schema:
    """An object with exactly these keys (all required but ``optional``) and no other."""
    out: Schema = {"type": "object", "properties": properties,
                   "required": [k for k in properties if k not in optional], "additionalProperties": False}
    if description:
        out["description"] = description
    return out


def enum(values) -> Schema:
    return {"type": "string", "enum": [getattr(v, "value", v) for v in values]}


TEXT: Schema = {"type": "string"}
TEXT_OR_NULL: Schema = {"type": ["string", "null"]}
WHOLE: Schema = {"type": "integer"}
COUNT: Schema = {"type": "integer", "minimum": 0}
FLAG: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time", "description": "UTC, to the second: 2026-11-26T10:15:02Z"}
TIME_OR_NULL: Schema = {"type": ["string", "null"], "format": "date-time"}
NAMED = ref("Named")
NAMED_OR_NULL = nullable(ref("Named"))


def _line(*extra: str) -> Schema:
    props = {"line": WHOLE, "product": NAMED_OR_NULL, "serial": TEXT_OR_NULL, "quantity": WHOLE,
             "batch": TEXT_OR_NULL, "expiry": TEXT_OR_NULL, "user": TEXT_OR_NULL,
             "replaces": {"type": "string", "description": "A check-out's replacement line: the faulty serial."},
             "from_location": {**CODE_OR_NULL, "description": "Where the line's unit leaves from (its document's "
                                                              "movement once posted, the serial's place while open)."},
             "to_location": {**CODE_OR_NULL, "description": "Where the line puts its unit (put-away, destination, "
                                                            "where a count found it)."}}
    props.update({k: COUNT for k in extra})
    return closed(props, optional=("replaces",))


def _document_head() -> dict[str, Schema]:
    return {"reference": TEXT, "kind": ref("DocumentKind"), "status": ref("DocumentStatus"),
            "station": TEXT_OR_NULL, "party": NAMED_OR_NULL, "supplier": NAMED_OR_NULL, "customer": NAMED_OR_NULL,
            "order": TEXT_OR_NULL}


def _document(*, paged: bool) -> Schema:
    props = {**_document_head(), "reason": TEXT_OR_NULL, "created_at": TIME_OR_NULL, "posted_at": TIME_OR_NULL,
             "line_count": COUNT, "products": {"type": "array", "items": ref("ProductCount")},
             "lines": {"type": "array", "items": {"anyOf": [ref("Line"), ref("OrderLine")]}}}
    if paged:
        props |= {"page": WHOLE, "per_page": WHOLE}
    props["progress"] = {"type": "array", "items": ref("OrderProgress"),
                         "description": "A purchase order's products: expected, and received by posted receipts."}
    props["movements"] = {"type": "array", "items": ref("DocumentMovement"),
                          "description": "What its posting wrote, oldest first (none while open); paged like "
                                         "the lines, all of them in a document.posted event."}
    props |= _transfer_and_count()
    return closed(props, optional=("progress", *_transfer_and_count()))


def _transfer_and_count() -> dict[str, Schema]:
    """A transfer's destination and units, a count's findings (SPEC 3c, 5): on those kinds only."""
    moved = closed({"serial": TEXT, "from": CODE_OR_NULL}, description="Found here, recorded elsewhere (from).")
    return {
        "destination": {**nullable(ref("Place")), "description": "A transfer: where its units go."},
        "units": {"type": "array", "description": "A transfer: per serial, shipped (posted) and arrived.",
                  "items": closed({"serial": TEXT, "shipped": FLAG, "arrived": FLAG})},
        "location": {**nullable(ref("Place")), "description": "A count: the place counted (and all under it)."},
        "expected": {**COUNT, "description": "A count: units the database holds there (at posting, once posted)."},
        "counted": {**COUNT, "description": "A count: units counted, each once."},
        "missing": {"type": "array", "items": TEXT, "description": "A count: serials expected and not counted."},
        "moved": {"type": "array", "items": moved, "description": "A count: serials found here, recorded elsewhere."},
        "added": {"type": "array", "items": TEXT, "description": "A count: serials counted that were not in stock."},
        "quantities": {"type": "object", "additionalProperties": closed({"expected": WHOLE, "counted": COUNT}),
                       "description": "A count: per product code, unserialised units expected and counted."},
    }


def _movement_head() -> dict[str, Schema]:
    """SPEC 5's movement: ``document`` the document whose posting wrote it, ``order`` the purchase order that
    document filled, ``reason`` an adjustment's."""
    return {"at": TIME, "kind": ref("MovementKind"), "quantity": WHOLE, "document": TEXT_OR_NULL,
            "order": TEXT_OR_NULL, "station": TEXT_OR_NULL, "party": NAMED_OR_NULL, "user": TEXT_OR_NULL,
            "reason": {**TEXT_OR_NULL, "description": "An adjustment's reason; a count's reads \"found in count "
                                                      "C-000001\" or \"not found in count C-000001\"."},
            "from_location": {**CODE_OR_NULL, "description": "Where the unit left (a unit going out, a move)."},
            "to_location": {**CODE_OR_NULL, "description": "Where the unit went (a unit coming in, a move)."}}


def _movement() -> Schema:
    props = {**_movement_head(),
             "replacement": {"type": ["string", "null"], "description": "A replaced unit's replacement serial."},
             "replaces": {"type": ["string", "null"], "description": "A replacement's faulty serial."}}
    return closed(props, optional=("replacement", "replaces"))


def _event(kind: str, key: str, subject: Schema) -> Schema:
    return closed({"id": WHOLE, "type": {"const": kind}, "at": TIME, key: nullable(subject)},
                  description=f"{kind}: the {key} as the API gives it (null when it no longer exists).")


def _error(status: int) -> Schema:
    return closed({"error": closed({"code": {"type": "string", "enum": list(BY_STATUS[status])},
                                    "message": {"type": "string", "minLength": 1}})})


def _page(plural: str, item: str) -> Schema:
    return closed({plural: {"type": "array", "items": ref(item)}, "page": {"type": "integer", "minimum": 1},
                   "per_page": {"type": "integer", "minimum": 1}, "total": COUNT},
                  description=f"A page of {plural} (SPEC 5: lists answer the page, its size and the total).")


PAGES = {"serials": "SerialSummary", "products": "Product", "suppliers": "Party", "customers": "Party",
         "operators": "Operator", "locations": "LocationSummary"}


def schemas() -> dict[str, Schema]:
    """Every record schema, by name."""
    out: dict[str, Schema] = {
        "Mode": enum(Mode), "DocumentKind": enum(DocumentKind), "DocumentStatus": enum(DocumentStatus),
        "MovementKind": enum(MovementKind), "SerialStatus": enum(STATUSES),
        "ScanRefusal": {**enum(SCAN_REFUSALS), "description": "Why a scan was refused (SPEC 4)."},
        "Named": closed({"code": TEXT, "name": TEXT}),
        "Place": closed({"code": TEXT, "name": TEXT, "site": TEXT},
                        description="A location: its code, name, and its site's code (SPEC 3c)."),
        "Party": closed({"code": TEXT, "name": TEXT}),
        "Operator": closed({"code": TEXT, "name": TEXT, "active": FLAG}),
        "Product": closed({"code": TEXT, "name": TEXT, "serial_required_for_purchase": FLAG,
                           "serial_required_for_sales": FLAG,
                           "warranty_months": {"type": "integer", "minimum": 0, "maximum": MAX_MONTHS},
                           "barcodes": {"type": "array", "items": TEXT}, "on_hand": WHOLE, "serials_in_stock": COUNT}),
        "SerialSummary": closed(_serial_summary()),
        "Serial": closed({**_serial_summary(), "open_document": TEXT_OR_NULL,
                          "movements": {"type": "array", "items": ref("Movement")},
                          "refused_scans": {"type": "array", "items": ref("RefusedScan")}}),
        "Movement": _movement(),
        "RefusedScan": closed({"at": TIME, "station": TEXT, "device": TEXT, "code": TEXT_OR_NULL, "message": TEXT,
                               "user": TEXT_OR_NULL}),
        "ProductCount": closed({"product": NAMED, "units": WHOLE, "expected": {"type": ["integer", "null"]},
                                "received": {"type": ["integer", "null"]}}),
        "Line": _line(),
        "OrderLine": _line("expected", "received"),
        "OrderProgress": closed({"product": TEXT, "name": TEXT, "expected": WHOLE, "received": WHOLE}),
        "DocumentSummary": closed({**_document_head(), "line_count": COUNT,
                                   "products": {"type": "array", "items": ref("ProductCount")},
                                   "lines": {"type": "array", "items": ref("Line"), "maxItems": 50},
                                   "count": ref("CountProgress")}, optional=("count",),
                                  description="A document in a scan's answer and a station's view: its last 50 "
                                              "lines, oldest first; GET /api/documents/{reference} gives all. An "
                                              "open count (C-) carries where it stands (``count``)."),
        "CountProgress": closed({
            "expected": {**COUNT, "description": "serials in stock at the counted place and under it, now"},
            "counted": {**COUNT, "description": "of those, how many this count has scanned"},
            "missing": {"type": "array", "items": TEXT, "maxItems": 50,
                        "description": "the first 50 expected and not yet scanned, by serial"},
            "missing_total": {**COUNT, "description": "how many are expected and not yet scanned"},
            "last": {"enum": ["counted", "elsewhere", "added", "faulty", "unit", "already", None],
                     "description": "what the last scan was: a unit expected here, one recorded elsewhere (it "
                                    "will move here), one not in stock (it will be added), a faulty one, a unit "
                                    "without a serial, a repeat (refused already_counted); null: none of these"},
            "serial": {**TEXT_OR_NULL, "description": "the serial the last scan named; null for a unit without "
                                                      "one, or when ``last`` is null"},
            "from": {**TEXT_OR_NULL, "description": "when ``last`` is elsewhere: the code of the location the "
                                                    "unit is recorded at (it will move here); else null"},
        }, description="A count as the station shows it while it is scanned (SPEC 3c)."),
        "Document": _document(paged=True),
        "PostedDocument": _document(paged=False),
        "DocumentMovement": closed({**_movement_head(), "product": NAMED_OR_NULL, "serial": TEXT_OR_NULL}),
        "ScanAnswer": closed({"accepted": FLAG, "code": nullable(ref("ScanRefusal")), "message": TEXT,
                              "prompt": TEXT, "document": nullable(ref("DocumentSummary"))}),
        "StationView": closed({"station": TEXT, "mode": ref("Mode"), "prompt": TEXT,
                               "document": nullable(ref("DocumentSummary")),
                               "recent_scans": {"type": "array", "items": ref("RecentScan")}, "version": COUNT,
                               "operator": nullable(ref("Named")), "printer": nullable(ref("StationPrinter"))}),
        "RecentScan": closed({"at": TIME, "device": TEXT, "raw": TEXT, "read_as": TEXT_OR_NULL, "accepted": FLAG,
                              "code": TEXT_OR_NULL, "message": TEXT, "user": TEXT_OR_NULL}),
        "StationPrinter": closed({"id": TEXT, "state": TEXT_OR_NULL, "condition": TEXT_OR_NULL, "pending": COUNT,
                                  "failed": COUNT, "sentence": TEXT_OR_NULL}),
        "EventParty": closed({"kind": {"enum": ["supplier", "customer"]}, "code": TEXT, "name": TEXT}),
        "Event": {"oneOf": [_event(kind, key, ref(_SUBJECTS[key])) for kind, key in EVENT_TYPES.items()]},
        "Events": closed({"events": {"type": "array", "items": ref("Event")},
                          "last_id": {"type": "integer", "minimum": 0}}),
        "Held": closed({"error": ref("ErrorBody503"), "held": COUNT, "queued": {"const": True}},
                       description="Under station run with the database away (offline), or behind held scans "
                                   "(held): the scan is kept in the daemon's spool and processed in its turn."),
    }
    for plural, item in PAGES.items():
        out[plural.capitalize()] = _page(plural, item)
    for status in BY_STATUS:
        out[f"Error{status}"] = _error(status)
    out["ErrorBody503"] = out["Error503"]["properties"]["error"]
    return out


_SUBJECTS = {"document": "PostedDocument", "serial": "Serial", "product": "Product", "party": "EventParty",
             "location": "Location"}


def _serial_summary() -> dict[str, Schema]:
    return {"serial": TEXT, "product": NAMED_OR_NULL, "customer": NAMED_OR_NULL, "supplier": NAMED_OR_NULL,
            "in_stock": FLAG, "in_service": FLAG, "status": ref("SerialStatus"),
            "warranty_until": {"type": ["string", "null"], "format": "date"},
            "location": {**nullable(ref("Place")), "description": "Where it is while in stock (SPEC 3c), else null."}}
