"""Posting a document: all its movements in the caller's transaction, or none (rule 9), in a few set-based statements.

Theory of operation. The document's row is locked (a second CMD:FINISH of
the same document waits, then finds it posted), then its purchase order's,
then all of its serials' rows in one statement in id order, so two postings
wait for each other rather than deadlock. Every line is checked again in
Python against the facts read under those locks, with the same per-kind
checks as when it was added (rules.SERIAL_CHECKS). Only then is anything
written, each part in one statement however many lines there are: the
serial records a document brings in (INSERT ... SELECT, ON CONFLICT DO
NOTHING, RETURNING what it made: a serial made by another request meanwhile
is locked and checked like the others; a receipt makes its records as its
posting leaves them), the movements (INSERT ... SELECT from the lines), the
serials' stock, customer and supplier (UPDATE ... FROM the lines, only the
records that change), each
product's unserialised count (one guarded UPDATE per product, in id order),
the purchase order's received tallies, and the document closed. A receipt
of 30,000 serials is a dozen statements, not 60,000 ORM objects. The
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

Only this module (and service_posting, which it calls) writes
``SerialNumber.in_stock``, ``in_service``, ``faulty``, ``warranty_until``
and ``Product.unserialised_on_hand``. Those are written by UPDATE, which the ORM
does not track: after rolling back a refused posting, expire before reading
them (the scan service does).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import and_, case, exists, func, insert, literal, null, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import events, service_posting, tallies
from .documents import add_line, expire, expire_rows, open_document, require_open
from .errors import Refusal
from .facts import DocumentLike, ProductLike, SerialFacts, locked_serials, product_by_id
from .models import Document, DocumentLine, Movement, Product, SerialNumber
from .rules import SERIAL_CHECKS, check_units, order_exceeded, out_of_stock
from .sqldates import warranty_given
from .vocabulary import POLICY, SERVICE_KINDS, DocumentKind, DocumentStatus, EventType, MovementKind, PartyKind

D = Document.__table__
L = DocumentLine.__table__
S = SerialNumber.__table__
M = Movement.__table__
P = Product.__table__


@dataclass(frozen=True)
class Posted:
    """What a posting did."""

    reference: str
    lines: int
    at: datetime


def post(session: Session, doc: DocumentLike) -> Posted:
    """Write every line's movements and close the document. Raises Refusal, having written nothing, on failure."""
    require_open(doc)
    if doc.kind == DocumentKind.purchase_order:
        raise Refusal("document_not_open", "A purchase order is received against, not posted.")
    head = session.execute(select(D.c.status, D.c.line_count, D.c.order_id, D.c.supplier_id, D.c.customer_id)
                           .where(D.c.id == doc.id).with_for_update()).one()
    if head.status != DocumentStatus.open:
        raise Refusal("document_not_open", f"Document {doc.reference} is {head.status.value}, not open.")
    if head.line_count == 0:
        raise Refusal("empty_document", f"Document {doc.reference} has no lines to post: scan something, or cancel it.")
    if head.order_id is not None:
        # Two receipts against one purchase order: the second waits here, then counts what the
        # first received (else both could pass "received + these <= expected" and over-receive).
        session.execute(select(D.c.id).where(D.c.id == head.order_id).with_for_update(key_share=True))
    lines = session.execute(select(L.c.line_no, L.c.product_id, L.c.serial, L.c.quantity, L.c.replaces)
                            .where(L.c.document_id == doc.id).order_by(L.c.line_no)).all()
    facts = locked_serials(session, doc.id)
    products = _Products(session)
    at = datetime.now(timezone.utc)
    if doc.kind in SERVICE_KINDS:
        customer_id = service_posting.check(session, doc, head, lines, facts, products)
        service_posting.write(session, doc, head, customer_id, at)
        deltas: dict[int, int] = {}
    else:
        deltas, takes = _check(doc, lines, facts, products)
        if head.order_id is not None:
            _check_order(session, doc, head.order_id)
        new = [line.serial for line in lines if line.serial is not None and line.serial not in facts]
        if new:
            facts |= _bring_in(session, doc, head, lines, new, products)
        _apply_units(session, doc, deltas, takes)
        _write_movements(session, doc, head, at, takes)
        _update_serials(session, doc, head, at)
    if head.order_id is not None:
        tallies.receive_on_order(session, doc.id, head.order_id)
    session.execute(update(D).where(D.c.id == doc.id).values(status=DocumentStatus.posted, posted_at=at))
    session.execute(update(L).where(L.c.document_id == doc.id).values(is_open=False))
    expire(session, doc, "status", "posted_at", "lines", "customer", "customer_id")
    expire_rows(session, Product, deltas, "unserialised_on_hand")
    expire_rows(session, SerialNumber, (f.id for f in facts.values()), "in_stock", "customer", "customer_id",
                "supplier", "supplier_id", "product", "product_id", "in_service", "faulty", "warranty_until")
    # Last: from here to the commit, other postings' events wait for this one's (events.py).
    events.record(session, EventType.document_posted, "document", doc.id, at=at)
    return Posted(doc.reference, len(lines), at)


class _Products:
    """The products a posting's lines name, each read once."""

    def __init__(self, session: Session):
        self.session = session
        self._known: dict[int, ProductLike] = {}

    def __call__(self, product_id: int | None) -> ProductLike | None:
        if product_id is None:
            return None
        if product_id not in self._known:
            self._known[product_id] = product_by_id(self.session, product_id)
        return self._known[product_id]


def _check(doc: DocumentLike, lines, facts: dict[str, SerialFacts], product: _Products):
    """Every line against the locked facts; the unserialised delta per product, and the sale lines that take a unit."""
    policy = POLICY[doc.kind]
    deltas: dict[int, int] = {}
    takes: list[str] = []  # serials sold by taking an unserialised unit (rule 4)
    check = SERIAL_CHECKS[doc.kind]
    for line in lines:
        if line.serial is None:
            resolved = check_units(doc, product(line.product_id), line.quantity)
            signed = line.quantity if policy.sign == 0 else policy.sign * line.quantity
            deltas[resolved.product.id] = deltas.get(resolved.product.id, 0) + signed
            continue
        resolved = check(facts.get(line.serial) or SerialFacts(line.serial), product(line.product_id), line.quantity)
        if resolved.takes_unit:
            takes.append(line.serial)
            deltas[resolved.product.id] = deltas.get(resolved.product.id, 0) - 1
    return deltas, takes


def _check_order(session: Session, doc: DocumentLike, order_id: int) -> None:
    """Under the order's lock: what this receipt brings in fits what the order still expects, per product."""
    here, ordered = tallies.T.alias("here"), tallies.T.alias("ordered")
    row = session.execute(
        select(P.c.id, P.c.code, P.c.name, P.c.serial_required_for_purchase, P.c.serial_required_for_sales,
               here.c.units, func.coalesce(ordered.c.units, 0).label("expected"),
               func.coalesce(ordered.c.received, 0).label("received"))
        .select_from(here).join(P, P.c.id == here.c.product_id)
        .outerjoin(ordered, and_(ordered.c.document_id == order_id, ordered.c.product_id == here.c.product_id))
        .where(here.c.document_id == doc.id,
               here.c.units + func.coalesce(ordered.c.received, 0) > func.coalesce(ordered.c.units, 0))
        .limit(1)
    ).first()
    if row is not None:
        reference = session.scalar(select(D.c.reference).where(D.c.id == order_id))
        raise order_exceeded(reference, row, row.expected, row.received)


def _bring_in(session: Session, doc: DocumentLike, head, lines, new: list[str],
              product: _Products) -> dict[str, SerialFacts]:
    """Records for the serials first seen on this document; one made meanwhile by another request is checked too.

    The records this statement makes are this transaction's alone (no one else sees them before the commit): they
    need no lock, and nothing to check again (each line was checked as a serial without a record). A receipt makes
    them as its posting leaves them (in stock, its supplier, the line's product), so that ``_update_serials`` has
    nothing left to write to them: at 30,000 new serials that UPDATE, with the foreign-key checks of every row it
    changes, was a third of the posting on PostgreSQL. Only the records made meanwhile by another request (the
    insert skipped them) are read again, locked, and checked.
    """
    made = datetime.now(timezone.utc)
    receipt = doc.kind == DocumentKind.receipt
    supplier = head.supplier_id if receipt and head.supplier_id is not None else None
    source = (select(L.c.serial, L.c.product_id, literal(receipt), literal(made, S.c.created_at.type),
                     literal(supplier, S.c.supplier_id.type))
              .where(L.c.document_id == doc.id, L.c.serial.is_not(None),
                     ~exists().where(S.c.serial == L.c.serial)))
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    made_here = session.execute(
        dialect.insert(S).from_select(["serial", "product_id", "in_stock", "created_at", "supplier_id"], source)
        .on_conflict_do_nothing(index_elements=[S.c.serial]).returning(S.c.serial, S.c.id)).all()
    facts = {serial: SerialFacts(serial, id=serial_id) for serial, serial_id in made_here}
    fresh = set(new) - facts.keys()
    if not fresh:
        return facts
    facts |= {serial: f for serial, f in locked_serials(session, doc.id).items() if serial in fresh}
    # A record another request made meanwhile is decided on as it is, like any other.
    check = SERIAL_CHECKS[doc.kind]
    for line in lines:
        if line.serial in fresh:
            check(facts[line.serial], product(line.product_id), line.quantity)
    return facts


def _apply_units(session: Session, doc: DocumentLike, deltas: dict[int, int], takes: list[str]) -> None:
    """Each product's unserialised count moved by its delta, never below zero, in product id order."""
    for product_id in sorted(deltas):
        delta = deltas[product_id]
        if delta == 0:
            continue
        stmt = update(P).where(P.c.id == product_id).values(unserialised_on_hand=P.c.unserialised_on_hand + delta)
        if delta < 0:
            stmt = stmt.where(P.c.unserialised_on_hand >= -delta)
        if session.execute(stmt).rowcount != 1:
            product = product_by_id(session, product_id)
            raise out_of_stock(doc, product, product.unserialised_on_hand, takes[0] if takes else None)


def _write_movements(session: Session, doc: DocumentLike, head, at: datetime, takes: list[str]) -> None:
    """The movements of every line: INSERT ... SELECT from the lines, a rule-4 adjustment pair first where one is owed."""
    policy = POLICY[doc.kind]
    product = func.coalesce(S.c.product_id, L.c.product_id)
    user = func.coalesce(L.c.user, literal(doc.user, M.c.user.type))  # who scanned the line, else the document's
    serial_lines = L.join(S, S.c.serial == L.c.serial)
    if takes:
        pair = L.c.document_id == doc.id, L.c.serial.in_(takes)
        for serial_id, quantity in ((null(), -1), (S.c.id, 1)):  # one unserialised unit out, the serial in
            session.execute(insert(M).from_select(
                ["at", "document_id", "station", "user", "kind", "product_id", "serial_id", "quantity"],
                select(literal(at, M.c.at.type), literal(doc.id), literal(doc.station, M.c.station.type),
                       user, literal(MovementKind.adjustment.value), product, serial_id,
                       literal(quantity)).select_from(serial_lines).where(*pair).order_by(L.c.line_no)))
    sign = (case((L.c.quantity > 0, 1), else_=-1) if policy.sign == 0 else literal(policy.sign))
    if doc.kind in (DocumentKind.supplier_return, DocumentKind.adjustment):
        sign = case((S.c.faulty.is_(True), 0), else_=sign)  # a faulty unit leaves our hands, not our stock (3b)
    supplier, customer = _party_columns(doc, head)
    months = service_posting.line_warranty_months() if policy.movement is MovementKind.sale else null()
    session.execute(insert(M).from_select(
        ["at", "document_id", "station", "user", "kind", "product_id", "serial_id", "quantity", "supplier_id",
         "customer_id", "warranty_months"],
        select(literal(at, M.c.at.type), literal(doc.id), literal(doc.station, M.c.station.type),
               user, literal(policy.movement.value), product, S.c.id, sign,
               supplier, customer, months)
        .select_from(serial_lines).where(L.c.document_id == doc.id).order_by(L.c.line_no)))
    units = L.c.quantity if policy.sign == 0 else L.c.quantity * policy.sign
    unit_supplier = literal(head.supplier_id) if policy.party is PartyKind.supplier else null()
    unit_customer = literal(head.customer_id) if policy.party is PartyKind.customer else null()
    session.execute(insert(M).from_select(
        ["at", "document_id", "station", "user", "kind", "product_id", "serial_id", "quantity", "supplier_id",
         "customer_id"],
        select(literal(at, M.c.at.type), literal(doc.id), literal(doc.station, M.c.station.type),
               user, literal(policy.movement.value), L.c.product_id, null(), units,
               unit_supplier, unit_customer)
        .where(L.c.document_id == doc.id, L.c.serial.is_(None)).order_by(L.c.line_no)))


def _party_columns(doc: DocumentLike, head):
    """The movement's party: the document's, else (a return) whoever the serial was with."""
    side = POLICY[doc.kind].party
    if side is PartyKind.supplier:
        return func.coalesce(literal(head.supplier_id), S.c.supplier_id), null()
    if side is PartyKind.customer:
        if doc.kind == DocumentKind.customer_return:
            return null(), func.coalesce(S.c.customer_id, literal(head.customer_id))
        return null(), literal(head.customer_id)
    return null(), null()


def _update_serials(session: Session, doc: DocumentLike, head, at: datetime) -> None:
    """Stock, customer, supplier and product of every serial on the document, in one UPDATE ... FROM the lines."""
    kind = doc.kind
    values: dict = {"product_id": func.coalesce(S.c.product_id, L.c.product_id)}
    if kind in (DocumentKind.receipt, DocumentKind.customer_return):
        values |= {"in_stock": true(), "customer_id": null()}
        if kind == DocumentKind.receipt and head.supplier_id is not None:
            values["supplier_id"] = head.supplier_id
    elif kind == DocumentKind.sale:
        sold_on = literal(at.date(), S.c.warranty_until.type)
        values |= {"in_stock": literal(False), "customer_id": head.customer_id,
                   "warranty_until": warranty_given(sold_on, service_posting.line_warranty_months())}
    elif kind == DocumentKind.supplier_return:
        values |= {"in_stock": literal(False), "faulty": literal(False)}
    else:  # adjustment: each line's own sign
        values |= {"in_stock": L.c.quantity > 0, "faulty": literal(False),
                   "customer_id": case((L.c.quantity > 0, null()), else_=S.c.customer_id)}
    # A record that holds these values already (a receipt's new serials: _bring_in) is not written again.
    changes = or_(*(S.c[name].is_distinct_from(value) for name, value in values.items()))
    session.execute(update(S).where(S.c.serial == L.c.serial, L.c.document_id == doc.id, changes).values(**values))


def post_adjustment(session: Session, reason: str, lines: list[tuple[ProductLike | None, str | None, int]], *,
                    station: str | None = None, user: str | None = None) -> Document:
    """Rule 7: an adjustment of (product, serial, signed quantity) lines, posted at once.

    On a Refusal the caller rolls back, so no open adjustment stays behind.
    """
    doc = open_document(session, DocumentKind.adjustment, station=station, user=user, reason=reason)
    for product, serial, quantity in lines:
        add_line(session, doc, product=product, serial=serial, quantity=quantity)
    post(session, doc)
    return doc
