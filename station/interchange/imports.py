"""CSV imports of products and purchase orders (``station import ...``).

A file is imported whole or not at all: every row is checked through the
domain functions inside one savepoint, and the first bad row raises
``ImportFailed`` naming its line (the header is line 1) and column. The
caller owns the transaction: nothing here commits. Importing the same file
twice changes nothing: an identical record is counted as unchanged.

Products: ``code,name,serial_required_for_purchase,serial_required_for_sales,warranty_months,barcodes``.
``code`` and ``name`` are required columns; a missing flag column or an
empty flag means true (SPEC 2); ``warranty_months`` is 0-600, empty means 0,
and a file without the column leaves an existing product's warranty as it is
(a file from a system that knows no warranty must not take it away); barcodes
are separated by ``|`` and are only ever added (a barcode put on a product by
hand is not taken away by a file that does not list it).

Purchase orders: ``reference,supplier,product,quantity``; rows with one
reference are one order's lines. Suppliers and products must exist. An order
that exists with other lines is an error: it may have been received against.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.domain.barcodes import normalise_barcode
from station.domain.catalogue import check_barcode, create_product, get_party, get_product, update_product
from station.domain.documents import create_purchase_order
from station.domain.errors import Refusal, StationError
from station.domain.models import Document, DocumentKind, Product
from station.domain.validation import require_code, require_name, require_warranty_months
from station.domain.wording import plural

Progress = Callable[[int, int], None]

PRODUCT_COLUMNS = ("code", "name", "serial_required_for_purchase", "serial_required_for_sales", "warranty_months",
                   "barcodes")
PRODUCT_REQUIRED = ("code", "name")
ORDER_COLUMNS = ("reference", "supplier", "product", "quantity")
FLAGS = ("serial_required_for_purchase", "serial_required_for_sales")
TRUE_WORDS = frozenset({"", "true", "yes", "1"})  # empty means true: SPEC 2's default
FALSE_WORDS = frozenset({"false", "no", "0"})
QUANTITY_MAX = 2_147_483_647  # the database's INTEGER


class ImportFailed(StationError):
    """A row (or the header) of an import file is wrong; nothing of the file was imported."""

    code = "import_failed"

    def __init__(self, line: int, column: str | None, reason: str):
        self.line = line
        self.column = column
        self.reason = reason
        where = f"line {line}, column {column}" if column else f"line {line}"
        self.message = f"{where}: {reason}"
        super().__init__(self.message)


@dataclass(frozen=True)
class ImportResult:
    """What an import did: records created, updated and left as they were, out of ``rows`` data rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0

    def __str__(self) -> str:
        return f"{plural(self.rows, 'row')}: {self.created} created, {self.updated} updated, {self.unchanged} unchanged"


@dataclass(frozen=True)
class Row:
    """One data row: its line in the file and its values by column name."""

    line: int
    values: Mapping[str, str]


# --- reading -------------------------------------------------------------------------------------


ENCODINGS = {"utf-8-sig": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252 (cp1252)"}


def decode_csv(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of a CSV file's bytes and the encoding it was read as.

    Given ``encoding`` is used as it is. Else: a byte-order mark says UTF-8 or
    UTF-16 (Excel's "CSV UTF-8" and "Unicode text"); else UTF-8 when the bytes
    are valid UTF-8; else Windows-1252, the encoding of Excel's plain "CSV" on
    Western-language Windows, when every byte is one cp1252 defines. Anything
    else is refused with the line of the first byte that fits no rule.
    """
    if encoding is not None:
        try:
            return data.decode(encoding).removeprefix("\ufeff"), encoding
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise ImportFailed(line, None, f"the file is not {encoding} text (byte 0x{data[exc.start]:02x})") from None
        except LookupError:
            raise ImportFailed(1, None, f"{encoding!r} is not an encoding Python knows (try utf-8 or cp1252)") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16").removeprefix("\ufeff"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        line = data.count(b"\n", 0, first_bad) + 1
        raise ImportFailed(line, None, "the file is neither UTF-8 nor Windows-1252 text: save it as \"CSV UTF-8\", "
                           "or name its encoding with --encoding") from None


def _read_text(source: Any) -> str:
    """The whole text of a path, a text or binary file, or bytes (decoded as :func:`decode_csv` says)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            data: str | bytes = fh.read()
    elif isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read()
    else:
        raise TypeError(f"cannot read an import from {type(source).__name__}")
    if isinstance(data, (bytes, bytearray)):
        data, _ = decode_csv(bytes(data))
    return data.removeprefix("\ufeff")


def read_rows(source: Any, columns: tuple[str, ...], required: tuple[str, ...]) -> list[Row]:
    """The data rows of a CSV file with a header; blank lines are skipped, unknown columns refused."""
    reader = csv.reader(io.StringIO(_read_text(source), newline=""), strict=True)
    end = 0  # the last line of the last complete record: a record starts on the line after it
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFailed(1, None, f"the file is empty: the first line must name the columns {','.join(columns)}")
        names = [name.strip().lower() for name in header]
        for name in names:
            if name not in columns:
                shown = name or "(empty)"
                raise ImportFailed(1, shown, f"unknown column {shown!r}; the columns are {','.join(columns)}")
            if names.count(name) > 1:
                raise ImportFailed(1, name, f"column {name} is named twice")
        for name in required:
            if name not in names:
                raise ImportFailed(1, name, f"the header has no column {name}")
        rows: list[Row] = []
        end = reader.line_num
        for fields in reader:
            line, end = end + 1, reader.line_num
            if not any(field.strip() for field in fields):
                continue  # blank lines, and the ",,,," some spreadsheets write
            if len(fields) > len(names):
                raise ImportFailed(line, None, f"{len(fields)} values, but the header names {len(names)} columns")
            values = dict(zip(names, (field.strip() for field in fields), strict=False))
            rows.append(Row(line, values))
    except csv.Error as exc:
        raise ImportFailed(end + 1, None, f"not valid CSV ({exc})") from None
    return rows


def _rows_of(source: Any, columns: tuple[str, ...], required: tuple[str, ...]) -> list[Row]:
    """Rows from a file, or from already-read mappings (line numbers as if the header were line 1)."""
    if isinstance(source, (str, os.PathLike, bytes, bytearray)) or hasattr(source, "read"):
        return read_rows(source, columns, required)
    rows = []
    for n, mapping in enumerate(source, start=2):
        values = {str(k).strip().lower(): ("" if v is None else str(v).strip()) for k, v in mapping.items()}
        for name in values:
            if name not in columns:
                raise ImportFailed(n, name, f"unknown column {name!r}; the columns are {','.join(columns)}")
        for name in required:
            if name not in values:
                raise ImportFailed(n, name, f"the row has no column {name}")
        rows.append(Row(n, values))
    return rows


# --- fields --------------------------------------------------------------------------------------


def _field(row: Row, column: str, check: Callable[[str], Any]) -> Any:
    """``check`` applied to one value; a Refusal becomes an ImportFailed at this line and column."""
    try:
        return check(row.values.get(column, ""))
    except Refusal as exc:
        raise ImportFailed(row.line, column, _sentence(exc.message)) from None


def _sentence(message: str) -> str:
    return message[:1].lower() + message[1:].rstrip(".") if message else message


def _cell(value: str) -> str:
    """A cell's value as a sentence shows it: as it is, without quotes ("-5 is not a whole number")."""
    return value if value else "an empty cell"


def _flag(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Refusal("invalid_field", f"{_cell(value)} is not one of true/false/yes/no/1/0")


def _quantity(value: str) -> int:
    if not re.fullmatch(r"\+?[0-9]+", value):
        raise Refusal("invalid_field", f"{_cell(value)} is not a whole number")
    quantity = int(value)
    if quantity < 1:
        raise Refusal("invalid_quantity", f"{value} is not a positive quantity")
    if quantity > QUANTITY_MAX:
        raise Refusal("invalid_quantity", f"{value} is too large")
    return quantity


def _months(value: str) -> int:
    if value == "":
        return 0
    if not re.fullmatch(r"\+?[0-9]{1,4}", value):
        raise Refusal("invalid_field", f"{value} is not a whole number of months (0-600)")
    return require_warranty_months(int(value))


def _barcodes(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


# --- products ------------------------------------------------------------------------------------


def import_products(session: Session, rows_or_file: Any, progress: Progress | None = None,
                    pattern: re.Pattern[str] | None = None) -> ImportResult:
    """Create or update products from CSV (a path, a file, bytes, or mappings); never commits."""
    rows = _rows_of(rows_or_file, PRODUCT_COLUMNS, PRODUCT_REQUIRED)
    total = len(rows)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    seen: dict[str, int] = {}
    _tick(progress, 0, total)
    with session.begin_nested():  # the whole file or nothing, even if the caller commits after a failure
        for done, row in enumerate(rows, start=1):
            counts[_import_product(session, row, seen, pattern)] += 1
            _tick(progress, done, total)
    return ImportResult(rows=total, **counts)


def _import_product(session: Session, row: Row, seen: dict[str, int], pattern: re.Pattern[str] | None) -> str:
    code = _field(row, "code", lambda v: require_code(v, "code"))
    if code in seen:
        raise ImportFailed(row.line, "code", f"product {code} is on line {seen[code]} already")
    seen[code] = row.line
    name = _field(row, "name", lambda v: require_name(v, "name"))
    settings: dict[str, Any] = {flag: _field(row, flag, _flag) for flag in FLAGS}
    if "warranty_months" in row.values:
        settings["warranty_months"] = _field(row, "warranty_months", _months)
    barcodes = _barcodes(row.values.get("barcodes", ""))
    wanted: dict[str, str] = {}
    for raw in barcodes:
        stored = normalise_barcode(raw)
        if stored in wanted:
            raise ImportFailed(row.line, "barcodes", f"barcode {raw} is listed twice")
        wanted[stored] = raw

    product = session.scalar(select(Product).where(Product.code == code))
    if product is None:
        _field(row, "barcodes", lambda _: [check_barcode(session, raw, pattern) for raw in wanted.values()])
        _domain(row, lambda: create_product(session, code, name, **settings, barcodes=list(wanted.values()),
                                            pattern=pattern))
        return "created"

    have = {b.barcode for b in product.barcodes}
    new = [raw for stored, raw in wanted.items() if stored not in have]
    changes: dict[str, Any] = {k: v for k, v in {"name": name, **settings}.items() if getattr(product, k) != v}
    if not changes and not new:
        return "unchanged"
    _field(row, "barcodes", lambda _: [check_barcode(session, raw, pattern) for raw in new])
    if new:
        changes["barcodes"] = [b.barcode for b in product.barcodes] + new
    _domain(row, lambda: update_product(session, product, **changes, pattern=pattern))
    return "updated"


def _domain(row: Row, call: Callable[[], Any]) -> Any:
    """A domain call whose refusal (a race, or a check the fields above missed) names this line."""
    try:
        return call()
    except Refusal as exc:
        column = "barcodes" if "barcode" in exc.code else None
        raise ImportFailed(row.line, column, _sentence(exc.message)) from None


# --- purchase orders -----------------------------------------------------------------------------


@dataclass
class _Order:
    reference: str
    supplier: str
    first_line: int
    lines: list[tuple[str, int]]
    rows: int = 0


def import_purchase_orders(session: Session, file: Any, progress: Progress | None = None,
                           pattern: re.Pattern[str] | None = None) -> ImportResult:
    """Create purchase orders from CSV, one per reference; ``pattern`` is the scannable reference pattern."""
    rows = _rows_of(file, ORDER_COLUMNS, ORDER_COLUMNS)
    total = len(rows)
    _tick(progress, 0, total)
    orders: dict[str, _Order] = {}
    suppliers: dict[str, str] = {}
    products: dict[str, str] = {}
    for row in rows:
        reference = _field(row, "reference", lambda v: _reference(v, pattern))
        supplier = _field(row, "supplier", lambda v: _known(session, suppliers, v, "supplier"))
        product = _field(row, "product", lambda v: _known(session, products, v, "product"))
        quantity = _field(row, "quantity", _quantity)
        order = orders.setdefault(reference, _Order(reference, supplier, row.line, []))
        if order.supplier != supplier:
            raise ImportFailed(row.line, "supplier", f"order {reference} is from {order.supplier} on line "
                                                     f"{order.first_line}, not {supplier}")
        order.lines.append((product, quantity))
        order.rows += 1

    counts = {"created": 0, "updated": 0, "unchanged": 0}
    done = 0
    with session.begin_nested():  # the whole file or nothing, even if the caller commits after a failure
        for order in orders.values():
            counts[_import_order(session, order, pattern)] += 1
            done += order.rows
            _tick(progress, done, total)
    return ImportResult(rows=total, **counts)


def _reference(value: str, pattern: re.Pattern[str] | None) -> str:
    reference = require_code(value, "reference")
    if pattern is not None and not pattern.search(reference):
        raise Refusal("invalid_field", f"{reference!r} does not match the purchase order pattern {pattern.pattern}, "
                                       "so it could not be scanned")
    return reference


def _known(session: Session, cache: dict[str, str], value: str, kind: str) -> str:
    """The code of an existing supplier or product (never made on the fly)."""
    code = require_code(value, kind)
    if code not in cache:
        cache[code] = (get_party(session, "supplier", code).code if kind == "supplier"
                       else get_product(session, code).code)
    return cache[code]


def _totals(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for product, quantity in lines:
        totals[product] = totals.get(product, 0) + quantity
    return totals


def _import_order(session: Session, order: _Order, pattern: re.Pattern[str] | None) -> str:
    existing = session.scalar(select(Document).where(Document.reference == order.reference))
    if existing is None:
        _domain(Row(order.first_line, {}), lambda: create_purchase_order(
            session, order.reference, order.supplier, order.lines, pattern=pattern))
        return "created"
    if existing.kind != DocumentKind.purchase_order:
        raise ImportFailed(order.first_line, "reference",
                           f"{order.reference} is a {existing.kind.value.replace('_', ' ')}, not a purchase order")
    have = _totals((line.product.code, line.quantity) for line in existing.lines if line.product is not None)
    same_supplier = existing.supplier is not None and existing.supplier.code == order.supplier
    if same_supplier and have == _totals(order.lines):
        return "unchanged"
    raise ImportFailed(order.first_line, "reference",
                       f"purchase order {order.reference} exists with other lines or another supplier; it may have "
                       "been received against, so change it by hand or give this order a new reference")
