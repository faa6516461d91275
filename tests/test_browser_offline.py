"""The operator screen with its database really unreachable, in real headless Chromium (issue 10, defect 4).

PostgreSQL behind a TCP proxy the test takes down and brings back: the screen
opened while it is down shows itself, whole, as offline, takes scans into the
hold, and comes back by itself (no reload) with the held scans carried out.
Under ``station serve`` the page holds the scans and resends them; under
``station run`` the daemon's spool holds them. Every wait is Playwright's
``expect`` on the page itself (a deadline, not a pause).
"""
from __future__ import annotations

import re

import pytest
from helpers.api import serve
from helpers.browser import chromium
from helpers.daemon import FlakyProxy, write_config
from helpers.database import create_database
from sqlalchemy import select

from station import config as config_mod
from station.cli.run import web_app
from station.daemon.daemon import Daemon, daemon_engine
from station.domain.models import ScanLog
from station.live.status import LiveStatus

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


@pytest.fixture(params=["serve", "run"])
def station(request, tmp_path):
    """A station on PostgreSQL behind a proxy, served by the station's own server: (url, proxy, db)."""
    db = create_database("postgresql", tmp_path)
    proxy, proxied = FlakyProxy.before(db.url)
    config = config_mod.load(write_config(tmp_path / "station.toml", database_url=proxied, scanner_link=None))
    engine = daemon_engine(proxied)
    live = daemon = None
    if request.param == "run":
        live = LiveStatus()
        daemon = Daemon(config, engine, live)
        daemon.start()
    app = web_app(config, engine, live)
    app.config["STATION_SSE_HEARTBEAT"] = 1.0
    try:
        with serve(app, threads=4) as port:
            yield f"http://127.0.0.1:{port}", proxy, db
    finally:
        if daemon is not None:
            assert daemon.stop(3.0)
        engine.dispose()
        proxy.close()
        db.close()


def test_screen_opened_offline_takes_scans_and_comes_back_by_itself(browser, station, tmp_path):
    """Guards against a bare "503: database_unavailable" page with no scan box that never recovers, and
    against an offline screen that still looks live (a green result line beside a small badge)."""
    server, proxy, db = station
    proxy.down()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{server}/stations/counter")
        page.evaluate("window.stillTheSamePage = true")
        expect(page.locator("body")).to_have_class(re.compile(r"\bis-offline\b"))
        expect(page.locator("#offline-banner")).to_be_visible()
        expect(page.locator("#offline-banner")).to_contain_text("Offline: 0 scans held")
        expect(page.locator("#prompt")).to_be_hidden()  # no stale prompt or result line beside the banner
        expect(page.locator("#result")).to_be_hidden()
        expect(page.locator("#live")).to_have_text("offline")
        expect(page.locator("#scan")).to_be_focused()

        for text in ("OFFLINE-1", "OFFLINE-2"):
            page.keyboard.type(text)
            page.keyboard.press("Enter")
        expect(page.locator("#offline-banner")).to_contain_text("Offline: 2 scans held", timeout=10_000)
        expect(page.locator("#offline")).to_contain_text("Offline: 2 scans held")
        expect(page.locator("body")).to_have_class(re.compile(r"\bis-offline\b"))
        page.screenshot(path=str(tmp_path / "offline.png"))

        proxy.up()
        expect(page.locator("body")).not_to_have_class(re.compile(r"\bis-offline\b"), timeout=30_000)
        expect(page.locator("#offline-banner")).to_be_hidden()
        expect(page.locator("#scans")).to_contain_text("OFFLINE-2", timeout=30_000)
        expect(page.locator("#scans")).to_contain_text("OFFLINE-1")
        expect(page.locator("#prompt")).to_be_visible()
        expect(page.locator("#live")).to_have_text("live")
        assert page.evaluate("window.stillTheSamePage") is True
    finally:
        context.close()
    with db.Session() as session:
        rows = session.execute(select(ScanLog.raw, ScanLog.device).order_by(ScanLog.id)).all()
    assert [tuple(r) for r in rows] == [("OFFLINE-1", "web"), ("OFFLINE-2", "web")]
