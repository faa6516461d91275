"""One unit of work in its own transaction, run again when the database asks for it.

PostgreSQL may abort a transaction that did nothing wrong: SQLSTATE 40P01
(two transactions waited on each other's row locks: a deadlock) or 40001
(a serialization failure). The work is sound and succeeds when simply run
again, so the daemon and the web call ``run_in_transaction`` and the operator
never sees either. SQLite's ``SQLITE_BUSY`` (the write lock still held after
the busy timeout) is transient in the same way.

On SQLite the transactions of one process also queue on a lock of their own
before ``BEGIN IMMEDIATE``: SQLite lets one writer in at a time anyway, but a
writer that finds the file locked sleeps in SQLite's busy handler (steps of up
to 100 ms) instead of starting the moment the lock is free. With four
stations in one daemon that made the p99 of a scan hundreds of milliseconds;
queued here, the next transaction starts at once.

The unit of work must be safe to repeat: everything it does goes through the
session it is given (rolled back before the next attempt), nothing else.
"""
from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")

#: deadlock_detected, serialization_failure
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
RETRYABLE_SQLITE = frozenset({"SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT", "SQLITE_LOCKED"})

_writers: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_writers_guard = threading.Lock()


def is_retryable(exc: BaseException) -> bool:
    """True for errors that say "run the transaction again", not "this is wrong"."""
    orig = getattr(exc, "orig", exc)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return getattr(orig, "sqlite_errorname", None) in RETRYABLE_SQLITE


def is_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` says the database is away (worth waiting for), not that the work is bad."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                        sa_exc.TimeoutError, ConnectionError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def writer_turn(Session: sessionmaker[Session], timeout: float = 10.0) -> contextlib.AbstractContextManager[object]:
    """On SQLite, this process's queue for the one write lock (re-entrant); elsewhere nothing.

    After ``timeout`` seconds in the queue (a transaction that hangs) it goes on
    without its turn, and SQLite's own busy timeout decides, as it did before.
    """
    bind = Session.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return contextlib.nullcontext()
    return _turn(writer_lock(bind), timeout)


def writer_lock(engine: Engine) -> threading.RLock:
    """This process's queue for the one write lock of a SQLite engine (``writer_turn``): what else must not run
    beside a write transaction (the end of a checkpoint, checkpoints.py) takes a turn in it too."""
    with _writers_guard:
        lock = _writers.get(engine)
        if lock is None:
            lock = _writers[engine] = threading.RLock()
    return lock


@contextlib.contextmanager
def _turn(lock: threading.RLock, timeout: float) -> Iterator[None]:
    got = lock.acquire(timeout=timeout)
    try:
        yield
    finally:
        if got:
            lock.release()


def run_in_transaction(Session: sessionmaker[Session], fn: Callable[[Session], T], *, attempts: int = 5,
                       base_delay: float = 0.005, max_delay: float = 0.25,
                       sleep: Callable[[float], None] = time.sleep) -> T:
    """``fn(session)`` inside ``with Session.begin()``, retried on deadlocks and serialization failures.

    Each attempt gets a fresh session and transaction. Between attempts it
    sleeps a random time up to an exponentially growing cap ("full jitter"),
    so two transactions that collided do not collide again in lockstep.
    Any other error, and a retryable one on the last attempt, is raised.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            with writer_turn(Session), Session.begin() as session:
                return fn(session)
        except DBAPIError as exc:
            if attempt == 1 < attempts and exc.connection_invalidated:
                # A pooled connection the server closed (it restarted): SQLAlchemy has dropped the pool's
                # connections of before, so the next attempt connects afresh. No ping on every checkout.
                log.info("database connection lost; trying again on a new one: %s", str(exc.orig).splitlines()[0])
                continue
            if attempt == attempts or not is_retryable(exc):
                raise
            delay = random.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1)))
            log.info("transaction retried (attempt %s of %s, %s): %s", attempt + 1, attempts,
                     getattr(exc.orig, "sqlstate", None) or type(exc.orig).__name__,
                     str(exc.orig).splitlines()[0] if str(exc.orig) else "")
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
