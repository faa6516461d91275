"""Every page in real headless Chromium: its icon, and nothing it asks for missing (issue 20).

Debian's Chromium through Playwright against the station's own server, on
SQLite: each page (the record pages of a real product, serial and posted
receipt, the operator screen, the printable sheets and a missing serial's
404) loads with no failed request and no error in the console, and names an
icon the server has; ``/favicon.ico``, which browsers and tools ask for by
habit, is an icon too.
"""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

from helpers.api import serve_station  # noqa: E402
from helpers.browser import chromium  # noqa: E402
from helpers.database import create_database  # noqa: E402

from station.config import Config, DatabaseConfig, StationConfig  # noqa: E402
from station.domain import catalogue, documents, operators, posting  # noqa: E402
from station.domain.models import DocumentKind  # noqa: E402
from station.scanning.service import ScanService  # noqa: E402

expect = playwright_api.expect

PAGES = ["/", "/stations/goods-in", "/serials", "/serials/SN-1", "/serials/SN-NEW", "/serials/NO-SUCH-SERIAL",
         "/products", "/products/WID-1", "/documents", "/documents/R-000001", "/devices", "/labels", "/labels/commands",
         "/labels/serials?serials=SN-1", "/operators", "/login", "/locations", "/locations/MAIN"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A product, a received serial (SN-1, R-000001 posted), a new one on the station's open receipt (SN-NEW,
    R-000002) and an operator, on the station's own server."""
    tmp = tmp_path_factory.mktemp("pages")
    db = create_database("sqlite", tmp)
    with db.Session.begin() as s:
        widget = catalogue.create_product(s, "WID-1", "Widget", barcodes=["036000291452"])
        acme = catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
        receipt = documents.open_document(s, DocumentKind.receipt, supplier=acme)
        documents.add_line(s, receipt, product=widget, serial="SN-1")
        posting.post(s, receipt)
        operators.create_operator(s, "B-U17", "Jane Doe")
        assert receipt.reference == "R-000001"
    config = Config(database=DatabaseConfig(db.url), stations=(StationConfig("goods-in", "receive"),))
    service = ScanService(config)
    with db.Session.begin() as s:
        for raw in ("SUP:ACME", "036000291452", "SN-NEW"):  # as the station's scanner would
            assert service.process(s, "goods-in", raw, device="kbd").accepted, raw
    try:
        with serve_station(config, db.engine, tmp, heartbeat=None) as url:
            yield url
    finally:
        db.close()


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as running:
        yield running


@pytest.mark.parametrize("path", PAGES)
def test_page_asks_for_nothing_missing_and_has_an_icon(browser, server, path):
    """Guards against a 404 in Chromium's console on any page (the favicon it asks for by itself, or any other)."""
    page = browser.new_page()
    target = f"{server}{path}"
    failed, errors = [], []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 and r.url != target else None)
    page.on("requestfailed", lambda r: failed.append(f"{r.failure} {r.url}"))
    # The missing serial's page is a 404 itself, which Chromium logs against the page's own address: not a fault.
    page.on("console", lambda m: errors.append(f"{m.text} ({m.location.get('url')})")
            if m.type == "error" and m.location.get("url") != target else None)
    try:
        response = page.goto(target, wait_until="load")
        assert response.status == (404 if "NO-SUCH" in path else 200)
        icon = page.evaluate("""async () => {
            const link = document.querySelector('link[rel~="icon"]') || {href: new URL('/favicon.ico', location).href};
            const answer = await fetch(link.href);
            return {href: link.href, status: answer.status, type: answer.headers.get('Content-Type'),
                    size: (await answer.arrayBuffer()).byteLength};
        }""")
        assert icon["status"] == 200 and icon["type"].startswith("image/") and icon["size"] > 0, icon
        if not path.startswith("/labels/"):  # the printable sheets are whole documents of their own
            assert page.locator('head link[rel="icon"]').count() == 1
        assert failed == []
        assert errors == []
    finally:
        page.close()


def test_favicon_ico_is_an_icon(server):
    """Guards against /favicon.ico answering 404 to the browsers and tools that ask for it without a link."""
    import urllib.request

    with urllib.request.urlopen(f"{server}/favicon.ico", timeout=5) as answer:
        body = answer.read()
        assert answer.headers["Content-Type"] in ("image/vnd.microsoft.icon", "image/x-icon")
    assert body[:4] == b"\x00\x00\x01\x00"  # the ICO header: reserved 0, type 1 (icon)


@pytest.mark.parametrize("start", [pytest.param("/stations/goods-in", id="screen"),
                                   pytest.param("/documents/R-000002", id="document-page")])
def test_a_serial_on_an_open_receipt_links_to_a_page_that_says_so(browser, server, start):
    """Guards against the link to a serial just scanned onto a receipt (the screen's lines, the document's page)
    ending on a 404 "There is no serial" until the receipt posts: its page says where it waits, and links there."""
    page = browser.new_page()
    try:
        page.goto(f"{server}{start}")
        page.locator("a", has_text="SN-NEW").click()
        expect(page.locator("h1")).to_have_text("Serial SN-NEW")
        expect(page.locator("#pending")).to_have_text("On open receipt R-000002, not yet received.")
        expect(page.locator("#product")).to_have_text("WID-1 Widget")
        expect(page.locator("body")).not_to_contain_text("There is no serial")
        page.locator("#pending a").click()
        expect(page.locator("h1")).to_contain_text("Receipt R-000002")
    finally:
        page.close()
