"""2D labels drawn by the station: a DataMatrix or QR code as SVG, PNG and a raster printer's whole label.

Theory of operation: the symbol's grid comes from zxing-cpp (the drivers'
``symbols``), the library the tests read every label back with. A symbol is
square; its module (one cell) is chosen to fit the space it is printed in, at
most 0.5 mm and never under 0.25 mm (``MIN_MODULE_MM``: two dots of a 203
dpi head; thinner cells smear on thermal printers), with its quiet zone (one
module round a DataMatrix, four round a QR code). A symbol that cannot fit at
0.25 mm raises ``ValueError`` rather than printing a code no scanner reads.

How much fits: the largest symbol a serial label holds is the QR code of a
Digital Link (on GS1's resolver) whose 20-character serial is all
percent-encoded (a 100-character URI: 45 modules square with its quiet zone, 11.3 mm at 0.25 mm); a GS1
DataMatrix of (01)(21) is at most 24 modules, and a 64-character serial
alone at most 38 (DataMatrix) or 45 (QR). So a printer's label 19 mm high,
the serial's line under the symbol, holds every serial at any dpi (a ZPL
printer's own QR encoder is allowed 49 modules); a sheet of label stock, with
the caption above too, needs 21 mm.

The SVG has the exact size in mm; the PNG makes each module a whole number
of dots at its dpi, so the modules stay square and even when a printer prints
it dot for dot.
"""
from __future__ import annotations

import math
import xml.dom.minidom
from functools import cache
from pathlib import Path

from barcode.writer import ImageWriter
from PIL import Image, ImageDraw, ImageFont

from drivers.printers.symbols import Symbol, matrix, side

MIN_MODULE_MM = 0.25
MAX_MODULE_MM = 0.5
SHEET_SIDE_MM = 30.0  # the largest a symbol is drawn on a sheet
TEXT_LINE_MM = 3.0  # the serial under the symbol
GAP_MM = 1.0
EDGE_MM = 1.0  # kept blank at each label edge


def module_mm(symbol: Symbol, max_side_mm: float) -> float:
    """The module (mm) with which the symbol and its quiet zones take at most ``max_side_mm``; ValueError if none."""
    modules = side(symbol)
    module = min(MAX_MODULE_MM, max_side_mm / modules)
    if module < MIN_MODULE_MM:
        raise ValueError(
            f"{symbol.data!r} does not fit: its {symbol.symbology} is {modules} modules square (quiet zones"
            f" included), at least {modules * MIN_MODULE_MM:.1f} mm at the {MIN_MODULE_MM} mm minimum, and only"
            f" {max_side_mm:g} mm is available; use larger labels"
        )
    return module


def svg(symbol: Symbol, max_side_mm: float = SHEET_SIDE_MM) -> str:
    """An inline ``<svg>`` of physical size (mm), without XML declaration or DOCTYPE, safe inside HTML."""
    module = module_mm(symbol, max_side_mm)
    modules = side(symbol)
    written = matrix(symbol).to_svg(scale=1, add_quiet_zones=True)
    # zxing-cpp's own SVG (no entities; its DOCTYPE names an external DTD that minidom does not fetch), given
    # a size in mm and a viewBox in modules, and without the fixed id that would repeat on a page of many.
    root = xml.dom.minidom.parseString(written).documentElement
    for group in root.getElementsByTagName("g"):
        group.removeAttribute("id")
    for desc in root.getElementsByTagName("desc"):
        desc.parentNode.removeChild(desc)
    size = f"{modules * module:.3f}mm"
    root.setAttribute("viewBox", f"0 0 {root.getAttribute('width')} {root.getAttribute('height')}")
    root.setAttribute("width", size)
    root.setAttribute("height", size)
    root.setAttribute("shape-rendering", "crispEdges")
    root.setAttribute("role", "img")
    root.setAttribute("aria-label", symbol.data)  # minidom escapes attribute values
    return root.toxml()


def qr_svg(text: str, max_side_mm: float = SHEET_SIDE_MM) -> str:
    """A QR code of ``text`` (a serial's URI, for its page) as inline SVG; ValueError when it cannot fit."""
    return svg(Symbol("qr", text), max_side_mm)


def _dots(symbol: Symbol, max_side_dots: int, dpi: int) -> int:
    """Whole dots a module: the most that fit ``max_side_dots`` up to 0.5 mm, at least 0.25 mm; ValueError if not."""
    modules = side(symbol)
    smallest = math.ceil(MIN_MODULE_MM * dpi / 25.4 - 1e-9)
    dots = min(max(smallest, math.floor(MAX_MODULE_MM * dpi / 25.4)), max_side_dots // modules)
    if dots < smallest:
        raise ValueError(
            f"{symbol.data!r} does not fit: its {symbol.symbology} is {modules} modules square (quiet zones"
            f" included), at least {modules * smallest * 25.4 / dpi:.1f} mm at {smallest} dots"
            f" ({smallest * 25.4 / dpi:.2f} mm) a module, and only {max_side_dots * 25.4 / dpi:.1f} mm is"
            " available; use larger labels"
        )
    return dots


def image(symbol: Symbol, dots: int) -> Image.Image:
    """The symbol with its quiet zones, ``dots`` a module, as a greyscale image."""
    return Image.fromarray(matrix(symbol).to_image(scale=dots, add_quiet_zones=True)).convert("L")


def png(symbol: Symbol, path: Path, *, dpi: int = 300, max_side_mm: float = SHEET_SIDE_MM) -> Path:
    """Write the symbol as a PNG at ``dpi``, each module a whole number of dots; returns ``path``."""
    module_mm(symbol, max_side_mm)  # the same refusal as the SVG's
    picture = image(symbol, _dots(symbol, math.floor(max_side_mm * dpi / 25.4 + 1e-9), dpi))
    path = Path(path)
    picture.save(path, format="PNG", dpi=(dpi, dpi))
    return path


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(ImageWriter().font_path, size)  # python-barcode's DejaVu Sans Mono, as Code 128's


def label_image(symbol: Symbol, text: str, width_dots: int, height_dots: int, dpi: int) -> Image.Image:
    """One whole label for a raster printer: the symbol centred at the top, ``text`` centred under it.

    Exactly ``width_dots`` x ``height_dots``; ValueError when the symbol cannot fit at 0.25 mm modules.
    """
    def mm(value: float) -> int:
        return math.ceil(value * dpi / 25.4 - 1e-9)

    edge, line, gap = mm(EDGE_MM), mm(TEXT_LINE_MM), mm(GAP_MM)
    room = min(width_dots - 2 * edge, height_dots - 2 * edge - gap - line)
    if room <= 0:
        raise ValueError(f"{width_dots}x{height_dots} dots is too small for a {symbol.symbology} with its text")
    picture = image(symbol, _dots(symbol, room, dpi))
    canvas = Image.new("L", (width_dots, height_dots), 255)
    top = (height_dots - picture.height - gap - line) // 2
    canvas.paste(picture, ((width_dots - picture.width) // 2, top))
    draw = ImageDraw.Draw(canvas)
    draw.text((width_dots // 2, top + picture.height + gap + line // 2), text, fill=0,
              font=_font(max(8, round(line * 0.8))), anchor="mm")
    return canvas
