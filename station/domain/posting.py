"""Posting a document: all its movements in the caller's transaction, or none (rule 9), in a few set-based statements.

Theory of operation. The document's row is locked (a second CMD:FINISH of
the same document waits, then finds it posted), then its purchase order's,
then all of its serials' rows in one statement in id order, so two postings
wait for each other rather than deadlock. Every line is checked again in
Python against the facts read under those locks, with the same per-kind
checks as when it was added (rules.SERIAL_CHECKS). Only then is anything
written (posting_writes.py), each part in one statement however many lines there are: the
serial records a document brings in (INSERT ... SELECT, ON CONFLICT DO
NOTHING, RETURNING what it made: a serial made by another request meanwhile
is locked and checked like the others; a receipt makes its records as its
posting leaves them), the movements (INSERT ... SELECT from the lines), the
serials' stock, customer and supplier (UPDATE ... FROM the lines, only the
records that change), each
product's unserialised count (one guarded UPDATE per product, in id order),
the purchase order's received tallies, and the document closed. A receipt
of 30,000 serials is a dozen statements, not 60,000 ORM objects. Each
statement is built once (per kind, per database) and run with bind
parameters; on PostgreSQL the movements and the serials' UPDATE go in one
round trip (direct.both), as neither waits on the other's answer, and the
close and the event, whose answers nobody reads, in front of the
transaction's next statement (direct.ahead: a scan's answer read). The
service desk's check-ins and check-outs are checked and written by
service_posting.py under the same locks.

Why row locks at READ COMMITTED and not SERIALIZABLE: every invariant here
is about rows we can name (a serial, a product's count, a purchase order),
so locking exactly those and checking under the lock is enough, and it is
what SQLite does anyway (one writer at a time). SERIALIZABLE would also
abort transactions that merely read near each other, and twenty stations
would carry the retries in their p99. Rule 8 needs no lock: the unique index
refuses a second open line. What still can deadlock is retried by
``station.storage.retry.run_in_transaction``, unseen by the operator.

Only this module and posting_writes (and service_posting, which it calls) write
``SerialNumber.in_stock``, ``in_service``, ``faulty``, ``warranty_until``
and ``Product.unserialised_on_hand``. Those are written by UPDATE, which the ORM
does not track: after rolling back a refused posting, expire before reading
them (the scan service does).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Integer, and_, bindparam, func, inspect, select, update
from sqlalchemy.orm import Session

from . import direct, events, posting_writes, relocation, service_posting, site_rules, tallies, whereabouts
from .documents import add_line, expire, expire_rows, open_document, require_open
from .errors import Refusal
from .facts import (
    ONE_READ_LINES,
    DocumentHead,
    DocumentRead,
    ProductFacts,
    SerialFacts,
    document_read,
    locked_serials,
    locked_serials_then,
    product_by_id,
)
from .models import Document, DocumentLine, Product, SerialNumber
from .rules import SERIAL_CHECKS, Resolved, check_units, order_exceeded, writes_off
from .vocabulary import POLICY, SERVICE_KINDS, DocumentKind, DocumentStatus, EventType

#: The documents of SPEC 3c that only move units between locations (and a count), posted by relocation.py.
LOCATION_KINDS = frozenset({DocumentKind.move, DocumentKind.transfer, DocumentKind.arrival, DocumentKind.count})
#: Kinds whose serial lines take a unit from wherever it is within the document's site (SPEC 3c).
_FROM_SITE = frozenset({DocumentKind.sale, DocumentKind.supplier_return, DocumentKind.service_check_out})

D = Document.__table__
L = DocumentLine.__table__
P = Product.__table__

# The document's bind parameter in posting's statements, each built once and run with bind parameters as
# posting_writes' are (its comment says why). Prefixed: an UPDATE's columns are SQLAlchemy's own names for its SET.
_DOC = bindparam("p_document_id", type_=Integer)


@dataclass(frozen=True)
class Posted:
    """What a posting did."""

    reference: str
    lines: int
    at: datetime


def post(session: Session, given: Document | DocumentHead) -> Posted:
    """Write every line's movements and close the document. Raises Refusal, having written nothing, on failure.

    ``given`` is the document as its caller holds it (an ORM Document, or the scan path's DocumentHead); what
    posting reads of it is read again under its lock as a frozen DocumentHead, and only that goes further.
    """
    require_open(given)
    if given.kind == DocumentKind.purchase_order:
        raise Refusal("document_not_open", "A purchase order is received against, not posted.")
    # A count's lines are read by counting.py its own way, and hold no serials (rule 8 does not apply): counting.py
    # locks what it counts itself.
    read = document_read(session, given.id, with_lines=given.kind != DocumentKind.count and _short(given))
    doc = read.head
    if doc.status != DocumentStatus.open:
        raise Refusal("document_not_open", f"Document {doc.reference} is {doc.status.value}, not open.")
    if doc.line_count == 0:
        raise Refusal("empty_document", f"Document {doc.reference} has no lines to post: scan something, or cancel it.")
    if doc.order_id is not None:
        # Two receipts against one purchase order: the second waits here, then counts what the
        # first received (else both could pass "received + these <= expected" and over-receive).
        direct.run(session.connection(), _LOCK_ORDER, {"p_order_id": doc.order_id})
    lines, facts, products, where = _locked_lines(session, doc, read)
    at = datetime.now(UTC)
    here = whereabouts.default_location(session, doc.location_id)
    if doc.kind in LOCATION_KINDS:
        deltas = relocation.post(session, doc, lines, facts, here, at)
    elif doc.kind in SERVICE_KINDS:
        customer_id = service_posting.check(session, doc, lines, facts, products)
        _check_sites(session, doc, lines, here, facts, where)
        service_posting.write(session, doc, customer_id, at)
        deltas: dict[int, int] = {}
    else:
        deltas, takes = _check(doc, lines, facts, products)
        _check_sites(session, doc, lines, here, facts, where)
        if doc.order_id is not None:
            _check_order(session, doc, doc.order_id)
        new = [line.serial for line in lines if line.serial is not None and line.serial not in facts]
        if new:
            fresh = _bring_in(session, doc, here, lines, new, products)
            if fresh:  # made by another request since the locks: where it is is decided on too
                _check_sites(session, doc, [line for line in lines if line.serial in fresh], here, fresh)
            facts |= fresh
        posting_writes.apply_units(session, doc, deltas, takes)
        units = posting_writes.place_units(session, doc, lines, here, takes)
        # Unless every record is new, made as posting leaves it, the serials' UPDATE follows their movements.
        serials = bool(facts) or not posting_writes.made_as_left(POLICY[doc.kind])
        posting_writes.write_movements(session, doc, at, takes, units, here, serials)
    if doc.order_id is not None:
        tallies.receive_on_order(session, doc.id, doc.order_id)
    closing = _close(session, doc.id, at)
    expire(session, given, "status", "posted_at", "lines", "customer", "customer_id")
    expire_rows(session, Product, deltas, "unserialised_on_hand")
    expire_rows(session, SerialNumber, (f.id for f in facts.values()), "in_stock", "customer", "customer_id",
                "supplier", "supplier_id", "product", "product_id", "in_service", "faulty", "warranty_until",
                "location", "location_id", "transfer_id")
    # Last: from here to the commit, other postings' events wait for this one's (events.py). On PostgreSQL the close
    # and the event go in front of the transaction's next statement (a scan's answer read), in its round trip.
    events.record_ahead(session, EventType.document_posted, "document", doc.id, at=at, after=closing)
    return Posted(doc.reference, doc.line_count, at)


_LOCK_ORDER = select(D.c.id).where(D.c.id == bindparam("p_order_id", type_=Integer)).with_for_update(key_share=True)


def _short(given: Document | DocumentHead) -> bool:
    """Whether the caller's document has at most ONE_READ_LINES lines, as far as the caller knows (an ORM Document
    whose line_count is not loaded is not read for this: it is taken as long)."""
    if isinstance(given, DocumentHead):
        return given.line_count <= ONE_READ_LINES
    known = inspect(given).attrs.line_count.loaded_value
    return isinstance(known, int) and known <= ONE_READ_LINES


def _locked_lines(session: Session, doc: DocumentHead, read: DocumentRead):
    """The lines, the facts of their serials' records, locked, their products, and where each record is (None: to
    be read under the locks, ``site_rules.read``), from the document's read.

    The read's records are not locked: where there are any, on PostgreSQL they are read again under their locks
    (``locked_serials``, in id order), and where they are is read after those locks, in the same round trip
    (``locked_serials_then``); SQLite's write lock (BEGIN
    IMMEDIATE) is the posting's already, so what the read found is what posting decides on. A receipt of new
    serials has none and locks none: a record another request makes meanwhile is found and locked by
    ``_bring_in``. Lines another request changed under the document's lock while the read waited for it (see
    ``facts.document_read``) are read again, with the records of their serials, as before the read was one.
    """
    if doc.kind == DocumentKind.count:
        return [], {}, _Products(session), None
    lines, facts = list(map(_Line._make, read.lines)), read.records
    if len(lines) != doc.line_count:  # not read with the head (a long document), or changed while the read waited
        return _lines(session, doc.id), locked_serials(session, doc.id), _Products(session), None
    if facts and session.get_bind().dialect.name == "postgresql":
        # Where each is, read right behind the locks, in their round trip (the checks need both).
        locked, placed = locked_serials_then(session, doc.id, site_rules.READ, {"document_id": doc.id})
        return lines, locked, _Products(session, read.products), site_rules.of_rows(placed)
    where = {serial: site_rules.Where(*row) for serial, row in read.where.items()}
    return lines, facts, _Products(session, read.products), where


def _close(session: Session, document_id: int, at: datetime) -> tuple | None:
    """The document posted and its lines no longer open (rule 8 lets their serials onto another document). On
    PostgreSQL one statement, which also takes the event feed's lock (events.lock_with): these are the posting's
    last writes but its event, so holding that lock from here adds no statement to the queue behind it. There it is
    answered (the statement and its parameters), for the event to send it first, in the same round trip."""
    conn, params = session.connection(), {"p_document_id": document_id, "p_at": at}
    if conn.dialect.name == "postgresql":
        return _CLOSE_PG, params
    for statement in _CLOSE:
        direct.run(conn, statement, params)
    return None


_CLOSE = (update(D).where(D.c.id == _DOC).values(status=DocumentStatus.posted,
                                                  posted_at=bindparam("p_at", type_=D.c.posted_at.type)),
          update(L).where(L.c.document_id == _DOC, L.c.is_open.is_(True)).values(is_open=False))
_CLOSE_PG = events.lock_with(_CLOSE[0].cte("posted"), _CLOSE[1].cte("closed_lines"))


class _Line(NamedTuple):
    """One line of the document as posting reads it: a plain tuple, not the result's Row, because each of its
    fields is read a few times per line by the checks and the writers (a Row's attribute costs some ten times a
    tuple's: at 30,000 lines, a few tenths of a second)."""

    line_no: int
    product_id: int | None
    serial: str | None
    quantity: int
    replaces: str | None
    location_id: int | None
    user: str | None


def _lines(session: Session, document_id: int) -> list[_Line]:
    """The document's lines in line order."""
    return list(map(_Line._make, session.execute(
        select(L.c.line_no, L.c.product_id, L.c.serial, L.c.quantity, L.c.replaces, L.c.location_id, L.c.user)
        .where(L.c.document_id == document_id).order_by(L.c.line_no))))


class _Products:
    """The products a posting's lines name, each read once."""

    def __init__(self, session: Session, known: dict[int, ProductFacts] | None = None):
        self.session = session
        self._known: dict[int, ProductFacts] = dict(known or {})

    def __call__(self, product_id: int | None) -> ProductFacts | None:
        if product_id is None:
            return None
        if product_id not in self._known:
            self._known[product_id] = product_by_id(self.session, product_id)
        return self._known[product_id]


def _check(doc: DocumentHead, lines, facts: dict[str, SerialFacts], product: _Products):
    """Every line against the locked facts; the unserialised delta per product, and the sale lines that take a unit."""
    policy = POLICY[doc.kind]
    deltas: dict[int, int] = {}
    takes: list[str] = []  # serials sold by taking an unserialised unit (rule 4)
    check = SERIAL_CHECKS[doc.kind]
    # A serial without a record is decided by its line's product and quantity alone (its text only words a
    # refusal): the first such line of each pair decides for the others, which it would refuse or pass alike. A
    # receipt of 30,000 new serials is checked once, not 30,000 times (a SerialFacts and a Resolved each).
    unrecorded: dict[tuple[int | None, int], Resolved] = {}
    for line in lines:
        if line.serial is None:
            resolved = check_units(doc, product(line.product_id), line.quantity)
            signed = line.quantity if policy.sign == 0 else policy.sign * line.quantity
            deltas[resolved.product.id] = deltas.get(resolved.product.id, 0) + signed
            continue
        known = facts.get(line.serial)
        if known is not None:
            resolved = check(known, product(line.product_id), line.quantity)
        else:
            resolved = unrecorded.get((line.product_id, line.quantity))
            if resolved is None:
                resolved = check(SerialFacts(line.serial), product(line.product_id), line.quantity)
                unrecorded[line.product_id, line.quantity] = resolved
        if resolved.takes_unit:
            takes.append(line.serial)
            deltas[resolved.product.id] = deltas.get(resolved.product.id, 0) - 1
    return deltas, takes


def _check_order(session: Session, doc: DocumentHead, order_id: int) -> None:
    """Under the order's lock: what this receipt brings in fits what the order still expects, per product."""
    row = direct.first(session.connection(), _OVER_ORDER, {"p_document_id": doc.id, "p_order_id": order_id})
    if row is not None:
        reference = session.scalar(select(D.c.reference).where(D.c.id == order_id))
        raise order_exceeded(reference, row, row.expected, row.received)


def _over_order():
    here, ordered = tallies.T.alias("here"), tallies.T.alias("ordered")
    return (select(P.c.id, P.c.code, P.c.name, P.c.serial_required_for_purchase, P.c.serial_required_for_sales,
                   here.c.units, func.coalesce(ordered.c.units, 0).label("expected"),
                   func.coalesce(ordered.c.received, 0).label("received"))
            .select_from(here).join(P, P.c.id == here.c.product_id)
            .outerjoin(ordered, and_(ordered.c.document_id == bindparam("p_order_id", type_=Integer),
                                     ordered.c.product_id == here.c.product_id))
            .where(here.c.document_id == _DOC,
                   here.c.units + func.coalesce(ordered.c.received, 0) > func.coalesce(ordered.c.units, 0))
            .limit(1))


_OVER_ORDER = _over_order()


def _bring_in(session: Session, doc: DocumentHead, here: int, lines, new: list[str],
              product: _Products) -> dict[str, SerialFacts]:
    """Records for the serials first seen on this document; one made meanwhile by another request is checked too,
    and its facts (locked) are what this answers.

    The records this statement makes are this transaction's alone (no one else sees them before the commit): they
    need no lock, and nothing to check again (each line was checked as a serial without a record). A receipt makes
    them as its posting leaves them (in stock at the line's location, its supplier, the line's product), so that
    the serials' UPDATE (posting_writes) has nothing left to write to them: at 30,000 new serials that UPDATE, with
    the foreign-key checks of every row it changes, was a third of the posting on PostgreSQL. Only the records made
    meanwhile by another request (the insert skipped them) are read again, locked, and checked.

    The unique index alone tells new from known (ON CONFLICT), with no NOT EXISTS beside it: planned on statistics
    taken when the table was nearly empty (a new site's first pallet), that anti-join scanned the table for each
    line, through the rows the statement itself was adding, and 30,000 serials took 14.5 s instead of 1.2.
    """
    policy = POLICY[doc.kind]
    # Made as the posting leaves them when it brings them into stock (a receipt: a return brings no new serial).
    comes_in = posting_writes.made_as_left(policy)
    supplier = posting_writes.serial_party(policy, doc).get("supplier_id") if comes_in else None
    conn = session.connection()
    made_here = [row[0] for row in direct.run(conn, posting_writes.new_records(conn.dialect.name, comes_in), {
        "p_document_id": doc.id, "p_here": here, "p_made": datetime.now(UTC), "p_supplier": supplier})]
    # What it made needs no facts from here on (nothing reads them, and no ORM object of them is held to expire):
    # a fact each for 30,000 serials was 0.17 s of the posting.
    fresh = set(new).difference(made_here)
    if not fresh:
        return {}
    facts = {serial: f for serial, f in locked_serials(session, doc.id).items() if serial in fresh}
    # A record another request made meanwhile is decided on as it is, like any other.
    check = SERIAL_CHECKS[doc.kind]
    for line in lines:
        if line.serial in fresh:
            check(facts[line.serial], product(line.product_id), line.quantity)
    return facts


def _check_sites(session: Session, doc: DocumentHead, lines, here: int, facts: dict[str, SerialFacts],
                 where: dict[str, site_rules.Where] | None = None) -> None:
    """Under the serials' locks: none is in transit, and what leaves stock leaves from the document's site (3c).

    Only a serial with a record (``facts``, read under the locks) is somewhere: when none of the lines has one (a
    receipt of new serials), there is nothing to read. A record another request made after those locks is checked
    once ``_bring_in`` has locked it (``lines``: its lines alone).
    """
    if not facts:
        return
    if where is None:
        where = site_rules.read(session, doc.id)
    # The document's own location's site was read with its head.
    sites = {doc.location_id: doc.site_id} if doc.location_id is not None else {}
    for line in lines:
        unit = where.get(line.serial) if line.serial is not None else None
        if unit is None:
            continue
        if not writes_off(doc.kind, line.quantity):
            site_rules.refuse_in_transit(session, unit)
        if doc.kind in _FROM_SITE and (doc.kind != DocumentKind.service_check_out or line.replaces is not None):
            place = line.location_id if line.location_id is not None else here
            if place not in sites:
                sites[place] = whereabouts.site_of(session, place)
            site_rules.refuse_other_site(session, unit, sites[place])


def post_adjustment(session: Session, reason: str,
                    lines: list[tuple[Product | ProductFacts | None, str | None, int]], *,
                    station: str | None = None, user: str | None = None, location_id: int | None = None) -> Document:
    """Rule 7: an adjustment of (product, serial, signed quantity) lines, posted at once.

    ``location_id``: where units come in and leave first (None: MAIN). On a Refusal the caller rolls back,
    so no open adjustment stays behind.
    """
    doc = open_document(session, DocumentKind.adjustment, station=station, user=user, reason=reason)
    if location_id is not None:
        doc.location_id = location_id
        session.flush()
    for product, serial, quantity in lines:
        add_line(session, doc, product=product, serial=serial, quantity=quantity)
    post(session, doc)
    return doc
