"""Serial numbers: create, edit, adjust, and their history (SPEC 3 rules 1, 7, 10)."""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, bindparam, or_, select
from sqlalchemy.orm import Session

from . import events, location_facts
from .catalogue import find_party, get_product
from .errors import Conflict, Invalid, NotFound, Refusal
from .models import (
    SERIAL_MAX,
    Customer,
    Document,
    DocumentLine,
    Product,
    ScanLog,
    SerialNumber,
    Supplier,
)
from .movement_facts import FACTS, M
from .posting import post_adjustment
from .rules import Lookups, check_serial_text, open_document_of
from .validation import could_be_key, require_text
from .vocabulary import DocumentKind, EventType, MovementKind


def find_serial(session: Session, text: str) -> SerialNumber | None:
    return session.scalar(select(SerialNumber).where(SerialNumber.serial == text))


def get_serial(session: Session, text: str) -> SerialNumber:
    found = find_serial(session, text) if could_be_key(text, SERIAL_MAX) else None
    return NotFound.unless(found, "unknown_serial", f"There is no serial {text}.")


class Keep(enum.Enum):
    """An edit's marker for "leave this field as it is" (None clears it)."""

    KEEP = "keep"


KEEP = Keep.KEEP
#: A product, customer or supplier code to set, None to clear, or KEEP.
Ref = str | None | Keep


def create_serial(session: Session, serial: str, *, product: str | None = None, customer: str | None = None,
                  supplier: str | None = None, pattern: re.Pattern[str] | None = None) -> SerialNumber:
    """Rule 1: only the serial text is needed; product, customer and supplier (codes) are optional."""
    text = check_serial_text(Lookups(session), serial, pattern)
    if find_serial(session, text) is not None:
        raise Conflict("duplicate", f"Serial {text} exists already.")
    record = SerialNumber(serial=text, in_stock=False)
    for key, value in _resolve_refs(session, product=product, customer=customer, supplier=supplier).items():
        setattr(record, key, value)
    session.add(record)
    session.flush()
    serial_changed(session, record)
    return record


def serial_changed(session: Session, record: SerialNumber) -> None:
    """The feed's ``serial.changed`` for a serial made or edited by hand (events.py), in the caller's transaction."""
    events.record(session, EventType.serial_changed, "serial", record.id)


def _resolve_refs(session: Session, **codes: Ref) -> dict[str, Any]:
    """The records named by the product/customer/supplier codes, all checked before any is set; KEEP left out."""
    refs: dict[str, Any] = {}
    for key in ("customer", "supplier"):
        code = codes.get(key, KEEP)
        if code is not KEEP:
            refs[key] = find_party(session, key, code)
    code = codes.get("product", KEEP)
    if code is not KEEP:
        refs["product"] = get_product(session, code) if code is not None else None
    return refs


def update_serial(session: Session, record: SerialNumber, *, product: Ref = KEEP, customer: Ref = KEEP,
                  supplier: Ref = KEEP, station: str | None = None, user: str | None = None) -> SerialNumber:
    """Change product, customer or supplier (KEEP leaves one as it is); in_stock is never set (rule 1)."""
    if customer not in (KEEP, None) and record.in_stock:
        raise Refusal("serial_in_stock",
                      f"Serial {record.serial} is in stock: a customer can be set only once it has left stock.")
    if customer is not KEEP and record.in_service:
        raise Refusal("serial_in_service", f"Serial {record.serial} is at the service desk: its customer can change "
                                           "once it is checked out.")
    if customer not in (KEEP, None) and record.faulty:
        raise Refusal("serial_faulty", f"Serial {record.serial} is faulty and ours (replaced at the service desk): "
                                       "it has no customer until it leaves.")
    other = open_document_of(session, record.serial)
    if other is not None and product is not KEEP:
        raise Refusal("serial_on_open_document",
                      f"Serial {record.serial} is on open document {other.reference}: finish or cancel that first.")
    old_product = record.product
    before = (record.product_id, record.customer_id, record.supplier_id)
    # Resolve every code first: a refusal must leave the record untouched.
    refs = _resolve_refs(session, product=product, customer=customer, supplier=supplier)
    for key in ("customer", "supplier"):
        if key in refs:
            setattr(record, key, refs[key])
    if "product" in refs:
        new_product = refs["product"]
        if record.in_stock and new_product is not old_product:
            _move_between_products(session, record, new_product, station=station, user=user)
        else:
            record.product = new_product
    session.flush()
    if (record.product_id, record.customer_id, record.supplier_id) != before:
        serial_changed(session, record)
    return record


def _move_between_products(session: Session, record: SerialNumber, new_product, *, station, user) -> None:
    """Rule 1: an in-stock serial changing product leaves one product's stock and enters the other's."""
    old = record.product
    reason = f"product changed from {old.code if old else '(none)'} to {new_product.code if new_product else '(none)'}"
    where = record.location_id  # the unit stays where it is: out of one product's stock and into the other's, there
    post_adjustment(session, reason, [(old, record.serial, -1)], station=station, user=user)
    record.product = new_product
    session.flush()
    post_adjustment(session, reason, [(new_product, record.serial, 1)], station=station, user=user,
                    location_id=where)


DIRECTIONS = {"in": 1, "out": -1}


def adjust_serial(session: Session, record: SerialNumber, direction: str, reason: str, *,
                  station: str | None = None, user: str | None = None) -> Document:
    """Rule 7: a serial into (``"in"``) or out of (``"out"``) stock, always with a reason."""
    if direction not in DIRECTIONS:
        raise Invalid("invalid_field", "direction must be \"in\" or \"out\".")
    reason = require_text(reason, "reason", max_len=500)
    return post_adjustment(session, reason, [(record.product, record.serial, DIRECTIONS[direction])],
                           station=station, user=user)


@dataclass(frozen=True)
class HistoryEntry:
    """One row of a serial's history: a movement (a row of movement_facts.FACTS: ``customer_code``,
    ``document_reference``...), or a refused scan of it (a row of ``refused_scans``: ``station``, ``code``...).
    Both are read in Core, so the history holds facts, never ORM objects that a later change could alter."""

    at: datetime
    kind: str
    movement: Row | None = None
    scan: Row | None = None


# The serial's JSON is read in Core, a statement a part, each by an index: an ERP or a screen asks for it often.
_SN, _P, _C, _S = SerialNumber.__table__, Product.__table__, Customer.__table__, Supplier.__table__
_D, _L, _LOG = Document.__table__, DocumentLine.__table__, ScanLog.__table__
_HERE = location_facts.Reading.named("here")  # where a serial is: that location's facts

#: The serial's record as SPEC 5's serial and its summaries read it (representation.serial_summary): its own
#: columns, the codes and names of its product, customer and supplier, and its location's facts (``location_`` + a
#: field of location_facts.LocationFacts), every join by primary key. A reader filters and orders it by its
#: ``selected_columns`` (searches.serials). The rules read a serial their own way, for the scan path: facts.py.
RECORD = (select(_SN.c.id, _SN.c.serial, _SN.c.product_id, _SN.c.customer_id, _SN.c.in_stock, _SN.c.in_service,
                 _SN.c.faulty, _SN.c.transfer_id, _SN.c.warranty_until,
                 _P.c.code.label("product_code"), _P.c.name.label("product_name"),
                 _C.c.code.label("customer_code"), _C.c.name.label("customer_name"),
                 _S.c.code.label("supplier_code"), _S.c.name.label("supplier_name"),
                 *_HERE.columns("location_"))
          .select_from(_HERE.joins(
              _SN.outerjoin(_P, _P.c.id == _SN.c.product_id).outerjoin(_C, _C.c.id == _SN.c.customer_id)
              .outerjoin(_S, _S.c.id == _SN.c.supplier_id)
              .outerjoin(_HERE.place, _HERE.place.c.id == _SN.c.location_id))))
_RECORD_BY_ID = RECORD.where(_SN.c.id == bindparam("serial_id"))
_RECORD_BY_SERIAL = RECORD.where(_SN.c.serial == bindparam("serial"))

_OPEN_REFERENCE = (select(_D.c.reference).select_from(_L).join(_D, _D.c.id == _L.c.document_id)
                   .where(_L.c.serial == bindparam("serial"), _L.c.is_open.is_(True)).limit(1))

_ON_OPEN_DOCUMENT = (select(_D.c.reference, _D.c.kind, _P.c.code.label("product_code"),
                            _P.c.name.label("product_name"))
                     .select_from(_L).join(_D, _D.c.id == _L.c.document_id).outerjoin(_P, _P.c.id == _L.c.product_id)
                     .where(_L.c.serial == bindparam("serial"), _L.c.is_open.is_(True)).limit(1))

# A serial's movements and its refused scans, oldest first: all of them (the page's one timeline, merged by time)
# or one page of each (the API's two lists).
_ALL_MOVEMENTS = FACTS.where(M.c.serial_id == bindparam("serial_id")).order_by(M.c.id)
_MOVEMENTS = _ALL_MOVEMENTS.offset(bindparam("skip")).limit(bindparam("count"))

_ALL_REFUSED = (select(_LOG.c.at, _LOG.c.station, _LOG.c.device, _LOG.c.code, _LOG.c.message, _LOG.c.user)
                .where(_LOG.c.serial_text == bindparam("serial"), _LOG.c.accepted.is_(False)).order_by(_LOG.c.id))
_REFUSED = _ALL_REFUSED.offset(bindparam("skip")).limit(bindparam("count"))


def record_by_id(session: Session, serial_id: int) -> Row | None:
    """The serial's record as a row of ``RECORD``, or None, on the session (what it changed flushed first): what
    its JSON is made of, so no JSON reads the ORM object a writer holds."""
    return session.execute(_RECORD_BY_ID, {"serial_id": serial_id}).one_or_none()


def find_record(session: Session, text: str) -> Row | None:
    """The record of the serial ``text`` as a row of ``RECORD``, or None: one indexed read."""
    if not could_be_key(text, SERIAL_MAX):
        return None
    return session.execute(_RECORD_BY_SERIAL, {"serial": text}).one_or_none()


def record(session: Session, text: str) -> Row:
    """The record of the serial ``text`` as a row of ``RECORD`` (NotFound ``unknown_serial`` when there is none)."""
    return NotFound.unless(find_record(session, text), "unknown_serial", f"There is no serial {text}.")


def open_reference(session: Session, text: str) -> str | None:
    """The reference of the open document the serial stands on (rule 8: at most one), or None."""
    return session.connection().execute(_OPEN_REFERENCE, {"serial": text}).scalar()


@dataclass(frozen=True)
class Pending:
    """A serial with no record yet, on an open document: a receipt's new unit, or a unit sold with a serial it was
    never received with. Posting the document makes its record; until then only the document knows it."""

    serial: str
    reference: str
    kind: DocumentKind  # the document's: a receipt, a sale
    product_code: str | None
    product_name: str | None


def pending(session: Session, text: str) -> Pending | None:
    """The open document line a serial with no record stands on (rule 8: at most one), or None."""
    if not could_be_key(text, SERIAL_MAX):
        return None
    row = session.connection().execute(_ON_OPEN_DOCUMENT, {"serial": text}).one_or_none()
    if row is None:
        return None
    return Pending(text, row.reference, DocumentKind(row.kind), row.product_code, row.product_name)


# The readers of a serial's movements and refused scans take its record (a row of ``RECORD``, from ``record`` or
# ``record_by_id``) and read its id and serial.
def movements(session: Session, record: Row, *, page: int = 1, per_page: int = 100) -> list[Any]:
    """Rule 10: the serial's movements, oldest first, one page of them (pages from 1), as rows of
    movement_facts.FACTS."""
    return list(session.connection().execute(_MOVEMENTS, {"serial_id": record.id, "skip": (max(page, 1) - 1) * per_page,
                                                         "count": per_page}))


def counterparts(session: Session, record: Row, moves) -> dict[int, str]:
    """For the serial's ``replaced`` and ``replacement`` movements (by id): the other serial of the swap.

    The check-out's replacement line holds both (its serial replaces ``replaces``): one read for all of them.
    """
    swaps = [m for m in moves if m.kind in (MovementKind.replaced, MovementKind.replacement)]
    if not swaps:
        return {}
    lines = session.execute(select(DocumentLine.document_id, DocumentLine.serial, DocumentLine.replaces).where(
        DocumentLine.document_id.in_({m.document_id for m in swaps}), DocumentLine.replaces.is_not(None),
        or_(DocumentLine.serial == record.serial, DocumentLine.replaces == record.serial))).all()
    out: dict[int, str] = {}
    for m in swaps:
        for document_id, serial, replaces in lines:
            if document_id != m.document_id:
                continue
            if m.kind == MovementKind.replaced and replaces == record.serial:
                out[m.id] = serial
            elif m.kind == MovementKind.replacement and serial == record.serial:
                out[m.id] = replaces
    return out


def refused_scans(session: Session, record: Row, *, page: int = 1, per_page: int = 100) -> list[Any]:
    """Rule 10: the refused scans of the serial, apart from its movements, oldest first, one page of them, as rows
    (``at``, ``station``, ``device``, ``code``, ``message``, ``user``)."""
    return list(session.connection().execute(_REFUSED, {"serial": record.serial, "skip": (max(page, 1) - 1) * per_page,
                                                       "count": per_page}))


def history(session: Session, record: Row, *, page: int = 1,
            per_page: int = 50) -> tuple[list[HistoryEntry], int]:
    """The serial page's one timeline: its movements and its refused scans together, oldest first, paged.

    Two statements (a serial has a handful of movements, each read with what it names by movement_facts.FACTS)
    on the session, so what it has not flushed yet is flushed first."""
    moves = session.execute(_ALL_MOVEMENTS, {"serial_id": record.id}).all()
    refused = session.execute(_ALL_REFUSED, {"serial": record.serial}).all()
    entries = [HistoryEntry(m.at, m.kind.value, movement=m) for m in moves]
    entries += [HistoryEntry(s.at, "refused_scan", scan=s) for s in refused]
    entries.sort(key=lambda e: _aware(e.at))
    total = len(entries)
    start = (max(page, 1) - 1) * per_page
    return entries[start:start + per_page], total


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
