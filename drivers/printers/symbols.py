"""What a label's barcode holds (a ``Symbol``), and the 2D symbols' grid of modules from zxing-cpp.

Theory of operation: a ``Symbol`` is a symbology and its data. Code 128
holds the serial (``code128`` packs it); a QR code holds its text (a serial's
Digital Link URI); a DataMatrix holds its text, or, in GS1 mode, element
strings: FNC1 first, then each AI and value, a variable-length value ended by
FNC1 unless it is the last (GS1 General Specifications 7.8.5), which a
scanner transmits as ``]d2`` and the values with a GS between them.

The grid (``matrix``) is zxing-cpp's (``zxingcpp.create_barcode``): it
writes as well as it reads, so the symbol a label draws and the reading the
tests compare it with are one library's, and it is maintained (zxing-cpp,
with libzint as its writer since 3.0). DataMatrix symbols are square (ECC
200's square sizes; GS1 asks for square unless space forbids), QR codes are
at error correction level M. ``side`` is the symbol's width in modules with its
quiet zones (one module for DataMatrix, four for QR): what must fit the label.
``zpl_side`` is the QR's width if every character is written in byte mode,
which no printer's encoder exceeds, since ZPL's ``^BQ`` chooses its own modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import zxingcpp

SYMBOLOGIES = ("code128", "datamatrix", "qr")
QUIET_ZONE = {"datamatrix": 1, "qr": 4}
QR_EC_LEVEL = "M"
GS = "\x1d"
# AIs whose values have a predefined length, so no FNC1 ends them (GS1 General Specifications, figure 7.8.5-2).
_PREDEFINED = ("00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20",
               "31", "32", "33", "34", "35", "36", "41")


@dataclass(frozen=True)
class Symbol:
    """A label's barcode: ``symbology`` (code128, datamatrix, qr) and ``text`` or GS1 ``elements``.

    ``elements`` (AI, value) pairs make a GS1 DataMatrix; ``text`` is then
    what they read as (``data``). Otherwise ``text`` is what it holds.
    """

    symbology: str
    text: str = ""
    elements: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.symbology not in SYMBOLOGIES:
            raise ValueError(f"symbology {self.symbology!r} is not one of {', '.join(SYMBOLOGIES)}")
        if self.elements and self.symbology != "datamatrix":
            raise ValueError("only a DataMatrix holds GS1 element strings here")

    @property
    def gs1(self) -> bool:
        return bool(self.elements)

    @property
    def data(self) -> str:
        """What a scanner reads from it (after its AIM identifier): element strings with GS where FNC1 separates."""
        if not self.gs1:
            return self.text
        return "".join(ai + value + (GS if index < len(self.elements) - 1 and not ai.startswith(_PREDEFINED) else "")
                       for index, (ai, value) in enumerate(self.elements))

    @property
    def two_d(self) -> bool:
        return self.symbology != "code128"


def code128(serial: str) -> Symbol:
    """The Code 128 of a serial: what every label carried before 2D labels."""
    return Symbol("code128", serial)


@lru_cache(maxsize=256)
def matrix(symbol: Symbol) -> zxingcpp.Barcode:
    """The 2D symbol as zxing-cpp makes it; ValueError when it cannot hold the data."""
    try:
        if symbol.symbology == "qr":
            return zxingcpp.create_barcode(symbol.text, zxingcpp.BarcodeFormat.QRCode, ecLevel=QR_EC_LEVEL)
        if symbol.gs1:  # zxing-cpp's (libzint's) GS1 input: "[AI]value..."; no value holds a bracket (set 82)
            content = "".join(f"[{ai}]{value}" for ai, value in symbol.elements)
            return zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.DataMatrix, gs1=True, forceSquare=True)
        return zxingcpp.create_barcode(symbol.text, zxingcpp.BarcodeFormat.DataMatrix, forceSquare=True)
    except (RuntimeError, ValueError) as exc:  # zxing-cpp raises RuntimeError for what its writer refuses
        raise ValueError(f"{symbol.data!r} cannot be written as a {symbol.symbology}: {exc}") from None


def grid(symbol: Symbol) -> list[list[bool]]:
    """The symbol's modules, dark True, row by row, without quiet zones."""
    image = matrix(symbol).to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape[:2]
    pixels = bytes(image)  # one byte a module, 0 dark
    return [[pixels[row * width + column] < 128 for column in range(width)] for row in range(height)]


def side(symbol: Symbol) -> int:
    """Width of the square symbol in modules, its quiet zones included."""
    image = matrix(symbol).to_image(scale=1, add_quiet_zones=False)
    return image.shape[1] + 2 * QUIET_ZONE[symbol.symbology]


def zpl_side(symbol: Symbol) -> int:
    """``side`` as a printer's encoder may make it: a QR code's every character in byte mode (at most)."""
    if symbol.symbology != "qr":
        return side(symbol)
    return max(side(symbol), side(Symbol("qr", "a" * len(symbol.text.encode("utf-8")))))
