"""Records as the JSON of SPEC 5: one function per record, shared by the API, the scan answers and the pages."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from station.domain.catalogue import on_hand, serials_in_stock
from station.domain.documents import order_progress
from station.domain.models import (
    Customer,
    Document,
    DocumentKind,
    DocumentLine,
    Movement,
    Product,
    SerialNumber,
    Supplier,
)
from station.domain.rules import open_document_of
from station.domain.serials import HistoryEntry, history


def timestamp(at: datetime | None) -> str | None:
    """UTC, second precision, with a Z: ``2026-11-26T10:15:02Z``."""
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def party(p: Supplier | Customer | None) -> dict[str, str] | None:
    return None if p is None else {"code": p.code, "name": p.name}


def product_ref(p: Product | None) -> dict[str, str] | None:
    return None if p is None else {"code": p.code, "name": p.name}


def product(session: Session, p: Product) -> dict[str, Any]:
    return {
        "code": p.code,
        "name": p.name,
        "serial_required_for_purchase": p.serial_required_for_purchase,
        "serial_required_for_sales": p.serial_required_for_sales,
        "barcodes": [b.barcode for b in p.barcodes],
        "on_hand": on_hand(session, p),
        "serials_in_stock": serials_in_stock(session, p),
    }


def movement_document(d: Document | None) -> str | None:
    """The reference a movement is known by: a receipt against a purchase order goes by the order's (SPEC 5's example)."""
    if d is None:
        return None
    if d.kind == DocumentKind.receipt and d.order is not None:
        return d.order.reference
    return d.reference


def movement(m: Movement) -> dict[str, Any]:
    return {
        "at": timestamp(m.at),
        "kind": m.kind.value,
        "quantity": m.quantity,
        "document": movement_document(m.document),
        "station": m.station,
        "party": party(m.customer or m.supplier),
        "user": m.user,
    }


def history_entry(e: HistoryEntry) -> dict[str, Any]:
    if e.movement is not None:
        return movement(e.movement)
    s = e.scan
    return {
        "at": timestamp(s.at), "kind": "refused_scan", "quantity": 0, "document": None,
        "station": s.station, "party": None, "user": None,
        "refused": True, "code": s.code, "message": s.message, "device": s.device,
    }


def serial(session: Session, r: SerialNumber, *, page: int = 1, per_page: int = 100) -> dict[str, Any]:
    entries, total = history(session, r, page=page, per_page=per_page)
    doc = open_document_of(session, r.serial)
    return {
        "serial": r.serial,
        "product": product_ref(r.product),
        "customer": party(r.customer),
        "supplier": party(r.supplier),
        "in_stock": bool(r.in_stock),
        "open_document": doc.reference if doc is not None else None,
        "movements": [history_entry(e) for e in entries],
        "movements_total": total,
        "page": page,
    }


def serial_summary(r: SerialNumber) -> dict[str, Any]:
    return {
        "serial": r.serial,
        "product": product_ref(r.product),
        "customer": party(r.customer),
        "supplier": party(r.supplier),
        "in_stock": bool(r.in_stock),
    }


def line(l: DocumentLine) -> dict[str, Any]:
    return {
        "line": l.line_no,
        "product": product_ref(l.product),
        "serial": l.serial,
        "quantity": l.quantity,
        "batch": l.batch,
        "expiry": l.expiry,
    }


def document(session: Session, d: Document) -> dict[str, Any]:
    out: dict[str, Any] = {
        "reference": d.reference,
        "kind": d.kind.value,
        "status": d.status.value,
        "station": d.station,
        "party": party(d.customer or d.supplier),
        "supplier": party(d.supplier),
        "customer": party(d.customer),
        "order": d.order.reference if d.order is not None else None,
        "reason": d.reason,
        "created_at": timestamp(d.created_at),
        "posted_at": timestamp(d.posted_at),
        "lines": [line(l) for l in d.lines],
    }
    if d.kind == DocumentKind.purchase_order:
        out["lines"] = [
            {**line(l), "expected": l.quantity} for l in d.lines
        ]
        out["progress"] = order_progress(session, d)
        received = {p["product"]: p["received"] for p in out["progress"]}
        for l in out["lines"]:
            code = l["product"]["code"] if l["product"] else None
            l["received"] = received.get(code, 0)
    return out
