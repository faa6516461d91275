"""Serial numbers: create, edit, adjust, and their history (SPEC 3 rules 1, 7, 10)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from .catalogue import find_party, get_product
from .errors import Conflict, Invalid, NotFound, Refusal
from .models import (
    SERIAL_MAX,
    Document,
    Movement,
    ScanLog,
    SerialNumber,
)
from .posting import post_adjustment
from .rules import check_serial_text, find_serial, open_document_of
from .validation import could_be_key, require_text

EDITABLE = ("product", "customer", "supplier")


def get_serial(session: Session, text: str) -> SerialNumber:
    record = find_serial(session, text) if could_be_key(text, SERIAL_MAX) else None
    if record is None:
        raise NotFound("unknown_serial", f"There is no serial {text}.")
    return record


def create_serial(session: Session, data: dict[str, Any], *, pattern: re.Pattern[str] | None = None) -> SerialNumber:
    """Rule 1: only the serial text is needed; product, customer and supplier are optional."""
    if not isinstance(data, dict):
        raise Invalid("invalid_json", "The body must be a JSON object.")
    if "in_stock" in data:
        raise Invalid("read_only", "in_stock is derived from the movements and cannot be set.")
    unknown = set(data) - {"serial", *EDITABLE}
    if unknown:
        raise Invalid("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    text = check_serial_text(session, data.get("serial"), pattern)
    if find_serial(session, text) is not None:
        raise Conflict("duplicate", f"Serial {text} exists already.")
    record = SerialNumber(serial=text, in_stock=False)
    _set_refs(session, record, data)
    session.add(record)
    session.flush()
    return record


def _resolve_refs(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """The records named by the product/customer/supplier codes in ``data``, all checked before any is set."""
    refs: dict[str, Any] = {}
    for key in ("customer", "supplier"):
        if key in data:
            code = data[key]
            if code is not None and not isinstance(code, str):
                raise Invalid("invalid_field", f"{key} must be a code or null.")
            refs[key] = find_party(session, key, code)
    if "product" in data:
        code = data["product"]
        if code is not None and not isinstance(code, str):
            raise Invalid("invalid_field", "product must be a code or null.")
        refs["product"] = get_product(session, code) if code is not None else None
    return refs


def _set_refs(session: Session, record: SerialNumber, data: dict[str, Any]) -> None:
    for key, value in _resolve_refs(session, data).items():
        setattr(record, key, value)


def update_serial(session: Session, record: SerialNumber, data: dict[str, Any], *,
                  station: str | None = None, user: str | None = None) -> SerialNumber:
    """Change product, customer or supplier; in_stock is read-only (SPEC 3 rule 1)."""
    if not isinstance(data, dict):
        raise Invalid("invalid_json", "The body must be a JSON object.")
    if "in_stock" in data:
        raise Invalid("read_only", "in_stock is derived from the movements and cannot be set.")
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise Invalid("unknown_field", f"Unknown or read-only field(s): {', '.join(sorted(unknown))}.")
    if "customer" in data and data["customer"] is not None and record.in_stock:
        raise Refusal("serial_in_stock", f"Serial {record.serial} is in stock: a customer can be set only once it has left stock.")
    other = open_document_of(session, record.serial)
    if other is not None and "product" in data:
        raise Refusal("serial_on_open_document",
                      f"Serial {record.serial} is on open document {other.reference}: finish or cancel that first.")
    old_product = record.product
    # Resolve every code first: a refusal must leave the record untouched.
    refs = _resolve_refs(session, data)
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
    return record


def _move_between_products(session: Session, record: SerialNumber, new_product, *, station, user) -> None:
    """Rule 1: an in-stock serial changing product leaves one product's stock and enters the other's."""
    old = record.product
    reason = f"product changed from {old.code if old else '(none)'} to {new_product.code if new_product else '(none)'}"
    post_adjustment(session, reason, [(old, record.serial, -1)], station=station, user=user)
    record.product = new_product
    session.flush()
    post_adjustment(session, reason, [(new_product, record.serial, 1)], station=station, user=user)


def adjust_serial(session: Session, record: SerialNumber, direction: Any, reason: Any, *,
                  station: str | None = None, user: str | None = None) -> Document:
    """Rule 7: a serial into or out of stock, always with a reason."""
    if direction not in ("in", "out"):
        raise Invalid("invalid_field", "direction must be \"in\" or \"out\".")
    reason = require_text(reason, "reason", max_len=500)
    quantity = 1 if direction == "in" else -1
    return post_adjustment(session, reason, [(record.product, record.serial, quantity)], station=station, user=user)


@dataclass(frozen=True)
class HistoryEntry:
    """One row of a serial's history: a movement, or a refused scan of it."""

    at: datetime
    kind: str
    movement: Movement | None = None
    scan: ScanLog | None = None


def history(session: Session, record: SerialNumber, *, page: int = 1, per_page: int = 50) -> tuple[list[HistoryEntry], int]:
    """Rule 10: every movement oldest first, plus the refused scans of the serial, paged."""
    movements = session.scalars(
        select(Movement).where(Movement.serial_id == record.id).order_by(Movement.id)
        # One statement: a serial has a handful of movements, so joins beat extra round trips.
        .options(joinedload(Movement.document).joinedload(Document.order), joinedload(Movement.supplier),
                 joinedload(Movement.customer))
    ).all()
    refused = session.scalars(
        select(ScanLog).where(ScanLog.serial_text == record.serial, ScanLog.accepted.is_(False)).order_by(ScanLog.id)
    ).all()
    entries = [HistoryEntry(m.at, m.kind.value, movement=m) for m in movements]
    entries += [HistoryEntry(s.at, "refused_scan", scan=s) for s in refused]
    entries.sort(key=lambda e: _aware(e.at))
    total = len(entries)
    start = (max(page, 1) - 1) * per_page
    return entries[start:start + per_page], total


def _aware(at: datetime) -> datetime:
    from datetime import timezone

    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)
