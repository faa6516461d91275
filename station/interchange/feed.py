"""The events of the integration feed as JSON (SPEC 5 "Integration"): each with its subject as the API gives it.

An event row names its subject (station.domain.events, whose docstring says
why the JSON is rendered here, when the event is read, and not stored at
posting). ``document.posted`` carries the document as
``GET /api/documents/<ref>`` gives it, all its lines (not one page) and its
movements; ``serial.changed``, ``product.changed`` and ``party.changed``
carry the record under ``serial``, ``product`` or ``party`` (a party says
whether it is a ``supplier`` or a ``customer``). A subject that no longer
exists reads as null.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from station.domain.models import (
    Customer,
    Document,
    Movement,
    Product,
    SerialNumber,
    Supplier,
)

from . import representation

M = Movement.__table__
P = Product.__table__
S = SerialNumber.__table__
SUP = Supplier.__table__
CUS = Customer.__table__

#: The key each subject travels under in an event.
KEYS = {"document": "document", "serial": "serial", "product": "product", "supplier": "party", "customer": "party"}

_MOVEMENTS = (select(M.c.at, M.c.kind, M.c.quantity, M.c.station, M.c.user, P.c.code.label("p_code"),
                     P.c.name.label("p_name"), S.c.serial, SUP.c.code.label("s_code"), SUP.c.name.label("s_name"),
                     CUS.c.code.label("c_code"), CUS.c.name.label("c_name"))
              .select_from(M.outerjoin(P, P.c.id == M.c.product_id).outerjoin(S, S.c.id == M.c.serial_id)
                           .outerjoin(SUP, SUP.c.id == M.c.supplier_id).outerjoin(CUS, CUS.c.id == M.c.customer_id))
              .where(M.c.document_id == bindparam("document_id")).order_by(M.c.id))


def _named(code: str | None, name: str | None) -> dict[str, str] | None:
    return {"code": code, "name": name} if code is not None else None


def movements(session: Session, document_id: int) -> list[dict[str, Any]]:
    """A document's movements, oldest first, each with its product and serial (the serial's history omits them)."""
    return [{"at": representation.timestamp(r.at), "kind": getattr(r.kind, "value", r.kind), "quantity": r.quantity,
             "product": _named(r.p_code, r.p_name), "serial": r.serial, "station": r.station,
             "party": _named(r.c_code, r.c_name) or _named(r.s_code, r.s_name), "user": r.user}
            for r in session.execute(_MOVEMENTS, {"document_id": document_id})]


def document(session: Session, document_id: int) -> dict[str, Any] | None:
    """The posted document as GET /api/documents/<ref> gives it, with every line (no pages) and its movements."""
    d = session.get(Document, document_id)
    if d is None:
        return None
    out = representation.document(session, d, page=1, per_page=max(d.line_count, 1))
    del out["page"], out["per_page"]
    out["movements"] = movements(session, document_id)
    return out


def _subject(session: Session, subject: str, subject_id: int) -> dict[str, Any] | None:
    if subject == "document":
        return document(session, subject_id)
    if subject == "serial":
        record = session.get(SerialNumber, subject_id)
        return representation.serial(session, record) if record is not None else None
    if subject == "product":
        product = session.get(Product, subject_id)
        return representation.product(session, product) if product is not None else None
    party = session.get(Supplier if subject == "supplier" else Customer, subject_id)
    return {"kind": subject, **representation.party(party)} if party is not None else None


def event(session: Session, row) -> dict[str, Any]:
    """One event (a row of station.domain.events.after) as the feed and the webhooks give it."""
    return {"id": row.id, "type": row.type, "at": representation.timestamp(row.at),
            KEYS[row.subject]: _subject(session, row.subject, row.subject_id)}


def events(session: Session, rows: Iterable) -> list[dict[str, Any]]:
    return [event(session, row) for row in rows]


def body(payload: dict[str, Any]) -> bytes:
    """An event as the bytes of a webhook's POST (compact UTF-8 JSON, keys in SPEC 5's order)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
