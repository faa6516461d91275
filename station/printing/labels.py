"""Code 128 labels: SVG and PNG drawn by python-barcode, and a raster printer's whole label.

A label may carry a DataMatrix or QR code instead (its ``symbol``): those are
drawn by ``matrix`` (zxing-cpp); ``sheets`` puts either kind on a printable page.

Theory of operation: every label is one Code 128 symbol whose module (narrowest
bar) width is chosen to fit the space it is printed in: at most 0.33 mm (easy
for any scanner), never under 0.19 mm (``MIN_MODULE_MM``; thinner bars smear on
203/300 dpi thermal printers), with the 10-module quiet zone Code 128 needs on
each side.  A text that cannot fit at 0.19 mm raises ``ValueError`` rather than
printing a label no scanner reads.

How long a text fits (printable ASCII; runs of digits pack two per symbol,
so an all-digit serial fits about twice as many):

======================  ==========  ===========
where                   any text    digits only
======================  ==========  ===========
38x25 mm stock          12          22
50x25 mm (the default)  17          32
57x32 mm                21          40
100x50 mm               41          80
the command sheet       76          150
======================  ==========  ===========

So a 64-character serial, the longest the station stores, always prints on
the sheet (``size=None``: A4 or Letter, up to 170 mm wide); on label stock
only as far as the table allows (a 40-character serial needs 100 mm stock).
Code 128 holds ASCII only: any other character is a ``ValueError``.

The SVG (which the HTML sheet shows) has the exact size in mm.  The PNG makes
each module a whole number of dots at its dpi (at 300 dpi a multiple of
0.085 mm), so its bars stay even when a printer prints it dot for dot.
"""

from __future__ import annotations

import math
import re
import xml.dom.minidom
from dataclasses import dataclass
from pathlib import Path

import barcode
from barcode.writer import ImageWriter, SVGWriter, mm2px

from drivers.printers.symbols import Symbol

from . import matrix

COMMANDS: tuple[tuple[str, str], ...] = (
    ("CMD:RECEIVE", "Receive"),
    ("CMD:SELL", "Sell"),
    ("CMD:RETURN", "Return"),
    ("CMD:FINISH", "Finish (post)"),
    ("CMD:CANCEL", "Cancel"),
    ("CMD:UNDO", "Undo last line"),
    ("CMD:LOGOUT", "Sign out"),
    ("CMD:SERVICE", "Service desk"),
    ("CMD:REPLACE", "Replace (then the new serial)"),
    ("CMD:PRINT", "Print label (last serial)"),
    ("CMD:MOVE", "Move (then LOC: and the units)"),
    ("CMD:COUNT", "Count (then LOC: and the units)"),
)

MIN_MODULE_MM = 0.19
MAX_MODULE_MM = 0.33
QUIET_ZONE_MODULES = 10
EDGE_MM = 1.0  # kept blank at each label edge: printers drift by about this much
TEXT_LINE_MM = 3.0  # one 7 pt line (caption above, text below the bars)
MIN_BAR_MM = 5.0
MAX_BAR_MM = 25.0
SHEET_CELL_MM = 80.0  # two labels a row on A4 or Letter with 12 mm margins
SHEET_WIDTH_MM = 170.0  # a wider symbol takes the whole row (A4 less margins and padding)
SHEET_BAR_MM = 12.0

class _Code128(barcode.get_barcode_class("code128")):
    """python-barcode's Code 128 (0.16.1) without its start-code bug.

    It starts every symbol in code set C and, when the first code after the
    start is 99, 100 or 101, folds the pair into one start code, reading them
    as "switch to C/B/A". But right after START C a 99 is the digit pair "99",
    not a switch, so "991234" printed as a symbol that scans "1234", and "99"
    as one that holds nothing. Only a real switch (to B or A) is folded here.
    """

    def _try_to_optimize(self, encoded: list[int]) -> list[int]:
        if len(encoded) > 1 and encoded[1] in (CODE_B, CODE_A):
            return super()._try_to_optimize(encoded)
        return encoded


CODE_B, CODE_A = 100, 101  # in code set C, the codes that switch to set B and set A
_CODE128 = _Code128


@dataclass(frozen=True)
class Label:
    """One barcode: the text it encodes (and shows), a human caption (product name, command), and its symbol.

    ``symbol`` None is the Code 128 of ``text``; a 2D symbol (a serial's
    DataMatrix or QR code) is drawn instead, ``text`` under it.
    """

    text: str
    caption: str = ""
    symbol: Symbol | None = None

    @property
    def two_d(self) -> bool:
        return self.symbol is not None and self.symbol.two_d


@dataclass(frozen=True)
class LabelSize:
    """Label stock in millimetres, as `station labels --size 50x25` names it.

    Common stocks: 50x25 (the default), 57x32, 100x50, 38x25.
    """

    width_mm: float
    height_mm: float

    def __post_init__(self) -> None:
        if not (0 < self.width_mm <= 500 and 0 < self.height_mm <= 500):
            raise ValueError(f"label size {self.width_mm}x{self.height_mm} mm is out of range")

    @classmethod
    def parse(cls, spec: str) -> LabelSize:
        """Read "50x25" (also "50 x 25mm", "50X25") as width x height in mm."""
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[xX×]\s*(\d+(?:\.\d+)?)\s*(?:mm)?\s*", spec)
        if match is None:
            raise ValueError(f"label size {spec!r}: expected WIDTHxHEIGHT in mm, e.g. 50x25")
        return cls(float(match[1]), float(match[2]))

    def __str__(self) -> str:
        return f"{self.width_mm:g}x{self.height_mm:g}"


DEFAULT_SIZE = LabelSize(50, 25)


def module_count(text: str) -> int:
    """Module count of the symbol with its quiet zones; refuses what Code 128 cannot hold."""
    if not text:
        raise ValueError("a label needs a text to encode")
    for position, char in enumerate(text):
        if not " " <= char <= "~":
            raise ValueError(
                f"{text!r}: character {char!r} at position {position} cannot be printed"
                " as Code 128 (printable ASCII only)"
            )
    return len(_CODE128(text).build()[0]) + 2 * QUIET_ZONE_MODULES


def fit_module(text: str, max_width_mm: float) -> float:
    modules = module_count(text)
    module = min(MAX_MODULE_MM, max_width_mm / modules)
    if module < MIN_MODULE_MM:
        raise ValueError(
            f"{text!r} does not fit: its Code 128 is {modules} modules, at least"
            f" {modules * MIN_MODULE_MM:.1f} mm wide at the {MIN_MODULE_MM} mm minimum,"
            f" and only {max_width_mm:g} mm is available; use wider labels or a shorter text"
        )
    return module


def layout(size: LabelSize | None) -> tuple[float, float]:
    """The width a symbol may take and its bar height, on the sheet or on `size` stock."""
    if size is None:
        return SHEET_WIDTH_MM, SHEET_BAR_MM
    bar = min(MAX_BAR_MM, size.height_mm - 2 * EDGE_MM - 2 * TEXT_LINE_MM - 1.0)
    if bar < MIN_BAR_MM:
        raise ValueError(f"{size} mm labels are too low for a barcode with its text")
    return size.width_mm - 2 * EDGE_MM, bar


def module_width_for(text: str, size: LabelSize | None = None) -> float:
    """Module width in mm that `text` gets on `size` stock (None: the sheet); ValueError if it cannot fit."""
    return fit_module(text, layout(size)[0])


def _options(module_mm: float, module_height_mm: float, show_text: bool) -> dict:
    return {
        "module_width": module_mm,
        "module_height": module_height_mm,
        "quiet_zone": QUIET_ZONE_MODULES * module_mm,
        "margin_top": 0.0,
        "margin_bottom": 0.0,
        "write_text": show_text,
        "font_size": 8 if show_text else 0,
        "text_distance": 3.0,
    }


def svg(
    text: str,
    *,
    module_height_mm: float = SHEET_BAR_MM,
    show_text: bool = False,
    max_width_mm: float = SHEET_WIDTH_MM,
) -> str:
    """An inline ``<svg>`` element of physical size (mm), without XML declaration, safe inside HTML."""
    module = fit_module(text, max_width_mm)
    writer = SVGWriter()
    writer.set_options({"compress": True, "with_doctype": False})
    rendered = _CODE128(text, writer=writer).render(_options(module, module_height_mm, show_text))
    # Re-read our own output (no DTD, no entities) to drop the XML declaration
    # and the fixed id, which would repeat when many barcodes share one page.
    root = xml.dom.minidom.parseString(rendered).documentElement
    for group in root.getElementsByTagName("g"):
        group.removeAttribute("id")
    root.setAttribute("role", "img")
    root.setAttribute("aria-label", text)  # minidom escapes attribute and text content
    return root.toxml()


class _DotWriter(ImageWriter):
    """ImageWriter that rounds every bar edge to a whole pixel, so equal bars stay equal."""

    def _paint_module(self, xpos, ypos, width, color):
        left, right = round(mm2px(xpos, self.dpi)), round(mm2px(xpos + width, self.dpi))
        top, bottom = round(mm2px(ypos, self.dpi)), round(mm2px(ypos + self.module_height, self.dpi))
        self._draw.rectangle([(left, top), (right - 1, bottom - 1)], fill=color)


def png(
    text: str,
    path: Path,
    *,
    dpi: int = 300,
    module_height_mm: float = SHEET_BAR_MM,
    show_text: bool = False,
    max_width_mm: float = SHEET_WIDTH_MM,
) -> Path:
    """Write the barcode as a PNG at `dpi`, each module a whole number of dots; returns `path`."""
    modules = module_count(text)
    dots = round(fit_module(text, max_width_mm) * dpi / 25.4)
    if dots * modules > max_width_mm * dpi / 25.4:
        dots = math.floor(max_width_mm * dpi / 25.4 / modules)
    if dots < 1:
        raise ValueError(f"{dpi} dpi is too coarse to print {text!r} in {max_width_mm:g} mm")
    writer = _DotWriter(format="PNG", mode="L", dpi=dpi)
    options = _options(dots * 25.4 / dpi, module_height_mm, show_text)
    image = _CODE128(text, writer=writer).render(options)
    path = Path(path)
    image.save(path, format="PNG", dpi=(dpi, dpi))
    return path


def label_image(text: str, width_dots: int, height_dots: int, dpi: int, *, symbol: Symbol | None = None):
    """One whole label for a raster printer: a greyscale image of exactly width x height dots.

    The Code 128 is centred with its quiet zones and its text under it, every
    module the same whole number of dots, at least ``MIN_MODULE_MM`` and at
    most ``MAX_MODULE_MM`` where the dots allow; ``ValueError`` when the text
    cannot fit.  A 2D ``symbol`` is drawn instead of the Code 128 (``matrix``).
    The printer drivers take this as their renderer (they import nothing from
    the station).
    """
    from PIL import Image

    if symbol is not None and symbol.two_d:
        return matrix.label_image(symbol, text, width_dots, height_dots, dpi)

    size = LabelSize(width_dots * 25.4 / dpi, height_dots * 25.4 / dpi)
    max_width, bar = layout(size)
    modules = module_count(text)
    smallest = math.ceil(MIN_MODULE_MM * dpi / 25.4 - 1e-9)
    dots = min(max(smallest, math.floor(MAX_MODULE_MM * dpi / 25.4)), math.floor(max_width * dpi / 25.4 / modules))
    if dots < smallest:
        raise ValueError(
            f"{text!r} does not fit: its Code 128 is {modules} modules, at least"
            f" {modules * smallest * 25.4 / dpi:.1f} mm wide at {smallest} dots ({smallest * 25.4 / dpi:.2f} mm)"
            f" a module, and only {max_width:g} mm is available; use wider labels or a shorter text"
        )
    writer = _DotWriter(format="PNG", mode="L", dpi=dpi)
    symbol = _CODE128(text, writer=writer).render(_options(dots * 25.4 / dpi, bar, show_text=True))
    if symbol.width > width_dots or symbol.height > height_dots:
        raise ValueError(f"{text!r} drawn at {symbol.size} dots does not fit {width_dots}x{height_dots} dots")
    canvas = Image.new("L", (width_dots, height_dots), 255)
    canvas.paste(symbol, ((width_dots - symbol.width) // 2, (height_dots - symbol.height) // 2))
    return canvas
