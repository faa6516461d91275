"""Normalising a raw scan and reading it as the first of SPEC 4's kinds.

Pure code apart from the lookups the caller passes in (product by barcode,
known serial, party, purchase order), so the order of precedence is tested
without a database. The order, after normalising and removing an AIM
symbology identifier (``]E0``, ``]C0``...):

1. ``CMD:`` commands;
2. ``USR:`` operator badges, ``LOC:`` locations (SPEC 3c), ``SUP:``/``CUS:`` parties, transfers'
   references (``T-000001``, before the configured pattern: the station's own numbering) and purchase-order
   references;
3. GS1: a GS1 Digital Link URI, read as the element strings it encodes
   (any other URL is refused, ``unknown_barcode``: station.scan_core.digital_link);
   element strings marked by a GS1 identifier (``]C1``, ``]d2``,
   ``]Q3``, ``]e0``), or unmarked text that starts with AI 01 and a GTIN-14
   whose check digit is right and that is not itself a known serial;
4. product barcodes; 5. known serials; 6. anything else (a new serial, if the
   station waits for one).

``READERS`` is that order, one small reader a step: each answers a Reading,
refuses, or passes the scan on (None) to the next.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Protocol

from biip import ParseConfig, ParseError
from biip.gs1_messages import GS1Message

from station.domain.barcodes import as_gtin14
from station.domain.errors import Refusal
from station.domain.validation import has_control
from station.domain.vocabulary import POLICY, DocumentKind, Mode

from .digital_link import element_values, is_url

MAX_SCAN = 512
GS = "\x1d"
GS1_AIM = ("]C1", "]d2", "]Q3", "]e0")
COMMANDS = ("RECEIVE", "SELL", "RETURN", "FINISH", "CANCEL", "UNDO", "LOGOUT", "SERVICE", "REPLACE", "PRINT",
            "MOVE", "COUNT")
MODES = {"RECEIVE": Mode.receive, "SELL": Mode.sell, "RETURN": Mode.return_, "SERVICE": Mode.service,
         "MOVE": Mode.move, "COUNT": Mode.count}
_AIM = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_GS1_CONFIG = ParseConfig(separator_chars=[GS])
# A refused text is quoted in the message; past this length only its start.
_QUOTE = 64


class Kind(enum.StrEnum):
    """What a scan is read as, in SPEC 4's order of precedence."""

    mode = "mode"  # CMD:RECEIVE / CMD:SELL / CMD:RETURN / CMD:SERVICE / CMD:MOVE / CMD:COUNT
    finish = "finish"
    cancel = "cancel"
    undo = "undo"
    logout = "logout"  # CMD:LOGOUT: the operator signs out
    operator = "operator"  # USR:<code>: an operator's badge
    location = "location"  # LOC:<code>: a location (SPEC 3c)
    replace = "replace"  # CMD:REPLACE: the next serial replaces the last checked-out one (service desk)
    print_ = "print"  # CMD:PRINT: the label of the station's last serial (SPEC 5 Printing)
    supplier = "supplier"
    customer = "customer"
    order = "order"
    transfer = "transfer"  # a transfer's reference (T-000001): its arrival at this site (SPEC 3c)
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
    id: int | None = None  # the record's, when it came from the database

    def needs_serial(self, kind: DocumentKind) -> bool:
        """True when each unit of this product on a document of ``kind`` needs a serial (its flags, by POLICY)."""
        return POLICY[kind].needs_serial(self.serial_required_for_purchase, self.serial_required_for_sales)


@dataclass(frozen=True)
class LocationInfo:
    """A location a ``LOC:`` scan names, as the machine sees it: whether it is at the station's own site."""

    id: int
    code: str
    name: str
    site_id: int
    site_code: str
    site_name: str
    here: bool  # at the station's site (else: another site's, which makes a move a transfer)


@dataclass(frozen=True)
class Reading:
    """A scan read as one kind, with what it names.

    The reader keeps these promises, which the state machine relies on:
    ``mode`` is set for Kind.mode; ``product`` is set for Kind.product;
    ``code`` (the badge's code) and ``found`` (an active operator) for Kind.operator; ``code`` and
    ``found`` (an active location, then in ``location``) for Kind.location; for
    Kind.gs1, ``code`` is the GTIN-14 and ``found`` says whether ``product``
    is set; ``serial`` is set for Kind.known_serial and Kind.unknown;
    ``in_service`` says whether a known serial (or a GS1 scan's) is at the
    service desk.
    """

    kind: Kind
    text: str
    mode: Mode | None = None  # for Kind.mode
    code: str | None = None  # party code, order reference, GTIN-14
    found: bool = True  # the party / order / GTIN exists
    product: ProductInfo | None = None
    serial: str | None = None
    batch: str | None = None  # GS1 AI 10
    expiry: str | None = None  # GS1 AI 17, YYMMDD as scanned
    in_service: bool = False  # the serial is checked in at the service desk (a serial in service opens a check-out)
    location: LocationInfo | None = None  # for Kind.location: the active location it names


class Lookups(Protocol):
    """The questions the reader asks of the records (the service answers them from its session)."""

    def product_by_barcode(self, text: str) -> ProductInfo | None: ...
    def serial_product(self, text: str) -> tuple[bool, ProductInfo | None]: ...
    def serial_in_service(self, text: str) -> bool: ...
    def party_exists(self, kind: str, code: str) -> bool: ...
    def order_exists(self, reference: str) -> bool: ...
    def operator_exists(self, code: str) -> bool: ...
    def location(self, code: str) -> LocationInfo | None: ...
    def transfer_exists(self, reference: str) -> bool: ...


def quote(text: str) -> str:
    """A scanned text as a message shows it: whole when short, else its start and an ellipsis."""
    return text if len(text) <= _QUOTE else text[:_QUOTE] + "…"


def normalise(raw: bytes | str) -> str:
    """Decoded, trimmed text of a scan, or Refusal ``invalid_scan``."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refusal("invalid_scan", "The scanner sent bytes that are not text (not UTF-8): "
                                          "set the scanner to UTF-8 or ASCII, then scan again.") from None
    if not isinstance(raw, str):
        raise Refusal("invalid_scan", "The scan is not text: scan again.")
    text = raw.strip(" \t\r\n\f\v")
    if not text:
        raise Refusal("invalid_scan", "The scan was empty: scan again.")
    if len(text) > MAX_SCAN:
        raise Refusal("invalid_scan", f"The scan is {len(text)} characters long; at most {MAX_SCAN} are read. "
                                      "Check that the scanner ends each barcode with Enter, then scan again.")
    if has_control(text.replace(GS, "")):
        raise Refusal("invalid_scan", "The scan holds control characters: check the scanner's settings "
                                      "(prefix and suffix), then scan again.")
    if not text.isprintable() and not all(c.isprintable() or c == GS for c in text):
        raise Refusal("invalid_scan", "The scan holds characters that cannot be printed: "
                                      "check the scanner's keyboard layout, then scan again.")
    return text


def _gs1_values(text: str, gs_substitute: str | None) -> dict[str, str] | None:
    """The element strings of a GS1 message (first value per AI), or None when it is not one."""
    if gs_substitute:
        text = text.replace(gs_substitute, GS)
    try:
        message = GS1Message.parse(text, config=_GS1_CONFIG)
    except (ParseError, ValueError):
        return None
    values: dict[str, str] = {}
    for element in message.element_strings:
        values.setdefault(element.ai.ai, element.value)
    return values


def _gs1_reading(text: str, values: dict[str, str], lookups: Lookups) -> Reading:
    gtin = values["01"]
    product = lookups.product_by_barcode(gtin)
    serial = values.get("21")
    return Reading(Kind.gs1, text, code=gtin, found=product is not None, product=product,
                   serial=serial, batch=values.get("10"), expiry=values.get("17"),
                   in_service=serial is not None and lookups.serial_in_service(serial))


def _plain(text: str, lookups: Lookups, *, serial: str | None = None) -> Reading:
    """Steps 4-6: a product barcode, a known serial, or an unknown text (maybe a new serial)."""
    if serial is None:
        product = lookups.product_by_barcode(text)
        if product is not None:
            return Reading(Kind.product, text, product=product)
    serial = text if serial is None else serial
    known, serial_product = lookups.serial_product(serial)
    if known:
        return Reading(Kind.known_serial, text, serial=serial, product=serial_product,
                       in_service=lookups.serial_in_service(serial))
    return Reading(Kind.unknown, text, serial=serial)


@dataclass(frozen=True)
class _Scan:
    """A normalised scan on its way through the readers, with what they may ask."""

    text: str
    aim: str | None  # the AIM symbology identifier removed from its start, if any
    lookups: Lookups
    document_re: re.Pattern[str]
    gs_substitute: str | None

    @property
    def head(self) -> str:
        return _head(self.text)


def _head(text: str) -> str:
    """A scan's first four characters, upper-cased: ``CMD:``, ``USR:``, ``SUP:``, ``CUS:``..."""
    return text[:4].upper() if text[:4].isascii() else ""


def _without_aim(text: str) -> tuple[str, str | None]:
    """The text without its AIM symbology identifier, and the identifier (None: it had none).

    Removed before anything else is read: a Code 128 command sheet read by a
    scanner that sends identifiers still says CMD:FINISH.
    """
    aim = text[:3] if _AIM.match(text) else None
    if aim is None:
        return text, None
    text = text[3:].lstrip(GS) if aim in GS1_AIM else text[3:]
    if not text.strip():
        raise Refusal("invalid_scan", f"The scan held only the symbology identifier {aim}: scan again.")
    return text, aim


def _command(scan: _Scan) -> Reading | None:
    """1. ``CMD:`` commands (a mode, or one of the others); an unknown one is refused."""
    if scan.head != "CMD:":
        return None
    command = scan.text[4:].upper()
    if command not in COMMANDS:
        raise Refusal("unknown_barcode", f"Unknown command {quote(scan.text)}: print a fresh command sheet "
                                         "(station labels commands) and scan from it.")
    if command in MODES:
        return Reading(Kind.mode, scan.text, mode=MODES[command])
    return Reading(Kind(command.lower()), scan.text)


def _badge(scan: _Scan) -> Reading | None:
    """2. ``USR:`` an operator's badge."""
    if scan.head != "USR:":
        return None
    code = scan.text[4:].strip()
    return Reading(Kind.operator, scan.text, code=code, found=bool(code) and scan.lookups.operator_exists(code))


def _location(scan: _Scan) -> Reading | None:
    """2. ``LOC:`` a location: ``found`` when it names an active one."""
    if scan.head != "LOC:":
        return None
    code = scan.text[4:].strip()
    place = scan.lookups.location(code) if code else None
    return Reading(Kind.location, scan.text, code=code, found=place is not None, location=place)


_PARTIES = {"SUP:": Kind.supplier, "CUS:": Kind.customer}


def _party_of(text: str) -> tuple[Kind, str] | None:
    """The kind of party a ``SUP:``/``CUS:`` text names and its code (empty when it names none); None for any other
    text. The reader's, and what the caller asks about before reading (``party_named``)."""
    kind = _PARTIES.get(_head(text))
    return (kind, text[4:].strip()) if kind is not None else None


def _party(scan: _Scan) -> Reading | None:
    """2. ``SUP:`` and ``CUS:`` parties."""
    named = _party_of(scan.text)
    if named is None:
        return None
    kind, code = named
    return Reading(kind, scan.text, code=code, found=bool(code) and scan.lookups.party_exists(kind.value, code))


def _order(scan: _Scan) -> Reading | None:
    """2. A purchase order's reference (the configured document pattern)."""
    if not scan.document_re.search(scan.text):
        return None
    return Reading(Kind.order, scan.text, code=scan.text, found=scan.lookups.order_exists(scan.text))


_TRANSFER = re.compile(r"^T-\d{6,}$")


def _transfer(scan: _Scan) -> Reading | None:
    """2. A transfer's reference (the station's own numbering, T-000001): ``found`` when it was sent."""
    if not _TRANSFER.match(scan.text):
        return None
    return Reading(Kind.transfer, scan.text, code=scan.text, found=scan.lookups.transfer_exists(scan.text))


def _gs1_named(text: str, values: dict[str, str], lookups: Lookups) -> Reading | None:
    """GS1 values read: a product and serial (AI 01), a serial alone (AI 21), else None (they name neither)."""
    if "01" in values:
        return _gs1_reading(text, values, lookups)
    if "21" in values:
        return _plain(text, lookups, serial=values["21"])
    return None


def _digital_link(scan: _Scan) -> Reading | None:
    """3. A web address: a GS1 Digital Link read as the element strings it encodes; any other URL is refused."""
    if not is_url(scan.text):
        return None
    text = scan.text
    values = element_values(text)
    if values is None:
        raise Refusal("unknown_barcode", f"{quote(text)} is a web address, not the GS1 Digital Link of a product: "
                                         "scan the product's or the unit's own barcode.")
    if "01" in values and as_gtin14(values["01"]) is None:
        raise Refusal("unknown_barcode", f"The GS1 Digital Link {quote(text)} holds GTIN {values['01']}, whose check "
                                         "digit is wrong: scan the product's or the unit's own barcode.")
    reading = _gs1_named(text, values, scan.lookups)
    if reading is None:
        raise Refusal("unknown_barcode", f"The GS1 Digital Link {quote(text)} names no product (AI 01) and no "
                                         "serial (AI 21): scan the product's or the unit's own barcode.")
    return reading


def _gs1_marked(scan: _Scan) -> Reading | None:
    """3. A GS1 element string marked by its identifier: a product and serial, a serial alone, or refused."""
    if scan.aim not in GS1_AIM:
        return None
    text, lookups = scan.text, scan.lookups
    values = _gs1_values(text, scan.gs_substitute)
    if values is None or ("01" in values and as_gtin14(values["01"]) is None):
        raise Refusal("invalid_scan", f"{quote(text)} is marked as GS1 but is not a valid GS1 element string "
                                      "(a wrong check digit?): scan again, or key the product in by hand.")
    reading = _gs1_named(text, values, lookups)
    if reading is not None:
        return reading
    product = lookups.product_by_barcode(text)
    if product is not None:
        return Reading(Kind.product, text, product=product)
    raise Refusal("unknown_barcode", f"GS1 barcode {quote(text)} names no product (AI 01) and no serial (AI 21): "
                                     "scan the product's or the unit's own barcode.")


def _gs1_unmarked(scan: _Scan) -> Reading | None:
    """3. Unmarked text that starts with AI 01 and a GTIN-14 whose check digit is right, and is no known serial."""
    text = scan.text
    if scan.aim is not None or not text.startswith("01") or len(text) < 16 or as_gtin14(text[2:16]) is None:
        return None
    values = _gs1_values(text, scan.gs_substitute)
    if values is None or "01" not in values or scan.lookups.serial_product(text)[0]:
        return None
    return _gs1_reading(text, values, scan.lookups)


def _goods(scan: _Scan) -> Reading:
    """4-6. A product barcode, a known serial, or anything else."""
    return _plain(scan.text, scan.lookups)


#: SPEC 4's order of precedence: the first reader that knows the scan reads it (the last knows every scan).
READERS = (_command, _badge, _location, _party, _transfer, _order, _digital_link, _gs1_marked, _gs1_unmarked, _goods)


#: The heads whose readers come before the goods' and answer every scan that has one (a command, a badge, a location,
#: a party): a scan of one is never asked about as a product barcode or a serial.
_NAMED = frozenset({"CMD:", "USR:", "LOC:", "SUP:", "CUS:"})


def scanned_text(raw: bytes | str) -> str | None:
    """The text the readers may ask the look-ups about as a product barcode or a serial, so that the caller asks
    about it before reading, with other reads. None: a scan they never ask about, one that is not text (``read``
    refuses it) or one of the ``_NAMED`` heads (asking about ``CMD:RECEIVE`` as a barcode and a serial was a tenth of
    its scan's CPU, issue 22)."""
    text = _text(raw)
    return None if text is None or _head(text) in _NAMED else text


def party_named(raw: bytes | str) -> tuple[str, str] | None:
    """The party a ``SUP:`` or ``CUS:`` scan names (its kind, ``supplier`` or ``customer``, and its code), so that
    the caller asks about it before reading, with other reads (the reader's ``party_exists``); None for any other
    scan."""
    text = _text(raw)
    named = _party_of(text) if text is not None else None
    return (named[0].value, named[1]) if named is not None and named[1] else None


def finishes(raw: bytes | str) -> bool:
    """Whether the scan reads as CMD:FINISH (in any case, behind any symbology identifier): its posting's first read
    may go with the station's (facts.READ_AHEAD). A guess, not a decision: the machine decides what it does."""
    text = _text(raw)
    return text is not None and text.upper() == "CMD:FINISH"


def _text(raw: bytes | str) -> str | None:
    """The scan's text as the readers read it (normalised, its symbology identifier off); None when it is not text
    (``read`` refuses it)."""
    try:
        return _without_aim(normalise(raw))[0]
    except Refusal:
        return None


def read(raw: bytes | str, lookups: Lookups, *, document_re: re.Pattern[str],
         gs_substitute: str | None = None) -> Reading:
    """Read a scan as the first of: command, party or order, GS1, product, known serial, unknown.

    Raises Refusal for text that is not a scan (``invalid_scan``), an unknown
    command, a GS1 barcode that names neither a product nor a serial, or a URL
    that is no GS1 Digital Link (``unknown_barcode``).
    """
    text, aim = _without_aim(normalise(raw))
    scan = _Scan(text, aim, lookups, document_re, gs_substitute)
    return next(reading for reader in READERS if (reading := reader(scan)) is not None)
