"""The operator screen follows its station's printer live, in a real browser (Debian's Chromium via Playwright).

As under ``station run``: the app reads the daemon's LiveStatus, and the print
worker's ``changed`` (here called by the test, after writing what a worker
writes) tells the screens, whose event stream carries the printer's sentence
although the station itself did not change. SQLite only: the database side
is covered on both in test_print_pages.py.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

from helpers.api import serve  # noqa: E402
from helpers.browser import chromium, require_chromium  # noqa: E402
from helpers.database import create_database  # noqa: E402

from station.config import from_dict  # noqa: E402
from station.live.status import LiveStatus  # noqa: E402
from station.printing import queue as print_queue  # noqa: E402
from web.app import create_app  # noqa: E402

expect = playwright_api.expect


@pytest.fixture
def rig(tmp_path, monkeypatch):
    """A station with a printer, the app on the station's own server with a daemon's live status beside it."""
    require_chromium()
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    db = create_database("sqlite", tmp_path)
    config = from_dict({"database": {"url": db.url},
                        "stations": [{"id": "goods-in", "mode": "receive", "print_on_receive": "zebra-1"}],
                        "printers": [{"id": "zebra-1", "kind": "zpl", "address": "tcp://192.0.2.10:9100"}]})
    live = LiveStatus()
    app = create_app(config, engine=db.engine, live=live)
    with serve(app, threads=4) as port, chromium() as browser:
        yield db, live, f"http://127.0.0.1:{port}", browser
    db.close()


def test_screen_shows_the_printer_going_out_of_paper_and_back_without_a_reload(rig):
    """Guards "the screen shows each printer's state": the printer's line changes live, with no scan and no reload,
    when the daemon sees it run out of paper with labels waiting, and again when they have printed."""
    db, live, url, browser = rig
    page = browser.new_page()
    page.goto(f"{url}/stations/goods-in")
    printer = page.locator("#printer")
    expect(printer).to_have_text("Printer zebra-1: not checked yet")
    expect(page.locator("#live")).to_have_class("live connected")
    page.evaluate("window.stillThisPage = true")
    with db.Session.begin() as s:
        print_queue.queue_labels(s, "zebra-1", ["SN-1", "SN-2", "SN-3"])
        print_queue.record_status(s, "zebra-1", "error", "paper out", "Printer 'zebra-1' cannot print: paper out.")
    live.notify()  # what the print worker's `changed` does
    expect(printer).to_have_text("Printer zebra-1: paper out, 3 labels waiting")
    expect(printer).to_have_class("printer printer-error printer-waiting")
    with db.Session.begin() as s:
        for _ in range(3):
            job = print_queue.claim(s, "zebra-1", "box", lease=timedelta(minutes=2))
            print_queue.mark_printed(s, job, "box")
        print_queue.record_status(s, "zebra-1", "ready", "", None)
    live.notify()
    expect(printer).to_have_text("Printer zebra-1: ready")
    expect(printer).to_have_class("printer printer-ready")
    assert page.evaluate("window.stillThisPage") is True  # never reloaded
