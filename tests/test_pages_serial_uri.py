"""The serial page's URI and QR code (SPEC 5 Traceability, Pages), on SQLite and PostgreSQL.

Flask's test client as a loopback client. The page's QR code is the inline SVG
zxing-cpp wrote; it is drawn here from its path of unit squares and read back
by zxing-cpp (tests/test_browser_serial_qr.py reads the one Chromium shows).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import unescape

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from station.config import from_dict
from station.domain import catalogue, documents, posting
from station.domain.models import DocumentKind
from web.app import create_app

GTIN = "09506000134352"
_SQUARE = re.compile(r"M(\d+) (\d+)h(\d+)v(\d+)h-\3Z")


@pytest.fixture
def client(db, tmp_path, monkeypatch):
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    config = from_dict({"database": {"url": db.url}, "web": {"port": 8777},
                        "traceability": {"digital_link_base": "https://resolver.example.com/dl"}})
    return create_app(config, engine=db.engine).test_client()


@pytest.fixture
def received(db):
    """SN/1 of a product with a GTIN, PLAIN-1 of one without, and a serial with markup, all received."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=["WID-INTERNAL", GTIN])
        catalogue.create_product(s, "PLAIN", "Plain thing")
        doc = documents.open_document(s, DocumentKind.receipt, station="goods-in",
                                      supplier=catalogue.create_party(s, "supplier", "ACME", "Acme Ltd"))
        for product, serial in (("WID-1", "SN/1"), ("PLAIN", "PLAIN-1"), ("PLAIN", "<b>&x")):
            documents.add_line(s, doc, product=catalogue.get_product(s, product), serial=serial)
        posting.post(s, doc)


def qr_of(page: str) -> tuple[str, list[str]]:
    """The QR figure's SVG aria-label, and what zxing-cpp reads in it drawn from its path."""
    figure = page[page.index('<figure class="qr" id="serial-qr">'):page.index("</figure>")]
    markup = figure[figure.index("<svg"):figure.index("</svg>") + len("</svg>")]
    root = ET.fromstring(markup)
    _, _, width, height = (int(v) for v in root.get("viewBox").split())
    image = Image.new("L", (width * 6, height * 6), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w, h in ((int(v) for v in m.groups()) for m in _SQUARE.finditer(
            next(root.iter("{http://www.w3.org/2000/svg}path")).get("d"))):
        draw.rectangle([(x * 6, y * 6), ((x + w) * 6 - 1, (y + h) * 6 - 1)], fill=0)
    return root.get("aria-label"), [r.text for r in zxingcpp.read_barcodes(image)]


def uri_of(page: str) -> tuple[str, str]:
    match = re.search(r'<dt>([^<]+)</dt>\s*<dd id="serial-uri"><a href="([^"]+)"', page)
    return match[1], unescape(match[2])


@pytest.mark.parametrize(("path", "named", "uri"), [
    pytest.param("/serials/SN%2F1", "Digital Link", f"https://resolver.example.com/dl/01/{GTIN}/21/SN%2F1",
                 id="digital_link_of_a_gtin"),
    pytest.param("/serials/PLAIN-1", "URI", "http://127.0.0.1:8777/serial/PLAIN-1", id="station_uri_without_gtin"),
    pytest.param("/serials/%3Cb%3E%26x", "URI", "http://127.0.0.1:8777/serial/%3Cb%3E%26x", id="markup_serial"),
])
def test_the_serial_page_shows_its_uri_and_a_qr_code_of_it(client, received, path, named, uri):
    """Guards the record page: the serial's URI as SPEC 5 builds it (the Digital Link on the configured base,
    else the station's), linked, and a QR code of exactly that URI drawn inline, no external service."""
    page = client.get(path).get_data(as_text=True)
    assert uri_of(page) == (named, uri)
    assert qr_of(page) == (uri, [uri])
    assert "<b>&x" not in page.replace("&lt;b&gt;&amp;x", "")  # the serial's markup only ever escaped


def test_a_station_serial_uri_leads_to_its_page(client, received):
    """Guards the station's own URIs: <base_uri>/serial/<serial> answers 303 See Other to the record page, a
    percent-encoded '/' and markup included."""
    for uri_path, page in (("/serial/PLAIN-1", "/serials/PLAIN-1"), ("/serial/SN%2F1", "/serials/SN%2F1"),
                           ("/serial/%3Cb%3E%26x", "/serials/%3Cb%3E%26x")):
        answer = client.get(uri_path)
        assert answer.status_code == 303 and answer.headers["Location"] == page
        assert client.get(answer.headers["Location"]).status_code == 200
