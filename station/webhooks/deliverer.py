"""Webhook deliveries of ``station run``: one thread per configured webhook, apart from the scans.

Theory of operation. Each webhook's thread loops: take (or renew) the lease
on sending it, turn the new events of the feed into its delivery rows
(outbox.enqueue), read the first of its undelivered ones in
event order (``line``), and send them one after the other while each is
due: render the event (payload.py, as its webhook's format says), sign it
(signing.py), POST it (sender.py, 10 s at most). A
failure is recorded at once (with its next attempt) and ends the turn: the
later ones wait behind it. Successes are recorded together, by the next
turn's one write (which also renews the lease and turns new events into
deliveries), after at most ``RECORD_EVERY`` of them or ``RECORD_WITHIN``
seconds, and before any wait: a kill before that write sends them again,
with the same ids, which the outbox allows and a receiver drops; a write
that fails (the database away) is tried again with them still in hand, so
they are recorded without being sent twice. In exchange a backlog drains at
the rate of the HTTP calls, not of the writes queued with the scans'. Nothing
of this runs on the scan path: the threads have their own sessions, every
write is one short transaction (queued with the scans' on SQLite,
``run_in_transaction``), the render reads through a read-only engine that
takes no SQLite write lock, and the HTTP call holds no transaction at all.

A thread waits on a condition, never in a sleep loop: it is woken when an
event commits in this process (an ``after_commit`` hook on the sessions that
wrote one), on PostgreSQL when any process writes one (``LISTEN`` on the
feed's channel, one connection for all webhooks), and otherwise wakes only
when its head is due for its next attempt. SQLite cannot tell one process
of another's commits: there a thread also looks again every
``SQLITE_LOOK_AGAIN`` seconds, for events written by another process (a
``station scan`` or an import beside the daemon).

While the database is away every thread backs off (0.5 s doubling to 5 s)
and tries again ("cannot reach the outbox"); a delivery it could not record
as delivered is sent again later with the same event id, which a receiver
drops as a repeat. Only the database's errors are taken that way: whatever
else goes wrong with an attempt (the receiver's answer, the connection, the
certificate, even a bug in rendering or sending the event) is that
delivery's failed attempt, recorded on it with its error and its next
attempt, and logged as such.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from station.config import Config, WebhookConfig
from station.domain import events
from station.storage.db import make_sessionmaker, read_only
from station.storage.retry import run_in_transaction

from . import outbox, payload, sender, signing

log = logging.getLogger(__name__)

SQLITE_LOOK_AGAIN = 5.0
BACKOFF = (0.5, 5.0)
LINE = 50  # undelivered deliveries read at a time
RECORD_EVERY = 20
RECORD_WITHIN = 0.25  # seconds
RENEW_BEFORE = outbox.LEASE / 2  # the lease is renewed once less than this is left
#: The database's errors (the driver's, and no connection free in the pool): "cannot reach the outbox".
DATABASE_ERRORS = (DBAPIError, PoolTimeout)


def holder_name(config: Config) -> str:
    """Who holds a webhook's lease: this host and this daemon's spool (one daemon per spool), stable over restarts."""
    return f"{socket.gethostname()}:{config.spool_path}"[:300]


class Wakeup:
    """A change counter the webhook threads wait on: bumped when events may have been written."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._version = 0
        self._stopping = False

    def bump(self) -> None:
        with self._cond:
            self._version += 1
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def version(self) -> int:
        with self._cond:
            return self._version

    def wait(self, seen: int, timeout: float | None) -> int:
        """Until the counter passes ``seen``, a stop, or ``timeout``; the counter then."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != seen or self._stopping, timeout=timeout)
            return self._version


class WebhookThread(threading.Thread):
    """Sends one webhook's deliveries, in event order, one at a time."""

    def __init__(self, hook: WebhookConfig, Session: sessionmaker[Session], Reader: sessionmaker[Session],
                 holder: str, wakeup: Wakeup, *, look_again: float | None, timeout: float,
                 render: Callable[[Session, Any], bytes], schedule: outbox.Schedule = outbox.SCHEDULE) -> None:
        super().__init__(name=f"webhook {hook.url}"[:60], daemon=True)
        self.hook = hook
        self.Session = Session
        self.Reader = Reader
        self.holder = holder
        self.wakeup = wakeup
        self.look_again = look_again
        self.timeout = timeout
        self.schedule = schedule
        self.render = render  # an event row as the bytes of its POST (payload.renderer: by the webhook's format)
        self._webhook_id: int | None = None
        self._delay = BACKOFF[0]
        self._failing = False
        self._leased_until = None  # our lease, as last taken
        self._enqueued_at = -1  # the wakeup version the last enqueue ran after (-1: never)
        # Delivered (2xx) and not yet recorded, each with its status: the next write records them; kept through a
        # failed write.
        self._carried: list[tuple[outbox.Delivery, int]] = []

    def run(self) -> None:
        while not self.wakeup.stopping:
            seen = self.wakeup.version
            try:
                wait = self._step()
            except DATABASE_ERRORS as exc:  # the database is away: back off, never end the thread
                wait = self._trouble(exc)
            except Exception:  # a bug of ours outside an attempt: said as one, backed off the same way
                log.exception("webhook %s: unexpected error; trying again", self.hook.url)
                wait = self._pause()
            else:
                self._back()
            if wait != 0 and not self.wakeup.stopping:
                self.wakeup.wait(seen, wait)

    def register(self) -> None:
        """The webhook's row, made on first sight at the feed's end: it is owed every event from then on."""
        def work(s) -> tuple[int, int]:
            webhook_id = outbox.register(s, self.hook.url)
            return webhook_id, outbox.cursor_of(s, webhook_id)

        self._webhook_id, cursor = run_in_transaction(self.Session, work)
        log.info("webhook %s: owed the events after #%d (%s)", self.hook.url, cursor, ", ".join(self.hook.events))

    def _step(self) -> float | None:
        """One turn: how long to wait before the next (None: until woken; 0: go on at once)."""
        if self._webhook_id is None:
            self.register()
        if not self._write():
            _, until = run_in_transaction(self.Session, lambda s: outbox.lease_of(s, self._webhook_id))
            log.debug("webhook %s: another daemon holds it until %s", self.hook.url, until)
            return max(1.0, (until - outbox.utcnow()).total_seconds()) if until else 1.0
        with self.Reader.begin() as session:
            waiting = outbox.line(session, self._webhook_id, LINE)
        return self._send(waiting)

    def _write(self, failure: tuple[outbox.Delivery, sender.Outcome] | None = None) -> bool:
        """The turn's one write: the lease renewed when due, the deliveries made since the last write recorded
        (and a failure), the feed's new events turned into deliveries. False: another daemon holds the lease."""
        webhook_id, now = self._webhook_id, outbox.utcnow()
        renew = self._leased_until is None or self._leased_until - now < RENEW_BEFORE
        version = self.wakeup.version
        enqueue = failure is None and (version != self._enqueued_at or self.look_again is not None)
        done = list(self._carried)
        if enqueue and not (renew or done or failure) and not self._new_events():
            self._enqueued_at = version
            return True  # nothing to write: no write lock taken (SQLite looks again every few seconds)
        if not (renew or done or enqueue or failure):
            return True
        held, after = run_in_transaction(self.Session, lambda s: self._write_in(
            s, webhook_id, now, renew=renew, done=done, failure=failure, enqueue=enqueue))
        if not held:
            self._leased_until = None
            return False
        if renew:
            self._leased_until = now + outbox.LEASE
        if enqueue:
            self._enqueued_at = version
        self._carried = []
        for d, status in done:
            log.info("webhook %s: event %d delivered (%s)", self.hook.url, d.event_id, status)
        if failure is not None:
            self._say_failed(failure[0], failure[1], after)
        return True

    def _write_in(self, s: Session, webhook_id: int, now: datetime, *, renew: bool,
                  done: list[tuple[outbox.Delivery, int]], failure: tuple[outbox.Delivery, sender.Outcome] | None,
                  enqueue: bool) -> tuple[bool, outbox.Delivery | None]:
        """`_write`'s transaction: (False, None) when the lease is due and another daemon holds it, else True and
        the failed delivery's row as recorded."""
        if renew and not outbox.claim(s, webhook_id, self.holder, now):
            return False, None
        for status in sorted({status for _, status in done}):
            outbox.delivered(s, [d.id for d, st in done if st == status], status=status)
        after = None
        if failure is not None:
            after = outbox.record(s, failure[0].id, delivered=False, status=failure[1].status,
                                  error=failure[1].error, schedule=self.schedule)
        while enqueue and outbox.enqueue(s, webhook_id, self.hook.events) == outbox.ENQUEUE_BATCH:
            pass
        return True, after

    def _new_events(self) -> bool:
        """Whether the feed holds events past the webhook's cursor (read without taking a write lock)."""
        with self.Reader.begin() as session:
            return events.last_id(session) > outbox.cursor_of(session, self._webhook_id)

    def _send(self, waiting: list[outbox.Delivery]) -> float | None:
        """Send the due deliveries in order until one fails, one is not due, or enough wait to be recorded."""
        started = time.monotonic()
        for head in waiting:
            if head.state == outbox.DeliveryState.failed:
                return self._settle(self.look_again)  # the line waits behind it until `station outbox retry`
            due = head.due_in(outbox.utcnow())
            if due > 0:
                return self._settle(due if self.look_again is None else min(due, self.look_again))
            outcome = self._attempt(head)
            if not outcome.delivered:
                self._write(failure=(head, outcome))
                return 0
            self._carried.append((head, outcome.status or 200))
            if len(self._carried) >= RECORD_EVERY or time.monotonic() - started > RECORD_WITHIN:
                return 0  # the next turn's write records them
        return 0 if len(waiting) == LINE else self._settle(self.look_again)

    def _settle(self, wait: float | None) -> float | None:
        """Before waiting: the deliveries made are recorded now, not at the next turn."""
        if self._carried:
            self._write()
        return wait

    def _attempt(self, head: outbox.Delivery) -> sender.Outcome:
        """One attempt at the head: the event rendered, signed and sent. A database error propagates (the
        outbox cannot be read); anything else is this attempt's failure."""
        try:
            with self.Reader.begin() as session:
                rows = events.after(session, head.event_id - 1, 1)
                body = self.render(session, rows[0])
            headers = signing.signed_headers(self.hook.secret, head.event_id, body)
        except DATABASE_ERRORS:
            raise
        except Exception as exc:  # a bug in rendering or signing this event: its attempt fails, the thread goes on
            log.exception("webhook %s: event %d could not be made ready to send", self.hook.url, head.event_id)
            why = f"the event could not be made ready to send: {type(exc).__name__}: {exc}"
            return sender.Outcome(False, error=why[:sender.MAX_ERROR])
        return sender.post(self.hook.url, body, headers, timeout=self.timeout)

    def _say_failed(self, head: outbox.Delivery, outcome: sender.Outcome, after: outbox.Delivery) -> None:
        if after.state == outbox.DeliveryState.failed:
            log.error("webhook %s: event %d failed after %d attempts over 3 days (%s): it waits for "
                      "'station outbox retry', and the webhook's later events behind it",
                      self.hook.url, head.event_id, after.attempts, outcome.error)
        else:
            log.warning("webhook %s: event %d not delivered (%s); attempt %d, next in %.0f s", self.hook.url,
                        head.event_id, outcome.error, after.attempts, after.due_in(outbox.utcnow()))

    def _trouble(self, exc: Exception) -> float:
        """The database could not be read or written: said once, then backed off until it answers."""
        if not self._failing:
            log.warning("webhook %s: cannot reach the outbox (%s); trying again", self.hook.url,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self._failing = True
        return self._pause()

    def _pause(self) -> float:
        wait, self._delay = self._delay, min(self._delay * 2, BACKOFF[1])
        return wait

    def _back(self) -> None:
        if self._failing:
            log.info("webhook %s: outbox reachable again", self.hook.url)
        self._failing = False
        self._delay = BACKOFF[0]


class Deliverer:
    """Every configured webhook's thread, and what wakes them."""

    def __init__(self, config: Config, engine: Engine, *, holder: str | None = None,
                 timeout: float = sender.TIMEOUT, schedule: outbox.Schedule = outbox.SCHEDULE,
                 look_again: float | None = SQLITE_LOOK_AGAIN) -> None:
        self.config = config
        self.engine = engine
        self.wakeup = Wakeup()
        Session, Reader = make_sessionmaker(engine), make_sessionmaker(read_only(engine))
        postgres = engine.dialect.name == "postgresql"
        self.threads = [WebhookThread(hook, Session, Reader, holder or holder_name(config), self.wakeup,
                                      look_again=None if postgres else look_again, timeout=timeout,
                                      schedule=schedule, render=payload.renderer(config, hook))
                        for hook in config.webhooks]
        self._listener: threading.Thread | None = None
        if postgres and self.threads:
            self._listener = threading.Thread(target=self._listen, name="webhook-events", daemon=True)

    def start(self, *, register: bool = True) -> None:
        """Register every webhook now (before any scan of this start is processed, so each is owed them), then
        start the threads. With ``register`` false (the database did not answer at start: nothing may wait on
        it here) or a registration that fails, the thread registers its webhook once the database answers."""
        if not self.threads:
            return
        for thread in self.threads if register else ():
            try:
                thread.register()
            except Exception as exc:  # the database is away: the thread registers it once it answers
                log.warning("webhook %s: not registered yet (%s)", thread.hook.url, str(exc).splitlines()[0])
        sa_event.listen(Session, "after_commit", self._committed)
        if self._listener is not None:
            self._listener.start()
        for thread in self.threads:
            thread.start()
        log.info("webhooks: delivering to %s", ", ".join(t.hook.url for t in self.threads))

    def stop(self, timeout: float = 0.5) -> None:
        """Wake and end the threads; one still in an HTTP call is left to end with the process (its delivery
        stays pending and goes out again, with the same id, on the next start)."""
        if not self.threads:
            return
        if sa_event.contains(Session, "after_commit", self._committed):
            sa_event.remove(Session, "after_commit", self._committed)
        self.wakeup.stop()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _committed(self, session: Session) -> None:
        if session.info.get(events.WROTE_EVENTS):
            self.wakeup.bump()

    def _listen(self) -> None:
        """PostgreSQL: LISTEN on the feed's channel on a connection of its own; every notification wakes the threads."""
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        pause = threading.Event()
        while not self.wakeup.stopping:
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
                    conn.execute(f"LISTEN {events.EVENT_CHANNEL}")
                    self.wakeup.bump()  # whatever was written before we listened
                    while not self.wakeup.stopping:
                        if any(True for _ in conn.notifies(timeout=1.0)):
                            self.wakeup.bump()
            except psycopg.Error as exc:
                log.debug("webhooks: LISTEN connection lost (%s); again in 1 s", exc)
                pause.wait(1.0)
