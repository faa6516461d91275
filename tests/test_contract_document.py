"""GET /api/openapi.json (SPEC 5, issue 25): a valid OpenAPI 3.1 document that names every route, every code.

The other half of the contract, that every answer matches the document, is
checked on every request the tests make (helpers.contract); the last tests
here make sure that check bites.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.contract import ContractViolation
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from station.config import from_dict
from station.domain import operators
from station.domain.errors import Conflict, Invalid, NotFound
from station.interchange import representation
from station.scan_core.machine import TABLE
from station.scan_core.steps import Refuse
from web import create_app
from web.api.errors import STATUS
from web.api.paths import ANY_METHOD
from web.contract import codes
from web.contract.document import build

ROOT = Path(__file__).resolve().parent.parent
DESCRIBED = re.compile(r"^/api/|^/metrics$")
#: The renderer's own files: part of /api/docs, not operations of the API.
NOT_OPERATIONS = {"contract.renderer", "contract.static"}
METHODS = ("get", "post", "patch", "put", "delete")


@pytest.fixture(scope="module")
def doc_app(tmp_path_factory):
    """An app on a database that is never touched: the document needs only the configuration."""
    folder = tmp_path_factory.mktemp("contract")
    return create_app(from_dict({"database": {"url": f"sqlite:///{folder}/station.db"},
                                 "daemon": {"spool": str(folder / "spool.db")}}))


@pytest.fixture(scope="module")
def doc(doc_app):
    resp = doc_app.test_client().get("/api/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return resp.get_json()


def test_document_validates_as_openapi_31(doc):
    """openapi-spec-validator takes the served document as OpenAPI 3.1 (a broken $ref or schema fails here)."""
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_an_invalid_document_is_refused(doc):
    """The validator above is no rubber stamp: an answer without its description (OpenAPI requires one) is refused."""
    broken = {**doc, "paths": {**doc["paths"], "/api/x": {"get": {"responses": {"200": {
        "content": {"application/json": {"schema": {"type": "object"}}}}}}}}}
    with pytest.raises(OpenAPIValidationError, match="description"):
        validate(broken)


def test_every_route_is_described_and_every_operation_routed(doc_app, doc):
    """Each operation of the document reaches a view of the app, and each API view is reached by one: a route added
    without its entry in web.contract.routes (or the other way round) fails here. A keyed route takes every method
    from routing and its view says which (web.api.paths.allowed): there OPTIONS must name the document's methods."""
    adapter = doc_app.url_map.bind("localhost")
    client = doc_app.test_client()
    reached = set()
    for path, item in doc["paths"].items():
        url = re.sub(r"\{[^}]+\}", "X", path)
        methods = {m.upper() for m in METHODS if m in item}
        for method in methods:
            endpoint, _ = adapter.match(url, method=method)
            reached.add((endpoint, method))
            if adapter.map._rules_by_endpoint[endpoint][0].methods >= set(ANY_METHOD):
                allow = set(client.options(url).headers["Allow"].split(", ")) - {"HEAD", "OPTIONS"}
                assert allow == methods, (path, allow)
    served = {(rule.endpoint, method) for rule in doc_app.url_map.iter_rules()
              if DESCRIBED.match(rule.rule) and rule.endpoint not in NOT_OPERATIONS
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    keyed = {endpoint for endpoint, _ in served if (endpoint, "TRACE") in served}
    assert {s for s in served if s[0] not in keyed} == {r for r in reached if r[0] not in keyed}
    assert keyed <= {endpoint for endpoint, _ in reached}


def test_security_scheme_and_writes(doc):
    """The bearer-token scheme is declared, and every write says it takes one (optional from loopback)."""
    assert doc["components"]["securitySchemes"]["bearer"] == {**doc["components"]["securitySchemes"]["bearer"],
                                                              "type": "http", "scheme": "bearer"}
    for path, item in doc["paths"].items():
        for method in ("post", "patch", "delete"):
            if method in item:
                assert {"bearer": []} in item[method]["security"], (method, path)
    assert {"bearer": []} in doc["paths"]["/metrics"]["get"]["security"]


# -- the codes ----------------------------------------------------------------------------------------------------

RAISED = re.compile(r"\b(Refusal|Refuse|Invalid|NotFound|Conflict)\(\s*\"([a-z_]+)\"")
ERROR_CALL = re.compile(r"\berror\(\s*\"([a-z_]+)\",.*?,\s*(\d{3})\)", re.S)
#: A reader's "this record, or 404" (NotFound.unless(found, "code", message)).
UNLESS = re.compile(r"\bNotFound\.unless\([^\"]*?,\s*\"([a-z_]+)\"", re.S)
#: Where API answers and scan refusals come from (the pages and the command line answer in their own ways).
SOURCES = ("station/domain", "station/scanning", "station/scan_core", "web/api", "web/scans.py", "web/security.py",
           "web/metrics.py")
#: Raised where no API request reaches: `station token` (the command line) revokes tokens by name.
NOT_IN_THE_API = {("station/domain/tokens.py", "unknown_token")}
#: Checked by the API before a scan starts: a scan's answer never carries them.
NOT_IN_A_SCAN = {"unknown_station", "invalid_key", "id_reused", "location_not_empty"}
CLASS_STATUS = {name: status for cls, status in STATUS.items() for name in (cls.__name__,)} | {"Refuse": 422}


def raised() -> list[tuple[str, str, int]]:
    """(file, code, status) for every refusal the sources raise, by its class's status (web.api.errors.STATUS)."""
    found = []
    for source in SOURCES:
        base = ROOT / source
        for path in ([base] if base.is_file() else sorted(base.rglob("*.py"))):
            text, rel = path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))
            found += [(rel, code, CLASS_STATUS[cls]) for cls, code in RAISED.findall(text)]
            found += [(rel, code, int(status)) for code, status in ERROR_CALL.findall(text)]
            found += [(rel, code, CLASS_STATUS["NotFound"]) for code in UNLESS.findall(text)]
    # The scan machine's refusals are data: every Refuse branch of its table.
    found += [("station/scan_core/machine.py", branch.code, CLASS_STATUS["Refuse"])
              for entry in TABLE.values() for branch in entry if isinstance(branch, Refuse)]
    return [f for f in found if (f[0], f[1]) not in NOT_IN_THE_API]


def test_source_reading_finds_codes():
    """The reading below sees the refusals it must: one of each class, in each place they are raised."""
    found = {(code, status) for _, code, status in raised()}
    assert {("serial_in_stock", 422), ("invalid_serial", 400), ("unknown_serial", 404), ("duplicate", 409),
            ("no_open_document", 422), ("events_unavailable", 501), ("database_unavailable", 503)} <= found


def test_every_code_the_code_raises_is_in_the_documents_enums(doc):
    """Each code raised in the domain, the scan path and the API (read from the source) is in the enum of the
    status its class answers with, and a scan's refusal code is in the scan answer's enum."""
    schemas = doc["components"]["schemas"]
    missing = []
    for path, code, status in raised():
        if code not in schemas[f"Error{status}"]["properties"]["error"]["properties"]["code"]["enum"]:
            missing.append((path, code, status))
        if path.startswith(("station/domain", "station/scanning", "station/scan_core")) and code not in NOT_IN_A_SCAN \
                and code not in schemas["ScanRefusal"]["enum"]:
            missing.append((path, code, "scan"))
    assert missing == []


def test_enums_hold_every_spec_code(doc):
    """SPEC 4's refusal codes that this server gives, and the README's table of statuses, are all in the enums."""
    schemas = doc["components"]["schemas"]
    enum = {s: set(schemas[f"Error{s}"]["properties"]["error"]["properties"]["code"]["enum"]) for s in codes.BY_STATUS}
    assert {"bad_request", "invalid_json", "invalid_field", "unknown_field", "invalid_serial", "invalid_barcode",
            "invalid_quantity", "read_only"} <= enum[400]
    assert {"duplicate", "duplicate_barcode", "barcode_is_serial", "conflict", "id_reused"} <= enum[409]
    assert {"unauthorized"} == enum[401] and {"too_large"} == enum[413]
    assert set(codes.RULES) <= set(schemas["ScanRefusal"]["enum"])


def test_document_follows_the_configured_order_pattern(tmp_path):
    """The purchase order pattern is the station's own: a serial or barcode matching it could never be scanned."""
    config = from_dict({"database": {"url": f"sqlite:///{tmp_path}/x.db"},
                        "scanning": {"document_pattern": r"^ORD\d{4}$"}})
    schemas = build(config)["components"]["schemas"]
    assert {"not": {"pattern": r"^ORD\d{4}$"}} in schemas["NewSerial"]["allOf"]
    assert {"pattern": r"^ORD\d{4}$"} in schemas["OrderReference"]["allOf"]


# -- the check on every answer ----------------------------------------------------------------------------------

def test_a_renamed_key_fails_the_request(client, monkeypatch):
    """helpers.contract bites: an answer with a key the document does not have fails the request that got it."""
    real = representation.operator
    monkeypatch.setattr(representation, "operator", lambda o: {**real(o), "badge": o.code})
    with pytest.raises(ContractViolation, match="badge"):
        client.post("/api/operators", json={"code": "U1", "name": "Ann"})


@pytest.mark.parametrize("refusal", [pytest.param(NotFound("made_up", "x"), id="unknown_code"),
                                     pytest.param(Conflict("unknown_product", "x"), id="code_of_another_status")])
def test_an_error_code_outside_the_enum_fails(client, monkeypatch, refusal):
    """An error whose code is not in its status's enum (a typo, or a code answered with the wrong status) fails."""
    def refuse(session, code):
        raise refusal

    monkeypatch.setattr(operators, "get_operator", refuse)
    with pytest.raises(ContractViolation, match="breaks the document"):
        client.get("/api/operators/U1")


def test_a_valid_request_refused_as_malformed_fails(client, monkeypatch):
    """A 400 for a request the document calls valid means the document is not exact: that fails too."""
    def refuse(session, code, name):
        raise Invalid("invalid_field", "Refused for no reason the document gives.")

    monkeypatch.setattr(operators, "create_operator", refuse)
    with pytest.raises(ContractViolation, match="document calls valid"):
        client.post("/api/operators", json={"code": "U1", "name": "Ann"})
