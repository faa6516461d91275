"""Serials (and codes) in URL paths: percent-encoded '/', '//', '%', Unicode and spaces survive, through Werkzeug
and the station's server."""
from __future__ import annotations

import http.client
import json
from urllib.parse import quote, unquote

import pytest
from helpers.api import raw_request, serve

# Each serial alone in a path would lose something if routed naively.
AWKWARD = [
    pytest.param("SN/1", id="slash"),
    pytest.param("SN//2", id="double_slash"),
    pytest.param("SN/2", id="single_slash_twin"),
    pytest.param("/lead", id="leading_slash"),
    pytest.param("trail/", id="trailing_slash"),
    pytest.param("a%b", id="percent"),
    pytest.param("a%2Fb", id="encoded_text"),
    pytest.param("é-ü-✓", id="unicode"),
    pytest.param("SN 1", id="space"),
    pytest.param("a+b?c#d", id="plus_query_fragment"),
    pytest.param("SN/adjust", id="ends_like_action"),
    pytest.param("adjust", id="is_action"),
]
ALL = [p.values[0] for p in AWKWARD]


def url(serial: str, action: str = "") -> str:
    return "/api/serials/" + quote(serial, safe="") + action


def _create_all(client) -> None:
    for serial in ALL:
        assert client.post("/api/serials", json={"serial": serial, "product": "WID-1"}).status_code == 201


@pytest.mark.parametrize("serial", AWKWARD)
def test_test_client_round_trip(client, world, serial):
    """GET, PATCH and POST .../adjust reach exactly the serial named, not a merged or split neighbour."""
    _create_all(client)
    resp = client.get(url(serial))
    assert resp.status_code == 200 and resp.get_json()["serial"] == serial
    resp = client.patch(url(serial), json={"supplier": "ACME"})
    assert resp.status_code == 200 and resp.get_json()["serial"] == serial
    resp = client.post(url(serial, "/adjust"), json={"direction": "in", "reason": "count"})
    assert resp.status_code == 200 and resp.get_json()["serial"] == serial
    in_stock = {s["serial"] for s in client.get("/api/serials?in_stock=true").get_json()["serials"]}
    assert in_stock == {serial}


def test_server_round_trip(app, client, world):
    """The same through the station's server (what ``station serve`` runs), the raw percent-encoded path on the wire."""
    _create_all(client)
    with serve(app) as port:
        for serial in ALL:
            status, _, body = raw_request(port, "GET", url(serial))
            assert (status, body["serial"]) == (200, serial)
            status, _, body = raw_request(port, "PATCH", url(serial), {"customer": None})
            assert (status, body["serial"]) == (200, serial)
            status, _, body = raw_request(port, "POST", url(serial, "/adjust"), {"direction": "in", "reason": "x"})
            assert (status, body["serial"], body["in_stock"]) == (200, serial, True)
        status, _, body = raw_request(port, "GET", "/api/serials?in_stock=true&per_page=200")
        assert sorted(s["serial"] for s in body["serials"]) == sorted(ALL)
        status, headers, body = raw_request(port, "GET", "/api/serials/NOPE%2F1")
        assert (status, body["error"]["code"]) == (404, "unknown_serial")


def test_action_suffix_is_literal(client, world):
    """A literal /adjust is the action, whatever the method (GET of it is 405, as the OpenAPI document says: issue
    25); an encoded %2Fadjust belongs to the serial."""
    client.post("/api/serials", json={"serial": "SN", "product": "WID-1"})
    client.post("/api/serials", json={"serial": "SN/adjust", "product": "WID-1"})
    assert client.get("/api/serials/SN%2Fadjust").get_json()["serial"] == "SN/adjust"
    assert client.post("/api/serials/SN/adjust", json={"direction": "in", "reason": "x"}).get_json()["serial"] == "SN"
    body = client.post("/api/serials/SN%2Fadjust/adjust", json={"direction": "in", "reason": "x"}).get_json()
    assert body["serial"] == "SN/adjust"
    resp = client.post("/api/serials/SN%2Fadjust", json={"direction": "in", "reason": "x"})
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, HEAD, OPTIONS, PATCH"
    for method in ("GET", "PATCH", "PUT"):
        resp = client.open("/api/serials/SN/adjust", method=method, json={"direction": "in", "reason": "x"})
        assert resp.status_code == 405 and resp.headers["Allow"] == "OPTIONS, POST", method
    assert client.options("/api/serials/SN/adjust").headers["Allow"] == "OPTIONS, POST"
    assert client.options("/api/serials/SN%2Fadjust").headers["Allow"] == "GET, HEAD, OPTIONS, PATCH"


@pytest.mark.parametrize("method,path,allow", [
    pytest.param("OPTIONS", "/api/products/WID-1", "GET, HEAD, OPTIONS, PATCH", id="product"),
    pytest.param("DELETE", "/api/products/WID-1", "GET, HEAD, OPTIONS, PATCH", id="product_delete"),
    pytest.param("GET", "/api/products/WID-1/adjust", "OPTIONS, POST", id="adjust"),
    pytest.param("PATCH", "/api/products/WID-1/barcodes", "OPTIONS, POST", id="barcodes"),
    pytest.param("GET", "/api/products/WID-1/barcodes/036000291452", "DELETE, OPTIONS", id="barcode"),
    pytest.param("TRACE", "/api/products/WID-1/barcodes/adjust", "DELETE, OPTIONS, POST", id="both_shapes"),
])
def test_allow_names_the_methods_of_the_path(client, world, method, path, allow):
    """OPTIONS and 405 name exactly the methods the OpenAPI document gives that path (issue 25: schemathesis found
    POST and DELETE advertised on a product, and PATCH .../adjust taken as a product named 'WID-1/adjust')."""
    resp = client.open(path, method=method)
    assert resp.headers["Allow"] == allow
    assert resp.status_code == (200 if method == "OPTIONS" else 405)


def test_hand_typed_slash_is_tolerated(client, world):
    """A literal slash no action claims stays in the serial, so a URL typed by hand still finds SN/1."""
    client.post("/api/serials", json={"serial": "SN/1"})
    assert client.get("/api/serials/SN/1").get_json()["serial"] == "SN/1"


def test_codes_with_slashes(client):
    """Product codes and barcodes holding '/' reach their own record on every product route."""
    resp = client.post("/api/products", json={"code": "WID/1", "name": "Slashed", "barcodes": ["AB/CD"],
                                              "serial_required_for_purchase": False})
    assert resp.status_code == 201
    assert resp.headers["Location"].endswith("/api/products/WID%2F1")
    assert client.get("/api/products/WID%2F1").get_json()["code"] == "WID/1"
    assert client.post("/api/products/WID%2F1/barcodes", json={"barcode": "X/Y"}).status_code == 201
    resp = client.delete("/api/products/WID%2F1/barcodes/AB%2FCD")
    assert resp.status_code == 200 and resp.get_json()["barcodes"] == ["X/Y"]
    resp = client.post("/api/products/WID%2F1/adjust", json={"quantity": 2, "reason": "count"})
    assert resp.get_json()["on_hand"] == 2
    client.post("/api/suppliers", json={"code": "A/B", "name": "Slash Ltd"})
    assert client.get("/api/suppliers/A%2FB").get_json() == {"code": "A/B", "name": "Slash Ltd"}


LEADING_SLASHES = [
    pytest.param("//api/serials", True, id="api_collection"),
    pytest.param("///api/serials", True, id="three_slashes"),
    pytest.param("//api//serials", True, id="doubled_twice"),
    pytest.param("//api/serials/SN%2F1", True, id="api_record"),
    pytest.param("//api/stations/goods-in", True, id="api_station"),
    pytest.param("//serials", False, id="page"),
    pytest.param("//", False, id="root"),
]


@pytest.mark.parametrize(("path", "api"), LEADING_SLASHES)
def test_a_path_that_starts_with_two_slashes_is_404(app, client, world, path, api):
    """Guards the README's promise (issue 20): a '//' in a path is a 404, not the page or record without it.
    Werkzeug strips a path's leading slashes before routing, so ``//api/serials`` was answered as
    ``/api/serials``: 200. Now 404, in JSON naming the path as sent under the API, through the station's own
    server (a test client would read ``//api`` as a host name)."""
    client.post("/api/serials", json={"serial": "SN/1", "product": "WID-1"})
    with serve(app) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
    assert response.status == 404
    if api:
        error = json.loads(body)["error"]
        assert error["code"] == "not_found" and error["message"] == f"No API endpoint GET {unquote(path)}."
    else:
        assert response.getheader("Content-Type").startswith("text/html")


def test_slashes_inside_a_serial_still_route(app, client, world):
    """Guards the other side of the rule above: '/' and '//' inside a serial, percent-encoded or typed, still
    reach it (SPEC 5), through the station's own server."""
    for serial in ("SN/1", "SN//2", "/lead"):
        assert client.post("/api/serials", json={"serial": serial}).status_code == 201
    with serve(app) as port:
        for path, serial in (("/api/serials/SN%2F%2F2", "SN//2"), ("/api/serials/SN//2", "SN//2"),
                             ("/api/serials//lead", "/lead"), ("/api/serials/%2Flead", "/lead"),
                             ("/api/serials/SN/1", "SN/1")):
            status, _, body = raw_request(port, "GET", path)
            assert (status, body["serial"]) == (200, serial), path
