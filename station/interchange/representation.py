"""Records as the JSON of SPEC 5: one function per record, shared by the API, the scan answers and the pages."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from station.domain import serials, tallies
from station.domain.catalogue import on_hand, serials_in_stock
from station.domain.documents import order_progress
from station.domain.facts import DocumentHead
from station.domain.models import (
    Customer,
    Document,
    DocumentKind,
    DocumentLine,
    Movement,
    MovementKind,
    Operator,
    Product,
    ScanLog,
    SerialNumber,
    Supplier,
)
from station.domain.serials import HistoryEntry

L = DocumentLine.__table__
P = Product.__table__


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
        "warranty_months": p.warranty_months,
        "barcodes": [b.barcode for b in p.barcodes],
        "on_hand": on_hand(session, p),
        "serials_in_stock": serials_in_stock(session, p),
    }


def operator(o: Operator) -> dict[str, Any]:
    """An operator as the API gives it: ``{"code", "name", "active"}``."""
    return {"code": o.code, "name": o.name, "active": o.active}


def _known_by(kind: DocumentKind | None, reference: str | None, order_reference: str | None) -> str | None:
    """The reference a movement is known by: a receipt against a purchase order goes by the order's (SPEC 5's example)."""
    if kind == DocumentKind.receipt and order_reference is not None:
        return order_reference
    return reference


def movement_document(d: Document | None) -> str | None:
    if d is None:
        return None
    return _known_by(d.kind, d.reference, d.order.reference if d.order is not None else None)


def _movement(at: datetime, kind: MovementKind, quantity: int, document: str | None, station: str | None,
              by: dict[str, str] | None, user: str | None, other: str | None) -> dict[str, Any]:
    """SPEC 5's movement; a ``replaced`` one names its ``replacement``, a ``replacement`` what it ``replaces``."""
    out = {"at": timestamp(at), "kind": kind.value, "quantity": quantity, "document": document, "station": station,
           "party": by, "user": user}
    if kind == MovementKind.replaced:
        out["replacement"] = other
    elif kind == MovementKind.replacement:
        out["replaces"] = other
    return out


def movement(m: Movement, other: str | None = None) -> dict[str, Any]:
    """A movement record (the serial page's timeline) as SPEC 5 gives it."""
    return _movement(m.at, m.kind, m.quantity, movement_document(m.document), m.station,
                     party(m.customer or m.supplier), m.user, other)


def movement_row(row, other: str | None = None) -> dict[str, Any]:
    """A movement read as a row by ``serials.movements`` (the API's serial) as SPEC 5 gives it."""
    by = _named(row.customer_code, row.customer_name) or _named(row.supplier_code, row.supplier_name)
    return _movement(row.at, row.kind, row.quantity, _known_by(row.document_kind, row.document_reference,
                                                               row.order_reference), row.station, by, row.user, other)


def refused_scan(s: ScanLog) -> dict[str, Any]:
    return {"at": timestamp(s.at), "station": s.station, "device": s.device, "code": s.code, "message": s.message,
            "user": s.user}


def history_entry(e: HistoryEntry, others: dict[int, str] | None = None) -> dict[str, Any]:
    """One row of the serial page's timeline: a movement, or a refused scan marked as one."""
    if e.movement is not None:
        return movement(e.movement, (others or {}).get(e.movement.id))
    return {**refused_scan(e.scan), "kind": "refused_scan", "quantity": 0, "document": None, "party": None,
            "refused": True}


def status(r: SerialNumber) -> str:
    """SPEC 2's status, the first that holds: in_service, faulty, in_stock, with_customer, not_in_stock.

    Read off the columns posting keeps (in_service, faulty, in_stock) and the customer, so it is never stored
    apart from them: a customer set by hand on a serial out of stock makes it ``with_customer`` at once.
    """
    if r.in_service:
        return "in_service"
    if r.faulty:
        return "faulty"
    if r.in_stock:
        return "in_stock"
    return "with_customer" if r.customer_id is not None else "not_in_stock"


def day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def serial_summary(r: SerialNumber, refs=None) -> dict[str, Any]:
    """The record as lists give it; ``refs`` (``serials.references``) names its product and parties without the ORM."""
    if refs is None:
        product, customer, supplier = product_ref(r.product), party(r.customer), party(r.supplier)
    else:
        product = _named(refs.product_code, refs.product_name)
        customer, supplier = _named(refs.customer_code, refs.customer_name), _named(refs.supplier_code, refs.supplier_name)
    return {
        "serial": r.serial,
        "product": product,
        "customer": customer,
        "supplier": supplier,
        "in_stock": bool(r.in_stock),
        "in_service": bool(r.in_service),
        "status": status(r),
        "warranty_until": day(r.warranty_until),
    }


def serial(session: Session, r: SerialNumber, *, page: int = 1, per_page: int = 100) -> dict[str, Any]:
    """SPEC 5's serial: the record, then its movements and, apart, its refused scans (both paged alike).

    Four Core reads by index (its references, its open document, a page of movements, a page of refused scans),
    a fifth only for a serial with replacements: a serial's JSON is what an ERP and every screen ask for.
    """
    moves = serials.movements(session, r, page=page, per_page=per_page)
    others = serials.counterparts(session, r, moves)
    return {
        **serial_summary(r, serials.references(session, r)),
        "open_document": serials.open_reference(session, r.serial),
        "movements": [movement_row(m, others.get(m.id)) for m in moves],
        "refused_scans": [refused_scan(s) for s in serials.refused_scans(session, r, page=page, per_page=per_page)],
    }


RECENT_LINES = 50  # a scan's answer and the station's view carry the document's last lines only
LINES_PER_PAGE = 500


def _line(row) -> dict[str, Any]:
    out = {
        "line": row.line_no,
        "product": {"code": row.code, "name": row.name} if row.code is not None else None,
        "serial": row.serial,
        "quantity": row.quantity,
        "batch": row.batch,
        "expiry": row.expiry,
        "user": row.user,
    }
    if row.replaces is not None:
        out["replaces"] = row.replaces  # a check-out's replacement line: the faulty serial it replaces
    return out


_LINES = (select(L.c.line_no, L.c.serial, L.c.quantity, L.c.batch, L.c.expiry, L.c.user, P.c.code, P.c.name,
                 L.c.replaces)
          .select_from(L).outerjoin(P, P.c.id == L.c.product_id).where(L.c.document_id == bindparam("document_id")))
_LAST_LINES = _LINES.order_by(L.c.line_no.desc()).limit(bindparam("count"))
_LINES_PAGE = _LINES.order_by(L.c.line_no).offset(bindparam("skip")).limit(bindparam("count"))


def last_lines(session: Session, document_id: int, count: int = RECENT_LINES) -> list[dict[str, Any]]:
    """The document's last ``count`` lines, oldest first: one indexed read whatever its size."""
    rows = session.connection().execute(_LAST_LINES, {"document_id": document_id, "count": count}).all()
    return [_line(r) for r in reversed(rows)]


def lines_page(session: Session, document_id: int, page: int, per_page: int = LINES_PER_PAGE) -> list[dict[str, Any]]:
    rows = session.connection().execute(_LINES_PAGE, {"document_id": document_id, "skip": (max(page, 1) - 1) * per_page,
                                         "count": per_page})
    return [_line(r) for r in rows]


def product_counts(counts: list[tallies.ProductCount], against_order: bool) -> list[dict[str, Any]]:
    return [{"product": {"code": c.code, "name": c.name}, "units": c.units,
             "expected": c.expected if against_order else None, "received": c.received if against_order else None}
            for c in counts]


def _named(code: str | None, name: str | None) -> dict[str, str] | None:
    return {"code": code, "name": name} if code is not None else None


def document_summary(session: Session, d: DocumentHead, counts: list[tallies.ProductCount] | None = None) -> dict[str, Any]:
    """The document in a scan's answer and the station's view (SPEC 5): its line count, its products, its last lines."""
    if counts is None:
        counts = tallies.summary(session, d.id, d.order_id)
    return {
        "reference": d.reference,
        "kind": d.kind.value,
        "status": d.status.value,
        "station": d.station,
        "party": _named(d.party_code, d.party_name),
        "supplier": _named(d.supplier_code, d.supplier_name),
        "customer": _named(d.customer_code, d.customer_name),
        "order": d.order_reference,
        "line_count": d.line_count,
        "products": product_counts(counts, d.order_id is not None),
        "lines": last_lines(session, d.id),
    }


def document(session: Session, d: Document, *, page: int = 1, per_page: int = LINES_PER_PAGE) -> dict[str, Any]:
    """GET /api/documents/<ref>: the document and one page of its lines (all of them, page by page)."""
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
        "line_count": d.line_count,
        "products": product_counts(tallies.summary(session, d.id, d.order_id), d.order_id is not None),
        "lines": lines_page(session, d.id, page, per_page),
        "page": page,
        "per_page": per_page,
    }
    if d.kind == DocumentKind.purchase_order:
        out["progress"] = order_progress(session, d)
        received = {p["product"]: p["received"] for p in out["progress"]}
        out["products"] = [{"product": {"code": p["product"], "name": p["name"]}, "units": p["expected"],
                            "expected": p["expected"], "received": p["received"]} for p in out["progress"]]
        for l in out["lines"]:
            l["expected"] = l["quantity"]
            l["received"] = received.get(l["product"]["code"] if l["product"] else None, 0)
    return out
