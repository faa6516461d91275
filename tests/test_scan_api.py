"""The stations API over HTTP (SPEC 5): scans, a station's state, and its live events, on both databases."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers.api import assert_error, raw_request, serve, snapshot
from helpers.events import EventStream
from sqlalchemy import func, select

from station.config import from_dict
from station.domain import catalogue
from station.domain.models import ScanLog
from station.live.status import LiveStatus
from station.scanning.service import ScanService
from station.storage.db import make_engine
from web.app import create_app

CONFIG = from_dict({"stations": [{"id": "goods-in", "mode": "receive"}, {"id": "till", "mode": "sell"}]})
WIDGET_GTIN = "09501101020917"
RESULT_KEYS = ["accepted", "code", "message", "prompt", "document"]


def _app(engine, *, live: LiveStatus | None = None):
    # With a LiveStatus: the daemon's process, as under station run.
    app = create_app(CONFIG, engine=engine, live=live)
    app.config.update(TESTING=True, STATION_SSE_HEARTBEAT=0.2)
    return app


@pytest.fixture
def world(db):
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=[WIDGET_GTIN])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    return db


@pytest.fixture
def client(world):
    return _app(world.engine).test_client()


def post_scan(client, station, data, **extra):
    return client.post(f"/api/stations/{station}/scans", json={"data": data, **extra})


# -- POST /api/stations/<station>/scans -------------------------------------------------------


def test_scan_answers_as_spec_5(client):
    """Guards the scan answer's shape: exactly SPEC 5's keys, 200 for accepted and refused scans alike."""
    r = post_scan(client, "goods-in", "SUP:ACME")
    assert r.status_code == 200 and r.is_json
    body = r.get_json()
    assert list(body) == RESULT_KEYS
    assert body["accepted"] is True and body["code"] is None
    assert body["document"]["kind"] == "receipt" and body["document"]["party"]["code"] == "ACME"
    r = post_scan(client, "goods-in", "NOPE-1")
    assert r.status_code == 200
    assert r.get_json()["code"] == "unknown_barcode" and r.get_json()["accepted"] is False


def test_finish_answers_with_the_posted_document(client):
    """Guards SPEC 5: after CMD:FINISH, ``document`` is the document just posted (not the next, empty one)."""
    for text in ("SUP:ACME", WIDGET_GTIN, "SN-1", "SN-2"):
        assert post_scan(client, "goods-in", text).get_json()["accepted"]
    body = post_scan(client, "goods-in", "CMD:FINISH").get_json()
    assert body["accepted"] and body["document"]["status"] == "posted"
    assert [line["serial"] for line in body["document"]["lines"]] == ["SN-1", "SN-2"]


def test_idempotent_retry_through_http(client, world):
    """Guards a retried POST: the same id is processed once and answers the same, to the byte: the answer is the
    text the scan log keeps for it, encoded once (issue 22), the first time and when it is given again."""
    first = post_scan(client, "goods-in", "SUP:ACME", id="retry-1")
    again = post_scan(client, "goods-in", "SUP:ACME", id="retry-1")
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()
    assert first.content_type == again.content_type == "application/json"
    with world.Session() as s:
        assert s.scalar(select(func.count()).select_from(ScanLog)) == 1
        kept = s.scalar(select(ScanLog.response).where(ScanLog.idempotency_key == "retry-1"))
    assert first.get_data(as_text=True) == again.get_data(as_text=True) == kept + "\n"
    assert list(json.loads(kept)) == RESULT_KEYS


def test_same_id_with_other_data_is_409_id_reused(client, world):
    """Guards issue 20 item 8 on the direct path (``station serve``): an id sent again with other data answers
    409 ``id_reused`` with a sentence and writes nothing, instead of the first scan's answer; the same id with the
    same data still answers the same; another station's id of the same text is another scan."""
    first = post_scan(client, "goods-in", "SUP:ACME", id="k-1")
    assert first.status_code == 200 and first.get_json()["accepted"]
    before = snapshot(world)
    reused = post_scan(client, "goods-in", "CMD:RECEIVE", id="k-1")
    error = assert_error(reused, 409, "id_reused")
    assert error["message"].startswith("Id k-1 was sent to station goods-in before with other data")
    assert snapshot(world) == before
    again = post_scan(client, "goods-in", "SUP:ACME", id="k-1")
    assert again.status_code == 200 and again.get_json() == first.get_json()
    elsewhere = post_scan(client, "till", "CMD:RECEIVE", id="k-1")
    assert elsewhere.status_code == 200 and elsewhere.get_json()["accepted"]


@pytest.mark.parametrize("extra, device", [
    pytest.param({}, "api", id="api_by_default"),
    pytest.param({"source": "web"}, "web", id="scan_box_of_the_page"),
])
def test_device_is_recorded(client, world, extra, device):
    """Guards the scan log's device: ``api`` for API clients, ``web`` for the operator page's scan box."""
    post_scan(client, "till", "NOPE", **extra)
    with world.Session() as s:
        assert s.scalar(select(ScanLog.device)) == device


@pytest.mark.parametrize(
    "body, content_type, status, code",
    [
        pytest.param(b"{not json", "application/json", 400, "invalid_json", id="not_json"),
        pytest.param(b'["SN-1"]', "application/json", 400, "invalid_json", id="not_an_object"),
        pytest.param(b"{}", "application/json", 400, "invalid_field", id="no_data"),
        pytest.param(b'{"data": 12}', "application/json", 400, "invalid_field", id="data_not_text"),
        pytest.param(b'{"data": null}', "application/json", 400, "invalid_field", id="data_null"),
        pytest.param(b'{"data": "x", "extra": 1}', "application/json", 400, "unknown_field", id="unknown_field"),
        pytest.param(b'{"data": "x", "id": 5}', "application/json", 400, "invalid_key", id="key_not_text"),
        pytest.param(json.dumps({"data": "x", "id": "k" * 201}).encode(), "application/json", 400, "invalid_key",
                     id="key_too_long"),
        pytest.param(b'{"data": "x", "id": ""}', "application/json", 400, "invalid_key", id="key_empty"),
        pytest.param(b'{"data": "x", "source": "evdev"}', "application/json", 400, "invalid_field", id="bad_source"),
        pytest.param(b'{"data": "\\ud800"}', "application/json", 400, "invalid_json", id="lone_surrogate"),
        pytest.param(b'{"data": "x"}', "text/plain", 415, "unsupported_media_type", id="not_json_content_type"),
        pytest.param(json.dumps({"data": "x" * 4100}).encode(), "application/json", 413, "too_large",
                     id="over_4_kib"),
    ],
)
def test_malformed_scan_requests(client, world, body, content_type, status, code):
    """Guards the API's edges: a request that is not a scan gets a JSON error and is not logged as one."""
    r = client.post("/api/stations/till/scans", data=body, content_type=content_type)
    assert r.status_code == status
    assert r.get_json()["error"]["code"] == code and r.get_json()["error"]["message"]
    with world.Session() as s:
        assert s.scalar(select(func.count()).select_from(ScanLog)) == 0


def test_body_of_exactly_4_kib_is_a_scan(client):
    """Guards the limit's edge: a 4096-byte body is read (and its over-long scan refused as a scan, 200)."""
    body = json.dumps({"data": "x" * (4096 - len('{"data": ""}'))}).encode()
    assert len(body) == 4096
    r = client.post("/api/stations/till/scans", data=body, content_type="application/json")
    assert r.status_code == 200 and r.get_json()["code"] == "invalid_scan"


@pytest.mark.parametrize("method, path", [
    pytest.param("post", "/api/stations/nowhere/scans", id="scan"),
    pytest.param("get", "/api/stations/nowhere", id="state"),
    pytest.param("get", "/api/stations/nowhere/events", id="events"),
])
def test_unknown_station_is_404(client, method, path):
    """Guards against scans or screens for a station the configuration does not have."""
    r = getattr(client, method)(path, json={"data": "x"} if method == "post" else None)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_station"


# -- GET /api/stations/<station> ---------------------------------------------------------------


def test_station_state(client):
    """Guards the state's shape: mode, prompt, the open document and its lines, recent scans newest first."""
    for text in ("SUP:ACME", WIDGET_GTIN, "SN-1", "<b>bold</b>"):
        post_scan(client, "goods-in", text)
    r = client.get("/api/stations/goods-in")
    assert r.status_code == 200
    body = r.get_json()
    assert list(body)[:5] == ["station", "mode", "prompt", "document", "recent_scans"]
    assert (body["station"], body["mode"]) == ("goods-in", "receive")
    assert body["prompt"] == "Widget X: 2 received. Scan the next serial, another product, or CMD:FINISH."
    assert set(body["document"]) >= {"reference", "kind", "party", "lines"}
    assert [line["serial"] for line in body["document"]["lines"]] == ["SN-1", "<b>bold</b>"]
    assert [s["raw"] for s in body["recent_scans"]] == ["<b>bold</b>", "SN-1", WIDGET_GTIN, "SUP:ACME"]


def test_idle_station_state(client):
    """Guards a station never scanned: its configured mode and the idle prompt, no document."""
    body = client.get("/api/stations/till").get_json()
    assert body["mode"] == "sell" and body["document"] is None and body["recent_scans"] == []
    assert body["prompt"].startswith("Selling.")


@pytest.mark.parametrize("held, message", [
    pytest.param(None, "Offline: 0 scans held", id="web_only_process"),
    pytest.param(3, "Offline: 3 scans held", id="daemon_holding_scans"),
    pytest.param(1, "Offline: 1 scan held", id="daemon_holding_one_scan"),  # issue 20: not "1 scans"
])
def test_offline_station_state_is_503(tmp_path, held, message):
    """Guards the screen while the database is away: 503 ``offline`` with the daemon's count of held scans."""
    live = None
    if held is not None:
        live = LiveStatus()
        live.set_held("till", held)
    engine = make_engine(f"sqlite:///{tmp_path}/missing-dir/station.db")
    try:
        r = _app(engine, live=live).test_client().get("/api/stations/till")
    finally:
        engine.dispose()
    assert r.status_code == 503
    assert r.get_json() == {"error": {"code": "offline", "message": message}}


# -- GET /api/stations/<station>/events ---------------------------------------------------------


@pytest.fixture(params=["database", "live"])
def feed_app(request, world):
    """An app that learns of changes from the database (LISTEN or polling), or from a LiveStatus."""
    return _app(world.engine, live=LiveStatus() if request.param == "live" else None)


@pytest.fixture
def served(feed_app):
    """The feed_app on the station's own server: (app, port)."""
    with serve(feed_app) as port:
        yield feed_app, port


def test_events_start_with_the_current_state(served):
    """Guards the first event: a screen that connects gets the state at once, not after the next scan."""
    app, port = served
    post_scan(app.test_client(), "goods-in", "SUP:ACME")
    with EventStream(port, "goods-in") as stream:
        kind, state = stream.next()
        assert kind == "message" and state["station"] == "goods-in" and state["document"]["kind"] == "receipt"


def test_events_follow_a_scan_posted_by_another_client(served):
    """Guards the live screen: a scan posted by another client reaches an open stream as one event."""
    app, port = served
    with EventStream(port, "goods-in") as stream:
        _, first = stream.next()
        assert first["document"] is None
        status, _, body = raw_request(port, "POST", "/api/stations/goods-in/scans", {"data": "SUP:ACME"})
        assert status == 200 and body["accepted"]
        _, state = stream.until(lambda k, d: d.get("version", 0) > first["version"])
        assert state["document"]["party"]["code"] == "ACME"
        assert state["recent_scans"][0]["raw"] == "SUP:ACME"
        assert stream.next(comments=True).startswith(": heartbeat"), "quiet streams send heartbeats"


def test_events_follow_a_scan_made_by_another_process(world):
    """Guards multi-process stations: a scan committed outside this app (the daemon, the CLI) still reaches the
    screen."""
    with serve(_app(world.engine)) as port, EventStream(port, "till") as stream:
        _, first = stream.next()
        with world.Session.begin() as s:
            ScanService(CONFIG).process(s, "till", "CMD:RECEIVE", device="cli")
        _, state = stream.until(lambda k, d: d.get("version", 0) > first["version"])
        assert state["mode"] == "receive"


def test_events_follow_a_scan_from_a_separate_os_process(world, tmp_path):
    """Guards screens across processes: `station scan` run as its own process reaches this app's open stream
    (LISTEN/NOTIFY on PostgreSQL, the change counter on SQLite) within a second."""
    config = tmp_path / "station.toml"
    config.write_text('[[stations]]\nid = "goods-in"\nmode = "receive"\n[[stations]]\nid = "till"\nmode = "sell"\n')
    with serve(_app(world.engine)) as port, EventStream(port, "till") as stream:
        _, first = stream.next()
        env = {**os.environ, "STATION_DATABASE_URL": world.url}
        done = subprocess.run([sys.executable, "-m", "station", "--config", str(config), "scan", "till",
                               "CMD:RETURN"], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        _, state = stream.until(lambda k, d: d.get("version", 0) > first["version"], timeout=1.0)
        assert state["mode"] == "return"


def test_events_of_another_station_are_not_sent(served):
    """Guards one stream per station: a scan at another station does not wake this screen with an event."""
    app, port = served
    with EventStream(port, "till") as stream:
        stream.next()
        post_scan(app.test_client(), "goods-in", "SUP:ACME")
        post_scan(app.test_client(), "till", "CMD:RECEIVE")
        _, state = stream.next()
        assert state["mode"] == "receive", "the first event after the initial one is this station's own scan"


def test_events_under_a_plain_wsgi_server_say_why_not(client):
    """Guards against a stream that would hold a WSGI thread for as long as a screen stays open: outside the
    station's own server (here Flask's test client) the events URL answers a JSON 501 instead."""
    r = client.get("/api/stations/till/events")
    assert r.status_code == 501 and r.get_json()["error"]["code"] == "events_unavailable"
