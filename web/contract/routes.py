"""The API's routes as the document's ``paths``: one entry per route of web.api, its answers by status.

Adding a route to the API is adding an entry here in the same change:
tests/test_contract_document.py fails while a route of the app's URL map has
no operation here (or one here has no route), and every test that calls it
fails while its answers do not match (tests/helpers/contract.py).

A key in a path (a serial, a code, a reference) is any text, percent-encoded
('/' as %2F): a lookup of one that cannot exist answers 404, never 400.
"""
from __future__ import annotations

from typing import Any

from . import bodies
from .records import ref

Operation = dict[str, Any]

#: Writes from loopback need nothing; from any other machine a bearer token (README "Security").
WRITE_SECURITY = [{}, {"bearer": []}]

_ERRORS = {
    400: "Malformed: the request broke this document (a type, a length, a pattern, an unknown key).",
    401: "Off loopback without a valid bearer token.",
    404: "A record named in the path or the body does not exist.",
    409: "The key exists already, or another request took it at the same moment.",
    413: "The body is over 4 KiB.",
    415: "The body is not Content-Type: application/json in UTF-8.",
    422: "Well formed, but the stock rules say no now.",
    429: "This client holds its share of the server's live streams already.",
    501: "Live events need the station's own server (station serve or run), not a plain WSGI server.",
    503: "The database cannot be reached.",
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def error(status: int) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/Error{status}"}


def responses_component() -> dict[str, Any]:
    return {f"Error{s}": {"description": d, **_json(ref(f"Error{s}"))} for s, d in _ERRORS.items()}


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}, "description": description}


SERIAL = _path("serial", "The serial, percent-encoded ('/' as %2F).")
CODE = _path("code", "The code, percent-encoded ('/' as %2F).")


def _station(stations: list[str]) -> dict[str, Any]:
    """The configured stations, by name: any other answers 404 unknown_station."""
    schema = {"type": "string", "enum": stations} if stations else {"type": "string"}
    return {**_path("station", "A station of this server's configuration ([[stations]])."), "schema": schema}


def op(summary: str, tag: str, ok: dict[int, dict[str, Any]], errors: tuple[int, ...], *, body: str | None = None,
       parameters: list[dict[str, Any]] | None = None, op_id: str, description: str = "",
       links: dict[str, Any] | None = None, overrides: dict[int, Any] | None = None) -> Operation:
    """One operation: its success answers, its error statuses (503 for all), its body, and whether it writes."""
    out: Operation = {"operationId": op_id, "summary": summary, "tags": [tag]}
    if description:
        out["description"] = description
    if parameters:
        out["parameters"] = parameters
    statuses = set(errors) | {503}
    if body is not None:
        out["requestBody"] = {"required": True, **_json(ref(body))}
        out["security"] = WRITE_SECURITY
        statuses |= {400, 401, 413, 415}
    answers: dict[str, Any] = {str(s): r for s, r in ok.items()}
    if links:
        first = str(min(ok))
        answers[first] = {**answers[first], "links": links}
    answers.update({str(s): error(s) for s in sorted(statuses)})
    answers.update({str(s): r for s, r in (overrides or {}).items()})
    out["responses"] = answers
    return out


def answer(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, **_json(ref(schema))}


def _link(op_id: str, parameters: dict[str, str] | None = None, body: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op_id}
    if parameters:
        out["parameters"] = parameters
    if body is not None:
        out["requestBody"] = body
    return out


def _record_links(kind: str, key: str, *op_ids: str) -> dict[str, Any]:
    return {f"{kind}{op_id[0].upper()}{op_id[1:]}": _link(op_id, {key: f"$response.body#/{key}"})
            for op_id in op_ids}


def paths(stations: list[str]) -> dict[str, Any]:
    """Every route of the API (web.api), /metrics and the document's own two; ``stations``: the configured ids."""
    page = bodies.paging()
    station = _station(stations)
    created_serial = _record_links("serial", "serial", "getSerial", "patchSerial", "adjustSerial")
    scan_at = {"station": stations[0] if stations else "default"}
    created_serial["scanSerial"] = _link("scan", scan_at, {"data": "$response.body#/serial"})
    created_product = _record_links("product", "code", "getProduct", "patchProduct", "addBarcode", "adjustProduct")
    with_barcode = {"scanBarcode": _link("scan", scan_at, {"data": "$response.body#/barcodes/0"}),
                    "removeBarcode": _link("removeBarcode", {"code": "$response.body#/code",
                                                             "barcode": "$response.body#/barcodes/0"})}
    return {
        "/api/stations/{station}/scans": {"parameters": [station], "post": op(
            "One scan, as a scanner's", "stations", {200: answer("The scan's answer: accepted or refused.",
                                                                  "ScanAnswer")},
            (404, 409), body="ScanRequest", op_id="scan",
            links={"station": _link("getStation", {"station": "$request.path.station"})},
            description="Processed exactly as a scanner's, in order with them. A refused scan is an answer "
                        "(200, accepted false, its code), not an error. The same id twice is processed once and "
                        "answers the same; the same id with other data is 409 id_reused. Under station run with "
                        "the database away the scan is held: 503 with queued true.",
            overrides={503: {"description": "The database cannot be reached; under station run the scan is held "
                                            "in the daemon's spool (queued true) and processed in its turn.",
                             **_json({"anyOf": [ref("Held"), ref("Error503")]})}})},
        "/api/stations/{station}": {"parameters": [station], "get": op(
            "A station's state", "stations", {200: answer("Mode, prompt, open document, recent scans, operator, "
                                                          "printer.", "StationView")}, (404,), op_id="getStation")},
        "/api/stations/{station}/events": {"parameters": [station], "get": op(
            "A station's state, live (server-sent events)", "stations",
            {200: {"description": "text/event-stream: the state now, then one event each time it changes "
                                  "(id: its version); event: offline while the database is away; a comment as a "
                                  "heartbeat every 15 s.",
                   "content": {"text/event-stream": {"schema": {"type": "string"}}}}},
            (404, 429, 501), op_id="stationEvents")},
        "/api/serials": {
            "get": op("Serials", "serials", {200: answer("A page of serials, by serial.", "Serials")}, (400, 404),
                      op_id="listSerials", parameters=[
                          *page, bodies.search("product", bodies.QUERY_MAX, "Of this product code (404 if none)."),
                          bodies.flag("in_stock", "In stock or not."),
                          bodies.search("q", bodies.QUERY_MAX, "Serials starting with this, in any case.")]),
            "post": op("Create a serial: only its text is needed (rule 1)", "serials",
                       {201: answer("The new serial.", "Serial")}, (404, 409), body="SerialCreate",
                       op_id="createSerial", links=created_serial)},
        "/api/serials/{serial}": {"parameters": [SERIAL], "get": op(
            "A serial: its record, movements and refused scans", "serials",
            {200: answer("The record; movements and refused scans oldest first, both paged (100 a page).",
                         "Serial")}, (400, 404), op_id="getSerial", parameters=bodies.paging(per_page=100)),
            "patch": op("Change a serial's product, customer or supplier", "serials",
                        {200: answer("The serial.", "Serial")}, (404, 409, 422), body="SerialPatch",
                        op_id="patchSerial")},
        "/api/serials/{serial}/adjust": {"parameters": [SERIAL], "post": op(
            "A serial into or out of stock, with a reason (rule 7)", "serials",
            {200: answer("The serial.", "Serial")}, (404, 409, 422), body="SerialAdjust", op_id="adjustSerial")},
        "/api/products": {
            "get": op("Products", "products", {200: answer("A page of products, by code.", "Products")}, (400,),
                      op_id="listProducts", parameters=[
                          *page, bodies.search("q", bodies.SEARCH_MAX, "A code prefix or part of a name, any case."),
                          bodies.search("barcode", bodies.QUERY_MAX, "A barcode in any GTIN form.")]),
            "post": op("Create a product", "products", {201: answer("The new product.", "Product")}, (409,),
                       body="ProductCreate", op_id="createProduct", links=created_product)},
        "/api/products/{code}": {"parameters": [CODE], "get": op(
            "A product, with on_hand and serials_in_stock", "products", {200: answer("The product.", "Product")},
            (404,), op_id="getProduct"),
            "patch": op("Change a product (barcodes: the whole list)", "products",
                        {200: answer("The product.", "Product")}, (404, 409), body="ProductPatch",
                        op_id="patchProduct")},
        "/api/products/{code}/barcodes": {"parameters": [CODE], "post": op(
            "Add a barcode to a product", "products", {201: answer("The product.", "Product")}, (404, 409),
            body="BarcodeAdd", op_id="addBarcode", links=with_barcode)},
        "/api/products/{code}/barcodes/{barcode}": {
            "parameters": [CODE, _path("barcode", "The barcode, in any GTIN form.")],
            "delete": op("Remove a barcode from a product", "products", {200: answer("The product.", "Product")},
                         (401, 404), op_id="removeBarcode") | {"security": WRITE_SECURITY}},
        "/api/products/{code}/adjust": {"parameters": [CODE], "post": op(
            "Unserialised units of a product in or out, with a reason (rule 7)", "products",
            {200: answer("The product.", "Product")}, (404, 422), body="ProductAdjust", op_id="adjustProduct")},
        **_parties("supplier"), **_parties("customer"),
        "/api/documents": {"post": op(
            "Create a purchase order to receive against", "documents",
            {201: answer("The order.", "Document")}, (404, 409), body="PurchaseOrder", op_id="createOrder",
            links={"orderGet": _link("getDocument", {"reference": "$response.body#/reference"})})},
        "/api/documents/{reference}": {"parameters": [_path("reference", "The document's reference.")], "get": op(
            "A document: status, lines (500 a page), and for a purchase order expected against received",
            "documents", {200: answer("The document.", "Document")}, (400, 404), op_id="getDocument",
            parameters=bodies.line_page())},
        "/api/operators": {
            "get": op("Operators", "operators", {200: answer("A page of operators, by code.", "Operators")},
                      (400,), op_id="listOperators",
                      parameters=[*page, bodies.flag("active", "Active or deactivated.")]),
            "post": op("Create an operator (their badge is USR:<code>)", "operators",
                       {201: answer("The new operator.", "Operator")}, (409,), body="OperatorCreate",
                       op_id="createOperator", links=_record_links("operator", "code", "getOperator",
                                                                   "patchOperator"))},
        "/api/operators/{code}": {"parameters": [CODE], "get": op(
            "An operator", "operators", {200: answer("The operator.", "Operator")}, (404,), op_id="getOperator"),
            "patch": op("Rename, deactivate or reactivate an operator", "operators",
                        {200: answer("The operator.", "Operator")}, (404,), body="OperatorPatch",
                        op_id="patchOperator")},
        "/api/events": {"get": op(
            "The integration feed: events after an id, oldest first", "integration",
            {200: answer("The events and the last id to ask after next.", "Events")}, (400,), op_id="events",
            parameters=bodies.feed())},
        "/api/epcis/events": {"get": op(
            "EPCIS 2.0: the next posted documents' movements as ObjectEvents, in event order", "integration",
            {200: answer("An EPCISDocument; the Link header (rel=\"next\") names the next page.",
                         "EPCISDocument")
             | {"headers": {"Link": {"description": "<...?after=<the last event id of this page>&limit=<n>>; "
                                                    "rel=\"next\"", "schema": {"type": "string"}}}}},
            (400,), op_id="epcisEvents", parameters=bodies.feed("posted documents"),
            description="after is an event id of GET /api/events (a document.posted event's), not a movement's: "
                        "event ids are visible in commit order, so asking after the last one never skips a "
                        "document. Each movement is one ObjectEvent; the document validates against GS1's "
                        "EPCIS 2.0 JSON schema.")},
        "/metrics": {"get": op(
            "Prometheus metrics", "integration",
            {200: {"description": "Prometheus' text format.",
                   "content": {"text/plain": {"schema": {"type": "string"}}}}}, (401,), op_id="metrics")
            | {"security": WRITE_SECURITY}},
        "/api/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document", "tags": ["documentation"],
            "responses": {"200": {"description": "OpenAPI 3.1.", **_json({"type": "object"})}}}},
        "/api/docs": {"get": {
            "operationId": "docs", "summary": "This document, for a person (Swagger UI, served from here)",
            "tags": ["documentation"],
            "responses": {"200": {"description": "An HTML page.",
                                  "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    }


def _parties(kind: str) -> dict[str, Any]:
    plural = f"{kind}s"
    title = kind.capitalize()
    return {
        f"/api/{plural}": {
            "get": op(f"{title}s", "parties", {200: answer(f"A page of {plural}, by code.", title + "s")}, (400,),
                      op_id=f"list{title}s", parameters=[
                          *bodies.paging(), bodies.search("q", bodies.SEARCH_MAX,
                                                          "A code prefix or part of a name, any case.")]),
            "post": op(f"Create a {kind}", "parties", {201: answer(f"The new {kind}.", "Party")}, (409,),
                       body="PartyCreate", op_id=f"create{title}",
                       links={f"{kind}Get": _link(f"get{title}", {"code": "$response.body#/code"})})},
        f"/api/{plural}/{{code}}": {"parameters": [CODE], "get": op(
            f"A {kind}", "parties", {200: answer(f"The {kind}.", "Party")}, (404,), op_id=f"get{title}")},
    }
