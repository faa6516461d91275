"""Posting a move, a transfer or an arrival (SPEC 3c): units change place, not owner; set-based.

posting.post locks the document, its transfer (an arrival's ``order_id``) and its serials as for any
document, then hands over here (a count goes on to counting.py). Every line is decided again on what
was read under the locks (site_rules), then each part is one statement however many lines:

- move (``M-``): ``move`` (quantity 0) from the serial's location to the line's; unserialised units
  leave from the document's location first, then the site's others in code order, never from the
  destination itself.
- transfer (``T-``): ``transfer_out`` (quantity -1) from the serial's location: it is ours but at no
  site (``location_id`` NULL, ``transfer_id`` the transfer, not in stock: status ``in_transit``).
- arrival (``TI-``): ``transfer_in`` (quantity +1) to the line's location (the last ``LOC:``, else the
  transfer's destination); the serial is in stock there and on no transfer.

A transfer and an arrival carry serials only: "shipped" and "arrived" are said per serial (SPEC 5).
"""
from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Integer, bindparam, func, literal, null, select, update
from sqlalchemy.orm import Session

from . import counting, movement_writes, site_rules, whereabouts
from .errors import Refusal
from .facts import DocumentHead, SerialFacts, product_by_id
from .tables import D, L, S
from .vocabulary import POLICY, DocumentKind, MovementKind
from .wording import plural


def post(session: Session, doc: DocumentHead, lines, facts: dict[str, SerialFacts], here: int,
         at: datetime) -> dict[int, int]:
    """Check and write every line; answers each product's change of unserialised units in total (none here)."""
    if doc.kind == DocumentKind.count:
        return counting.post(session, doc, here, at)
    _check(session, doc, lines, facts, here)
    # POLICY's sign says which: 0 a move (from a place to a place), -1 a transfer out (to no place, on the
    # transfer), +1 an arrival (from no place, off the transfer, in stock again).
    policy = POLICY[doc.kind]
    placed = func.coalesce(L.c.location_id, literal(here))
    to = placed if policy.sign >= 0 else null()
    this = L.c.document_id == doc.id
    session.connection().execute(_movements(doc.kind), movement_writes.line_params(doc, at) | {"p_here": here})
    values = {"location_id": to}
    if policy.sign != 0:
        values |= {"transfer_id": null() if policy.sign > 0 else doc.id, "in_stock": policy.sign > 0}
    session.execute(update(S).where(S.c.serial == L.c.serial, this).values(**values))
    if policy.sign == 0:
        _move_units(session, doc, lines, here, at)
    return {}


@functools.cache
def _movements(kind: DocumentKind):
    """The kind's movement of each serial line (movement_writes.bound_lines), built once: from where the serial is,
    to where its line puts it (``p_here``: where a line without a location of its own does), as POLICY's sign says."""
    policy = POLICY[kind]
    placed = func.coalesce(L.c.location_id, bindparam("p_here", type_=Integer))
    source = S.c.location_id if policy.sign <= 0 else null()
    to = placed if policy.sign >= 0 else null()
    return movement_writes.bound_lines(kind=literal(policy.movement.value), quantity=literal(policy.sign),
                                       from_location_id=source, to_location_id=to)


def _check(session: Session, doc: DocumentHead, lines, facts: dict[str, SerialFacts], here: int) -> None:
    """Every line against what the locks read: the unit is where the kind needs it."""
    where = site_rules.read(session, doc.id)
    sites: dict[int, int] = {}
    transfer = None
    if doc.kind == DocumentKind.arrival:
        transfer = session.scalar(select(D.c.reference).where(D.c.id == doc.order_id))
    for line in lines:
        if line.serial is None:
            if doc.kind != DocumentKind.move:
                raise Refusal("serial_required", f"{doc.reference} carries units by their serial: "
                                                 "scan the serial of each unit.")
            continue
        unit = where.get(line.serial)
        if doc.kind == DocumentKind.arrival:
            if unit is None:
                raise Refusal("serial_not_on_transfer", f"Serial {line.serial} is not a unit of {transfer}: "
                                                        "put it aside and scan the next unit.")
            site_rules.refuse_not_on_transfer(unit, doc.order_id, transfer)
            continue
        if unit is not None:
            site_rules.refuse_in_transit(session, unit)
        if unit is None or not facts[line.serial].in_stock:
            raise Refusal("serial_not_in_stock", f"Serial {line.serial} is not in stock, so it cannot be "
                                                 "moved: scan a unit in stock.")
        destination = line.location_id if line.location_id is not None else here
        if doc.kind == DocumentKind.move:
            if destination not in sites:
                sites[destination] = whereabouts.site_of(session, destination)
            site_rules.refuse_other_site(session, unit, sites[destination])
            site_rules.refuse_already_there(session, unit, destination)


def _move_units(session: Session, doc: DocumentHead, lines, here: int, at: datetime) -> None:
    """A move's unserialised units: taken from the document's location first (never the destination), put there."""
    wants = [whereabouts.Want(line.line_no, line.product_id, line.quantity, here,
                              exclude=line.location_id if line.location_id is not None else here)
             for line in lines if line.serial is None]
    if not wants:
        return
    try:
        portions = whereabouts.take(session, wants)
    except whereabouts.Short as short:
        product = product_by_id(session, short.product_id)
        raise Refusal("out_of_stock", f"No unit of {product.name} without a serial is left at this site to move "
                                      f"(only {plural(short.available, 'unit')} here).") from None
    by_no = {line.line_no: line for line in lines}
    dest = {p.key: (by_no[p.key].location_id if by_no[p.key].location_id is not None else here) for p in portions}
    whereabouts.add(session, [(p.product_id, dest[p.key], p.quantity) for p in portions])
    # One movement per unit, as for a serial: a move's quantity is 0, so the count of them says how many moved.
    movement_writes.insert_rows(session, [
        movement_writes.row(doc, at, user=by_no[p.key].user, kind=MovementKind.move.value, product_id=p.product_id,
                            quantity=0, from_location_id=p.location_id, to_location_id=dest[p.key])
        for p in portions for _ in range(p.quantity)])
