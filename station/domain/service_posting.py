"""Posting a service check-in or check-out (SPEC 3b rules 11-13): its movements and serials, set-based.

posting.post locks the document and its serials (the faulty units and their
replacements alike: every one stands on a line of it) exactly as for any
document, then hands over here. ``check`` decides every line again on the
locked facts; ``write`` writes, each part one statement however many lines:

- check-in: ``service_in`` (quantity 0) per unit; it is ``in_service``.
- check-out: ``service_out`` (quantity 0) per unit going back as it is; for a
  unit with a replacement line, ``replaced`` (quantity 0: now ours, faulty,
  customer cleared, out of stock) and, for the replacement, ``replacement``
  (quantity -1, from its location: out of stock to the customer, with the warranty its product
  gives from today, or the faulty unit's end when that is later).

The movements are written before the serials change, from the serials as
they were; the replacements' warranty is read from the faulty units before
they are marked. Their INSERT is built once for each (a check-in, a
check-out) and run with bind parameters, as posting's statements are.
"""
from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Integer, bindparam, case, exists, func, literal, null, select, true, update
from sqlalchemy.orm import Session

from . import movement_writes
from .errors import Refusal
from .facts import DocumentHead, SerialFacts
from .models import Customer
from .rules import SERIAL_CHECKS, check_replacement, check_units, wrong_customer
from .sqldates import later_of, warranty_given
from .tables import D, L, M, P, S
from .vocabulary import DocumentKind, MovementKind

_L2 = L.alias("replacing_line")
_F = S.alias("faulty")


def check(session: Session, doc: DocumentHead, lines, facts: dict[str, SerialFacts], product) -> int | None:
    """Every line against the locked facts; the document's customer: its own, else its first unit's."""
    customer = doc.customer_id
    on_document = {line.serial for line in lines if line.replaces is None}
    replaced: set[str] = set()
    for line in lines:
        if line.serial is None:
            check_units(doc, product(line.product_id), line.quantity)  # refuses: the desk takes serials only
        unit = facts.get(line.serial) or SerialFacts(line.serial)
        if line.replaces is not None:
            if line.replaces not in on_document or line.replaces in replaced:
                raise Refusal("nothing_to_replace",
                              f"Serial {line.serial} replaces {line.replaces}, which is not a unit of its own on "
                              f"{doc.reference} (or has a replacement already).")
            replaced.add(line.replaces)
            check_replacement(unit, facts.get(line.replaces) or SerialFacts(line.replaces))
            continue
        SERIAL_CHECKS[doc.kind](unit, product(line.product_id), line.quantity)
        if customer is None:
            customer = unit.customer_id
        elif unit.customer_id != customer:
            name = session.scalar(select(Customer.name).where(Customer.id == customer))
            raise wrong_customer(unit, doc.reference, name)
    return customer


@functools.cache
def _movements(check_in: bool):
    """The movement of every line of a check-in or a check-out (movement_writes.bound_lines), built once: its
    customer ``p_customer``, the document again (``p_document_id``) where a check-out finds its faulty units."""
    replacing = L.c.replaces.is_not(None)
    is_faulty = (exists().where(_L2.c.document_id == bindparam("p_document_id", type_=Integer),
                                _L2.c.replaces == L.c.serial).correlate_except(_L2))
    kind = (literal(MovementKind.service_in.value) if check_in else
            case((replacing, MovementKind.replacement.value), (is_faulty, MovementKind.replaced.value),
                 else_=MovementKind.service_out.value))
    return movement_writes.bound_lines(
        kind=kind, quantity=case((replacing, -1), else_=0),
        customer_id=bindparam("p_customer", type_=M.c.customer_id.type),
        warranty_months=case((replacing, line_warranty_months()), else_=null()),
        from_location_id=case((replacing, S.c.location_id), else_=null()))  # a replacement leaves from where it was


def line_warranty_months():
    """The months of warranty a serial line's product gives (the serial's own product, else the line's)."""
    return (select(P.c.warranty_months).where(P.c.id == func.coalesce(S.c.product_id, L.c.product_id))
            .correlate_except(P).scalar_subquery())


def write(session: Session, doc: DocumentHead, customer_id: int | None, at: datetime) -> None:
    """The movements of every line, then the serials and the document's customer."""
    check_in = doc.kind == DocumentKind.service_check_in
    replacing = L.c.replaces.is_not(None)
    session.connection().execute(_movements(check_in), movement_writes.line_params(doc, at) | {
        "p_document_id": doc.id, "p_customer": customer_id})
    this = L.c.document_id == doc.id
    if not check_in:
        keeps = select(_F.c.warranty_until).where(_F.c.serial == L.c.replaces).correlate_except(_F).scalar_subquery()
        given = warranty_given(literal(at.date(), S.c.warranty_until.type), line_warranty_months())
        session.execute(update(S).where(S.c.serial == L.c.serial, this, replacing).values(
            in_stock=False, customer_id=customer_id, product_id=func.coalesce(S.c.product_id, L.c.product_id),
            location_id=None,
            warranty_until=later_of(given, keeps)))
    session.execute(update(S).where(S.c.serial == L.c.serial, this, L.c.replaces.is_(None))
                    .values(in_service=check_in))
    if not check_in:
        session.execute(update(S).where(S.c.serial == L.c.replaces, this)
                        .values(faulty=true(), customer_id=None, in_stock=False))
    if doc.customer_id is None and customer_id is not None:
        session.execute(update(D).where(D.c.id == doc.id).values(customer_id=customer_id))
