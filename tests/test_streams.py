"""Live event streams at scale: 500 screens held open on real sockets while scans still answer, and the caps.

SQLite only: what is measured here is the server (a waiting screen costs a
socket and a coroutine, not a thread); the feed's PostgreSQL source is
covered in test_scan_api.py. Latencies are reported (``record_property`` and
the test's output), never asserted.
"""
from __future__ import annotations

import http.client
import json
import selectors
import statistics
import time

import pytest
from helpers.api import serve
from helpers.daemon import DaemonProcess
from helpers.events import RawStream, parse

from station.config import from_dict
from web.app import create_app

STREAMS = 500
SCANS = 40


def _until_all(streams: list[RawStream], predicate, timeout: float, missed: str) -> dict[RawStream, tuple]:
    """Read every stream until each has had an event for which ``predicate(kind, data)`` holds; that first event
    of each. A stream that ends first, or ``timeout`` passing, fails the test (``missed`` says what was awaited)."""
    found: dict[RawStream, tuple] = {}
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for stream in streams:
            selector.register(stream, selectors.EVENT_READ)
        while len(found) < len(streams):
            remaining = deadline - time.monotonic()
            ready = selector.select(remaining) if remaining > 0 else []
            if not ready:
                raise AssertionError(f"{len(streams) - len(found)} of {len(streams)} streams {missed} in {timeout} s")
            for key, _ in ready:
                stream = key.fileobj
                for block in stream.read_ready():
                    event = parse(block)
                    if event is not None and stream not in found and predicate(*event):
                        found[stream] = event
                if stream.closed and stream not in found:
                    raise AssertionError(f"a stream ended (status {stream.status})")
    return found


def test_500_open_streams_and_scans_still_answer(tmp_path, record_property):
    """Guards SPEC 6 and issue 10's starvation: 500 screens held open on `station serve` (real sockets, a real
    process) take no request threads, so scans keep answering, every screen hears of each scan, and the 501st
    screen is told plainly that the server is full."""
    config = tmp_path / "station.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/station.db"\n\n[web]\nport = 0\n'
                      f'max_streams = {STREAMS}\n\n[[stations]]\nid = "till"\nmode = "sell"\n', encoding="utf-8")
    server = DaemonProcess(config, tmp_path, command=("serve",))
    streams: list[RawStream] = []
    try:
        port = int(server.expect(r"Serving on http://127\.0\.0\.1:(\d+)/").group(1))
        opened = time.perf_counter()
        streams = [RawStream(port, "till") for _ in range(STREAMS)]
        first = _until_all(streams, lambda kind, data: True, 120, "had no event")
        open_s = time.perf_counter() - opened
        assert all(s.status == 200 for s in streams)
        version = first[streams[0]][1]["version"]

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies = []
        for n in range(SCANS):
            started = time.perf_counter()
            conn.request("POST", "/api/stations/till/scans", body=json.dumps({"data": f"NOPE-{n}"}),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = json.loads(resp.read())
            latencies.append((time.perf_counter() - started) * 1000)
            assert resp.status == 200 and body["code"] == "unknown_barcode"
        conn.close()
        # Every screen hears of the last scan.
        _until_all(streams, lambda kind, data: kind == "message" and data["recent_scans"]
                   and data["recent_scans"][0]["raw"] == f"NOPE-{SCANS - 1}" and data["version"] > version, 60,
                   "missed the event")

        extra = RawStream(port, "till")
        try:
            while extra.status is None:
                extra.read_ready()
            assert extra.status == 503
            assert extra.body_json()["error"]["code"] == "too_many_streams"
        finally:
            extra.close()
    finally:
        for stream in streams:
            stream.close()
        server.close()
    ordered = sorted(latencies)
    figures = {"streams": STREAMS, "open_all_s": round(open_s, 2), "scans": SCANS,
               "scan_p50_ms": round(statistics.median(ordered), 2),
               "scan_p90_ms": round(ordered[int(len(ordered) * 0.9)], 2), "scan_max_ms": round(ordered[-1], 2)}
    record_property("figures", figures)
    print("500 streams:", json.dumps(figures))


@pytest.fixture
def capped(db, tmp_path):
    """An app on the station's server allowing 5 streams, 3 from one client address; yields its port."""
    app = create_app(from_dict({"database": {"url": db.url}, "stations": [{"id": "till"}]}), engine=db.engine)
    with serve(app, max_streams=5, max_streams_per_client=3) as port:
        yield port


def _open(port: int, host: str) -> RawStream:
    stream = RawStream(port, "till", host=host)
    while stream.status is None:
        stream.read_ready()
    return stream


def test_a_client_over_its_cap_is_told_so(capped):
    """Guards the per-client cap: a client that is not the station's own screen (here: loopback, but naming the
    server by a foreign name, as a LAN client or a DNS-rebound page does) gets 3 streams, then a JSON 429 with a
    sentence; the station's own screen is capped only by the total (then a JSON 503)."""
    port = capped
    streams = []
    try:
        for _ in range(3):
            streams.append(_open(port, "station.example"))
            assert streams[-1].status == 200
            assert "default-src 'self'" in streams[-1].headers["content-security-policy"]
        refused = _open(port, "station.example")
        assert refused.status == 429 and refused.headers["content-type"] == "application/json"
        error = refused.body_json()["error"]
        assert error["code"] == "too_many_streams_from_client" and "max_streams_per_client" in error["message"]
        assert "default-src 'self'" in refused.headers["content-security-policy"]
        refused.close()
        for _ in range(2):
            streams.append(_open(port, "127.0.0.1"))  # trusted: the per-client cap does not apply
            assert streams[-1].status == 200
        full = _open(port, "127.0.0.1")
        assert full.status == 503 and full.body_json()["error"]["code"] == "too_many_streams"
        full.close()
    finally:
        for stream in streams:
            stream.close()


def test_events_of_an_unknown_station_are_a_json_404_through_the_server(capped):
    """Guards the stream route's edge: it goes through the app's own routing, guard and errors (JSON)."""
    stream = RawStream(capped, "nowhere")
    try:
        while stream.status is None:
            stream.read_ready()
        assert stream.status == 404 and stream.body_json()["error"]["code"] == "unknown_station"
    finally:
        stream.close()
