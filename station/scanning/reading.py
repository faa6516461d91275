"""Normalising a raw scan and reading it as the first of SPEC 4's kinds.

Pure code apart from the lookups the caller passes in (product by barcode,
known serial, party, purchase order), so the order of precedence is tested
without a database.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Protocol

from biip import ParseConfig, ParseError
from biip.gs1_messages import GS1Message

from ..barcodes import as_gtin14
from ..errors import Refusal

MAX_SCAN = 512
GS = "\x1d"
GS1_AIM = ("]C1", "]d2", "]Q3", "]e0")
COMMANDS = ("RECEIVE", "SELL", "RETURN", "FINISH", "CANCEL", "UNDO")
_AIM = re.compile(r"^\][A-Za-z][0-9A-Za-z]")


class Kind(str, enum.Enum):
    """What a scan is read as, in SPEC 4's order of precedence."""

    mode = "mode"  # CMD:RECEIVE / CMD:SELL / CMD:RETURN
    finish = "finish"
    cancel = "cancel"
    undo = "undo"
    supplier = "supplier"
    customer = "customer"
    order = "order"
    gs1 = "gs1"
    product = "product"
    known_serial = "known_serial"
    unknown = "unknown"  # a new serial, if the station waits for one


@dataclass(frozen=True)
class ProductInfo:
    code: str
    name: str
    serial_required_for_purchase: bool
    serial_required_for_sales: bool


@dataclass(frozen=True)
class Reading:
    """A scan read as one kind, with what it names."""

    kind: Kind
    text: str
    mode: str | None = None  # for Kind.mode
    code: str | None = None  # party code, order reference
    found: bool = True  # the party / order / GTIN exists
    product: ProductInfo | None = None
    serial: str | None = None
    batch: str | None = None
    expiry: str | None = None


class Lookups(Protocol):
    def product_by_barcode(self, text: str) -> ProductInfo | None: ...
    def serial_product(self, text: str) -> tuple[bool, ProductInfo | None]: ...
    def party_exists(self, kind: str, code: str) -> bool: ...
    def order_exists(self, reference: str) -> bool: ...


def normalise(raw: bytes | str) -> str:
    """Decoded, trimmed text of a scan, or Refusal ``invalid_scan``."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refusal("invalid_scan", "The scanner sent bytes that are not text (not UTF-8): check its character set, then scan again.") from None
    text = raw.strip(" \t\r\n\f\v")
    if not text:
        raise Refusal("invalid_scan", "The scan was empty: scan again.")
    if len(text) > MAX_SCAN:
        raise Refusal("invalid_scan", f"The scan is {len(text)} characters long; at most {MAX_SCAN} are read. Check the barcode and scan again.")
    if any((ord(c) < 0x20 and c != GS) or 0x7F <= ord(c) < 0xA0 for c in text):
        raise Refusal("invalid_scan", "The scan holds control characters: check the scanner's settings (prefix and suffix), then scan again.")
    if not all(c.isprintable() or c == GS for c in text):
        raise Refusal("invalid_scan", "The scan holds characters that cannot be printed: scan again.")
    return text


def _gs1(text: str, gs_substitute: str | None) -> Reading | None:
    """A GS1 element string with AI 01, read through biip; None when it is not one."""
    if gs_substitute:
        text = text.replace(gs_substitute, GS)
    try:
        message = GS1Message.parse(text, config=ParseConfig(separator_chars=[GS]))
    except ParseError:
        return None
    values = {e.ai.ai: e.value for e in message.element_strings}
    gtin = values.get("01")
    if gtin is None or as_gtin14(gtin) is None:
        return None
    return Reading(Kind.gs1, text, code=gtin, serial=values.get("21"), batch=values.get("10"), expiry=values.get("17"))


def read(raw: bytes | str, lookups: Lookups, *, document_re: re.Pattern[str],
         gs_substitute: str | None = None) -> Reading:
    """Read a scan as the first of: command, party or order, GS1, product, known serial, unknown."""
    text = normalise(raw)
    upper = text.upper()
    if upper.startswith("CMD:"):
        command = upper[4:]
        if command not in COMMANDS:
            raise Refusal("unknown_barcode", f"Unknown command {text}: print a fresh command sheet (station labels commands).")
        if command in ("RECEIVE", "SELL", "RETURN"):
            return Reading(Kind.mode, text, mode={"RECEIVE": "receive", "SELL": "sell", "RETURN": "return"}[command])
        return Reading(Kind(command.lower()), text)
    for prefix, kind in (("SUP:", Kind.supplier), ("CUS:", Kind.customer)):
        if upper.startswith(prefix):
            code = text[4:].strip()
            return Reading(kind, text, code=code, found=bool(code) and lookups.party_exists(kind.value, code))
    if document_re.search(text):
        return Reading(Kind.order, text, code=text, found=lookups.order_exists(text))
    aim = text[:3] if _AIM.match(text) else None
    if aim is not None:
        text = text[3:]
        if not text:
            raise Refusal("invalid_scan", "The scan held only a symbology identifier: scan again.")
    gs1 = None
    if aim in GS1_AIM:
        gs1 = _gs1(text, gs_substitute)
        if gs1 is None and text.startswith("01"):
            raise Refusal("invalid_scan", f"{text} is marked as GS1 but is not a valid GS1 element string (check digit?).")
    elif aim is None and text.startswith("01") and len(text) >= 16:
        known, _ = lookups.serial_product(text)
        if not known:
            gs1 = _gs1(text, gs_substitute)
    if gs1 is not None:
        product = lookups.product_by_barcode(gs1.code)
        return Reading(Kind.gs1, gs1.text, code=gs1.code, found=product is not None, product=product,
                       serial=gs1.serial, batch=gs1.batch, expiry=gs1.expiry)
    product = lookups.product_by_barcode(text)
    if product is not None:
        return Reading(Kind.product, text, product=product)
    known, serial_product = lookups.serial_product(text)
    if known:
        return Reading(Kind.known_serial, text, serial=text, product=serial_product)
    return Reading(Kind.unknown, text, serial=text)
