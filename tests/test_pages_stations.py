"""The station pages (SPEC 5 "Pages"): ``/``, the operator screen and its panel, ``/devices``, ``/labels``.

On SQLite and PostgreSQL through Flask's test client; the live behaviour in a
real browser is tests/test_browser.py.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import select, update

from station.config import Config, DatabaseConfig, ScannerConfig, StationConfig
from station.domain import catalogue, documents
from station.domain.models import DeviceStatus, Location, ScanLog, SerialNumber
from station.live.status import LiveStatus
from station.scanning.service import ScanService
from web.app import create_app
from web.db import EXTENSION

HID = ScannerConfig(path="/dev/input/by-id/usb-Honeywell-event-kbd")
SERIAL = ScannerConfig(kind="serial", path="/dev/barcode/tty-05f9-4204")
STATIONS = (StationConfig("goods-in", "receive", scanners=(HID,)), StationConfig("till", "sell", scanners=(SERIAL,)))


@pytest.fixture
def config(db):
    return Config(database=DatabaseConfig(db.url), stations=STATIONS)


@pytest.fixture
def app(db, config, tmp_path, monkeypatch):
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    return create_app(config, engine=db.engine)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def receiving(db, config):
    """goods-in receiving against PO-7 (3 Widgets): two serials scanned (one of them markup), then a refusal."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=["036000291452"])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        documents.create_purchase_order(s, "PO-7", "ACME", [("WID-1", 3)])
    service = ScanService(config)
    for text in ("PO-7", "036000291452", "SN-A", "<b>bold</b>", "CMD:SELL"):
        with db.Session.begin() as s:
            service.process(s, "goods-in", text, device="test")


def attach_live(app, live: LiveStatus) -> None:
    """As ``station run`` does: the daemon's LiveStatus beside the app's engine."""
    app.extensions[EXTENSION] = replace(app.extensions[EXTENSION], live=live)


def csrf(client) -> str:
    client.get("/login")
    with client.session_transaction() as session:
        return session["csrf_token"]


def text_of(response_or_html) -> str:
    html = response_or_html if isinstance(response_or_html, str) else response_or_html.get_data(as_text=True)
    html = re.sub(r"<script.*?</script>|<svg.*?</svg>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# --- / and the operator screen -----------------------------------------------------------------


def test_overview_shows_every_station(client, receiving):
    """Guards against a station missing from the overview, or its mode, prompt or document."""
    text = text_of(client.get("/"))
    assert "goods-in Receiving" in text and "till Selling" in text
    assert "Widget: 2 of 3 received. Scan the next serial, another product, or CMD:FINISH." in text
    assert "against PO-7" in text and "2 lines" in text
    assert "No open document." in text  # the till


def test_operator_screen_shows_prompt_lines_counts_and_scans(client, receiving):
    """Guards against the operator screen missing the prompt, the lines, the order counts or the scans."""
    page = client.get("/stations/goods-in")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'<p id="prompt" class="prompt"[^>]*>Widget: 2 of 3 received\. Scan the next serial, '
                     r'another product, or CMD:FINISH\.</p>', html)
    assert re.search(r'<input id="scan" name="scan" aria-label="Scan"', html)
    assert 'data-events-url="/api/stations/goods-in/events"' in html
    assert 'data-scan-url="/api/stations/goods-in/scans"' in html
    text = text_of(page)
    assert "2 of 3" in text  # count against the purchase order
    assert "SN-A" in text and "<b>bold</b>" in text
    assert "Refused: " in text and "(document_open)" in text  # the last scan's outcome
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>" not in html


def test_a_count_screen_says_how_many_are_missing_beyond_those_it_lists(db, config, client):
    """Guards the count screen's missing figures (SPEC 3c, issue 23): the count of missing is missing_total, not
    the length of the first 50 listed, and the screen says how many more there are than it lists."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=["036000291452"])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    service = ScanService(config)
    serials = [f"SN-{n:03d}" for n in range(55)]
    for text in ("SUP:ACME", "036000291452", *serials, "CMD:FINISH"):
        with db.Session.begin() as s:
            assert service.process(s, "goods-in", text, device="test").accepted, text
    with db.Session.begin() as s:  # where posting will put them: the station's location, MAIN
        main = s.scalar(select(Location.id).where(Location.code == "MAIN"))
        s.execute(update(SerialNumber).where(SerialNumber.serial.in_(serials)).values(location_id=main))
    for text in ("CMD:COUNT", "LOC:MAIN", "SN-000"):
        with db.Session.begin() as s:
            assert service.process(s, "goods-in", text, device="test").accepted, text
    html = client.get("/stations/goods-in").get_data(as_text=True)
    assert re.search(r'<span id="count-counted" class="counted">1</span>', html)
    assert re.search(r'<span id="count-expected" class="expected">55</span>', html)
    assert '<span id="count-missing-count">54</span> missing' in html
    listed = re.search(r'<ul id="count-missing" class="missing">(.*?)</ul>', html, re.S).group(1)
    assert listed.count("<li") == 50 and "SN-000" not in listed and "SN-001" in listed
    text = text_of(html)
    assert "Missing here: 54" in text and "and 4 more" in text


def test_panel_is_the_live_part_as_json(client, receiving):
    """Guards against the screen's live refresh missing a part, or carrying scanned markup unescaped."""
    panel = client.get("/stations/goods-in/panel").get_json()
    assert panel["prompt"] == "Widget: 2 of 3 received. Scan the next serial, another product, or CMD:FINISH."
    assert panel["mode"] == "receive" and panel["held"] == 0 and panel["version"] == 5
    assert panel["latest"]["accepted"] is False and panel["latest"]["code"] == "document_open"
    assert "SN-A" in panel["document_html"] and "2 of 3" in panel["document_html"]
    for part in ("document_html", "scans_html"):
        assert "&lt;b&gt;bold&lt;/b&gt;" in panel[part] and "<b>" not in panel[part]


def test_unknown_station_is_404(client):
    """Guards against a mistyped station in the URL being a server error or an empty screen."""
    assert client.get("/stations/nope").status_code == 404
    assert client.get("/stations/nope/panel").status_code == 404


def test_scan_box_without_javascript_records_a_web_scan(client, db):
    """Guards against the scan box's plain form fallback losing the scan or its device name."""
    token = csrf(client)
    refused = client.post("/stations/till/scan", data={"scan": "NOT-A-THING", "csrf_token": token})
    assert refused.status_code == 303 and refused.headers["Location"] == "/stations/till"
    screen = text_of(client.get("/stations/till"))
    assert "Refused: Unknown barcode NOT-A-THING" in screen and "(unknown_barcode)" in screen
    client.post("/stations/till/scan", data={"scan": "CMD:RECEIVE", "csrf_token": token})
    with db.Session() as s:
        rows = s.execute(select(ScanLog.device, ScanLog.raw, ScanLog.accepted).order_by(ScanLog.id)).all()
    assert rows == [("web", "NOT-A-THING", False), ("web", "CMD:RECEIVE", True)]


def test_scan_box_ignores_an_empty_scan(client, db):
    """Guards against an Enter on an empty box logging a scan."""
    client.post("/stations/till/scan", data={"scan": "  ", "csrf_token": csrf(client)})
    with db.Session() as s:
        assert s.scalar(select(ScanLog.id).limit(1)) is None


def test_screen_shows_held_scans_from_the_daemon(app, client):
    """Guards against the screen hiding that the daemon holds scans while the database is away."""
    live = LiveStatus()
    live.set_held("till", 4)
    attach_live(app, live)
    assert "Offline: 4 scans held" in text_of(client.get("/stations/till"))
    assert client.get("/stations/till/panel").get_json()["held"] == 4


# --- /devices ------------------------------------------------------------------------------------


def test_devices_from_the_database(client, db):
    """Guards against /devices missing a configured scanner, or not telling connected from missing."""
    with db.Session.begin() as s:
        s.add(DeviceStatus(station="goods-in", device=HID.label, kind="evdev", state="connected",
                           last_scan="SN-<9>", last_scan_at=datetime(2026, 11, 26, 10, 15, 2, tzinfo=UTC),
                           backlog=2))
        s.add(DeviceStatus(station="till", device="web", kind="web", state="connected"))
    page = client.get("/devices")
    text = text_of(page)
    assert f"goods-in {HID.label} evdev connected SN-<9> 2026-11-26 10:15:02 2" in text
    assert f"till {SERIAL.label} serial missing" in text
    assert "web (not configured)" in text
    assert "SN-&lt;9&gt;" in page.get_data(as_text=True)


def test_devices_from_the_daemon_in_this_process(app, client):
    """Guards against /devices ignoring the live status of ``station run`` (it knows while the database is away)."""
    live = LiveStatus()
    live.set_device("till", SERIAL.label, "serial", "connected")
    live.record_scan("till", SERIAL.label, "SN-77")
    live.set_held("till", 3)
    attach_live(app, live)
    text = text_of(client.get("/devices"))
    assert re.search(rf"till {re.escape(SERIAL.label)} serial connected SN-77 \S+ \S+ 3", text)
    assert f"goods-in {HID.label} evdev missing" in text


# --- /labels -------------------------------------------------------------------------------------


def test_labels_index_and_command_sheet(client):
    """Guards against the command sheet missing a command or its barcode."""
    assert client.get("/labels").status_code == 200
    sheet = client.get("/labels/commands")
    html = sheet.get_data(as_text=True)
    assert sheet.status_code == 200 and sheet.mimetype == "text/html"
    commands = ("CMD:RECEIVE", "CMD:SELL", "CMD:RETURN", "CMD:FINISH", "CMD:CANCEL", "CMD:UNDO", "CMD:LOGOUT",
                "CMD:SERVICE", "CMD:REPLACE", "CMD:PRINT", "CMD:MOVE", "CMD:COUNT")
    for command in commands:
        assert f'aria-label="{command}"' in html
    assert html.count("<svg") == len(commands)


def test_serial_label_sheet_escapes_and_refuses_what_cannot_print(client):
    """Guards against a serial label sheet rendering markup, or failing hard on a serial too long for the stock."""
    sheet = client.get("/labels/serials", query_string={"serials": "SN-1\n<i>x</i>\n", "size": "50x25"})
    html = sheet.get_data(as_text=True)
    assert sheet.status_code == 200 and html.count("<svg") == 2 and "<i>" not in html
    too_long = client.get("/labels/serials", query_string={"serials": "X" * 40, "size": "38x25"})
    assert too_long.status_code == 400 and "does not fit" in text_of(too_long)
    assert client.get("/labels/serials", query_string={"serials": "", "size": "sheet"}).status_code == 400
    assert client.get("/labels/serials", query_string={"serials": "A", "size": "9x9"}).status_code == 400


def test_device_ids_follow_the_daemon_naming():
    """Guards against /devices calling a repeated scanner label "missing" (the daemon names it label#2)."""
    scanners = tuple(ScannerConfig(path=p) for p in ("/dev/a", "/dev/b", "/dev/a", "/dev/a"))
    assert StationConfig("s", scanners=scanners).device_ids == ("/dev/a", "/dev/b", "/dev/a#2", "/dev/a#3")


def test_first_run_says_how_to_begin(db, tmp_path):
    """An empty database: the overview and the operator screen say how to begin; after station demo they don't."""
    from station.config import from_dict
    from station.domain.demo import create_demo
    from web.app import create_app

    app = create_app(from_dict({"stations": [{"id": "default", "mode": "sell"}]}), engine=db.engine)
    client = app.test_client()
    for url in ("/", "/stations/default"):
        page = client.get(url)
        assert page.status_code == 200
        assert "No products yet: run `station demo`, or import products" in page.get_data(as_text=True)
    with db.Session.begin() as s:
        create_demo(s)
    assert "No products yet" not in client.get("/").get_data(as_text=True)


def test_a_long_refused_scan_is_cut_in_the_recent_list_and_whole_on_hover(client, db, config):
    """Guards against a 600-character refused scan pushing the screen's recent list down (issue 10, defect 12):
    the list shows its first 60 characters and "…", the tooltip all of it; the message names no code first."""
    text = "Z" * 600
    with db.Session.begin() as s:
        ScanService(config).process(s, "till", text, device="api")
    html = client.get("/stations/till/panel").get_json()["scans_html"]
    raw = re.search(r'<span class="raw" title="([^"]*)">([^<]*)</span>', html)
    assert raw is not None, html
    assert unescape(raw.group(1)) == text
    assert unescape(raw.group(2)) == "Z" * 59 + "…"
    assert text not in text_of(html)
    assert "(invalid_scan)" in text_of(html) and not text_of(html).strip().startswith("invalid_scan")
