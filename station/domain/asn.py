"""Supplier serial lists (advance shipping notices) attached to purchase orders.

``import_asn`` reads ``reference,product,serial`` rows; receiving against the
order then treats a serial not on its list as unexpected (refused, or
accepted with a warning, per station), and the order shows expected,
received, missing and unexpected serials.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .errors import Refusal, StationError
from .models import Document, DocumentKind, DocumentLine, DocumentStatus, ExpectedSerial, Product
from .validation import serial_text
from .wording import plural

COLUMNS = ("reference", "product", "serial")


class AsnImportFailed(StationError):
    def __init__(self, line: int, column: str, message: str):
        super().__init__(f"line {line}, column {column}: {message}")
        self.line, self.column, self.message = line, column, message


@dataclass(frozen=True)
class AsnResult:
    added: int
    unchanged: int

    def __str__(self) -> str:
        return (f"{plural(self.added + self.unchanged, 'serial')}: {self.added} added, {self.unchanged} already on"
                " their orders")


def import_asn(session: Session, source: TextIO | str, progress: Callable[[int, int], None] | None = None) -> AsnResult:
    """Attach expected serials to purchase orders; the same file twice changes nothing. Never commits.

    Every row is checked first (orders and products looked up once each), then
    what each order already lists is read in one statement per order and the
    new serials are written in one multi-row insert: a list of 10,000 serials
    is a handful of statements, not 30,000.
    """
    text = source if isinstance(source, str) else source.read()
    rows = _rows(text.lstrip("\ufeff"))
    products: dict[str, Product] = {}
    wanted = _checked(session, rows, products, progress)
    return _write_expected(session, wanted, {p.id: p.code for p in products.values()})


def _rows(text: str) -> list[dict[str, str]]:
    """The file's rows by column name, once its header names every column."""
    header = next(csv.reader(io.StringIO(text)), [])
    for column in COLUMNS:
        if column not in header:
            raise AsnImportFailed(1, column, "this column is missing from the header")
    return list(csv.DictReader(io.StringIO(text)))


def _checked(session: Session, rows: list[dict[str, str]], products: dict[str, Product],
             progress: Callable[[int, int], None] | None) -> dict[int, dict[str, tuple[int, int]]]:
    """Every row checked, orders and products looked up once each (into ``products``): the serials each order
    should list."""
    orders: dict[str, Document] = {}
    on_order: dict[int, set[int]] = {}
    wanted: dict[int, dict[str, tuple[int, int]]] = {}  # order id -> serial -> (product id, line)
    for n, row in enumerate(rows, start=2):
        if not any((v or "").strip() for v in row.values()):
            continue
        order = _order(session, orders, (row["reference"] or "").strip(), n)
        product = _product(session, products, (row["product"] or "").strip(), n)
        if order.id not in on_order:
            on_order[order.id] = set(session.scalars(
                select(DocumentLine.product_id).where(DocumentLine.document_id == order.id)))
        if product.id not in on_order[order.id]:
            raise AsnImportFailed(n, "product", f"{product.code} is not on purchase order {order.reference}")
        try:
            serial = serial_text(row["serial"] or "")
        except Refusal as exc:
            raise AsnImportFailed(n, "serial", exc.message) from None
        listed = wanted.setdefault(order.id, {})
        if serial in listed and listed[serial][0] != product.id:
            raise AsnImportFailed(n, "product",
                                  f"serial {serial} is listed as another product on line {listed[serial][1]}")
        listed.setdefault(serial, (product.id, n))
        if progress is not None:
            progress(n - 1, len(rows))
    return wanted


def _write_expected(session: Session, wanted: dict[int, dict[str, tuple[int, int]]],
                    codes: dict[int, str]) -> AsnResult:
    """The serials no order lists yet, in one insert per order; a serial listed as another product refused."""
    added = unchanged = 0
    for order_id, listed in wanted.items():
        existing = dict(session.execute(select(ExpectedSerial.serial, ExpectedSerial.product_id)
                                        .where(ExpectedSerial.order_id == order_id)).all())
        new = []
        for serial, (product_id, line) in listed.items():
            if serial not in existing:
                new.append({"order_id": order_id, "product_id": product_id, "serial": serial})
            elif existing[serial] != product_id:
                raise AsnImportFailed(line, "product", f"serial {serial} is expected as another product than "
                                                       f"{codes[product_id]} already")
            else:
                unchanged += 1
        if new:
            session.execute(insert(ExpectedSerial.__table__), new)
            added += len(new)
    return AsnResult(added, unchanged)


def _order(session: Session, orders: dict[str, Document], reference: str, line: int) -> Document:
    if reference not in orders:
        order = session.scalar(select(Document).where(Document.reference == reference,
                                                      Document.kind == DocumentKind.purchase_order))
        if order is None:
            raise AsnImportFailed(line, "reference", f"there is no purchase order {reference!r}")
        orders[reference] = order
    return orders[reference]


def _product(session: Session, products: dict[str, Product], code: str, line: int) -> Product:
    if code not in products:
        product = session.scalar(select(Product).where(Product.code == code))
        if product is None:
            raise AsnImportFailed(line, "product", f"there is no product {code!r}")
        products[code] = product
    return products[code]


def has_list(session: Session, order_id: int) -> bool:
    return session.scalar(select(ExpectedSerial.id).where(ExpectedSerial.order_id == order_id).limit(1)) is not None


def is_expected(session: Session, order_id: int, serial: str) -> bool:
    return session.scalar(
        select(ExpectedSerial.id).where(ExpectedSerial.order_id == order_id, ExpectedSerial.serial == serial)
    ) is not None


def check_expected(session: Session, order_id: int, order_reference: str, serial: str | None,
                   policy: str) -> str | None:
    """For a receipt against an order with a serial list: refuse (or warn about) a serial not on it.

    Returns a warning sentence when the policy is "warn", None when all is well.
    """
    if serial is None or is_expected(session, order_id, serial) or not has_list(session, order_id):
        return None
    sentence = f"Serial {serial} is not on the supplier's list for {order_reference}."
    if policy == "warn":
        return sentence + " Accepted anyway: check the box."
    raise Refusal("serial_not_expected", sentence + " Check the unit, or ask a supervisor to add it to the list.")


@dataclass(frozen=True)
class SerialReport:
    expected: list[str]
    received: list[str]
    missing: list[str]
    unexpected: list[str]


def serial_report(session: Session, order: Document) -> SerialReport:
    """Expected, received (posted), missing and unexpected serials of a purchase order."""
    expected = list(session.scalars(select(ExpectedSerial.serial).where(ExpectedSerial.order_id == order.id)
                                    .order_by(ExpectedSerial.id)))
    received = list(session.scalars(
        select(DocumentLine.serial).join(Document, Document.id == DocumentLine.document_id)
        .where(Document.order_id == order.id, Document.status == DocumentStatus.posted,
               DocumentLine.serial.is_not(None))
        .order_by(DocumentLine.id)
    ))
    got = set(received)
    listed = set(expected)
    return SerialReport(
        expected=expected,
        received=received,
        missing=[s for s in expected if s not in got],
        unexpected=[s for s in received if s not in listed] if listed else [],
    )
