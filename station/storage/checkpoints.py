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
import weakref
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


class Checkpointer:
    """The checkpoints of one SQLite file, run by a thread started when the first one is due."""

    def __init__(self, engine: Engine, path: Path, every: int = EVERY):
        self._engine = weakref.ref(engine)
        self.path = path
        self.every = every
        self.commits = 0  # write transactions committed since the last checkpoint was asked for
        self.restarts = 0  # checkpoints run in the write queue, for the WAL to start again
        self._asked = False  # a checkpoint is due once the connection that committed is back in the pool
        self.done = 0  # checkpoints run
        self.last: tuple[int, int, int] | None = None  # (busy, WAL frames, frames checkpointed) of the last one
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)
        self._thread: tuple[threading.Thread, threading.Event, threading.Event] | None = None  # thread, due, stop

    def committed(self) -> None:
        """One write transaction committed: ask for a checkpoint every ``every`` of them."""
        with self._lock:
            self.commits += 1
            if self.commits < self.every:
                return
            self.commits = 0
            self._asked = True

    def returned(self) -> None:
        """A connection is back in the pool, its transaction over: run a checkpoint now if one was asked for (the
        commit event comes before the COMMIT, whose pages the checkpoint would miss)."""
        with self._lock:
            if not self._asked:
                return
            self._asked = False
            if self._thread is None:
                due, stop = threading.Event(), threading.Event()
                thread = threading.Thread(target=self._run, args=(due, stop), name="sqlite-checkpoint", daemon=True)
                self._thread = (thread, due, stop)
                thread.start()
            due = self._thread[1]
        due.set()

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
        with self._lock:
            return self._finished.wait_for(lambda: self.done >= done, timeout)

    @property
    def thread(self) -> threading.Thread | None:
        """The thread that checkpoints, once one was due; None before, and after ``stop``."""
        running = self._thread
        return running[0] if running else None

    def _run(self, due: threading.Event, stop: threading.Event) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=FULL")  # the checkpoint syncs the WAL, then the database file
            while True:
                due.wait()
                due.clear()
                if stop.is_set():
                    return
                try:
                    self.catch_up(conn)
                except sqlite3.Error as exc:  # the next commits ask again; the backstop bounds the WAL meanwhile
                    log.warning("checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()

    def stop(self) -> None:
        """End the thread (the engine is disposed); a later commit starts another."""
        with self._lock:
            running, self._thread = self._thread, None
        if running is not None:
            thread, due, stop = running
            stop.set()
            due.set()
            thread.join()


_checkpointers: weakref.WeakKeyDictionary[Engine, Checkpointer] = weakref.WeakKeyDictionary()


def checkpointer_of(engine: Engine) -> Checkpointer | None:
    """The checkpointer of an engine on a SQLite file (``attach``); None for any other engine."""
    return _checkpointers.get(engine)


def attach(engine: Engine, path: Path, read_only: str, every: int = EVERY) -> Checkpointer:
    """Checkpoint ``engine``'s SQLite file from a thread of its own (module docstring); the checkpointer.

    ``read_only`` names the execution option of the engine's transactions that only read: they write nothing
    to checkpoint, so their commits are not counted."""
    checkpointer = Checkpointer(engine, path, every)

    @event.listens_for(engine, "connect")
    def _backstop(dbapi_conn, _record):
        dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")

    @event.listens_for(engine, "commit")
    def _committed(conn):
        if not conn.get_execution_options().get(read_only):
            checkpointer.committed()

    event.listen(engine.pool, "checkin", lambda _dbapi_conn, _record: checkpointer.returned())

    event.listen(engine, "engine_disposed", lambda _engine: checkpointer.stop())
    _checkpointers[engine] = checkpointer
    return checkpointer
