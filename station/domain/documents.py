"""Documents and their lines: open, add a line, undo, cancel, purchase orders.

Posting lives in posting.py. Every function takes the caller's session and
never commits: the daemon or the web request owns the transaction. Lines
are written with SQLAlchemy Core, a few statements each whatever the
document's size: the document's line count numbers them, its tallies
(tallies.py) count them per product. A caller may pass an ORM Document or
the scan path's DocumentHead, an ORM Product or ProductFacts: the rules
decide on facts only, so an ORM object is read as facts at the boundary
(facts.head_for, facts.product_facts_of), and its counts are read again after.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, bindparam, cast, delete, func, inspect, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import direct, tallies
from .catalogue import get_party, get_product
from .errors import Conflict, Invalid, NotFound, Refusal
from .facts import (
    DocumentHead,
    ProductFacts,
    SerialFacts,
    head,
    head_for,
    head_returned,
    product_by_id,
    product_facts_of,
    serial_facts_of,
    serial_read_with,
)
from .models import (
    CODE_MAX,
    Customer,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Product,
    Supplier,
    utcnow,
)
from .rules import (
    SERIAL_CHECKS,
    Lookups,
    Resolved,
    check_order_quantity,
    check_serial_text,
    check_units,
    line_check,
    out_of_stock,
    refuse_elsewhere,
    refuse_if_on_open_document,
    refuse_in_transit,
    refuse_other_customer,
)
from .validation import could_be_key, require_code, require_quantity
from .vocabulary import POLICY

D = Document.__table__
L = DocumentLine.__table__

# The statements of a scan are built once (see facts.py).
_COUNT_UP = (update(D).where(D.c.id == bindparam("document_id")).values(line_count=D.c.line_count + 1)
             .returning(D.c.line_count))
_COUNT_DOWN = update(D).where(D.c.id == bindparam("document_id")).values(line_count=D.c.line_count - 1)
_LINE_VALUES = ("document_id", "product_id", "serial", "quantity", "batch", "expiry", "is_open", "takes_unit",
                "created_at", "user", "replaces", "location_id")


def _numbered_insert(dialect):
    """The line numbered and written in one statement, its number the document's line count plus one; a line that
    a unique index refuses (rule 8: its serial raced onto another open document) is not written, and no error
    aborts the transaction (PostgreSQL's would, all of it). The line's values are bound by names of their own
    (``ln_``): an execution's parameter named as a column of the document would be taken as one more column for
    PostgreSQL's UPDATE to set.

    PostgreSQL counts the document up in the same statement (the UPDATE a data-modifying CTE of the INSERT): a
    refused line leaves it counted up, for add_line to count down. SQLite has no data-modifying CTE: the line reads
    the count, and the trigger ``document_line_counted`` (migration 0012) raises the count to the number of the
    line written, so a refused line changes nothing. (SQLite's writers queue at BEGIN IMMEDIATE: no other scan
    numbers a line of the document between the read and the write.)"""
    line = [bindparam(f"ln_{name}", type_=L.c[name].type) for name in _LINE_VALUES]
    if dialect is postgresql:
        up = _COUNT_UP.cte("numbered")
        numbered = select(up.c.line_count, *line)
        insert = postgresql.insert(L).from_select(["line_no", *_LINE_VALUES], numbered).add_cte(up)
    else:
        # The SELECT's WHERE also keeps SQLite's parser from reading ON CONFLICT as a join's ON.
        numbered = select(D.c.line_count + 1, *line).where(D.c.id == bindparam("document_id"))
        insert = sqlite.insert(L).from_select(["line_no", *_LINE_VALUES], numbered)
    return insert.on_conflict_do_nothing().returning(L.c.line_no)


_COUNT_AND_INSERT = {"postgresql": _numbered_insert(postgresql), "sqlite": _numbered_insert(sqlite)}
#: PostgreSQL: a serial's line's tally, and the serial read again as committed now, in one statement (see add_line).
_TALLIED_AGAIN = serial_read_with(tallies.made_cte())
#: PostgreSQL: a line's tally, whether it made it (its line, written just before, may be taken back).
_TALLIED = select(tallies.made_cte())
_LAST_LINE = (select(L).where(L.c.document_id == bindparam("document_id")).order_by(L.c.line_no.desc()).limit(1))
_SET_SERIAL = update(L).where(L.c.id == bindparam("line_id")).values(serial=bindparam("serial"))
_DELETE_LINE = delete(L).where(L.c.id == bindparam("line_id"))
_DISCARD = delete(D).where(D.c.id == bindparam("id"), D.c.status == DocumentStatus.open, D.c.line_count == 0)
_DELETE_NUMBERED = delete(L).where(L.c.document_id == bindparam("document_id"), L.c.line_no == bindparam("line_no"))
_ORDER_REFERENCE = select(D.c.reference).where(D.c.id == bindparam("id"))
#: What an opening writes besides the id and the reference, bound as ``op_<name>`` (an execution's parameter named as
#: a column would be taken for a value of its own).
_OPENING = ("kind", "status", "station", "user", "supplier_id", "customer_id", "order_id", "reason", "created_at",
            "posted_at", "line_count", "location_id")


def _next_id(dialect):
    """The id the next document gets, as SQL: on PostgreSQL taken from the column's sequence (nextval, as its default
    would); on SQLite one more than the largest, the rowid SQLite gives a new row of a table without AUTOINCREMENT,
    which no other writer takes meanwhile (BEGIN IMMEDIATE: one writer at a time)."""
    if dialect is postgresql:
        return func.nextval(func.pg_get_serial_sequence(D.name, "id"))
    return select(func.coalesce(func.max(D.c.id), 0) + 1).scalar_subquery()


def _opening(dialect):
    """A document opened in one statement: its id taken (``_next_id``), its reference made of it (the kind's
    prefix, a dash, the id in six digits or more, as ``f"{id:06d}"``), the row written, and its head returned
    (facts.head_returned)."""
    number = select(_next_id(dialect).label("n")).subquery("next_id")
    if dialect is postgresql:
        digits = cast(number.c.n, String)
        suffix = literal("-", String) + func.lpad(digits, func.greatest(6, func.length(digits)), "0")
    else:
        suffix = func.printf("-%06d", number.c.n, type_=String)
    values = [bindparam(f"op_{name}", type_=D.c[name].type) for name in _OPENING]
    made = select(number.c.n, bindparam("op_prefix", type_=String) + suffix, *values)
    return dialect.insert(D).from_select(["id", "reference", *_OPENING], made).returning(*head_returned())


_OPEN = {"postgresql": _opening(postgresql), "sqlite": _opening(sqlite)}
_NEXT_ID = {"postgresql": select(_next_id(postgresql)), "sqlite": select(_next_id(sqlite))}
_ORDER = select(D.c.id, D.c.kind, D.c.reference, D.c.supplier_id).where(D.c.reference == bindparam("reference"))


def get_document(session: Session, reference: str) -> Document:
    doc = (session.scalar(select(Document).where(Document.reference == reference))
           if could_be_key(reference, CODE_MAX) else None)
    if doc is None:
        raise NotFound("unknown_document", f"There is no document {reference}.")
    return doc


def find_order(session: Session, reference: str):
    """The document a scan opens one against (a purchase order, a transfer), by reference: its id, kind, reference
    and supplier, in one Core read (no ORM object, and no read of its supplier); None when there is none. The scan's
    reader asks it (is a scanned reference a purchase order?) and its opening is written on what it found."""
    return (session.connection().execute(_ORDER, {"reference": reference}).first()
            if could_be_key(reference, CODE_MAX) else None)


def order_for(session: Session, reference: str):
    """``find_order``'s document, or ``get_document``'s refusal."""
    row = find_order(session, reference)
    if row is None:
        raise NotFound("unknown_document", f"There is no document {reference}.")
    return row


def open_head(session: Session, kind: DocumentKind, *, station: str | None = None, user: str | None = None,
              supplier_id: int | None = None, customer_id: int | None = None, order=None,
              location_id: int | None = None) -> DocumentHead:
    """``open_document`` for the scan path, on the parties' ids and the order as ``order_for`` reads it, answering
    the document's head: opened and read in one statement (``_OPEN``) where the ORM's opening was two flushes and
    the head's read another (3 ms of a ``SUP:`` scan's CPU on SQLite, issue 22)."""
    if order is not None:
        _check_against(kind, order)
        supplier_id = supplier_id or order.supplier_id
    values = dict(kind=kind, status=DocumentStatus.open, station=station, user=user, supplier_id=supplier_id,
                  customer_id=customer_id, order_id=order.id if order is not None else None, reason=None,
                  created_at=utcnow(), posted_at=None, line_count=0, location_id=location_id)
    params = {"op_prefix": POLICY[kind].prefix} | {f"op_{name}": values[name] for name in _OPENING}
    return head(session.connection().execute(_OPEN[session.get_bind().dialect.name], params).one())


def discard_opened(session: Session, document_id: int) -> None:
    """A document this transaction opened (``open_head``), taken back: the scan that opened it was refused by what it
    did next, a line that refuses before it writes or takes its own writes back (add_line), so the document has no
    line (a guard: one with lines, or no longer open, is left). So a scan that opens and adds a line needs no
    savepoint (issue 22: two statements on SQLite, where a savepoint's SAVEPOINT and RELEASE are statements)."""
    session.connection().execute(_DISCARD, {"id": document_id})


def open_document(session: Session, kind: DocumentKind, *, station: str | None = None, user: str | None = None,
                  supplier: Supplier | None = None, customer: Customer | None = None,
                  order: Document | None = None, reason: str | None = None,
                  location_id: int | None = None) -> Document:
    """Open a station-numbered document (R-000123, S-000045...).

    ``location_id``: a count's place, a transfer's or an arrival's destination, else the station's location
    (SPEC 3c: posting reads the site and where units leave from off the document, never the config).

    Its id is taken first (``_NEXT_ID``), so the row is written with its reference in one flush, where it was two
    (the row with a placeholder reference, then the reference made of its id). What the caller added before is
    flushed first: its ids come before this one's.
    """
    if order is not None:
        _check_against(kind, order)
        supplier = supplier or order.supplier
    session.flush()
    number = session.connection().execute(_NEXT_ID[session.get_bind().dialect.name]).scalar_one()
    doc = Document(
        id=number, reference=f"{POLICY[kind].prefix}-{number:06d}", kind=kind, status=DocumentStatus.open,
        station=station, user=user, supplier=supplier, customer=customer, order=order, reason=reason,
        location_id=location_id,
        lines=[],  # known to be empty: reading them later costs no query
    )
    session.add(doc)
    session.flush()
    return doc


def _check_against(kind: DocumentKind, order) -> None:
    """A receipt is made against a purchase order; an arrival (TI-) against its transfer (T-)."""
    wanted = DocumentKind.transfer if kind is DocumentKind.arrival else DocumentKind.purchase_order
    if order.kind != wanted:
        raise Refusal("unknown_document", f"{order.reference} is not a {wanted.value.replace('_', ' ')}.")


def require_open(doc: Document | DocumentHead) -> None:
    if doc.status != DocumentStatus.open:
        raise Refusal("document_not_open", f"Document {doc.reference} is {doc.status.value}, not open.")


@dataclass(frozen=True)
class Line:
    """A line as added: its number on the document and what it holds."""

    line_no: int
    product: ProductFacts | None
    serial: str | None
    quantity: int
    batch: str | None = None
    expiry: str | None = None
    takes_unit: bool = False
    replaces: str | None = None  # a check-out's replacement line: the faulty serial


def expire(session: Session, obj: object, *names: str) -> None:
    """After a Core write: an ORM object of the same row reads these attributes again (a head dataclass has none)."""
    if inspect(obj, raiseerr=False) is not None and obj in session:
        session.expire(obj, list(names) or None)


def expire_rows(session: Session, model: type, ids, *names: str) -> None:
    """After a Core write to these rows: the session's ORM objects of them, if any, read these attributes again.

    Walks the session's objects of ``model`` (a handful) rather than the ids (a posting's 30,000 serials: 0.28 s
    of identity keys for objects the session mostly does not hold)."""
    wanted = set(ids)
    held = [obj for obj in session.identity_map.values() if isinstance(obj, model)]
    for obj in held:
        if inspect(obj).identity[0] in wanted:
            session.expire(obj, list(names) or None)


def check_line(session: Session, doc: DocumentHead, *, product: ProductFacts | None, serial: str | None,
               quantity: int = 1, pattern: re.Pattern[str] | None = None, lookups: Lookups | None = None,
               replaces: str | None = None, site_id: int | None = None, location_id: int | None = None) -> Resolved:
    """Every rule for one new line of an open document (SPEC 3), or a Refusal; nothing is written (the document's
    head and the product as facts: add_line reads what its caller holds as them).

    ``replaces`` makes the line a check-out's replacement of that (faulty) serial (rule 13). ``site_id`` is the
    scanning station's site and ``location_id`` where the line's unit goes (or, counting, was found): given, the
    rules of SPEC 3c on where a unit is are checked too.
    """
    lookups = lookups or Lookups(session)
    if serial is None:
        resolved = check_units(doc, product, quantity)
    else:
        text = check_serial_text(lookups, serial, pattern)
        facts = lookups.serial(text)
        if doc.kind is not DocumentKind.count:  # a count's lines observe: they hold no serial (SPEC 3c)
            refuse_if_on_open_document(facts, doc)
        faulty = lookups.serial(replaces) if replaces is not None else None
        refuse_in_transit(facts, doc.kind, replacement=faulty is not None, quantity=quantity)
        resolved = line_check(doc.kind, faulty)(facts, product, quantity)
        refuse_elsewhere(facts, doc, site_id=site_id, location_id=location_id, replacement=faulty is not None)
        if faulty is None:
            refuse_other_customer(facts, doc)
    _check_stock(session, doc, resolved, quantity)
    return resolved


def _check_stock(session: Session, doc: DocumentHead, resolved: Resolved, quantity: int) -> None:
    """What the tallies decide: units free to take out of stock, and what the purchase order still expects."""
    product = resolved.product
    if resolved.takes_unit:
        wanted = 1 if resolved.serial is not None else POLICY[doc.kind].takes_units(quantity)
        on_hand = product_by_id(session, product.id).unserialised_on_hand
        if on_hand - tallies.taken(session, doc.id, product.id) < wanted:
            raise out_of_stock(doc, product, on_hand, resolved.serial)
    if doc.kind == DocumentKind.receipt and doc.order_id is not None:
        check_order_quantity(session, doc, _order_reference(session, doc), product, 1 if resolved.serial else quantity)


def _order_reference(session: Session, doc: DocumentHead) -> str:
    return doc.order_reference or session.connection().scalar(_ORDER_REFERENCE, {"id": doc.order_id})


def add_line(session: Session, given: Document | DocumentHead, *, product: Product | ProductFacts | None = None,
             serial: str | None = None, quantity: int = 1, batch: str | None = None, expiry: str | None = None,
             pattern: re.Pattern[str] | None = None, lookups: Lookups | None = None, user: str | None = None,
             replaces: str | None = None, location_id: int | None = None, site_id: int | None = None) -> Line:
    """Add a checked line: a number, the line, its product's tally; rule 8's unique index refuses a raced serial.

    ``given`` is the document as the caller holds it: a DocumentHead is decided on as it is, an ORM Document is
    read as one first (one statement more), and is expired after, so it reads its new line count.
    ``user`` is who scanned it (the signed-in operator); None: the document's user. ``location_id``: where the
    unit goes (or, on a count, was found; on a line going out, where unserialised units leave first).

    Two statements whatever the document's size, the line numbered and written and its tally (on PostgreSQL sent
    in one round trip; on SQLite a serial's line is tallied by its INSERT: one statement), and (for a serial, on
    PostgreSQL) one read of the serial as committed now between the line
    and its tally: see ``_recheck``. A Refusal leaves nothing written: the checks come before the writes, and a
    refusal after them (the unique index, the re-check) undoes the line's own writes, so a scan needs no savepoint
    around it (issue 22).
    """
    require_open(given)
    doc = head_for(session, given)
    if quantity == 0 or (quantity < 0 and doc.kind != DocumentKind.adjustment):
        raise Invalid("invalid_quantity", "A line's quantity must be a positive whole number.")
    if serial is not None and quantity != 1 and doc.kind != DocumentKind.adjustment:
        raise Invalid("invalid_quantity", "A serial is one unit.")
    lookups = lookups or Lookups(session)
    resolved = check_line(session, doc, product=product_facts_of(product), serial=serial, quantity=quantity,
                          pattern=pattern, lookups=lookups, replaces=replaces, site_id=site_id,
                          location_id=location_id)
    product = resolved.product
    taken = (1 if resolved.serial is not None else POLICY[doc.kind].takes_units(quantity)) if resolved.takes_unit else 0
    values = dict(
        document_id=doc.id, product_id=product.id if product else None, serial=resolved.serial,
        quantity=quantity, batch=batch, expiry=expiry, takes_unit=resolved.takes_unit,
        # Rule 8's index holds a serial on an open document's line; a count's lines are observations, never held.
        is_open=doc.kind is not DocumentKind.count,
        created_at=datetime.now(UTC), user=user if user is not None else doc.user, replaces=replaces,
        location_id=location_id)
    tally = {"document_id": doc.id, "product_id": product.id, "units": quantity, "taken": taken} if product else None
    made, again = False, None
    rechecked = resolved.serial is not None and doc.kind is not DocumentKind.count and not lookups.writers_serialised
    dialect = session.get_bind().dialect.name
    together = tally is not None and dialect == "postgresql"
    # SQLite: a serial's line is tallied by its own INSERT (migration 0014's trigger), with nothing more to send.
    tallied = together or (tally is not None and tallies.by_trigger(dialect, resolved.serial is not None))
    if rechecked and tally is not None:  # the line, then its tally with the serial read again: one round trip
        line_no, again, made = _insert_tallied(session, doc, values, tally)
        lookups.read_again(resolved.serial, again)
    elif together:  # the line, then its tally (a count's line, a line without a serial): one round trip
        line_no = _insert_then_tally(session, doc, values, tally)
    else:
        line_no = _insert_line(session, doc, values)
    line = Line(line_no, product, resolved.serial, quantity, batch, expiry, resolved.takes_unit, replaces)
    if rechecked and tally is None:
        again = lookups.serial(line.serial, fresh=True)
    elif not rechecked and tally is not None and not tallied:
        tallies.add(session, doc.id, product.id, quantity, taken)
    if again is not None:
        try:
            _recheck(doc, line, resolved, again)
        except Refusal:
            _take_back(session, doc, line, tally, made)
            raise
    expire(session, given, "lines", "line_count")
    return line


def _numbered(doc: DocumentHead, values: dict[str, Any]) -> dict[str, Any]:
    """``_COUNT_AND_INSERT``'s parameters: the document, and the line's values under their own names."""
    return {"document_id": doc.id} | {f"ln_{name}": values[name] for name in _LINE_VALUES}


def _insert_line(session: Session, doc: DocumentHead, values: dict[str, Any]) -> int:
    """The line numbered and written, in one statement; a unique index refusing it (rule 8: a serial raced onto
    another open document) is a Refusal, with nothing written (on PostgreSQL, its count taken back)."""
    conn = session.connection()
    dialect = conn.dialect.name
    inserted = direct.first(conn, _COUNT_AND_INSERT[dialect], _numbered(doc, values))  # a scan's: below SQLAlchemy
    if inserted is None:
        if dialect == "postgresql":
            conn.execute(_COUNT_DOWN, {"document_id": doc.id})
        raise _raced(values["serial"])
    return inserted.line_no


def _raced(serial: str | None) -> Refusal:
    return Refusal("serial_on_open_document",
                   f"Serial {serial} was just put on another open document: finish or cancel that first.")


def _insert_tallied(session: Session, doc: DocumentHead, values: dict[str, Any],
                    tally: dict) -> tuple[int, SerialFacts, bool]:
    """PostgreSQL: the line, then its tally with the serial read again as committed now (``_beside_tally``); the
    line's number, the serial, and whether the tally was made by it."""
    line_no, row = _beside_tally(session, doc, values, tally, _TALLIED_AGAIN, tally | {"text": values["serial"]})
    return line_no, serial_facts_of(values["serial"], row), bool(row.made)


def _insert_then_tally(session: Session, doc: DocumentHead, values: dict[str, Any], tally: dict) -> int:
    """PostgreSQL: the line, then its tally (``_beside_tally``); the line's number."""
    return _beside_tally(session, doc, values, tally, _TALLIED, tally)[0]


def _beside_tally(session: Session, doc: DocumentHead, values: dict[str, Any], tally: dict, tallied,
                  params: dict[str, Any]):
    """PostgreSQL: the line numbered and written, then ``tallied`` (its tally's upsert, and whatever it reads beside
    it, in a row that says whether it ``made`` the tally), sent together (direct.both: one round trip); the line's
    number and that row. A unique index refusing the line (rule 8) takes its count and the tally back, and is a
    Refusal."""
    rows, (row,) = direct.both(session.connection(), _COUNT_AND_INSERT["postgresql"], _numbered(doc, values),
                               tallied, params)
    if not rows:  # no row written: its number and its tally go back
        _count_back(session, doc, tally, bool(row.made))
        raise _raced(values["serial"])
    return rows[0][0], row


def _take_back(session: Session, doc: DocumentHead, line: Line, tally: dict | None, made: bool) -> None:
    """A line just written, refused after all: its row, its number and its tally (``made`` by it: dropped, else
    counted down) as they were before it."""
    session.connection().execute(_DELETE_NUMBERED, {"document_id": doc.id, "line_no": line.line_no})
    _count_back(session, doc, tally, made)


def _count_back(session: Session, doc: DocumentHead, tally: dict | None, made: bool) -> None:
    """A refused line's number and its tally (``made`` by it: dropped, else counted down) as they were before it."""
    session.connection().execute(_COUNT_DOWN, {"document_id": doc.id})
    if tally is None:
        return
    if made:
        tallies.drop(session, doc.id, tally["product_id"])
    else:
        tallies.add(session, doc.id, tally["product_id"], -tally["units"], -tally["taken"])


def _recheck(doc: DocumentHead, line: Line, resolved: Resolved, facts: SerialFacts) -> None:
    """After a serial's line is written, decide again on the serial as committed now (``facts``), if it changed
    meanwhile.

    A posting that took the serial (received it, sold it) closed its own line in
    the same transaction, so once the unique index of rule 8 let this line in,
    that posting has committed and a read after it sees it: the loser of the race is
    refused here, at its scan, with the right code, and never at its posting. SQLite lets one
    writer in at a time, from BEGIN: there, nothing can have committed since this scan's read, and this is not asked.
    """
    if facts.state != resolved.facts.state:
        line_check(doc.kind, resolved.replaces)(facts, resolved.product, line.quantity)
        if resolved.replaces is None:
            refuse_other_customer(facts, doc)


def last_line(session: Session, doc: Document | DocumentHead):
    """The document's last line (its number is the line count), or None."""
    return session.connection().execute(_LAST_LINE, {"document_id": doc.id}).first()


def attach_serial(session: Session, given: Document | DocumentHead, serial: str, *,
                  pattern: re.Pattern[str] | None = None, lookups: Lookups | None = None) -> Line:
    """Record a serial on the last line, an unserialised unit (a product that needs no serial)."""
    require_open(given)
    doc = head_for(session, given)
    last = last_line(session, doc)
    if last is None or last.serial is not None:
        raise Refusal("serial_required", "The last line has a serial already.")
    lookups = lookups or Lookups(session)
    product = product_by_id(session, last.product_id) if last.product_id is not None else None
    text = check_serial_text(lookups, serial, pattern)
    facts = lookups.serial(text)
    refuse_if_on_open_document(facts, doc)
    resolved = SERIAL_CHECKS[doc.kind](facts, product, last.quantity)
    try:
        session.connection().execute(_SET_SERIAL, {"line_id": last.id, "serial": resolved.serial})
    except IntegrityError:
        raise Refusal("serial_on_open_document",
                      f"Serial {resolved.serial} was just put on another open document: finish or cancel that"
                      " first.") from None
    expire(session, given, "lines")
    line = Line(last.line_no, resolved.product, resolved.serial, last.quantity, last.batch, last.expiry,
                last.takes_unit)
    if not lookups.writers_serialised:
        _recheck(doc, line, resolved, lookups.serial(line.serial, fresh=True))
    return line


def undo_last_line(session: Session, doc: Document | DocumentHead) -> Line:
    """Remove the last line, and its units from its product's tally."""
    require_open(doc)
    last = last_line(session, doc)
    if last is None:
        raise Refusal("nothing_to_undo", "There is no line to undo on this document.")
    session.connection().execute(_DELETE_LINE, {"line_id": last.id})
    session.connection().execute(_COUNT_DOWN, {"document_id": doc.id})
    product = product_by_id(session, last.product_id) if last.product_id is not None else None
    if product is not None:
        taken = ((1 if last.serial is not None else POLICY[doc.kind].takes_units(last.quantity))
                 if last.takes_unit else 0)
        tallies.add(session, doc.id, product.id, -last.quantity, -taken)
    expire(session, doc, "lines", "line_count")
    return Line(last.line_no, product, last.serial, last.quantity, last.batch, last.expiry, last.takes_unit,
                last.replaces)


def cancel(session: Session, doc: Document | DocumentHead) -> None:
    """Drop an open document: its lines no longer hold their serials."""
    require_open(doc)
    session.execute(update(D).where(D.c.id == doc.id).values(status=DocumentStatus.cancelled))
    session.execute(update(L).where(L.c.document_id == doc.id).values(is_open=False))
    expire(session, doc, "status", "lines")


def create_purchase_order(session: Session, reference: str, supplier: str, lines: Sequence[tuple[str, int]], *,
                          pattern: re.Pattern[str] | None = None) -> Document:
    """A purchase order to receive against: (product code, quantity) lines from the supplier with that code."""
    reference = require_code(reference, "reference")
    if pattern is not None and not pattern.search(reference):
        raise Invalid("invalid_field", f"reference {reference} does not match the purchase order pattern"
                                       f" {pattern.pattern}, so it could not be scanned.")
    if session.scalar(select(Document.id).where(Document.reference == reference)):
        raise Conflict("duplicate", f"Document {reference} exists already.")
    party = get_party(session, "supplier", require_code(supplier, "supplier"))
    if not lines:
        raise Invalid("invalid_field", "lines must be a non-empty list of {\"product\", \"quantity\"}.")
    order = Document(reference=reference, kind=DocumentKind.purchase_order, status=DocumentStatus.open,
                     supplier=party)
    session.add(order)
    for n, (code, quantity) in enumerate(lines, start=1):
        product = get_product(session, require_code(code, f"line {n} product"))
        quantity = require_quantity(quantity, f"line {n} quantity")
        if quantity <= 0:
            raise Invalid("invalid_quantity", f"line {n}: quantity must be positive.")
        order.lines.append(DocumentLine(line_no=n, product=product, quantity=quantity, is_open=False))
    order.line_count = len(lines)
    session.flush()
    for product_id, quantity in _totals(order.lines).items():
        tallies.add(session, order.id, product_id, quantity)
    return order


def _totals(lines: Sequence[DocumentLine]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for line in lines:
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
    return totals


def order_progress(session: Session, order: Document | DocumentHead) -> list[dict[str, Any]]:
    """Per product of a purchase order: expected and received (posted) so far."""
    return [{"product": c.code, "name": c.name, "expected": c.units, "received": c.received}
            for c in tallies.order_summary(session, order.id)]
