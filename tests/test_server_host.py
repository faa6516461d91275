"""The Host header on ``station serve`` (issue 20): an HTTP/1.1 request without exactly one is refused, 400.

RFC 9112 (3.2): a server must answer 400 to an HTTP/1.1 request that lacks a
Host header, has more than one, or one with an invalid value. The station's
server carried such requests out (trust and the page's links are decided by
the name the client gave). Each request here is written byte for byte on a
raw socket to a real ``station serve`` process; the answer is read to the
server's close.
"""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from helpers.daemon import DaemonProcess
from sqlalchemy import func, select

from station.domain.models import ScanLog

SCAN = b'{"data": "CMD:RECEIVE"}'


@pytest.fixture(scope="module")
def served(database, tmp_path_factory) -> Iterator[tuple[str, int]]:
    """A ``station serve`` process on the module's database (one per backend); its host and port."""
    folder = tmp_path_factory.mktemp("serve")
    config = folder / "station.toml"
    config.write_text(f'[database]\nurl = "{database.url}"\n\n[web]\nhost = "127.0.0.1"\nport = 0\n\n'
                      '[[stations]]\nid = "till"\nmode = "sell"\n', encoding="utf-8")
    process = DaemonProcess(config, folder, command=("serve",), env={"STATE_DIRECTORY": str(folder)})
    try:
        port = int(process.expect(r"Serving on http://127\.0\.0\.1:(\d+)/").group(1))
        yield "127.0.0.1", port
        assert process.terminate(timeout=5) == 0
    finally:
        process.close()


def exchange(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Write ``request`` as it is; the status, headers and body of the answer (read until the server closes)."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def request(method: str, path: str, *headers: str, version: str = "1.1", body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", *headers, "Connection: close"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


BAD_HOSTS = [
    pytest.param((), id="no_host"),
    pytest.param(("Host: 127.0.0.1", "Host: evil.example"), id="two_hosts"),
    pytest.param(("Host: ",), id="empty_host"),
    pytest.param(("Host: 127.0.0.1:port",), id="bad_port"),
    pytest.param(("Host: a b",), id="space_in_host"),
]


@pytest.mark.parametrize("headers", BAD_HOSTS)
def test_an_http_1_1_request_without_one_host_is_400(db, served, headers):
    """Guards against carrying out what a client sent without saying which server it meant: the API answers
    400 ``bad_request`` in JSON (a scan is not taken), the pages and the live events plain text; the connection
    is closed."""
    status, answer, body = exchange(served, request("POST", "/api/stations/till/scans", *headers, body=SCAN))
    assert status == 400 and answer["content-type"] == "application/json" and answer["connection"] == "close"
    error = json.loads(body)["error"]
    assert error["code"] == "bad_request" and "Host" in error["message"]
    with db.Session() as s:
        assert s.scalar(select(func.count()).select_from(ScanLog)) == 0
    for path in ("/api/serials", "/api/stations/till/events"):
        status, answer, body = exchange(served, request("GET", path, *headers))
        assert status == 400 and json.loads(body)["error"]["code"] == "bad_request"
    status, answer, body = exchange(served, request("GET", "/stations/till", *headers))
    assert status == 400 and answer["content-type"].startswith("text/plain") and b"Host" in body


@pytest.mark.parametrize(("version", "headers"), [
    pytest.param("1.1", ("Host: 127.0.0.1",), id="http_1_1_with_its_host"),
    pytest.param("1.1", ("Host: localhost:8700",), id="http_1_1_host_and_port"),
    pytest.param("1.0", (), id="http_1_0_needs_none"),
])
def test_a_request_with_its_host_is_served(db, served, version, headers):
    """Guards the rule's edge: one valid Host on HTTP/1.1, or none on HTTP/1.0 (which has no such rule), is
    served as before, scans included."""
    status, _, body = exchange(served, request("POST", "/api/stations/till/scans", *headers, version=version,
                                               body=SCAN))
    assert status == 200 and json.loads(body)["accepted"] is True
    status, _, body = exchange(served, request("GET", "/stations/till", *headers, version=version))
    assert status == 200 and b"till" in body
