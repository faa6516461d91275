"""The pages in a real browser: Debian's Chromium driven by Playwright, against the station's own server.

What only a browser shows: the operator screen updating live through
server-sent events without a reload, the scan box keeping the focus for a
keyboard-wedge scanner, the flash on a refusal, markup in a serial staying
text (no script runs), the edit form round trip, and how the screen reads on
an 800x480 touchscreen and at 1920x1080 (screenshots kept in the test's tmp
path). SQLite only: the database side is covered on both in test_pages_*.
"""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlalchemy import select

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

from helpers.api import serve_station  # noqa: E402
from helpers.browser import chromium, post_scan  # noqa: E402
from helpers.database import create_database  # noqa: E402

from station.config import Config, DatabaseConfig, StationConfig  # noqa: E402
from station.domain import catalogue, documents  # noqa: E402
from station.domain.models import ScanLog, SerialNumber  # noqa: E402
from station.scanning.service import ScanService  # noqa: E402

expect = playwright_api.expect
STATIONS = (StationConfig("live", "receive"), StationConfig("typing", "sell"), StationConfig("shots", "receive"))
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser_db(tmp_path_factory):
    db = create_database("sqlite", tmp_path_factory.mktemp("browser"))
    yield db
    db.close()


@pytest.fixture(scope="module")
def config(browser_db):
    return Config(database=DatabaseConfig(browser_db.url), stations=STATIONS)


@pytest.fixture(scope="module")
def server(browser_db, config, tmp_path_factory):
    """The app on the station's own server (station.live) on 127.0.0.1 and a free port, closed at the end."""
    with serve_station(config, browser_db.engine, tmp_path_factory.mktemp("state"), threads=8) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as running:
        yield running


@pytest.fixture
def page(browser):
    """A fresh browser context (own cookies) with a 1280x800 window; JavaScript dialogs recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.dialogs = []

    def on_dialog(dialog):
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    yield tab
    context.close()


@pytest.fixture(scope="module")
def world(browser_db):
    with browser_db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=["036000291452"])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        catalogue.create_party(s, "supplier", "OTHER", "Other Ltd")
        documents.create_purchase_order(s, "PO-1042", "ACME", [("WID-1", 5)])


def open_screen(page, server: str, station: str) -> None:
    page.goto(f"{server}/stations/{station}")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bconnected\b"))  # the event stream is open


def test_scan_through_the_api_shows_within_a_second_without_reload(page, server, world):
    """Guards against the operator screen needing a reload (or polling slowly) to show another scanner's scan."""
    open_screen(page, server, "live")
    page.evaluate("window.stillTheSamePage = true")
    post_scan(server, "live", "ZZ-LIVE-1")
    expect(page.locator("#scans")).to_contain_text("ZZ-LIVE-1", timeout=1000)
    expect(page.locator("#result")).to_have_text(re.compile(r"^Refused: Unknown barcode ZZ-LIVE-1"), timeout=1000)
    expect(page.locator("#result")).to_have_attribute("data-code", "unknown_barcode")
    expect(page.locator("body")).to_have_attribute("data-last-outcome", "refused")
    post_scan(server, "live", "PO-1042")
    expect(page.locator("#prompt")).to_contain_text("PO-1042", timeout=1000)
    expect(page.locator("#document")).to_contain_text("Acme Ltd", timeout=1000)
    assert page.evaluate("window.stillTheSamePage") is True


def test_a_badge_shows_the_operator_large_and_live(page, server, browser_db, world, tmp_path):
    """Guards SPEC 4: who is signed in shows on the screen, and changes live when a badge or CMD:LOGOUT is
    scanned by another scanner of the station (no reload)."""
    from station.domain import operators

    with browser_db.Session.begin() as s:
        operators.create_operator(s, "B-U17", "Jane Doe")
    open_screen(page, server, "live")
    expect(page.locator("#operator")).to_have_text("Nobody signed in")
    post_scan(server, "live", "USR:B-U17")
    expect(page.locator("#operator")).to_have_text("Jane Doe", timeout=1000)
    expect(page.locator("#operator")).not_to_have_class(re.compile(r"\bnobody\b"))
    page.screenshot(path=str(tmp_path / "operator-signed-in.png"))
    post_scan(server, "live", "CMD:LOGOUT")
    expect(page.locator("#operator")).to_have_text("Nobody signed in", timeout=1000)


def test_typing_into_the_scan_box_records_a_scan(page, server, browser_db, world):
    """Guards against the scan box losing focus or scans: a keyboard-wedge scanner types, then Enter."""
    open_screen(page, server, "typing")
    expect(page.locator("#scan")).to_be_focused()
    page.keyboard.type("CMD:RECEIVE")
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_contain_text("eceiv", timeout=2000)
    expect(page.locator("#mode")).to_have_text("Receiving")
    expect(page.locator("body")).to_have_attribute("data-last-outcome", "accepted")
    # A touch elsewhere on the screen must not take the focus from the scanner.
    page.locator("#prompt").click()
    expect(page.locator("#scan")).to_be_focused()
    page.keyboard.type("NOT-KNOWN-7")
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_have_text(re.compile(r"^Refused: Unknown barcode NOT-KNOWN-7"))
    expect(page.locator("#result")).to_have_attribute("title", "Refusal code: unknown_barcode")
    flash = page.locator("#flash")
    expect(flash).to_have_class(re.compile(r"\bflash-bad\b"))
    box = flash.bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 1280, 800)  # the whole screen
    with browser_db.Session() as s:
        rows = s.execute(select(ScanLog.device, ScanLog.raw, ScanLog.accepted, ScanLog.idempotency_key)
                         .where(ScanLog.station == "typing").order_by(ScanLog.id)).all()
    assert [(d, r, a) for d, r, a, _ in rows] == [("web", "CMD:RECEIVE", True), ("web", "NOT-KNOWN-7", False)]
    assert all(key for *_, key in rows)  # sent with an idempotency key, so a retry is not a second scan


def test_markup_in_a_serial_is_text_and_runs_nothing(page, server, browser_db, world):
    """Guards against a barcode holding HTML running script on the serial page or the operator screen."""
    with browser_db.Session.begin() as s:
        s.add(SerialNumber(serial=XSS, in_stock=False))
    page.goto(f"{server}/serials/{quote(XSS, safe='')}")
    expect(page.locator("#serial-text")).to_have_text(XSS)
    expect(page.locator("img")).to_have_count(0)
    expect(page.locator('.barcode > svg[role="img"]')).to_have_attribute("aria-label", XSS)
    expect(page.locator('#serial-qr svg[role="img"]')).to_have_attribute(
        "aria-label", re.compile(r"/serial/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E$"))  # its URI, encoded
    open_screen(page, server, "typing")
    page.keyboard.type(XSS)
    page.keyboard.press("Enter")
    expect(page.locator("#scans .raw").first).to_have_text(XSS)
    expect(page.locator("img")).to_have_count(0)
    assert page.dialogs == []


def test_edit_form_changes_the_supplier(page, server, browser_db, world):
    """Guards against the serial page's edit form not saving the supplier through a real browser."""
    with browser_db.Session.begin() as s:
        s.add(SerialNumber(serial="ED/1", in_stock=False, supplier=catalogue.get_party(s, "supplier", "ACME")))
    page.goto(f"{server}/serials/{quote('ED/1', safe='')}")
    expect(page.locator("#supplier")).to_contain_text("Acme Ltd")
    page.locator("#edit-form input[name=supplier]").fill("OTHER")
    page.locator("#edit-form button[type=submit]").click()
    expect(page.locator(".flash-ok")).to_contain_text("Serial ED/1 saved")
    expect(page.locator("#supplier")).to_contain_text("Other Ltd")
    assert page.url.endswith("/serials/ED%2F1")
    with browser_db.Session() as s:
        assert s.scalar(select(SerialNumber).where(SerialNumber.serial == "ED/1")).supplier.code == "OTHER"


@pytest.mark.parametrize("width, height, min_prompt_px", [(800, 480, 32), (1920, 1080, 64)])
def test_operator_screen_reads_well(browser, server, browser_db, config, world, tmp_path, width, height, min_prompt_px):
    """Guards against the operator screen being unreadable, cut off or scrolling sideways on its two target screens."""
    with browser_db.Session.begin() as s:
        if s.scalar(select(ScanLog.id).where(ScanLog.station == "shots").limit(1)) is None:
            service = ScanService(config)
            for text in ("PO-1042", "036000291452", "SN-20261126-0001", "SN-20261126-0002", "SN-20261126-0002"):
                service.process(s, "shots", text, device="/dev/input/by-id/usb-scanner")
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    try:
        open_screen(tab, server, "shots")
        expect(tab.locator("#prompt")).to_contain_text("2 of 5 received")
        shot = tmp_path / f"operator-{width}x{height}.png"
        tab.screenshot(path=str(shot))
        assert shot.stat().st_size > 0
        size = float(tab.locator("#prompt").evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
        assert size >= min_prompt_px
        for selector in ("#prompt", "#result", "#scan", "#document", "#scans"):
            box = tab.locator(selector).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, selector
        for selector in ("#prompt", "#scan"):
            box = tab.locator(selector).bounding_box()
            assert box["y"] + box["height"] <= height, selector  # never below the fold
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        assert tab.evaluate("document.documentElement.scrollHeight") <= height
    finally:
        context.close()
