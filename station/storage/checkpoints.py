"""SQLite's WAL checkpoints, off the scan's commit (issue 22).

In WAL mode a commit appends the pages it changed to the ``-wal`` file and
syncs that file (``synchronous=FULL``): the scan is durable then. A checkpoint
later copies those pages into the database file and syncs it, so the WAL can
start again from its beginning. SQLite's own automatic checkpoint runs inside
the COMMIT that takes the WAL past 1,000 pages: one scan in some 60 paid for
copying about 4 MB and two more syncs, and those scans were the slowest of
the run (the bench's ``checkpoints`` in the tail).

So an engine on a SQLite file checkpoints from a thread of its own instead: after every ``EVERY`` write
transactions committed through the engine (once the last of them is back in the pool), the thread runs
``PRAGMA wal_checkpoint(PASSIVE)`` on a connection of its own. A passive checkpoint takes no write lock and
waits for nobody, so scans commit while it copies.

It does not run at once, though: a scan's screens fetch it as its write transaction ends, and a checkpoint
beside that fetch (its copying and two syncs) made that scan one of the slowest 1% of the daemon's. So a
checkpoint due waits until ``QUIET`` passed without a write transaction ending, between one scan and the next
(a scanner's pace leaves tens of ms between them; with writes sparse, it runs ``QUIET`` after the write that
asked for it). Writes that never leave such a pause do not hold it back for long: it runs anyway ``LATEST``
after it was asked for, or as soon as the write transaction that asks for the next one (``EVERY`` more) has
ended, so that under writes back to back a checkpoint still runs every ``EVERY`` of them, one such interval
later than before, and the WAL stays bounded (some two checkpoints' worth of pages, then ``RESTART_FRAMES``
as below).

It copies only what was committed before it began, though, and the WAL starts again from its beginning only
when a write transaction begins with every page of it copied: with scans back to back that never happened by
itself, and the WAL grew by some 4 MB every 64 scans. So once the WAL holds ``RESTART_FRAMES`` pages, the
thread copies the rest with a second passive checkpoint in its turn of this process's write queue
(``retry.writer_lock``): the few pages committed during the first (a few ms of copying and two syncs, which a
scan that comes meanwhile waits for in the queue, one checkpoint in four), and the next scan starts the WAL
again. The engine's own connections keep SQLite's automatic checkpoint only as a backstop, at
``BACKSTOP_PAGES`` (a WAL some 40 MB long, which the thread does not let it reach while it runs).

Durability is unchanged: a commit is durable once its WAL frames are synced, and a checkpoint only moves pages
that are durable already (it syncs the WAL before, and the database file after, copying).
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .retry import writer_lock

log = logging.getLogger(__name__)

#: Write transactions committed between two checkpoints: a scan writes some 15 pages, so about SQLite's 1,000.
EVERY = 64
#: The automatic checkpoint of the engine's connections, kept for a checkpointer that cannot keep up.
BACKSTOP_PAGES = 10_000
#: Pages in the WAL past which the thread copies the last of them in the write queue, so the WAL starts again.
RESTART_FRAMES = 4_000
#: Seconds without a write transaction ending that a checkpoint due waits for (module docstring), the
#: processor's QUIET: a scan's screens have fetched it by then.
QUIET = 0.02
#: Seconds after it was asked for past which a checkpoint runs without a pause in the writes.
LATEST = 1.0


class Checkpointer:
    """The checkpoints of one SQLite file, run by a thread started when the first one is due."""

    def __init__(self, engine: Engine, path: Path, every: int = EVERY, quiet: float = QUIET,
                 latest: float = LATEST):
        self._engine = weakref.ref(engine)
        self.path = path
        self.every = every
        self.quiet = quiet  # seconds without a write ending that a checkpoint due waits for
        self.latest = latest  # seconds after being asked for past which it runs without them
        self.commits = 0  # write transactions committed since the last checkpoint was asked for
        self.restarts = 0  # checkpoints run in the write queue, for the WAL to start again
        self._asked = False  # a checkpoint is due once the connection that committed is back in the pool
        self._due_since: float | None = None  # when the checkpoint waiting for a pause was asked for (monotonic)
        self._overdue = False  # another ``every`` write transactions ended while it waited: it runs now
        self._then_due: float | None = None  # when the one that made it overdue was asked for, waiting after it
        self._last_write = 0.0  # when the last write transaction ended (its connection back in the pool)
        self.done = 0  # checkpoints run
        self.at_once = 0  # checkpoints (catch_up) run as soon as asked for, the writes paused already
        self.held_back = 0  # checkpoints (catch_up) run after waiting for a pause in the writes
        self.late = 0  # checkpoints (catch_up) run without a pause: ``latest`` passed, or ``every`` more writes
        self.last: tuple[int, int, int] | None = None  # (busy, WAL frames, frames checkpointed) of the last one
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)
        self._changed = threading.Condition(self._lock)  # a checkpoint asked for, overdue, or the thread stopped
        self._thread: tuple[threading.Thread, threading.Event] | None = None  # the thread, its stop

    def committed(self) -> None:
        """One write transaction committed: ask for a checkpoint every ``every`` of them."""
        with self._lock:
            self.commits += 1
            if self.commits < self.every:
                return
            self.commits = 0
            self._asked = True

    def returned(self, wrote: bool = True) -> None:
        """A connection is back in the pool, its transaction over (``wrote``: a write transaction): a checkpoint
        asked for by its commit is due from now (the commit event comes before the COMMIT, whose pages the
        checkpoint would miss), and waits until ``quiet`` after the last write (module docstring); the one asked
        for before, if it still waits for that pause, runs now instead."""
        if not wrote:
            return
        now = time.monotonic()
        with self._lock:
            self._last_write = now
            if not self._asked:
                return
            self._asked = False
            if self._due_since is None:
                self._due_since = now
            else:  # the one waiting runs now, this one waits in its turn: one every ``every`` writes, as before
                self._overdue, self._then_due = True, now
            if self._thread is None:
                stop = threading.Event()
                thread = threading.Thread(target=self._run, args=(stop,), name="sqlite-checkpoint", daemon=True)
                self._thread = (thread, stop)
                thread.start()
            self._changed.notify_all()

    def _wait_until_due(self, stop: threading.Event) -> str | None:
        """Wait until a checkpoint is due and its pause came, or it is late: which of ``"late"``, ``"held_back"``
        (it waited for the pause) or ``"at_once"``; None once the thread is to stop. Called with the lock held."""
        held = False
        while not stop.is_set():
            if self._due_since is None:
                self._changed.wait()
                continue
            now = time.monotonic()
            late = self._overdue or now >= self._due_since + self.latest
            if late or now >= self._last_write + self.quiet:
                self._due_since, self._overdue, self._then_due = self._then_due, False, None
                return "late" if late else "held_back" if held else "at_once"
            held = True
            self._changed.wait(min(self._last_write + self.quiet, self._due_since + self.latest) - now)
        return None

    def checkpoint(self, conn: sqlite3.Connection) -> tuple[int, int, int]:
        """One passive checkpoint on ``conn``: (busy, WAL frames, frames checkpointed)."""
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        with self._lock:
            self.done += 1
            self.last = (busy, frames, copied)
            self._finished.notify_all()
        return busy, frames, copied

    def catch_up(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL into the database file: what the scans do not wait for, then the rest in a turn of the
        write queue (module docstring)."""
        _busy, frames, copied = self.checkpoint(conn)
        engine = self._engine()
        if frames >= RESTART_FRAMES and engine is not None:
            lock = writer_lock(engine)
            if lock.acquire(timeout=1.0):  # a transaction that hangs: the next checkpoint tries again
                try:
                    self.checkpoint(conn)
                    with self._lock:
                        self.restarts += 1
                finally:
                    lock.release()

    def wait_for(self, done: int, timeout: float) -> bool:
        """Whether ``done`` checkpoints have run, waiting up to ``timeout`` seconds for them."""
        return self.wait_until(lambda: self.done >= done, timeout)

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Whether ``ready()`` (on the counts) holds, waiting up to ``timeout`` seconds for a checkpoint to make it."""
        with self._lock:
            return self._finished.wait_for(ready, timeout)

    @property
    def thread(self) -> threading.Thread | None:
        """The thread that checkpoints, once one was due; None before, and after ``stop``."""
        running = self._thread
        return running[0] if running else None

    def _run(self, stop: threading.Event) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=FULL")  # the checkpoint syncs the WAL, then the database file
            while True:
                with self._lock:
                    how = self._wait_until_due(stop)
                if how is None:
                    return
                try:
                    self.catch_up(conn)
                except sqlite3.Error as exc:  # the next commits ask again; the backstop bounds the WAL meanwhile
                    log.warning("checkpoint of %s failed: %s", self.path, exc)
                with self._lock:
                    setattr(self, how, getattr(self, how) + 1)
                    self._finished.notify_all()
        finally:
            conn.close()

    def stop(self) -> None:
        """End the thread (the engine is disposed); a later commit starts another."""
        with self._lock:
            running, self._thread = self._thread, None
            self._due_since, self._overdue, self._then_due = None, False, None
            if running is not None:
                running[1].set()
                self._changed.notify_all()
        if running is not None:
            running[0].join()


_WROTE = "station_checkpoints_wrote"
_checkpointers: weakref.WeakKeyDictionary[Engine, Checkpointer] = weakref.WeakKeyDictionary()


def checkpointer_of(engine: Engine) -> Checkpointer | None:
    """The checkpointer of an engine on a SQLite file (``attach``); None for any other engine."""
    return _checkpointers.get(engine)


def attach(engine: Engine, path: Path, read_only: str, every: int = EVERY, quiet: float = QUIET,
           latest: float = LATEST) -> Checkpointer:
    """Checkpoint ``engine``'s SQLite file from a thread of its own (module docstring); the checkpointer.

    ``read_only`` names the execution option of the engine's transactions that only read: they write nothing
    to checkpoint, so their commits are not counted."""
    checkpointer = Checkpointer(engine, path, every, quiet, latest)

    @event.listens_for(engine, "connect")
    def _backstop(dbapi_conn, _record):
        dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")

    @event.listens_for(engine, "commit")
    def _committed(conn):
        if not conn.get_execution_options().get(read_only):
            conn.info[_WROTE] = True  # the pool entry's: its checkin says a write transaction ended
            checkpointer.committed()

    @event.listens_for(engine.pool, "checkin")
    def _returned(_dbapi_conn, record):
        checkpointer.returned(record.info.pop(_WROTE, False))

    event.listen(engine, "engine_disposed", lambda _engine: checkpointer.stop())
    _checkpointers[engine] = checkpointer
    return checkpointer
