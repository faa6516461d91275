"""The webhook outbox: one delivery row per event and webhook, sent in event order, retried, then given up on.

Theory of operation. The events are the outbox (station.domain.events: written in the
change's own transaction, ids in commit order). A webhook's deliveries are
made from the feed by the daemon's deliverer (``enqueue``), not by the
posting: the posting stays one event row however many webhooks there are
and whatever the configuration says (a webhook is configuration, the event
is data), and the feed's order makes that safe. ``enqueue`` reads the
events after the webhook's ``cursor`` and, in the same transaction, inserts
a delivery for each event of a type the webhook takes and moves the cursor
past all it read: a crash between the two rolls both back, and the next
call reads the same events again (``ON CONFLICT DO NOTHING`` if a row made
it), so none is lost and none owed twice. A webhook seen for the first time
starts at the feed's end: it is owed what is posted from then on (earlier
events are in ``GET /api/events``).

A webhook's deliveries go out one at a time in event order: ``head`` is its
first delivery not yet delivered, and nothing behind it is sent until it is
(SPEC 5: "a webhook's later events wait behind its first undelivered one").
A failed head (three days of retries) holds the line too, until ``station
outbox retry`` sends it again: a receiver that applies events in order is
never handed a gap. Each attempt's outcome is recorded with ``record``:
delivered, or the next attempt after the ``Schedule``'s pause (1 s, 5 s,
30 s, 2 min, 10 min, then hourly) until three days from the first attempt:
then ``failed``.

Two daemons configured with one webhook (several boxes on one PostgreSQL)
must not send it in parallel: the sender holds a lease on the webhook's row
(``claim``, renewed before every attempt). The holder's name is stable per
daemon (its host and spool), so a daemon restarted after a kill takes its
lease back at once; another waits until the lease runs out. An attempt cut
short by a kill is sent again with the same event id: a receiver drops the
repeat by its ``webhook-id``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from station.domain import events
from station.domain.models import FeedEvent, Webhook, WebhookDelivery
from station.domain.vocabulary import DeliveryState

W = Webhook.__table__
WD = WebhookDelivery.__table__
E = FeedEvent.__table__

LEASE = timedelta(seconds=60)
ENQUEUE_BATCH = 500
OPEN_STATES = (DeliveryState.pending, DeliveryState.failed)


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(at: datetime | None) -> datetime | None:
    """A stored time as UTC-aware (SQLite gives them back without a zone)."""
    if at is None or at.tzinfo is not None:
        return at
    return at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Schedule:
    """When a failed delivery is tried again: the pauses after the 1st, 2nd... failure, then ``then`` each time,
    until ``give_up_after`` from its first attempt (SPEC 5: 1 s, 5 s, 30 s, 2 min, 10 min, hourly, three days)."""

    delays: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0, 600.0)
    then: float = 3600.0
    give_up_after: timedelta = timedelta(days=3)

    def delay_after(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` failed attempts."""
        return self.delays[attempts - 1] if 1 <= attempts <= len(self.delays) else self.then


SCHEDULE = Schedule()


@dataclass(frozen=True)
class Delivery:
    """One delivery as the deliverer works on it."""

    id: int
    webhook_id: int
    event_id: int
    state: DeliveryState
    attempts: int
    first_attempt_at: datetime | None
    next_attempt_at: datetime | None

    def due_in(self, now: datetime) -> float:
        """Seconds until it may be tried (0: now)."""
        at = aware(self.next_attempt_at)
        return 0.0 if at is None else max(0.0, (at - now).total_seconds())


def register(session: Session, url: str) -> int:
    """The webhook's id, made on first sight with its cursor at the feed's end (it is owed what comes next)."""
    found = session.scalar(select(W.c.id).where(W.c.url == url))
    if found is not None:
        return found
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(W).values(url=url, cursor=events.last_id(session), created_at=utcnow())
                    .on_conflict_do_nothing(index_elements=[W.c.url]))
    return session.scalar(select(W.c.id).where(W.c.url == url))


_CLAIM = (update(W).where(W.c.id == bindparam("webhook_id"),
                          or_(W.c.holder.is_(None), W.c.holder == bindparam("holder"),
                              W.c.lease_until.is_(None), W.c.lease_until < bindparam("now")))
          .values(holder=bindparam("holder"), lease_until=bindparam("until")))


def claim(session: Session, webhook_id: int, holder: str, now: datetime | None = None) -> bool:
    """Take or renew the lease on sending this webhook's deliveries; False while another daemon holds it."""
    now = now or utcnow()
    result = session.execute(_CLAIM, {"webhook_id": webhook_id, "holder": holder, "now": now, "until": now + LEASE})
    return result.rowcount == 1


def cursor_of(session: Session, webhook_id: int) -> int:
    """The last event id the webhook's deliveries were made up to."""
    return session.scalar(select(W.c.cursor).where(W.c.id == webhook_id))


def lease_of(session: Session, webhook_id: int) -> tuple[str | None, datetime | None]:
    row = session.execute(select(W.c.holder, W.c.lease_until).where(W.c.id == webhook_id)).one()
    return row.holder, aware(row.lease_until)


def enqueue(session: Session, webhook_id: int, types: Iterable[str], *, batch: int = ENQUEUE_BATCH) -> int:
    """Deliveries for the events after the webhook's cursor that it takes; the cursor moved past them.

    Returns how many events were read (``batch``: call again, more may follow).
    """
    cursor = session.scalar(select(W.c.cursor).where(W.c.id == webhook_id).with_for_update())
    rows = events.after(session, cursor, batch)
    if not rows:
        return 0
    wanted = set(types)
    owed = [{"webhook_id": webhook_id, "event_id": row.id, "state": DeliveryState.pending, "attempts": 0,
             "created_at": utcnow()} for row in rows if row.type in wanted]
    if owed:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(WD).on_conflict_do_nothing(index_elements=[WD.c.webhook_id, WD.c.event_id]),
                        owed)
    session.execute(update(W).where(W.c.id == webhook_id).values(cursor=rows[-1].id))
    return len(rows)


_COLUMNS = (WD.c.id, WD.c.webhook_id, WD.c.event_id, WD.c.state, WD.c.attempts, WD.c.first_attempt_at,
            WD.c.next_attempt_at)
_HEAD = (select(*_COLUMNS).where(WD.c.webhook_id == bindparam("webhook_id"), WD.c.state.in_(OPEN_STATES))
         .order_by(WD.c.event_id).limit(1))


def head(session: Session, webhook_id: int) -> Delivery | None:
    """The webhook's first delivery not yet delivered (pending, or failed and holding the line), or None."""
    row = session.execute(_HEAD, {"webhook_id": webhook_id}).first()
    return Delivery(*row) if row is not None else None


_LINE = (select(*_COLUMNS).where(WD.c.webhook_id == bindparam("webhook_id"), WD.c.state.in_(OPEN_STATES))
         .order_by(WD.c.event_id).limit(bindparam("limit")))


def line(session: Session, webhook_id: int, limit: int) -> list[Delivery]:
    """The webhook's first ``limit`` deliveries not yet delivered, in event order (the head first)."""
    return [Delivery(*row) for row in session.execute(_LINE, {"webhook_id": webhook_id, "limit": limit})]


def delivered(session: Session, delivery_ids: Sequence[int], *, status: int, now: datetime | None = None) -> None:
    """Several deliveries, each answered 2xx on its first attempt since it was last recorded, marked at once."""
    if not delivery_ids:
        return
    now = now or utcnow()
    session.execute(update(WD).where(WD.c.id.in_(list(delivery_ids))).values(
        state=DeliveryState.delivered, attempts=WD.c.attempts + 1, delivered_at=now, last_attempt_at=now,
        first_attempt_at=func.coalesce(WD.c.first_attempt_at, now), next_attempt_at=None, last_status=status,
        last_error=None))


def record(session: Session, delivery_id: int, *, delivered: bool, status: int | None = None,
           error: str | None = None, now: datetime | None = None, schedule: Schedule = SCHEDULE) -> Delivery:
    """One attempt's outcome: delivered, or its next attempt scheduled, or failed once three days have passed."""
    now = now or utcnow()
    row = session.execute(select(*_COLUMNS).where(WD.c.id == delivery_id).with_for_update()).one()
    attempts = row.attempts + 1
    first = aware(row.first_attempt_at) or now
    values: dict = {"attempts": attempts, "first_attempt_at": first, "last_attempt_at": now, "last_status": status,
                    "last_error": (error or None) and error[:500]}
    if delivered:
        values |= {"state": DeliveryState.delivered, "delivered_at": now, "next_attempt_at": None}
    else:
        nxt = now + timedelta(seconds=schedule.delay_after(attempts))
        if nxt - first > schedule.give_up_after:
            values |= {"state": DeliveryState.failed, "next_attempt_at": None}
        else:
            values |= {"next_attempt_at": nxt}
    session.execute(update(WD).where(WD.c.id == delivery_id).values(**values))
    return Delivery(row.id, row.webhook_id, row.event_id, values.get("state", row.state), attempts, first,
                    values["next_attempt_at"])


def retry(session: Session, *, url: str | None = None, event_id: int | None = None) -> int:
    """Failed deliveries (of one webhook, or one event) made pending again, due now, with a fresh schedule."""
    where = [WD.c.state == DeliveryState.failed]
    if url is not None:
        where.append(WD.c.webhook_id == select(W.c.id).where(W.c.url == url).scalar_subquery())
    if event_id is not None:
        where.append(WD.c.event_id == event_id)
    result = session.execute(update(WD).where(*where).values(
        state=DeliveryState.pending, first_attempt_at=None, next_attempt_at=utcnow()))
    if result.rowcount and session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(events.EVENT_CHANNEL, "")))  # the deliverers look again (at commit)
    session.info[events.WROTE_EVENTS] = True
    return result.rowcount


@dataclass(frozen=True)
class Counts:
    """A webhook's deliveries owed and given up on (``pending`` counts events not yet turned into rows too)."""

    url: str
    pending: int
    failed: int
    delivered: int
    oldest_pending_at: datetime | None


def counts(session: Session, urls: Sequence[str], types_of: dict[str, Iterable[str]] | None = None) -> list[Counts]:
    """Per webhook URL (configured ones): pending, failed and delivered deliveries."""
    out = []
    for url in urls:
        webhook = session.execute(select(W.c.id, W.c.cursor).where(W.c.url == url)).first()
        if webhook is None:
            out.append(Counts(url, 0, 0, 0, None))
            continue
        by_state = dict(session.execute(select(WD.c.state, func.count()).where(WD.c.webhook_id == webhook.id)
                                        .group_by(WD.c.state)).all())
        waiting = 0
        if types_of is not None:
            waiting = session.scalar(select(func.count()).select_from(E).where(
                E.c.id > webhook.cursor, E.c.type.in_(list(types_of.get(url, ()))))) or 0
        oldest = session.scalar(select(func.min(E.c.at)).select_from(WD.join(E, E.c.id == WD.c.event_id)).where(
            and_(WD.c.webhook_id == webhook.id, WD.c.state == DeliveryState.pending)))
        out.append(Counts(url, by_state.get(DeliveryState.pending, 0) + waiting, by_state.get(DeliveryState.failed, 0),
                          by_state.get(DeliveryState.delivered, 0), aware(oldest)))
    return out


def deliveries(session: Session, *, state: DeliveryState | None = None, limit: int = 100) -> Sequence:
    """The newest deliveries (of one state), with their webhook's URL and event's type, newest first."""
    query = (select(WD.c.id, WD.c.webhook_id, W.c.url, WD.c.event_id, E.c.type, WD.c.state, WD.c.attempts,
                    WD.c.last_status,
                    WD.c.last_error, WD.c.last_attempt_at, WD.c.next_attempt_at, WD.c.delivered_at)
             .select_from(WD.join(W, W.c.id == WD.c.webhook_id).join(E, E.c.id == WD.c.event_id))
             .order_by(WD.c.id.desc()).limit(limit))
    if state is not None:
        query = query.where(WD.c.state == state)
    return session.execute(query).all()
