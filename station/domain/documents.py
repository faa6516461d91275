"""Documents and their lines: open, add a line, undo, cancel, purchase orders.

Posting lives in posting.py. Every function takes the caller's session and
never commits: the daemon or the web request owns the transaction.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .catalogue import get_party, get_product
from .errors import Conflict, Invalid, NotFound, Refusal
from .models import (
    CODE_MAX,
    Customer,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Product,
    Supplier,
)
from .rules import check_line, expected_on_order, received_on_order, recheck_serial
from .validation import could_be_key, require_code, require_quantity
from .vocabulary import POLICY


def get_document(session: Session, reference: str) -> Document:
    doc = session.scalar(select(Document).where(Document.reference == reference)) if could_be_key(reference, CODE_MAX) else None
    if doc is None:
        raise NotFound("unknown_document", f"There is no document {reference}.")
    return doc


def open_document(session: Session, kind: DocumentKind, *, station: str | None = None, user: str | None = None,
                  supplier: Supplier | None = None, customer: Customer | None = None,
                  order: Document | None = None, reason: str | None = None) -> Document:
    """Open a station-numbered document (R-000123, S-000045...)."""
    if order is not None:
        if order.kind != DocumentKind.purchase_order:
            raise Refusal("unknown_document", f"{order.reference} is not a purchase order.")
        supplier = supplier or order.supplier
    doc = Document(
        reference=f"~{uuid.uuid4().hex}", kind=kind, status=DocumentStatus.open, station=station, user=user,
        supplier=supplier, customer=customer, order=order, reason=reason,
        lines=[],  # known to be empty: reading them later costs no query
    )
    session.add(doc)
    session.flush()
    doc.reference = f"{POLICY[kind].prefix}-{doc.id:06d}"
    session.flush()
    return doc


def require_open(doc: Document) -> None:
    if doc.status != DocumentStatus.open:
        raise Refusal("document_not_open", f"Document {doc.reference} is {doc.status.value}, not open.")


def _write_line(session: Session, serial: str | None) -> None:
    """Flush a line; the unique index of rule 8 refusing it (a serial raced onto another open document) is a Refusal.

    The failed flush leaves the transaction unusable until the caller rolls
    back (its savepoint, or all of it), which also takes the line away.
    """
    try:
        session.flush()
    except IntegrityError:
        raise Refusal(
            "serial_on_open_document",
            f"Serial {serial} was just put on another open document: finish or cancel that first.",
        ) from None


def add_line(session: Session, doc: Document, *, product: Product | None = None, serial: str | None = None,
             quantity: int = 1, batch: str | None = None, expiry: str | None = None,
             pattern: re.Pattern[str] | None = None) -> DocumentLine:
    """Add a checked line; a serial raced onto another open document is refused by the unique index."""
    require_open(doc)
    if quantity == 0 or (quantity < 0 and doc.kind != DocumentKind.adjustment):
        raise Invalid("invalid_quantity", "A line's quantity must be a positive whole number.")
    if serial is not None and quantity != 1 and doc.kind != DocumentKind.adjustment:
        raise Invalid("invalid_quantity", "A serial is one unit.")
    resolved = check_line(session, doc, product=product, serial=serial, quantity=quantity, pattern=pattern)
    line_no = (max((l.line_no for l in doc.lines), default=0)) + 1
    line = DocumentLine(
        line_no=line_no, product=resolved.product, serial=resolved.serial,
        quantity=quantity, batch=batch, expiry=expiry, is_open=True,
    )
    doc.lines.append(line)
    _write_line(session, resolved.serial)
    if resolved.serial is not None:
        recheck_serial(session, doc, line, resolved)
    return line


def attach_serial(session: Session, doc: Document, serial: str, *,
                  pattern: re.Pattern[str] | None = None) -> DocumentLine:
    """Record a serial on the last line, an unserialised unit (a product that needs no serial)."""
    require_open(doc)
    line = max(doc.lines, key=lambda l: l.line_no)
    if line.serial is not None:
        raise Refusal("serial_required", "The last line has a serial already.")
    resolved = check_line(session, doc, product=line.product, serial=serial, pattern=pattern)
    line.serial = resolved.serial
    _write_line(session, resolved.serial)
    recheck_serial(session, doc, line, resolved)
    return line


def undo_last_line(session: Session, doc: Document) -> DocumentLine:
    require_open(doc)
    if not doc.lines:
        raise Refusal("nothing_to_undo", "There is no line to undo on this document.")
    line = max(doc.lines, key=lambda l: l.line_no)
    doc.lines.remove(line)
    session.flush()
    return line


def cancel(session: Session, doc: Document) -> None:
    """Drop an open document: its lines no longer hold their serials."""
    require_open(doc)
    doc.status = DocumentStatus.cancelled
    for line in doc.lines:
        line.is_open = False
    session.flush()


def create_purchase_order(session: Session, reference: str, supplier: str, lines: Sequence[tuple[str, int]], *,
                          pattern: re.Pattern[str] | None = None) -> Document:
    """A purchase order to receive against: (product code, quantity) lines from the supplier with that code."""
    reference = require_code(reference, "reference")
    if pattern is not None and not pattern.search(reference):
        raise Invalid("invalid_field", f"reference {reference} does not match the purchase order pattern {pattern.pattern}, so it could not be scanned.")
    if session.scalar(select(Document.id).where(Document.reference == reference)):
        raise Conflict("duplicate", f"Document {reference} exists already.")
    party = get_party(session, "supplier", require_code(supplier, "supplier"))
    if not lines:
        raise Invalid("invalid_field", "lines must be a non-empty list of {\"product\", \"quantity\"}.")
    order = Document(reference=reference, kind=DocumentKind.purchase_order, status=DocumentStatus.open,
                     supplier=party)
    session.add(order)
    for n, (code, quantity) in enumerate(lines, start=1):
        product = get_product(session, require_code(code, f"line {n} product"))
        quantity = require_quantity(quantity, f"line {n} quantity")
        if quantity <= 0:
            raise Invalid("invalid_quantity", f"line {n}: quantity must be positive.")
        order.lines.append(DocumentLine(line_no=n, product=product, quantity=quantity, is_open=False))
    session.flush()
    return order


def order_progress(session: Session, order: Document) -> list[dict[str, Any]]:
    """Per product of a purchase order: expected and received (posted) so far."""
    seen: dict[int, Product] = {}
    for line in order.lines:
        if line.product is not None:
            seen.setdefault(line.product_id, line.product)
    return [
        {"product": p.code, "name": p.name, "expected": expected_on_order(session, order, p),
         "received": received_on_order(session, order, p)}
        for p in seen.values()
    ]
