"""Posting a document: all its movements in one transaction, or none (rule 9).

Each line is checked again with its serial row locked (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises
writers), so two stations posting the same serial cannot both succeed.
Only this module writes ``SerialNumber.in_stock`` and
``Product.unserialised_on_hand``.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import update
from sqlalchemy.orm import Session

from .documents import require_open
from .errors import Refusal
from .models import (
    Document,
    DocumentKind,
    DocumentStatus,
    Movement,
    MovementKind,
    Product,
    SerialNumber,
)
from .rules import check_line

KINDS = {
    DocumentKind.receipt: MovementKind.receipt,
    DocumentKind.sale: MovementKind.sale,
    DocumentKind.customer_return: MovementKind.customer_return,
    DocumentKind.supplier_return: MovementKind.supplier_return,
    DocumentKind.adjustment: MovementKind.adjustment,
}
SIGN = {
    DocumentKind.receipt: 1,
    DocumentKind.sale: -1,
    DocumentKind.customer_return: 1,
    DocumentKind.supplier_return: -1,
    DocumentKind.adjustment: 1,  # adjustment lines carry their own sign
}


def change_unserialised(session: Session, product: Product, delta: int) -> None:
    """Atomic ``on_hand += delta`` that never goes below zero."""
    stmt = update(Product).where(Product.id == product.id).values(
        unserialised_on_hand=Product.unserialised_on_hand + delta
    )
    if delta < 0:
        stmt = stmt.where(Product.unserialised_on_hand >= -delta)
    if session.execute(stmt.execution_options(synchronize_session=False)).rowcount != 1:
        raise Refusal("out_of_stock", f"Not enough units of {product.name} without a serial are in stock.")
    session.refresh(product, ["unserialised_on_hand"])


def post(session: Session, doc: Document) -> list[Movement]:
    """Write every line's movements and close the document. Raises Refusal and writes nothing on failure."""
    require_open(doc)
    if doc.kind == DocumentKind.purchase_order:
        raise Refusal("document_not_open", "A purchase order is received against, not posted.")
    if not doc.lines:
        raise Refusal("empty_document", f"Document {doc.reference} has no lines to post: scan something, or cancel it.")
    at = datetime.now(timezone.utc)
    movements: list[Movement] = []

    def move(kind: MovementKind, quantity: int, product: Product | None, record: SerialNumber | None, **party) -> None:
        m = Movement(at=at, kind=kind, quantity=quantity, product=product, serial=record, document=doc,
                     station=doc.station, user=doc.user, **party)
        session.add(m)
        movements.append(m)

    for line in sorted(doc.lines, key=lambda l: l.line_no):
        resolved = check_line(session, doc, product=line.product, serial=line.serial,
                              quantity=line.quantity, line=line, lock=True)
        product = resolved.product
        sign = SIGN[doc.kind]
        kind = KINDS[doc.kind]
        if resolved.serial is None:
            delta = sign * line.quantity
            change_unserialised(session, product, delta)
            party = _party(doc, None)
            move(kind, delta, product, None, **party)
            continue
        record = resolved.record
        if record is None:
            record = SerialNumber(serial=resolved.serial, product=product, in_stock=False)
            session.add(record)
            session.flush()
        if record.product is None and product is not None:
            record.product = product
        party = _party(doc, record)
        if doc.kind == DocumentKind.sale and resolved.takes_unserialised:
            # Rule 4: one unserialised unit becomes this serial, then leaves by the sale.
            change_unserialised(session, product, -1)
            move(MovementKind.adjustment, -1, product, None)
            move(MovementKind.adjustment, 1, product, record)
        qty = sign * (1 if doc.kind != DocumentKind.adjustment else (1 if line.quantity > 0 else -1))
        move(kind, qty, record.product, record, **party)
        _apply(doc, record, qty)
    doc.status = DocumentStatus.posted
    doc.posted_at = at
    for line in doc.lines:
        line.is_open = False
    session.flush()
    return movements


def _party(doc: Document, record: SerialNumber | None) -> dict:
    if doc.kind in (DocumentKind.receipt, DocumentKind.supplier_return):
        supplier = doc.supplier or (record.supplier if record is not None else None)
        return {"supplier": supplier}
    if doc.kind == DocumentKind.sale:
        return {"customer": doc.customer}
    if doc.kind == DocumentKind.customer_return:
        return {"customer": record.customer if record is not None else doc.customer}
    return {}


def _apply(doc: Document, record: SerialNumber, qty: int) -> None:
    record.in_stock = qty > 0
    if doc.kind == DocumentKind.receipt and doc.supplier is not None:
        record.supplier = doc.supplier
    elif doc.kind == DocumentKind.sale:
        record.customer = doc.customer
    elif doc.kind == DocumentKind.customer_return:
        record.customer = None
