"""2D label sheets: every DataMatrix and QR code the station draws (PNG and SVG) reads back as exactly what it holds.

The PNG is read by zxing-cpp as written; the SVG (zxing-cpp's own, given a
size in mm) is drawn here from its path of unit squares and read the same way.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from drivers.printers import Symbol
from station.printing import matrix
from station.printing.labels import DEFAULT_SIZE, Label, LabelSize
from station.printing.sheets import check_fits, matrix_side_for, sheet_html, write_sheet

GTIN = "09506000134352"
XSS = "<img src=x onerror=alert(1)>"
GS1 = Symbol("datamatrix", elements=(("01", GTIN), ("21", "SN/1")))
QR = Symbol("qr", f"https://id.gs1.org/01/{GTIN}/21/SN%2F1")
WORST_QR = Symbol("qr", f"https://id.gs1.org/01/{GTIN}/21/" + "%2F" * 20)  # 20 slashes, each %2F
FORMATS = (zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.QRCode)
_SQUARE = re.compile(r"M(\d+) (\d+)h(\d+)v(\d+)h-\3Z")


def read(image) -> list[tuple[str, str]]:
    return [(r.symbology_identifier, r.text) for r in
            zxingcpp.read_barcodes(image, formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)]


def read_png(path: Path) -> list[tuple[str, str]]:
    with Image.open(path) as image:
        return read(image.convert("L"))


def rasterize(markup: str, scale: int = 8) -> Image.Image:
    """zxing-cpp's SVG drawn as given: its viewBox in modules, its path a run of rectangles 'Mx yhWvHh-WZ'."""
    root = ET.fromstring(markup)
    _, _, width, height = (int(v) for v in root.get("viewBox").split())
    image = Image.new("L", (width * scale, height * scale), 255)
    draw = ImageDraw.Draw(image)
    [path] = root.iter("{http://www.w3.org/2000/svg}path")
    data = path.get("d")
    assert _SQUARE.sub("", data) == "", data[:80]  # nothing but rectangles
    for x, y, w, h in ((int(v) for v in m.groups()) for m in _SQUARE.finditer(data)):
        draw.rectangle([(x * scale, y * scale), ((x + w) * scale - 1, (y + h) * scale - 1)], fill=0)
    return image


@pytest.mark.parametrize(("symbol", "aim"), [
    pytest.param(GS1, "]d2", id="gs1_datamatrix"),
    pytest.param(QR, "]Q1", id="digital_link_qr"),
    pytest.param(Symbol("datamatrix", XSS), "]d1", id="plain_datamatrix_markup"),
    pytest.param(Symbol("qr", "S" * 64), "]Q1", id="plain_qr_64"),
])
@pytest.mark.parametrize("size", [None, DEFAULT_SIZE, LabelSize(38, 25)], ids=["sheet", "50x25", "38x25"])
def test_2d_sheet_png_and_svg_read_back(tmp_path, symbol, aim, size):
    """Guards 2D sheets: the PNG and the SVG written for a label both read back as exactly what the symbol holds,
    no larger than the space they have, the PNG in whole dots at 300 dpi."""
    label = Label("SN/1", "Widget X", symbol)
    paths = write_sheet([label], tmp_path, title="Serials", size=size)
    [png_path] = [p for p in paths if p.suffix == ".png"]
    [svg_path] = [p for p in paths if p.suffix == ".svg"]
    assert png_path.name.endswith(f"-{symbol.symbology}.png")
    assert read_png(png_path) == [(aim, symbol.data)]
    markup = svg_path.read_text(encoding="utf-8")
    assert read(rasterize(markup[markup.index("<svg"):])) == [(aim, symbol.data)]
    side_mm = float(ET.fromstring(markup[markup.index("<svg"):]).get("width").removesuffix("mm"))
    assert side_mm <= matrix_side_for(size) + 1e-6
    with Image.open(png_path) as image:
        assert image.width == image.height and image.info["dpi"][0] == pytest.approx(300, abs=0.01)
        assert image.width / 300 * 25.4 <= matrix_side_for(size) + 1e-6
        assert image.width % matrix.side(symbol) == 0  # every module the same whole number of dots


def test_2d_svg_is_inline_and_escaped():
    """Guards embedding a 2D SVG in a page: no XML declaration, DOCTYPE or fixed id; markup in the data stays
    an attribute value; the page holds nothing but the tags a sheet has."""
    markup = matrix.svg(Symbol("qr", XSS))
    assert markup.startswith("<svg") and "<?xml" not in markup and "DOCTYPE" not in markup and 'id="' not in markup
    assert ET.fromstring(markup).get("aria-label") == XSS
    page = sheet_html([Label(XSS, XSS, Symbol("qr", XSS))], title=XSS, size=DEFAULT_SIZE)
    collector = _Tags()
    collector.feed(page)
    assert collector.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "main", "div", "svg", "g",
                              "rect", "path"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)


@pytest.mark.parametrize(("size", "fits"), [
    pytest.param(LabelSize(38, 21), True, id="21mm_stock_holds_the_largest"),
    pytest.param(LabelSize(38, 20), False, id="20mm_stock_does_not"),
])
def test_the_largest_serial_symbol_on_stock(size, fits):
    """Guards the documented capacity (station.printing.matrix): the largest symbol a serial label holds, the QR
    of a Digital Link of 20 percent-encoded characters, fits 21 mm stock with caption and text, not 20."""
    label = Label("////////////////////", "Widget", WORST_QR)
    if fits:
        check_fits(label, size)
    else:
        with pytest.raises(ValueError, match="does not fit"):
            check_fits(label, size)


@pytest.mark.parametrize(("height_dots", "fits"), [pytest.param(225, True, id="19mm_at_300dpi"),
                                                   pytest.param(200, False, id="17mm_at_300dpi")])
def test_the_largest_serial_symbol_on_a_raster_label(height_dots, fits):
    """Guards the documented capacity for printers: a label 19 mm high holds the largest symbol with the serial
    under it (the raster renderer's layout); a lower one refuses it."""
    if fits:
        assert read(matrix.label_image(WORST_QR, "S", 600, height_dots, 300)) == [("]Q1", WORST_QR.data)]
    else:
        with pytest.raises(ValueError, match="does not fit"):
            matrix.label_image(WORST_QR, "S", 600, height_dots, 300)


def test_a_2d_label_that_cannot_fit_writes_nothing(tmp_path):
    """Guards the sheet: a symbol too large for the stock refuses the whole sheet before any file is written."""
    with pytest.raises(ValueError, match="does not fit"):
        write_sheet([Label("SN-1", "W", GS1), Label("S", "W", WORST_QR)], tmp_path / "out", title="t",
                    size=LabelSize(38, 15))
    assert not (tmp_path / "out").exists()
