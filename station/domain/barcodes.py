"""Product barcodes: GTIN forms are stored and matched as GTIN-14.

A UPC-A label (12 digits), its EAN-13 form (a leading 0) and the GTIN-14
(two leading zeros) are one number; storing the GTIN-14 makes all three find
the same product. biip checks the length and the check digit.
"""
from __future__ import annotations

from collections.abc import Iterable

from biip import ParseError
from biip.gtin import Gtin

GTIN_LENGTHS = frozenset({8, 12, 13, 14})


def as_gtin14(text: str) -> str | None:
    """The GTIN-14 of an EAN-8/UPC-A/EAN-13/GTIN-14 with a right check digit, else None."""
    if len(text) not in GTIN_LENGTHS or not text.isascii() or not text.isdigit():
        return None
    try:
        return Gtin.parse(text).as_gtin_14()
    except ParseError:
        return None


def normalise_barcode(text: str) -> str:
    """The form a product barcode is stored and looked up in."""
    text = text.strip()
    return as_gtin14(text) or text


def number_forms(text: str) -> frozenset[str]:
    """Every text that is the same number as ``text``: its GTIN-14 and the EAN-13, UPC-A and EAN-8 forms it has.

    A serial equal to any of them would be read as the product (SPEC 2: a barcode never equals a serial).
    """
    text = text.strip()
    gtin = as_gtin14(text)
    if gtin is None:
        return frozenset({text})
    return frozenset({text} | {gtin[14 - n:] for n in GTIN_LENGTHS if gtin[:14 - n] == "0" * (14 - n)})


def lookup_forms(text: str) -> tuple[str, ...]:
    """Stored forms a scanned text may match: its GTIN-14 (if it is one) and itself."""
    gtin = as_gtin14(text)
    if gtin is None or gtin == text:
        return (text,)
    return (gtin, text)


def gtin_of(barcodes: Iterable[str]) -> str | None:
    """A product's GTIN: the first of its stored barcodes that is a GTIN-14 (stored forms, in the order given)."""
    return next((barcode for barcode in barcodes if as_gtin14(barcode) == barcode), None)
