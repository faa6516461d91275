"""A document's record as SPEC 5's document reads it: the one read model of the document's head, one statement.

Theory of operation. A document's JSON (GET /api/documents/<ref>, the
document page, the feed's document.posted) starts from its head: its own
columns, its party's and its purchase order's codes and names. That is what
the scan path reads as a DocumentHead (facts.head_columns, every join by
primary key), and the record is that select with what a scan never shows:
the document's ``reason``, and its location's facts (a count's place, a
transfer's destination, read as location_facts reads any location). ``by_reference`` and ``by_id`` read
one as a row, searches.documents a page of them (the documents page); the
lines, the per-product counts, the movements and the places are read beside
it by the document's id (station.interchange.representation.document).

The writers (documents.py, posting) hold the ORM Document; what a caller
answers after a write is read again here by ``by_id``, on the session (so
what it changed is flushed first): no JSON reads an ORM object.
"""
from __future__ import annotations

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import Session

from . import location_facts
from .errors import NotFound
from .facts import head_columns, head_from
from .models import CODE_MAX
from .tables import D, L
from .validation import could_be_key

_PLACE = location_facts.Reading.named("document_place")  # a count's place, a transfer's destination

#: The document's head (facts.DocumentHead's columns, by the same joins), its reason, and its location's facts
#: (``place_`` + a field of location_facts.LocationFacts: where a count counts, where a transfer goes); a reader
#: filters and orders it by ``D``'s columns.
RECORD = (select(*head_columns(), D.c.reason, *_PLACE.columns("place_"))
          .select_from(_PLACE.joins(head_from(D).outerjoin(_PLACE.place, _PLACE.place.c.id == D.c.location_id))))
_BY_REFERENCE = RECORD.where(D.c.reference == bindparam("reference"))
_BY_ID = RECORD.where(D.c.id == bindparam("id"))

#: The receipts against a purchase order, oldest first, each with the units on its lines.
_RECEIPTS = (select(D.c.reference, D.c.status, D.c.station, D.c.posted_at,
                    func.coalesce(func.sum(L.c.quantity), 0).label("units"))
             .select_from(D.outerjoin(L, L.c.document_id == D.c.id))
             .where(D.c.order_id == bindparam("order_id"))
             .group_by(D.c.id, D.c.reference, D.c.status, D.c.station, D.c.posted_at).order_by(D.c.id))


def find(session: Session, reference: str) -> Row | None:
    """The document ``reference`` names, as a row of ``RECORD``, or None."""
    if not could_be_key(reference, CODE_MAX):
        return None
    return session.execute(_BY_REFERENCE, {"reference": reference}).one_or_none()


def by_reference(session: Session, reference: str) -> Row:
    """The document ``reference`` names (NotFound ``unknown_document`` when none does)."""
    return NotFound.unless(find(session, reference), "unknown_document", f"There is no document {reference}.")


def by_id(session: Session, document_id: int) -> Row | None:
    """The document with that id, or None; what the session changed is flushed first (a writer's answer)."""
    return session.execute(_BY_ID, {"id": document_id}).one_or_none()


def receipts(session: Session, order_id: int) -> list[Row]:
    """The receipts against a purchase order, oldest first: ``reference``, ``status``, ``station``, ``posted_at``
    and ``units`` (on its lines)."""
    return session.execute(_RECEIPTS, {"order_id": order_id}).all()
