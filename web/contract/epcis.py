"""The OpenAPI schemas of ``GET /api/epcis/events``: the EPCIS 2.0 document the station writes, as it writes it.

Narrower than GS1's EPCIS 2.0 JSON schema (which every answer also meets: tests/test_epcis*.py check that with
GS1's own schema): the keys the station writes and no other, its events only ObjectEvents, and the Core
Business Vocabulary words of station.traceability.epcis' tables.
"""
from __future__ import annotations

from typing import Any

from station.traceability import epcis

from .records import closed, ref

Schema = dict[str, Any]

URI: Schema = {"type": "string", "format": "uri"}
_TIME: Schema = {"type": "string", "format": "date-time", "description": "UTC, milliseconds: 2026-11-26T10:15:02.123Z"}
_ID: Schema = closed({"id": URI})


def _words(*words: str | None) -> Schema:
    return {"type": "string", "enum": sorted({w for w in words if w is not None})}


def _party(key: str) -> Schema:
    return {"type": "array", "minItems": 1, "items": closed(
        {"type": {"enum": ["owning_party", "possessing_party"]}, key: URI})}


def schemas() -> dict[str, Schema]:
    steps = epcis.VOCABULARY.values()
    event = closed({
        "type": {"const": "ObjectEvent"},
        "eventTime": _TIME,
        "eventTimeZoneOffset": {"type": "string", "pattern": r"^[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)$"},
        "eventID": {**URI, "description": "urn:uuid: + UUID5 of <base_uri>/movement/<id>: the same for the same "
                                          "movement on every read"},
        "epcList": {"type": "array", "minItems": 1, "maxItems": 1, "items": URI,
                    "description": "The serial's URI (its GS1 Digital Link when its product has a GTIN)."},
        "quantityList": {"type": "array", "minItems": 1, "maxItems": 1, "items": closed(
            {"epcClass": URI, "quantity": {"type": "integer", "minimum": 1}})},
        "action": {"enum": ["ADD", "DELETE", "OBSERVE"]},
        "bizStep": _words(*(s.biz_step for s in steps), "cycle_counting"),
        "disposition": _words(*(s.disposition for s in steps), "damaged"),
        "readPoint": _ID,
        "bizLocation": _ID,
        "bizTransactionList": {"type": "array", "minItems": 1, "items": closed(
            {"type": _words(*epcis.TRANSACTION_TYPES.values()), "bizTransaction": URI}, optional=("type",))},
        "sourceList": _party("source"),
        "destinationList": _party("destination"),
    }, optional=("epcList", "quantityList", "disposition", "bizLocation", "bizTransactionList", "sourceList",
                 "destinationList"), description="One posted movement (SPEC 5 Traceability).")
    event["oneOf"] = [{"required": ["epcList"]}, {"required": ["quantityList"]}]
    document = closed({
        "@context": {"type": "array", "items": URI, "minItems": 1},
        "type": {"const": "EPCISDocument"},
        "schemaVersion": {"const": epcis.SCHEMA_VERSION},
        "creationDate": _TIME,
        "epcisBody": closed({"eventList": {"type": "array", "items": ref("EPCISObjectEvent")}}),
    }, description="An EPCIS 2.0 document (JSON-LD) as GS1's EPCIS 2.0 JSON schema gives it.")
    return {"EPCISObjectEvent": event, "EPCISDocument": document}
