"""The service desk's lines and what its screens read (SPEC 3b): units in, units back, replacements.

A check-in (``SI-``) holds the units one customer brought back; a check-out
(``SO-``) the units going back to one customer. A line's checks are the
rules' (rules.SERIAL_CHECKS, rules.check_replacement); here a document takes
its customer from its first unit when none was scanned, and a replacement is
added as a line of its own right after the faulty unit's line, naming it in
``replaces``: so rule 8's unique index holds the replacement too (two desks
can never hand one unit to two customers), and CMD:UNDO takes it away like
any line. Posting is service_posting.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, func, select, true, update
from sqlalchemy.orm import Session

from .documents import Line, add_line, expire, last_line, require_open
from .errors import Refusal
from .facts import DocumentHead, ProductFacts
from .models import Document, Product
from .rules import Lookups
from .tables import C, D, L, M, P, S
from .vocabulary import SERVICE_KINDS, DocumentKind, MovementKind
from .warranty import warranty_end

_M2 = M.alias("last_in")

_TAKE_CUSTOMER = (update(D).where(D.c.id == bindparam("document_id"), D.c.customer_id.is_(None))
                  .values(customer_id=bindparam("customer_id")))


def _require_service(doc: Document | DocumentHead, kind: DocumentKind | None = None) -> None:
    require_open(doc)
    if doc.kind not in SERVICE_KINDS or (kind is not None and doc.kind != kind):
        raise Refusal("wrong_mode", f"Document {doc.reference} is not a service "
                                    f"{'check-out' if kind is DocumentKind.service_check_out else 'document'}.")


def add_unit(session: Session, doc: Document | DocumentHead, *, serial: str,
             product: Product | ProductFacts | None = None, pattern: re.Pattern[str] | None = None,
             lookups: Lookups | None = None, location_id: int | None = None) -> Line:
    """A unit checked in (rule 11) or out (rule 12); a document with no customer yet takes this unit's."""
    _require_service(doc)
    lookups = lookups or Lookups(session)
    line = add_line(session, doc, product=product, serial=serial, pattern=pattern, lookups=lookups,
                    location_id=location_id)
    if doc.customer_id is None:
        session.execute(_TAKE_CUSTOMER, {"document_id": doc.id, "customer_id": lookups.serial(line.serial).customer_id})
        expire(session, doc, "customer", "customer_id")
    return line


def replaceable(session: Session, doc: Document | DocumentHead):
    """The check-out's last line when a replacement can be given for it (CMD:REPLACE), else ``nothing_to_replace``."""
    _require_service(doc, DocumentKind.service_check_out)
    last = last_line(session, doc)
    if last is None:
        raise Refusal("nothing_to_replace", "Nothing is checked out yet: scan the unit going back, "
                                            "then CMD:REPLACE and its replacement's serial.")
    if last.replaces is not None:
        raise Refusal("nothing_to_replace", f"Serial {last.replaces} has its replacement ({last.serial}) already: "
                                            "scan the next unit going back, or CMD:UNDO to take the replacement away.")
    return last


def add_replacement(session: Session, doc: Document | DocumentHead, *, serial: str,
                    pattern: re.Pattern[str] | None = None, lookups: Lookups | None = None, user: str | None = None,
                    location_id: int | None = None, site_id: int | None = None) -> Line:
    """Rule 13: ``serial`` replaces the check-out's last unit, on a line of its own right after that unit's."""
    faulty = replaceable(session, doc)
    return add_line(session, doc, serial=serial, pattern=pattern, lookups=lookups or Lookups(session),
                    replaces=faulty.serial, user=user, location_id=location_id, site_id=site_id)


@dataclass(frozen=True)
class Unit:
    """A service line as the desk's prompt words it: the unit, its customer, and its warranty's end."""

    serial: str
    product: str | None
    customer: str | None
    warranty_until: date | None  # for a replacement not yet posted: what it will be given
    replaces: str | None = None


_F = S.alias("faulty")
_DC = C.alias("document_customer")
_UNIT = (select(L.c.serial, L.c.replaces, P.c.name.label("product"), P.c.warranty_months, C.c.name.label("customer"),
                _DC.c.name.label("document_customer"), S.c.warranty_until, _F.c.warranty_until.label("keeps"))
         .select_from(L.join(D, D.c.id == L.c.document_id).join(S, S.c.serial == L.c.serial)
                      .outerjoin(P, P.c.id == S.c.product_id).outerjoin(C, C.c.id == S.c.customer_id)
                      .outerjoin(_DC, _DC.c.id == D.c.customer_id).outerjoin(_F, _F.c.serial == L.c.replaces))
         .where(L.c.document_id == bindparam("document_id")).order_by(L.c.line_no.desc()).limit(1))


def _end(row, today: date) -> date | None:
    """A line's warranty end: its serial's, or for a replacement not yet posted the one it will be given."""
    return row.warranty_until if row.replaces is None else warranty_end(today, row.warranty_months, row.keeps)


def last_unit(session: Session, document_id: int, today: date) -> Unit | None:
    """The document's last line as a Unit (one indexed read), or None when it has no line."""
    row = session.execute(_UNIT, {"document_id": document_id}).first()
    if row is None:
        return None
    customer = row.customer if row.replaces is None else row.document_customer  # a replacement goes to them
    return Unit(row.serial, row.product, customer, _end(row, today), row.replaces)


def line_warranties(session: Session, reference: str, serials: list[str], today: date) -> dict[str, date | None]:
    """Each of these lines' warranty end (a replacement's: what it will be given), for the desk's screen."""
    if not serials:
        return {}
    rows = session.execute(
        select(L.c.serial, L.c.replaces, S.c.warranty_until, P.c.warranty_months, _F.c.warranty_until.label("keeps"))
        .select_from(L.join(D, D.c.id == L.c.document_id).join(S, S.c.serial == L.c.serial)
                     .outerjoin(P, P.c.id == S.c.product_id).outerjoin(_F, _F.c.serial == L.c.replaces))
        .where(D.c.reference == reference, L.c.serial.in_(serials)))
    return {row.serial: _end(row, today) for row in rows}


@dataclass(frozen=True)
class Overdue:
    """A unit at the desk for longer than it should be."""

    serial: str
    product: str | None
    customer: str | None
    since: datetime  # its check-in's posting
    document: str


def overdue(session: Session, checked_in_before: datetime, limit: int = 100) -> tuple[list[Overdue], int]:
    """Serials in service since before ``checked_in_before``, longest first (at most ``limit``), and how many."""
    # From the few serials in service (a partial index), each one's last check-in by its movements' index.
    last_in = (select(func.max(_M2.c.id)).where(_M2.c.serial_id == S.c.id, _M2.c.kind == MovementKind.service_in.value)
               .correlate(S).scalar_subquery())
    base = (select(S.c.serial, P.c.name.label("product"), C.c.name.label("customer"), M.c.at, D.c.reference)
            .select_from(S.join(M, M.c.id == last_in).join(D, D.c.id == M.c.document_id)
                         .outerjoin(P, P.c.id == S.c.product_id).outerjoin(C, C.c.id == S.c.customer_id))
            .where(S.c.in_service == true(), M.c.at < checked_in_before))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(M.c.at, S.c.serial).limit(limit))
    return [Overdue(r.serial, r.product, r.customer, r.at, r.reference) for r in rows], total
