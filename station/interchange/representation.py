"""Records as the JSON of SPEC 5: one function per record, shared by the API, the scan answers and the pages."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from station.domain import location_facts, serials, tallies
from station.domain.documents import order_progress
from station.domain.facts import DocumentHead
from station.domain.models import Operator
from station.domain.movement_facts import FACTS, M
from station.domain.party_record import PartyRecord
from station.domain.product_record import ProductRecord
from station.domain.serials import HistoryEntry
from station.domain.tables import L, P
from station.domain.vocabulary import DocumentKind, MovementKind

from . import places


def timestamp(at: datetime | None) -> str | None:
    """UTC, second precision, with a Z: ``2026-11-26T10:15:02Z``."""
    if at is None:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def party(p: PartyRecord | None) -> dict[str, str] | None:
    """A supplier or a customer from its record (station.domain.party_record): ``{"code", "name"}``, or null."""
    return None if p is None else {"code": p.code, "name": p.name}


def product(r: ProductRecord) -> dict[str, Any]:
    """SPEC 5's product from its record (station.domain.product_record: ``by_code``, ``by_id``, a search's page)."""
    return {
        "code": r.code,
        "name": r.name,
        "serial_required_for_purchase": r.serial_required_for_purchase,
        "serial_required_for_sales": r.serial_required_for_sales,
        "warranty_months": r.warranty_months,
        "barcodes": list(r.barcodes),
        "on_hand": r.on_hand,
        "serials_in_stock": r.serials_in_stock,
    }


def operator(o: Operator) -> dict[str, Any]:
    """An operator as the API gives it: ``{"code", "name", "active"}``."""
    return {"code": o.code, "name": o.name, "active": o.active}


def adjustment_reason(kind: MovementKind, reason: str | None, quantity: int = 0, document: str | None = None,
                      document_kind: DocumentKind | None = None) -> str | None:
    """An adjustment's reason: its document's, or a count's, derived (SPEC 3c: not stored); no other kind has one."""
    if kind != MovementKind.adjustment:
        return None
    if document_kind == DocumentKind.count:
        return f"{'found' if quantity > 0 else 'not found'} in count {document}"
    return reason


def _movement(at: datetime, kind: MovementKind, quantity: int, document: str | None, order: str | None,
              station: str | None, by: dict[str, str] | None, user: str | None, reason: str | None,
              from_location: str | None = None, to_location: str | None = None,
              document_kind: DocumentKind | None = None) -> dict[str, Any]:
    """SPEC 5's movement: ``document`` is the document whose posting wrote it (the receipt), ``order`` the purchase
    order that document filled (an arrival's transfer), ``reason`` an adjustment's, ``from_location`` and
    ``to_location`` the codes of where the unit left and went (SPEC 3c)."""
    return {"at": timestamp(at), "kind": kind.value, "quantity": quantity, "document": document, "order": order,
            "station": station, "from_location": from_location, "to_location": to_location, "party": by,
            "user": user, "reason": adjustment_reason(kind, reason, quantity, document, document_kind)}


def _swap(out: dict[str, Any], kind: MovementKind, other: str | None) -> dict[str, Any]:
    """A serial's ``replaced`` movement names its ``replacement``, a ``replacement`` what it ``replaces``."""
    if kind == MovementKind.replaced:
        out["replacement"] = other
    elif kind == MovementKind.replacement:
        out["replaces"] = other
    return out


def _movement_facts(row) -> dict[str, Any]:
    """SPEC 5's movement from a row of station.domain.movement_facts.FACTS."""
    by = named(row.customer_code, row.customer_name) or named(row.supplier_code, row.supplier_name)
    return _movement(row.at, row.kind, row.quantity, row.document_reference, row.order_reference, row.station, by,
                     row.user, row.document_reason, row.from_location, row.to_location, row.document_kind)


def movement_row(row, other: str | None = None) -> dict[str, Any]:
    """A movement read as a row of station.domain.movement_facts (the API's serial, the serial page's timeline) as
    SPEC 5 gives it; ``other``: the serial it swapped with (``serials.counterparts``)."""
    return _swap(_movement_facts(row), row.kind, other)


_DOCUMENT_MOVEMENTS = FACTS.where(M.c.document_id == bindparam("document_id")).order_by(M.c.id)


def document_movements(session: Session, document_id: int, *, page: int | None = None,
                       per_page: int = 500) -> list[dict[str, Any]]:
    """The movements the document's posting wrote, oldest first, each as SPEC 5's movement with its product and serial:
    all of them, or one page (pages from 1)."""
    query = _DOCUMENT_MOVEMENTS
    if page is not None:
        query = query.offset((max(page, 1) - 1) * per_page).limit(per_page)
    # Who replaced whom on a check-out its lines say (``replaces``).
    return [{**_movement_facts(r), "product": named(r.product_code, r.product_name), "serial": r.serial}
            for r in session.execute(query, {"document_id": document_id})]


def refused_scan(s) -> dict[str, Any]:
    """A refused scan of a serial, a row of ``serials.refused_scans`` (or of a history entry's ``scan``)."""
    return {"at": timestamp(s.at), "station": s.station, "device": s.device, "code": s.code, "message": s.message,
            "user": s.user}


def history_entry(e: HistoryEntry, others: dict[int, str] | None = None) -> dict[str, Any]:
    """One row of the serial page's timeline: a movement, or a refused scan marked as one."""
    if e.movement is not None:
        return movement_row(e.movement, (others or {}).get(e.movement.id))
    return {**refused_scan(e.scan), "kind": "refused_scan", "quantity": 0, "document": None, "order": None,
            "party": None, "reason": None, "from_location": None, "to_location": None, "refused": True}


def status(r: Row) -> str:
    """SPEC 2's status, the first that holds: in_service, faulty, in_transit (3c), in_stock, with_customer,
    not_in_stock; ``r`` is the serial's record (a row of serials.RECORD).

    Read off the columns posting keeps (in_service, faulty, in_stock) and the customer, so it is never stored
    apart from them: a customer set by hand on a serial out of stock makes it ``with_customer`` at once.
    """
    if r.in_service:
        return "in_service"
    if r.faulty:
        return "faulty"
    if r.transfer_id is not None:
        return "in_transit"
    if r.in_stock:
        return "in_stock"
    return "with_customer" if r.customer_id is not None else "not_in_stock"


def day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def serial_summary(r: Row) -> dict[str, Any]:
    """The record as lists give it, from a row of serials.RECORD (searches.serials answers them)."""
    return {
        "serial": r.serial,
        "product": named(r.product_code, r.product_name),
        "customer": named(r.customer_code, r.customer_name),
        "supplier": named(r.supplier_code, r.supplier_name),
        "in_stock": bool(r.in_stock),
        "in_service": bool(r.in_service),
        "status": status(r),
        "warranty_until": day(r.warranty_until),
        "location": places.located(location_facts.of(r, "location_")),
    }


def serial(session: Session, r: Row, *, page: int = 1, per_page: int = 100) -> dict[str, Any]:
    """SPEC 5's serial: the record, then its movements and, apart, its refused scans (both paged alike); ``r`` is
    the serial's record, a row of serials.RECORD (``serials.record`` by its text, ``serials.record_by_id`` after a
    write).

    Three more Core reads by index (its open document, a page of movements, a page of refused scans), a fourth only
    for a serial with replacements: a serial's JSON is what an ERP and every screen ask for.
    """
    moves = serials.movements(session, r, page=page, per_page=per_page)
    others = serials.counterparts(session, r, moves)
    return {
        **serial_summary(r),
        "open_document": serials.open_reference(session, r.serial),
        "movements": [movement_row(m, others.get(m.id)) for m in moves],
        "refused_scans": [refused_scan(s) for s in serials.refused_scans(session, r, page=page, per_page=per_page)],
    }


RECENT_LINES = 50  # a scan's answer and the station's view carry the document's last lines only
LINES_PER_PAGE = 500


def _line(row, kind: DocumentKind | None = None) -> dict[str, Any]:
    out = {
        "line": row.line_no,
        "product": {"code": row.code, "name": row.name} if row.code is not None else None,
        "serial": row.serial,
        "quantity": row.quantity,
        "batch": row.batch,
        "expiry": row.expiry,
        "user": row.user,
        **places.line_places(row, kind),
    }
    if row.replaces is not None:
        out["replaces"] = row.replaces  # a check-out's replacement line: the faulty serial it replaces
    return out


_LINES = (select(L.c.line_no, L.c.serial, L.c.quantity, L.c.batch, L.c.expiry, L.c.user, P.c.code, P.c.name,
                 L.c.replaces, *places.LINE_COLUMNS)
          .select_from(places.line_joins(L.outerjoin(P, P.c.id == L.c.product_id)))
          .where(L.c.document_id == bindparam("document_id")))
_LAST_LINES = _LINES.order_by(L.c.line_no.desc()).limit(bindparam("count"))
_LINES_PAGE = _LINES.order_by(L.c.line_no).offset(bindparam("skip")).limit(bindparam("count"))


def last_lines(session: Session, document_id: int, count: int = RECENT_LINES,
               kind: DocumentKind | None = None) -> list[dict[str, Any]]:
    """The document's last ``count`` lines, oldest first: one indexed read whatever its size."""
    rows = session.connection().execute(_LAST_LINES, {"document_id": document_id, "count": count}).all()
    return [_line(r, kind) for r in reversed(rows)]


def lines_page(session: Session, document_id: int, page: int, per_page: int = LINES_PER_PAGE,
               kind: DocumentKind | None = None) -> list[dict[str, Any]]:
    rows = session.connection().execute(_LINES_PAGE, {"document_id": document_id, "skip": (max(page, 1) - 1) * per_page,
                                         "count": per_page})
    return [_line(r, kind) for r in rows]


def product_counts(counts: list[tallies.ProductCount], against_order: bool) -> list[dict[str, Any]]:
    return [{"product": {"code": c.code, "name": c.name}, "units": c.units,
             "expected": c.expected if against_order else None, "received": c.received if against_order else None}
            for c in counts]


def named(code: str | None, name: str | None) -> dict[str, str] | None:
    """A party or a product as a document or a serial names it: ``{"code", "name"}``, or null."""
    return {"code": code, "name": name} if code is not None else None


def _named_head(d) -> dict[str, Any]:
    """A document's head as SPEC 5 names it, first in its summary and in its whole JSON (a DocumentHead, or a
    record row of the same names)."""
    return {
        "reference": d.reference,
        "kind": d.kind.value,
        "status": d.status.value,
        "station": d.station,
        "party": named(d.party_code, d.party_name),
        "supplier": named(d.supplier_code, d.supplier_name),
        "customer": named(d.customer_code, d.customer_name),
        "order": d.order_reference,
    }


def document_summary(session: Session, d: DocumentHead, counts: list[tallies.ProductCount] | None = None,
                     line_rows: list | None = None) -> dict[str, Any]:
    """The document in a scan's answer and the station's view (SPEC 5): its line count, its products, its last lines
    (``line_rows``: those lines' rows, oldest first, already read with the counts)."""
    if counts is None:
        counts = tallies.summary(session, d.id, d.order_id)
    return {
        **_named_head(d),
        "line_count": d.line_count,
        "products": product_counts(counts, d.order_id is not None),
        "lines": (last_lines(session, d.id, kind=d.kind) if line_rows is None
                  else [_line(r, d.kind) for r in line_rows]),
    }


def document(session: Session, d: Row, *, page: int = 1, per_page: int = LINES_PER_PAGE,
             whole: bool = False) -> dict[str, Any]:
    """GET /api/documents/<ref>: the document, one page of its lines and of the movements its posting wrote (all
    of them, page by page); ``whole``: every line and every movement, without page keys (a document.posted
    event's document). ``d`` is the document's record, a row of station.domain.document_record.RECORD (its head,
    its party and order named); the rest is read beside it by its id."""
    lines = (lines_page(session, d.id, 1, max(d.line_count, 1), kind=d.kind) if whole
             else lines_page(session, d.id, page, per_page, kind=d.kind))
    order = d.kind == DocumentKind.purchase_order  # its products are its progress, read below
    out: dict[str, Any] = {
        **_named_head(d),
        "reason": d.reason,
        "created_at": timestamp(d.created_at),
        "posted_at": timestamp(d.posted_at),
        "line_count": d.line_count,
        "products": [] if order else product_counts(tallies.summary(session, d.id, d.order_id),
                                                    d.order_id is not None),
        "lines": lines,
        # What its posting wrote (none while open), paged like the lines.
        "movements": document_movements(session, d.id, page=None if whole else page, per_page=per_page),
    }
    if not whole:
        out.update(page=page, per_page=per_page)
    out.update(places.document_places(session, d))  # a transfer's units, a count's findings (SPEC 5)
    if order:
        out["progress"] = order_progress(session, d)
        received = {p["product"]: p["received"] for p in out["progress"]}
        out["products"] = [{"product": {"code": p["product"], "name": p["name"]}, "units": p["expected"],
                            "expected": p["expected"], "received": p["received"]} for p in out["progress"]]
        for line in out["lines"]:
            line["expected"] = line["quantity"]
            line["received"] = received.get(line["product"]["code"] if line["product"] else None, 0)
    return out
