"""Supplier serial lists (advance shipping notices) attached to purchase orders.

``import_asn`` reads ``reference,product,serial`` rows; receiving against the
order then treats a serial not on its list as unexpected (refused, or
accepted with a warning, per station), and the order shows expected,
received, missing and unexpected serials.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Callable, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Refusal, StationError
from .models import Document, DocumentKind, DocumentLine, DocumentStatus, ExpectedSerial, Product
from .validation import serial_text

COLUMNS = ("reference", "product", "serial")


class AsnImportFailed(StationError):
    def __init__(self, line: int, column: str, message: str):
        super().__init__(f"line {line}, column {column}: {message}")
        self.line, self.column, self.message = line, column, message


@dataclass(frozen=True)
class AsnResult:
    added: int
    unchanged: int


def import_asn(session: Session, source: TextIO | str, progress: Callable[[int, int], None] | None = None) -> AsnResult:
    """Attach expected serials to purchase orders; the same file twice changes nothing. Never commits."""
    text = source if isinstance(source, str) else source.read()
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])
    for column in COLUMNS:
        if column not in header:
            raise AsnImportFailed(1, column, "this column is missing from the header")
    added = unchanged = 0
    for n, row in enumerate(rows, start=2):
        if not any((v or "").strip() for v in row.values()):
            continue
        ref = (row["reference"] or "").strip()
        order = session.scalar(select(Document).where(Document.reference == ref, Document.kind == DocumentKind.purchase_order))
        if order is None:
            raise AsnImportFailed(n, "reference", f"there is no purchase order {ref!r}")
        code = (row["product"] or "").strip()
        product = session.scalar(select(Product).where(Product.code == code))
        if product is None:
            raise AsnImportFailed(n, "product", f"there is no product {code!r}")
        if not any(l.product_id == product.id for l in order.lines):
            raise AsnImportFailed(n, "product", f"{code} is not on purchase order {ref}")
        try:
            serial = serial_text(row["serial"] or "")
        except Refusal as exc:
            raise AsnImportFailed(n, "serial", exc.message) from None
        existing = session.scalar(select(ExpectedSerial).where(ExpectedSerial.order_id == order.id, ExpectedSerial.serial == serial))
        if existing is not None:
            if existing.product_id != product.id:
                raise AsnImportFailed(n, "product", f"serial {serial} is expected as {existing.product.code} already")
            unchanged += 1
        else:
            session.add(ExpectedSerial(order_id=order.id, product_id=product.id, serial=serial))
            session.flush()
            added += 1
        if progress is not None:
            progress(n - 1, len(rows))
    return AsnResult(added, unchanged)


def has_list(session: Session, order_id: int) -> bool:
    return session.scalar(select(ExpectedSerial.id).where(ExpectedSerial.order_id == order_id).limit(1)) is not None


def is_expected(session: Session, order_id: int, serial: str) -> bool:
    return session.scalar(
        select(ExpectedSerial.id).where(ExpectedSerial.order_id == order_id, ExpectedSerial.serial == serial)
    ) is not None


def check_expected(session: Session, order_id: int, order_reference: str, serial: str | None, policy: str) -> str | None:
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
    expected = list(session.scalars(select(ExpectedSerial.serial).where(ExpectedSerial.order_id == order.id).order_by(ExpectedSerial.id)))
    received = list(session.scalars(
        select(DocumentLine.serial).join(Document, Document.id == DocumentLine.document_id)
        .where(Document.order_id == order.id, Document.status == DocumentStatus.posted, DocumentLine.serial.is_not(None))
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
