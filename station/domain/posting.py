"""Posting a document: all its movements in the caller's transaction, or none (rule 9).

Each line is checked again with its serial row locked (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises
writers), so two stations posting the same serial cannot both succeed.
Only this module writes ``SerialNumber.in_stock`` and
``Product.unserialised_on_hand``.

Why row locks at READ COMMITTED and not SERIALIZABLE: every invariant here
is about a few rows we can name (a serial, a product's unserialised count,
a purchase order), so locking exactly those rows and re-checking under the
lock is enough, and it is what SQLite does anyway (one writer at a time).
SERIALIZABLE would also abort transactions that merely read near each other
(its predicate locks are coarse on busy indexes such as the scan log's), so
twenty stations would retry often and the p99 of a scan would carry the
retries. Rule 8 needs no lock at all: the unique index refuses the second
open line. The locks are taken in one order (the purchase order, then the
serials by id) so that two postings wait rather than deadlock; what still
can (unserialised units of several products in opposite orders) is retried
by ``station.storage.retry.run_in_transaction``, unseen by the operator.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .documents import add_line, open_document, require_open
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
from .vocabulary import POLICY, PartyKind


def change_unserialised(session: Session, product: Product, delta: int) -> None:
    """Atomic ``on_hand += delta`` that never goes below zero."""
    stmt = update(Product).where(Product.id == product.id).values(
        unserialised_on_hand=Product.unserialised_on_hand + delta
    )
    if delta < 0:
        stmt = stmt.where(Product.unserialised_on_hand >= -delta)
    if session.execute(stmt.execution_options(synchronize_session=False)).rowcount != 1:
        raise Refusal("out_of_stock", f"Not enough units of {product.name} without a serial are in stock.")
    # Read again when next asked for: right after this UPDATE, and right after a rollback of it too.
    session.expire(product, ["unserialised_on_hand"])


def post(session: Session, doc: Document) -> list[Movement]:
    """Write every line's movements and close the document. Raises Refusal and writes nothing on failure."""
    require_open(doc)
    if doc.kind == DocumentKind.purchase_order:
        raise Refusal("document_not_open", "A purchase order is received against, not posted.")
    if not doc.lines:
        raise Refusal("empty_document", f"Document {doc.reference} has no lines to post: scan something, or cancel it.")
    # Rule 9: a Refusal may come after earlier lines were written; the caller rolls back
    # (its savepoint or its transaction) so that none of them stays. Unserialised counts are
    # written by UPDATE, which the ORM does not track: after a rollback, expire before reading them.
    return _write(session, doc)


def _lock(session: Session, doc: Document) -> dict[str, SerialNumber]:
    """Lock what this posting decides on, in a fixed order; the document's serial records by text."""
    if doc.order_id is not None:
        # Two receipts against one purchase order: the second waits here, then counts what the
        # first received (else both could pass "received + these <= expected" and over-receive).
        session.execute(select(Document.id).where(Document.id == doc.order_id).with_for_update(key_share=True))
    serials = sorted({line.serial for line in doc.lines if line.serial is not None})
    if not serials:
        return {}
    rows = session.scalars(
        select(SerialNumber).where(SerialNumber.serial.in_(serials)).order_by(SerialNumber.id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    )
    return {r.serial: r for r in rows}


def _write(session: Session, doc: Document) -> list[Movement]:
    at = datetime.now(timezone.utc)
    movements: list[Movement] = []
    records = _lock(session, doc)

    def move(kind: MovementKind, quantity: int, product: Product | None, record: SerialNumber | None, **party) -> None:
        m = Movement(at=at, kind=kind, quantity=quantity, product=product, serial=record, document=doc,
                     station=doc.station, user=doc.user, **party)
        session.add(m)
        movements.append(m)

    # One flush at the end, not one per line: no check below reads what an earlier line
    # wrote (a serial stands once on a document), and the rows are then written in batches.
    with session.no_autoflush:
        _lines(session, doc, records, move)
    doc.status = DocumentStatus.posted
    doc.posted_at = at
    for line in doc.lines:
        line.is_open = False
    session.flush()
    return movements


def _lines(session: Session, doc: Document, records: dict[str, SerialNumber], move) -> None:
    for line in sorted(doc.lines, key=lambda l: l.line_no):
        resolved = check_line(session, doc, product=line.product, serial=line.serial,
                              quantity=line.quantity, line=line, lock=True,
                              record=records.get(line.serial) if line.serial is not None else None)
        product = resolved.product
        policy = POLICY[doc.kind]
        sign, kind = policy.sign or 1, policy.movement  # adjustment lines carry their own sign
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


def _party(doc: Document, record: SerialNumber | None) -> dict:
    """The movement's party: the document's, else (a return) whoever the serial was with."""
    side = POLICY[doc.kind].party
    if side is PartyKind.supplier:
        return {"supplier": doc.supplier or (record.supplier if record is not None else None)}
    if side is PartyKind.customer:
        if doc.kind == DocumentKind.customer_return and record is not None:
            return {"customer": record.customer}
        return {"customer": doc.customer}
    return {}


def _apply(doc: Document, record: SerialNumber, qty: int) -> None:
    record.in_stock = qty > 0
    if record.in_stock:
        # SPEC 2: the customer is who has it now, empty while it is ours (rule 1 keeps it so).
        record.customer = None
    if doc.kind == DocumentKind.receipt and doc.supplier is not None:
        record.supplier = doc.supplier
    elif doc.kind == DocumentKind.sale:
        record.customer = doc.customer
    elif doc.kind == DocumentKind.customer_return:
        record.customer = None


def post_adjustment(session: Session, reason: str, lines: list[tuple[Product | None, str | None, int]], *,
                    station: str | None = None, user: str | None = None) -> Document:
    """Rule 7: an adjustment of (product, serial, signed quantity) lines, posted at once.

    On a Refusal the caller rolls back, so no open adjustment stays behind.
    """
    doc = open_document(session, DocumentKind.adjustment, station=station, user=user, reason=reason)
    for product, serial, quantity in lines:
        add_line(session, doc, product=product, serial=serial, quantity=quantity)
    post(session, doc)
    return doc
