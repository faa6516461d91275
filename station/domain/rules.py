"""SPEC 3's rules for one line of a receipt, sale or return.

Each check reads the database and raises a Refusal with a stable code, or
returns what the line resolves to. The same checks run when a line is added
(so the operator hears at once) and again under row locks when the document
is posted (so two stations cannot both win).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .catalogue import product_by_barcode
from .errors import Invalid, Refusal
from .models import (
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Movement,
    Product,
    SerialNumber,
)
from .validation import serial_text
from .vocabulary import POLICY

T = TypeVar("T")
_MEMO = "station.lookup_memo"  # session.info key: see remembering()


@dataclass(frozen=True)
class Resolved:
    """What a line stands for once checked: its product, the serial text and record."""

    product: Product | None
    serial: str | None
    record: SerialNumber | None
    # Sale of a serial never in stock: it first takes one unserialised unit.
    takes_unserialised: bool = False


@contextmanager
def remembering(session: Session) -> Iterator[None]:
    """Within it, a serial or a barcode is looked up once, however often it is asked for.

    One scan asks twice: the reader (a product barcode? a known serial?), then
    these rules (is the serial a product barcode? its record?). Meant for one
    scan's decision, which creates no serial or barcode before asking again;
    a locked look-up always goes to the database.
    """
    session.info[_MEMO] = {}
    try:
        yield
    finally:
        session.info.pop(_MEMO, None)


def _remembered(session: Session, key: tuple[str, str], look_up: Callable[[], T]) -> T:
    memo = session.info.get(_MEMO)
    if memo is None:
        return look_up()
    if key not in memo:
        memo[key] = look_up()
    return memo[key]


def barcode_product(session: Session, text: str) -> Product | None:
    """The product a scanned text is a barcode of, if any (remembered, see ``remembering``)."""
    return _remembered(session, ("barcode", text), lambda: product_by_barcode(session, text))


def check_serial_text(session: Session, raw: str, pattern: re.Pattern[str] | None) -> str:
    """Rule: a serial must be scannable as a serial (SPEC 2), else ``invalid_serial``."""
    text = serial_text(raw, document_pattern=pattern)
    if barcode_product(session, text) is not None:
        raise Invalid("invalid_serial", f"{text} is a product barcode, so it cannot be a serial.")
    return text


def find_serial(session: Session, text: str, *, lock: bool = False, fresh: bool = False) -> SerialNumber | None:
    """The serial's record; ``lock`` takes its row lock, ``fresh`` reads it as committed now (never remembered)."""
    query = select(SerialNumber).where(SerialNumber.serial == text)
    if lock:
        # What is checked under the lock must be the row as locked, not a copy loaded earlier.
        return session.scalar(query.with_for_update().execution_options(populate_existing=True))
    if fresh:
        return session.scalar(query.execution_options(populate_existing=True))
    return _remembered(session, ("serial", text), lambda: session.scalar(query))


def _state(record: SerialNumber | None) -> tuple | None:
    """What the rules decide a serial line on: whether it exists, is in stock, has a customer, its product."""
    return None if record is None else (record.id, record.in_stock, record.customer_id, record.product_id)


def recheck_serial(session: Session, doc: Document, line: DocumentLine, resolved: Resolved) -> None:
    """After a serial's line is written, decide again on the serial as committed now, if it changed meanwhile.

    A posting that took the serial (received it, sold it) closed its own line in
    the same transaction, so once the unique index of rule 8 let this line in,
    that posting has committed and this read sees it: the loser of the race is
    refused here, at its scan, with the right code, and never at its posting.
    """
    before = _state(resolved.record)
    record = find_serial(session, line.serial, fresh=True)
    if _state(record) != before:
        check_line(session, doc, product=resolved.product, serial=line.serial, quantity=line.quantity,
                   line=line, record=record)


def open_document_of(session: Session, text: str, *, besides: Document | None = None) -> Document | None:
    """The open document a serial stands on, other than ``besides``."""
    query = select(Document).join(DocumentLine).where(DocumentLine.serial == text, DocumentLine.is_open.is_(True))
    if besides is not None and besides.id is not None:
        query = query.where(Document.id != besides.id)
    return session.scalar(query.limit(1))


def refuse_if_on_open_document(session: Session, text: str, doc: Document) -> None:
    other = open_document_of(session, text, besides=doc)
    if other is not None:
        where = f" at station {other.station}" if other.station else ""
        raise Refusal(
            "serial_on_open_document",
            f"Serial {text} is on open document {other.reference}{where}: finish or cancel that first.",
        )


def was_ever_moved(session: Session, record: SerialNumber | None) -> bool:
    if record is None or record.id is None:
        return False
    return session.scalar(select(Movement.id).where(Movement.serial_id == record.id).limit(1)) is not None


def free_unserialised(session: Session, doc: Document, product: Product, *, besides: DocumentLine | None = None) -> int:
    """Unserialised units of a product still free to take on this document: on hand less what it takes already."""
    return product.unserialised_on_hand - pending_unserialised(session, doc, product, besides=besides)


def pending_unserialised(session: Session, doc: Document, product: Product, *, besides: DocumentLine | None = None) -> int:
    """Unserialised units of a product this open document already takes (not yet posted).

    While posting (``besides`` is the line being posted) the earlier lines have
    already taken their units from ``unserialised_on_hand``, so nothing is pending.
    """
    if besides is not None:
        return 0
    lines = [
        line for line in doc.lines
        if line.product_id == product.id
        and (line.serial is None or _takes_unit(session, line))
    ]
    if doc.kind == DocumentKind.adjustment:
        # Adjustment lines are signed: only the "down" lines take units.
        return sum(-line.quantity for line in lines if line.serial is None and line.quantity < 0)
    return sum(line.quantity for line in lines)


def _takes_unit(session: Session, line: DocumentLine) -> bool:
    record = find_serial(session, line.serial)
    return record is None or (not record.in_stock and not was_ever_moved(session, record))


def expected_on_order(session: Session, order: Document, product: Product) -> int:
    return session.scalar(
        select(func.coalesce(func.sum(DocumentLine.quantity), 0)).where(
            DocumentLine.document_id == order.id, DocumentLine.product_id == product.id
        )
    )


def received_on_order(session: Session, order: Document, product: Product) -> int:
    """Units of a product posted by receipts against this order."""
    return session.scalar(
        select(func.coalesce(func.sum(DocumentLine.quantity), 0))
        .join(Document, Document.id == DocumentLine.document_id)
        .where(
            Document.order_id == order.id,
            Document.status == DocumentStatus.posted,
            DocumentLine.product_id == product.id,
        )
    )


def check_order_quantity(session: Session, doc: Document, product: Product, quantity: int,
                         *, besides: DocumentLine | None = None) -> None:
    order = doc.order
    if order is None:
        return
    expected = expected_on_order(session, order, product)
    if expected == 0:
        raise Refusal("quantity_exceeds_order", f"{product.name} is not on purchase order {order.reference}: "
                                                "scan a product on the order, or receive this one on a receipt of its own (SUP:...).")
    here = sum(l.quantity for l in doc.lines if l.product_id == product.id and l is not besides)
    received = received_on_order(session, order, product)
    if received + here + quantity > expected:
        raise Refusal(
            "quantity_exceeds_order",
            f"Purchase order {order.reference} expects {expected} of {product.name}; "
            f"{received + here} are received already. Scan another product or finish.",
        )


def _product_for(record: SerialNumber | None, product: Product | None, text: str) -> Product:
    if record is not None and record.product is not None:
        if product is not None and record.product_id != product.id:
            raise Refusal(
                "serial_wrong_product",
                f"Serial {text} belongs to {record.product.name}, not {product.name}: scan the right product.",
            )
        return record.product
    if product is None:
        raise Refusal("product_required", f"Serial {text} has no product yet: scan the product first, then the serial.")
    return product


_LOOK_UP = object()


def check_line(session: Session, doc: Document, *, product: Product | None, serial: str | None,
               quantity: int = 1, pattern: re.Pattern[str] | None = None,
               line: DocumentLine | None = None, lock: bool = False,
               record: SerialNumber | None | object = _LOOK_UP) -> Resolved:
    """Check one line of ``doc`` against SPEC 3; ``line`` is the line itself when re-checking on post.

    ``record``: the serial's record when the caller has it already (posting locks
    all of a document's serials in one statement), else it is looked up here.
    """
    if serial is not None:
        serial = check_serial_text(session, serial, pattern) if line is None else serial
        if line is None:
            # Re-checking a line on post needs no such query: its own open line holds the
            # serial, and the unique index (rule 8) lets no other open line hold it too.
            refuse_if_on_open_document(session, serial, doc)
        if line is None and any(l.serial == serial for l in doc.lines):
            raise Refusal("serial_on_open_document", f"Serial {serial} is on this document already: scan the next one.")
    if serial is None:
        return _unserialised(session, doc, product, quantity, line)
    if record is _LOOK_UP:
        record = find_serial(session, serial, lock=lock)
    return _SERIAL_CHECKS[doc.kind](session, doc, product, serial, record, quantity, line)


@dataclass(frozen=True)
class _Words:
    """How one document kind's unserialised-line refusals are worded."""

    product_first: str
    serial_needed: str = ""
    out_of_stock: str = ""


_WORDS = {
    DocumentKind.receipt: _Words(
        "Scan a product first.", "{name} needs a serial for each unit: scan the serial."),
    DocumentKind.sale: _Words(
        "Scan a product or a serial.", "{name} is sold by serial: scan the serial of this unit.",
        "No unit of {name} without a serial is left in stock: scan the unit's serial, or receive stock."),
    DocumentKind.customer_return: _Words(
        "Scan the serial of the unit coming back.",
        "{name} was sold by serial: scan the serial of the unit coming back."),
    DocumentKind.supplier_return: _Words(
        "Scan the serial of the unit going back.",
        "{name} is tracked by serial: scan the serial of the unit going back.",
        "No unit of {name} without a serial is in stock to send back."),
    DocumentKind.adjustment: _Words(
        "An adjustment needs a product or a serial.", "",
        "Only {on_hand} unit(s) of {name} without a serial are in stock."),
}


def _unserialised(session, doc, product, quantity, line) -> Resolved:
    """A line of units without a serial, on any kind of document: the one skeleton they share."""
    policy, words = POLICY[doc.kind], _WORDS[doc.kind]
    if product is None:
        raise Refusal("product_required", words.product_first)
    if policy.needs_serial(product):
        raise Refusal("serial_required", words.serial_needed.format(name=product.name))
    if doc.kind == DocumentKind.receipt:
        check_order_quantity(session, doc, product, quantity, besides=line)
    taken = policy.takes_units(quantity)
    if taken and free_unserialised(session, doc, product, besides=line) < taken:
        raise Refusal("out_of_stock", words.out_of_stock.format(name=product.name, on_hand=product.unserialised_on_hand))
    return Resolved(product, None, None)


def _receipt(session, doc, product, serial, record, quantity, line) -> Resolved:
    if record is not None and record.in_stock:
        raise Refusal("serial_in_stock", f"Serial {serial} is in stock already: it cannot be received twice. "
                                         "Check the label and scan this unit's own serial.")
    product = _product_for(record, product, serial)
    check_order_quantity(session, doc, product, 1, besides=line)
    return Resolved(product, serial, record)


def _sale(session, doc, product, serial, record, quantity, line) -> Resolved:
    product = _product_for(record, product, serial)
    if record is not None and record.customer_id is not None:
        raise Refusal(
            "serial_has_customer",
            f"Serial {serial} was sold to {record.customer.name}: take it back as a return before selling it again.",
        )
    if record is not None and record.in_stock:
        return Resolved(product, serial, record)
    if was_ever_moved(session, record):
        raise Refusal(
            "serial_not_in_stock",
            f"Serial {serial} is not in stock (it left stock earlier): receive it, or adjust it into stock, then sell it.",
        )
    if free_unserialised(session, doc, product, besides=line) < 1:
        raise Refusal(
            "serial_not_in_stock",
            f"Serial {serial} is not in stock and no unit of {product.name} without a serial is left to take: "
            "receive it, or adjust it into stock, then sell it.",
        )
    return Resolved(product, serial, record, takes_unserialised=True)


def _customer_return(session, doc, product, serial, record, quantity, line) -> Resolved:
    if record is None or record.customer_id is None:
        raise Refusal("serial_no_customer", f"Serial {serial} was not sold to anyone, so it cannot come back as a return: "
                                            "scan a sold serial, or SUP:... first to send it back to the supplier.")
    product = _product_for(record, product, serial)
    return Resolved(product, serial, record)


def _supplier_return(session, doc, product, serial, record, quantity, line) -> Resolved:
    if record is None or not record.in_stock:
        raise Refusal("serial_not_in_stock", f"Serial {serial} is not in stock, so it cannot go back to the supplier: "
                                             "receive it or adjust it into stock first, or scan another serial.")
    product = _product_for(record, product, serial)
    return Resolved(product, serial, record)


def _adjustment(session, doc, product, serial, record, quantity, line) -> Resolved:
    if quantity > 0 and record is not None and record.in_stock:
        raise Refusal("serial_in_stock", f"Serial {serial} is in stock already.")
    if quantity < 0 and (record is None or not record.in_stock):
        raise Refusal("serial_not_in_stock", f"Serial {serial} is not in stock, so it cannot be adjusted out.")
    return Resolved(product or (record.product if record else None), serial, record)


#: What each kind of document checks of a serial on one of its lines (the unserialised checks are shared).
_SERIAL_CHECKS = {
    DocumentKind.receipt: _receipt,
    DocumentKind.sale: _sale,
    DocumentKind.customer_return: _customer_return,
    DocumentKind.supplier_return: _supplier_return,
    DocumentKind.adjustment: _adjustment,
}
