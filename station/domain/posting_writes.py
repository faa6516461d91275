"""Posting's writes: a document's movements, its serials' records, places and stock, its unserialised units.

posting.post decides, under its locks, that every line may go; the writers
here then write it, each part one set-based statement however many lines
the document has: the records of serials first seen (``new_records``), each
product's unserialised count (``apply_units``), the stock levels and the
places of taken units (``place_units``), the movements from the lines, a
rule-4 adjustment pair first, and the serials' stock, location and party
after them (``write_movements``), as POLICY says of the document's kind.

Each statement is built once (per kind, per database: functools caches and
module constants) and run with bind parameters. Built per posting with the
values as literals, a small posting's statements cost more Python to build
(and to make SQLAlchemy's cache key of) than to run (issue 22: a small
receipt's or sale's CMD:FINISH took ~4.2 ms of CPU on SQLite and ~5.3 ms on
PostgreSQL so, ~2.8 and ~3.5 built once). On PostgreSQL the movements and
the serials' UPDATE go in one round trip (direct.both).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, and_, bindparam, case, func, literal, null, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import direct, movement_writes, service_posting, whereabouts
from .facts import DocumentHead, product_by_id
from .rules import out_of_stock
from .sqldates import warranty_given
from .tables import L, P, S
from .vocabulary import POLICY, DocumentKind, KindPolicy, MovementKind, PartyKind

# The bind parameters of these statements, prefixed: an UPDATE's columns are SQLAlchemy's own names for its SET.
_DOC = bindparam("p_document_id", type_=Integer)
_HERE = bindparam("p_here", type_=Integer)  # where a line without a location of its own puts or takes units
_PLACED = func.coalesce(L.c.location_id, _HERE)


@functools.cache
def new_records(dialect_name: str, comes_in: bool):
    """The INSERT of posting's ``_bring_in``: a record for each serial line's serial that has none, in stock where
    its line puts it when it ``comes_in``; its parameters the document, where its lines go (``p_here``), when
    (``p_made``) and the supplier."""
    placed = _PLACED if comes_in else literal(None, S.c.location_id.type)
    # in_service and faulty given (their defaults, False) rather than left to SQLAlchemy's Python-side defaults: the
    # statement then needs nothing from SQLAlchemy's execution and is sent below it (station.domain.direct).
    source = (select(L.c.serial, L.c.product_id, literal(comes_in), bindparam("p_made", type_=S.c.created_at.type),
                     bindparam("p_supplier", type_=S.c.supplier_id.type), placed, literal(False), literal(False))
              .where(L.c.document_id == _DOC, L.c.serial.is_not(None)))
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    columns = ["serial", "product_id", "in_stock", "created_at", "supplier_id", "location_id", "in_service", "faulty"]
    return (dialect.insert(S).from_select(columns, source)
            .on_conflict_do_nothing(index_elements=[S.c.serial]).returning(S.c.serial))


def made_as_left(policy: KindPolicy) -> bool:
    """True when ``new_records`` makes a new serial's record as the posting leaves it, and ``_update_serials`` would
    write nothing to it: a kind that brings units into stock and gives no warranty (a receipt). When every serial
    line's record is one of those (none had one before), that UPDATE, a join of every line to its record that
    changes no row, is left out."""
    return policy.sign > 0 and not policy.serial.warranty


def apply_units(session: Session, doc: DocumentHead, deltas: dict[int, int], takes: list[str]) -> None:
    """Each product's unserialised count moved by its delta, never below zero, in product id order."""
    for product_id in sorted(deltas):
        delta = deltas[product_id]
        if delta == 0:
            continue
        params = {"p_product_id": product_id, "p_delta": delta}
        if delta < 0:
            params["p_least"] = -delta
        moved = session.connection().execute(_UNITS_OUT if delta < 0 else _UNITS_IN, params)
        if moved.rowcount != 1:
            product = product_by_id(session, product_id)
            raise out_of_stock(doc, product, product.unserialised_on_hand, takes[0] if takes else None)


_UNITS_IN = (update(P).where(P.c.id == bindparam("p_product_id", type_=Integer))
             .values(unserialised_on_hand=P.c.unserialised_on_hand + bindparam("p_delta", type_=Integer)))
_UNITS_OUT = _UNITS_IN.where(P.c.unserialised_on_hand >= bindparam("p_least", type_=Integer))


@dataclass(frozen=True)
class _Units:
    """Where one line's unserialised units went (``to``) or came from (``source``), and how many (signed)."""

    line_no: int
    product_id: int
    user: str | None
    source: int | None
    to: int | None
    quantity: int


def place_units(session: Session, doc: DocumentHead, lines, here: int, takes: list[str]) -> list[_Units]:
    """Stock levels of unserialised units: in at the line's location; out from it first, then the site's others
    in code order. A rule-4 serial is placed where its unit was taken (its adjustment pair and sale leave there)."""
    policy, taking = POLICY[doc.kind], set(takes)
    wants, placed, by_no = [], [], {}
    for line in lines:
        where = line.location_id if line.location_id is not None else here
        if line.serial is None:
            by_no[line.line_no] = line
            signed = line.quantity if policy.sign == 0 else policy.sign * line.quantity
            if signed > 0:
                placed.append(_Units(line.line_no, line.product_id, line.user, None, where, signed))
            else:
                wants.append(whereabouts.Want(line.line_no, line.product_id, -signed, where))
        elif line.serial in taking:
            wants.append(whereabouts.Want(line.serial, line.product_id, 1, where))
    try:
        portions = whereabouts.take(session, wants)
    except whereabouts.Short as short:
        raise out_of_stock(doc, product_by_id(session, short.product_id), short.available,
                           takes[0] if takes else None) from None
    whereabouts.add(session, [(u.product_id, u.to, u.quantity) for u in placed])
    serials = [{"s_serial": p.key, "s_location": p.location_id} for p in portions if isinstance(p.key, str)]
    if serials:
        session.connection().execute(_SERIAL_PLACED, serials)
    placed += [_Units(p.key, p.product_id, by_no[p.key].user, p.location_id, None, -p.quantity)
               for p in portions if not isinstance(p.key, str)]
    return sorted(placed, key=lambda u: u.line_no)


_SERIAL_PLACED = update(S).where(S.c.serial == bindparam("s_serial")).values(location_id=bindparam("s_location"))


def write_movements(session: Session, doc: DocumentHead, at: datetime, takes: list[str], units: list[_Units],
                     here: int, serials: bool) -> None:
    """The movements of every line, each with where the unit left and where it went: INSERT ... SELECT from
    the lines for serials (a rule-4 adjustment pair first where one is owed), one executemany for the units.

    ``serials``: the serials' UPDATE (``_update_serials``) goes right after their movements, which read what it
    changes: on PostgreSQL both in one round trip (direct.both), the UPDATE waiting on no answer of the INSERT.
    """
    policy, conn = POLICY[doc.kind], session.connection()
    params = movement_writes.line_params(doc, at)
    if takes:
        for statement in _ADJUSTMENT_PAIR:
            conn.execute(statement, params | {"p_takes": takes})  # (an expanding parameter: SQLAlchemy's)
    party = getattr(doc, f"{policy.party.value}_id") if policy.party is not None else None
    movements = _movements(doc.kind), params | {"p_here": here, "p_party": party}
    if serials:
        direct.both(conn, *movements, *_update_serials(doc, at, here))
    else:
        direct.run(conn, *movements)
    if not units:
        return
    unit_supplier = doc.supplier_id if policy.party is PartyKind.supplier else None
    unit_customer = doc.customer_id if policy.party is PartyKind.customer else None
    movement_writes.insert_rows(session, [
        movement_writes.row(doc, at, user=u.user, kind=policy.movement.value, product_id=u.product_id,
                            quantity=u.quantity, supplier_id=unit_supplier, customer_id=unit_customer,
                            from_location_id=u.source, to_location_id=u.to) for u in units])


def _adjustment_pair() -> tuple:
    """A rule-4 serial's adjustment pair (its lines: ``p_takes``): one unserialised unit out where the serial is,
    then the serial in, there."""
    pair = L.c.serial.in_(bindparam("p_takes", expanding=True))
    return tuple(movement_writes.bound_lines(pair, kind=literal(MovementKind.adjustment.value), serial_id=serial_id,
                                             quantity=literal(quantity), from_location_id=source, to_location_id=to)
                 for serial_id, quantity, source, to in ((null(), -1, S.c.location_id, null()),
                                                         (S.c.id, 1, null(), S.c.location_id)))


_ADJUSTMENT_PAIR = _adjustment_pair()


@functools.cache
def _movements(kind: DocumentKind):
    """The kind's movement of each serial line (movement_writes.bound_lines): its sign and places as POLICY says,
    where its lines put units (``p_here``), the document's party (``p_party``)."""
    policy = POLICY[kind]
    sign = (case((L.c.quantity > 0, 1), else_=-1) if policy.sign == 0 else literal(policy.sign))
    if policy.serial.faulty_leaves:
        sign = case((S.c.faulty.is_(True), 0), else_=sign)  # a faulty unit leaves our hands, not our stock (3b)
    if policy.sign == 0:
        # One in transit written off (3c): its transfer_out took it out of stock already; it leaves the transfer.
        sign = case((and_(L.c.quantity < 0, S.c.transfer_id.is_not(None)), 0), else_=sign)
    if policy.sign > 0:
        source, to = null(), _PLACED
    elif policy.sign < 0:
        source, to = S.c.location_id, null()
    else:  # adjustment: each line's own sign
        source, to = case((L.c.quantity < 0, S.c.location_id)), case((L.c.quantity > 0, _PLACED))
    months = service_posting.line_warranty_months() if policy.serial.warranty else null()
    return movement_writes.bound_lines(kind=literal(policy.movement.value), quantity=sign, warranty_months=months,
                                       from_location_id=source, to_location_id=to, **_movement_party(policy))


#: The document's party (its supplier or customer, as its kind has one).
_PARTY = bindparam("p_party", type_=Integer)


def _movement_party(policy: KindPolicy) -> dict:
    """The movement's party column: the document's, else whoever the serial was with; on a return from a customer,
    whoever the serial was with, else the document's."""
    if policy.party is None:
        return {}
    column = f"{policy.party.value}_id"
    serial = S.c[column]
    return {column: func.coalesce(serial, _PARTY) if policy.serial.party_from_serial
            else func.coalesce(_PARTY, serial)}


def serial_party(policy: KindPolicy, doc: DocumentHead) -> dict:
    """The document's party a serial takes by its posting, when the kind says so and the document names one."""
    if not policy.serial.takes_party or policy.party is None:
        return {}
    column = f"{policy.party.value}_id"
    party = getattr(doc, column)
    return {} if party is None else {column: party}


def _update_serials(doc: DocumentHead, at: datetime, here: int) -> tuple:
    """Stock, location, customer, supplier and product of every serial on the document, in one UPDATE ... FROM
    the lines, as POLICY says of its kind (vocabulary.SerialPosting): the statement and its parameters."""
    party = serial_party(POLICY[doc.kind], doc)
    return _serials_written(doc.kind, bool(party)), {
        "p_document_id": doc.id, "p_here": here, "p_party": next(iter(party.values()), None), "p_sold_on": at.date()}


@functools.cache
def _serials_written(kind: DocumentKind, takes_party: bool):
    """``_update_serials``' statement for the kind; ``takes_party``: the serials take the document's (``p_party``)."""
    policy = POLICY[kind]
    values: dict = {"product_id": func.coalesce(S.c.product_id, L.c.product_id)}
    if policy.sign > 0:
        values |= {"in_stock": true(), "customer_id": null(), "location_id": _PLACED}
    elif policy.sign < 0:
        values |= {"in_stock": literal(False), "location_id": null()}
    else:  # each line's own sign
        values |= {"in_stock": L.c.quantity > 0,
                   "customer_id": case((L.c.quantity > 0, null()), else_=S.c.customer_id),
                   "location_id": case((L.c.quantity > 0, _PLACED), else_=null()),
                   # adjusted out while in transit: written off, off its transfer (SPEC 3c)
                   "transfer_id": case((L.c.quantity < 0, null()), else_=S.c.transfer_id)}
    if policy.serial.faulty_leaves:
        values["faulty"] = literal(False)
    if takes_party:
        values[f"{policy.party.value}_id"] = _PARTY
    if policy.serial.warranty:
        sold_on = bindparam("p_sold_on", type_=S.c.warranty_until.type)
        values["warranty_until"] = warranty_given(sold_on, service_posting.line_warranty_months())
    # A record that holds these values already (a receipt's new serials: new_records) is not written again.
    changes = or_(*(S.c[name].is_distinct_from(value) for name, value in values.items()))
    return update(S).where(S.c.serial == L.c.serial, L.c.document_id == _DOC, changes).values(**values)
