"""The serial page's QR code in real headless Chromium, on SQLite and PostgreSQL: what the screen shows reads back.

Debian's Chromium through Playwright against the station's own server: the
QR code of the serial's Digital Link (an inline SVG, no external service, no
request beyond the page's own) is screenshotted as Chromium draws it and read
by zxing-cpp as exactly the URI the page names; following the station's own
URI of a serial without a GTIN lands on its record.
"""
from __future__ import annotations

import io

import pytest

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

import zxingcpp  # noqa: E402
from helpers.api import serve  # noqa: E402
from helpers.browser import chromium  # noqa: E402
from helpers.database import BACKENDS, create_database  # noqa: E402
from PIL import Image  # noqa: E402

from station.config import from_dict  # noqa: E402
from station.domain import catalogue, documents, posting  # noqa: E402
from station.domain.models import DocumentKind  # noqa: E402
from web.app import create_app  # noqa: E402

expect = playwright_api.expect
GTIN = "09506000134352"


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    """SN/1 of a product with a GTIN and PLAIN-1 of one without, received, on the station's own server; its
    base_uri is left to default to the server's own address."""
    tmp = tmp_path_factory.mktemp(f"serial-qr-{request.param}")
    patch = pytest.MonkeyPatch()
    patch.setenv("STATE_DIRECTORY", str(tmp))
    db = create_database(request.param, tmp)
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=[GTIN])
        catalogue.create_product(s, "PLAIN", "Plain thing")
        doc = documents.open_document(s, DocumentKind.receipt, station="goods-in",
                                      supplier=catalogue.create_party(s, "supplier", "ACME", "Acme Ltd"))
        documents.add_line(s, doc, product=catalogue.get_product(s, "WID-1"), serial="SN/1")
        documents.add_line(s, doc, product=catalogue.get_product(s, "PLAIN"), serial="PLAIN-1")
        posting.post(s, doc)
    try:
        with chromium() as browser:
            yield db, browser, create_app
    finally:
        db.close()
        patch.undo()


def shown_qr(page) -> list[tuple[str, str]]:
    """What zxing-cpp reads in Chromium's screenshot of the page's QR code."""
    shot = page.locator("#serial-qr svg").screenshot()
    with Image.open(io.BytesIO(shot)) as image:
        return [(r.symbology_identifier, r.text) for r in
                zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)]


def test_the_serial_pages_qr_code_reads_back_in_chromium(server):
    """Guards the page's QR code as a browser draws it: it reads back as exactly the Digital Link the page shows,
    and the page asks for nothing beyond the station's own server."""
    db, browser, make_app = server
    app = make_app(from_dict({"database": {"url": db.url}}), engine=db.engine)
    with serve(app, threads=4) as port:
        page = browser.new_page()
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url))
        try:
            page.goto(f"http://127.0.0.1:{port}/serials/SN%2F1", wait_until="load")
            uri = f"https://id.gs1.org/01/{GTIN}/21/SN%2F1"
            expect(page.locator("#serial-uri a")).to_have_text(uri)
            assert shown_qr(page) == [("]Q1", uri)]
            assert all(url.startswith(f"http://127.0.0.1:{port}/") for url in asked), asked
        finally:
            page.close()


def test_the_station_uri_of_a_serial_opens_its_record(server):
    """Guards base_uri's default, the web server's own address: the page of a serial without a GTIN shows
    http://<host>:<port>/serial/<serial>, its QR code reads back as it, and following it opens the record."""
    db, browser, make_app = server
    with serve(make_app(from_dict({"database": {"url": db.url}}), engine=db.engine), threads=4) as port:
        # The configuration names the port the server took, as a station's [web] port does.
        app = make_app(from_dict({"database": {"url": db.url}, "web": {"port": port}}), engine=db.engine)
        with serve(app, threads=4) as own:
            page = browser.new_page()
            try:
                page.goto(f"http://127.0.0.1:{own}/serials/PLAIN-1", wait_until="load")
                uri = f"http://127.0.0.1:{port}/serial/PLAIN-1"
                expect(page.locator("#serial-uri a")).to_have_text(uri)
                assert shown_qr(page) == [("]Q1", uri)]
                page.locator("#serial-uri a").click()
                expect(page.locator("h1")).to_have_text("Serial PLAIN-1")
                assert page.url == f"http://127.0.0.1:{port}/serials/PLAIN-1"
            finally:
                page.close()
