"""Page times in the station's time zone (SPEC 5 Pages; issue 10, defect 14); the API keeps UTC.

Pacific/Kiritimati is UTC+14 all year: no time of day there reads the same as in UTC.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest

from station.config import from_dict
from station.domain import catalogue
from station.scanning.service import ScanService
from web.app import create_app

ZONE = "Pacific/Kiritimati"
STATIONS = [{"id": "goods-in", "mode": "receive"}]


def text_of(response) -> str:
    html = re.sub(r"<script.*?</script>|<svg.*?</svg>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def config(db):
    return from_dict({"database": {"url": db.url}, "web": {"timezone": ZONE}, "stations": STATIONS})


@pytest.fixture
def client(db, config):
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=["036000291452"])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    with db.Session.begin() as s:
        for text in ("SUP:ACME", "036000291452", "SN-TZ-1", "CMD:FINISH"):
            assert ScanService(config).process(s, "goods-in", text, device="test").accepted
    return create_app(config, engine=db.engine).test_client()


def _utc(stamp: str) -> datetime:
    assert stamp.endswith("Z"), f"the API speaks UTC: {stamp}"
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_serial_page_shows_its_movements_in_the_station_zone(client):
    """Guards against UTC times on a shop's screen in another zone: the movement's time on the serial page is
    the API's UTC instant shown in [web] timezone, and the heading names the zone."""
    at = _utc(client.get("/api/serials/SN-TZ-1").get_json()["movements"][0]["at"])
    page = text_of(client.get("/serials/SN-TZ-1"))
    local = at.astimezone(ZoneInfo(ZONE))
    assert local.utcoffset() == timedelta(hours=14)
    assert local.strftime("%Y-%m-%d %H:%M:%S") in page
    assert at.strftime("%Y-%m-%d %H:%M:%S") not in page
    assert f"Time ({ZONE})" in page


def test_documents_and_the_operator_screen_follow_the_zone(client):
    """Guards every other page time: a document's made and posted times, the documents list, and the clock of the
    operator screen's recent scans."""
    reference = client.get("/api/stations/goods-in").get_json()["recent_scans"][0]["message"]
    doc = re.search(r"R-\d+", reference).group(0)
    body = client.get(f"/api/documents/{doc}").get_json()
    for field in ("created_at", "posted_at"):
        shown = _utc(body[field]).astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")
        assert shown in text_of(client.get(f"/documents/{doc}")), field
    assert _utc(body["created_at"]).astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S") in text_of(
        client.get("/documents"))
    scan_at = _utc(client.get("/api/stations/goods-in").get_json()["recent_scans"][0]["at"])
    panel = client.get("/stations/goods-in/panel").get_json()["scans_html"]
    clock = re.search(r'<span class="time">([^<]*)</span>', panel).group(1)
    assert clock == scan_at.astimezone(ZoneInfo(ZONE)).strftime("%H:%M:%S")


def test_without_a_zone_pages_use_the_systems(db, monkeypatch):
    """Guards the default: no [web] timezone means the system's local time (TZ here), not UTC."""
    monkeypatch.setenv("TZ", "Asia/Kathmandu")  # UTC+5:45
    import time
    time.tzset()
    try:
        config = from_dict({"database": {"url": db.url}, "stations": STATIONS})
        with db.Session.begin() as s:
            ScanService(config).process(s, "goods-in", "NOPE-TZ", device="test")
        client = create_app(config, engine=db.engine).test_client()
        at = _utc(client.get("/api/stations/goods-in").get_json()["recent_scans"][0]["at"])
        panel = client.get("/stations/goods-in/panel").get_json()["scans_html"]
        clock = re.search(r'<span class="time">([^<]*)</span>', panel).group(1)
        assert clock == at.astimezone(ZoneInfo("Asia/Kathmandu")).strftime("%H:%M:%S")
    finally:
        monkeypatch.undo()
        time.tzset()
