"""The integration feed (SPEC 5 "Integration"): one event per posted document, and per record made or edited.

An event is written by the function that makes the change, in the caller's
transaction (the transactional outbox: the event commits with the change or
not at all): ``posting.post`` writes ``document.posted``; the serial,
product, party and location functions write ``serial.changed``, ``product.changed``,
``party.changed`` and ``location.changed``. Readers follow it with ``after(session, id, limit)``
(``GET /api/events``, and the daemon's webhook deliverer).

Ordering: ids in commit order
-----------------------------
A reader asks for what follows the last id it saw, so an id must never
become visible after a greater one: on PostgreSQL ids from a sequence can
(T1 takes 41, T2 takes 42, T2 commits, a reader sees 42 and moves on, T1
commits 41: skipped for ever). Here the id is assigned under a lock held
until the transaction ends: ``pg_advisory_xact_lock`` on one key, then
``max(id) + 1`` read by a new statement (READ COMMITTED: it sees the
previous holder's committed event). The holder before has committed (and is
visible) before its lock is released, so ids commit in id order, with no
gaps (a rolled-back event gives its id back). SQLite has one writer at a
time (``BEGIN IMMEDIATE``), so the same ``max(id) + 1`` is in order there
without a lock. The price is that event-writing transactions on PostgreSQL
queue on that lock from their event to their commit: this module is called
as late as the change allows (posting writes its event last), so the queue
is one short tail per posting (see the bench's ``integration`` figures), and
no long transaction elsewhere in the database holds readers back, as an
``xmin``-based horizon would (a 5-second import would delay every webhook by
5 seconds). The alternative, a per-event ``xid8`` compared with
``pg_snapshot_xmin(pg_current_snapshot())``, needs readers to skip ahead only
once every transaction older than a gap has ended; it leaves writers
unserialised but makes every read wait for the slowest writer.

Payloads: the subject named, its JSON rendered when read
--------------------------------------------------------
The domain may not render JSON (that is station.interchange, a layer
above), so an event row names its subject (``document`` and its id, a
``serial``, a ``product``, a ``supplier`` or ``customer``) and
station.webhooks.payload renders it when the event is read, as the API
gives the record. For ``document.posted`` that is the posting itself:
a posted document never changes (its lines, movements, quantities and codes
are final; nothing un-posts), so rendering it later gives what rendering it
at posting would, while the posting (and so the scan that posts it) pays
nothing: a receipt of 30,000 serials would otherwise build megabytes of JSON
inside its transaction, on the scan path. What may read differently later is
only what GET /api/documents/<ref> would also show differently: a product's
or party's name edited since (which has its own later event), and, for a
receipt against a purchase order, the order's received counts. For
``*.changed`` the record is rendered as it is when read: the event says "it
changed at ``at``", and the body is its present state; a reader applying the
feed in order always ends with the record as it is, since every later change
has a later event of its own (the "thin event" a client fetches, delivered
with the record already fetched).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Select, bindparam, func, insert, literal, select
from sqlalchemy.orm import Session

from . import direct
from .models import FeedEvent
from .vocabulary import EventType

E = FeedEvent.__table__

#: PostgreSQL channel notified (at commit) whenever an event is written: the deliverers listen on it.
EVENT_CHANNEL = "station_events"
#: ``session.info`` key set when the session wrote an event (an in-process deliverer wakes on its commit).
WROTE_EVENTS = "station.wrote_events"
# Names the feed's id lock among the database's advisory locks (any constant; 'EVNT').
LOCK_KEY = 0x45564E54

SUBJECTS = ("document", "serial", "product", "supplier", "customer", "location")

_LOCK = select(func.pg_advisory_xact_lock(literal(LOCK_KEY)))
_NEXT = select(func.coalesce(func.max(E.c.id), 0) + 1, bindparam("type", type_=E.c.type.type),
               bindparam("at", type_=E.c.at.type), bindparam("subject", type_=E.c.subject.type),
               bindparam("subject_id", type_=E.c.subject_id.type))
_INSERT = insert(E).from_select(["id", "type", "at", "subject", "subject_id"], _NEXT)
_INSERT_SQLITE = _INSERT.returning(E.c.id)
_INSERT_PG = _INSERT.returning(E.c.id, func.pg_notify(EVENT_CHANNEL, ""))
_AFTER = (select(E.c.id, E.c.type, E.c.at, E.c.subject, E.c.subject_id).where(E.c.id > bindparam("after"))
          .order_by(E.c.id).limit(bindparam("limit")))
_LAST = select(func.max(E.c.id))


def lock_with(*writes) -> Select:
    """PostgreSQL: a statement that makes ``writes`` (data-modifying CTEs: the change's last writes) and takes the
    feed's lock; ``record(..., after=(it, its parameters))`` sends it, then the event, by a statement of its own
    whose snapshot (READ COMMITTED) is taken once the lock is held, both in one round trip (direct.both)."""
    statement = _LOCK
    for write in writes:
        statement = statement.add_cte(write)
    return statement


def record(session: Session, type: EventType, subject: str, subject_id: int, *, at: datetime | None = None,
           after: tuple[Select, dict] | None = None) -> int:
    """Write one event about ``subject`` (one of SUBJECTS) in the caller's transaction; its id.

    From here to the end of the transaction, other event writers on
    PostgreSQL wait (see the module's doc): call it as the change's last write. ``after``: on PostgreSQL, the
    change's last writes, which take that lock (``lock_with``'s statement, and its parameters), sent first.
    """
    values = _values(type, subject, subject_id, at)
    conn = session.connection()
    # Sent below SQLAlchemy's execution (station.domain.direct): a posting's last statements.
    if conn.dialect.name != "postgresql":
        event_id = direct.run(conn, _INSERT_SQLITE, values)[0][0]
    else:
        event_id = direct.both(conn, *(after or (_LOCK, {})), _INSERT_PG, values)[1][0][0]
    session.info[WROTE_EVENTS] = True
    return event_id


def record_ahead(session: Session, type: EventType, subject: str, subject_id: int, *, at: datetime | None = None,
                 after: tuple[Select, dict] | None = None) -> None:
    """``record``, for a caller that does not need the event's id: on PostgreSQL the event (with ``after``) is held
    to go in front of the transaction's next statement, in its pipeline (direct.ahead: a posting's close and event
    ride with the scan's answer read), a round trip saved; elsewhere it is written now."""
    values = _values(type, subject, subject_id, at)
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        direct.run(conn, _INSERT_SQLITE, values)
    else:
        direct.ahead(conn, (after or (_LOCK, {}), (_INSERT_PG, values)))
    session.info[WROTE_EVENTS] = True


def _values(type: EventType, subject: str, subject_id: int, at: datetime | None) -> dict:
    if subject not in SUBJECTS:
        raise ValueError(f"an event's subject is one of {', '.join(SUBJECTS)}, not {subject!r}")
    return {"type": EventType(type).value, "at": at or datetime.now(UTC), "subject": subject,
            "subject_id": subject_id}


def after(session: Session, after_id: int, limit: int) -> Sequence:
    """The events after ``after_id``, oldest first, at most ``limit``: rows of id, type, at, subject, subject_id."""
    return session.execute(_AFTER, {"after": after_id, "limit": limit}).all()


def last_id(session: Session) -> int:
    """The newest event's id (0 when there is none)."""
    return session.scalar(_LAST) or 0
