"""GS1's EPCIS 2.0 JSON schema as the tests' validator (tests/data/epcis/, a copy of shared/epcis/).

``Draft7Validator`` with a format checker that really checks ``uri`` and ``date-time`` (jsonschema's
``format-nongpl`` extra brings the checkers; without them a format is silently passed, so
``validator()`` refuses to run without them). One widening, for JSON-LD: where the schema says ``uri``
(an ``@id``), a blank node identifier (``_:b1``) is a name too, as JSON-LD 1.1 allows; GS1's own
example names its document ``_:document1``, which RFC 3986 alone refuses.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft7Validator, FormatChecker
from rfc3986_validator import validate_rfc3986

DATA = Path(__file__).resolve().parent.parent / "data" / "epcis"
SCHEMA = DATA / "EPCIS-JSON-Schema.json"
EXAMPLES = (DATA / "example-ObjectEvent.jsonld", DATA / "example-ObjectEvent-DigitalLink.jsonld")


@cache
def validator() -> Draft7Validator:
    draft7 = Draft7Validator.FORMAT_CHECKER
    missing = {"uri", "date-time"} - set(draft7.checkers)
    assert not missing, f"jsonschema cannot check the formats {missing}: install jsonschema[format-nongpl]"
    checker = FormatChecker()
    checker.checkers.update(draft7.checkers)
    checker.checks("uri")(_uri_or_blank_node)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=checker)


def _uri_or_blank_node(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(validate_rfc3986(value, rule="URI")) or (value.startswith("_:") and len(value) > 2)


def errors(document: dict) -> list[str]:
    """Every way ``document`` breaks GS1's schema, each with where (empty: it validates)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(document)]
