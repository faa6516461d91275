"""A doorbell for the print queue: rung by the transaction that queues labels, heard by the daemon that prints them.

The daemon's print workers wait for work without polling the database, so
whoever queues a label rings, and the bell is heard only once the labels are
committed (a scan refused after queueing rings nobody, or a harmless extra):

- PostgreSQL: ``NOTIFY print_jobs`` inside the transaction, which PostgreSQL
  delivers at commit and drops with a rollback, to every daemon of every box
  that ``LISTEN``s on the database.
- SQLite: one datagram, after the commit, to an abstract Unix socket named for
  the database file; every process that writes the file is on this machine,
  and the daemon of ``station run`` listens there.

``Listener`` is the daemon's ear: one thread that calls ``wake`` for each ring.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import selectors
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: The PostgreSQL channel of the bell; the payload is empty: every daemon looks at its printers.
PRINT_JOBS = "print_jobs"

_RANG = "print_bell"  # session.info: this transaction queued labels
_NOTIFY = select(func.pg_notify(PRINT_JOBS, ""))
RECONNECT = 2.0  # seconds between two tries to LISTEN again after the connection was lost
# libpq: give up a connect after 3 s, and find a dead connection within ~10 s (as the daemon's engine does).
PG_LISTEN_ARGS = {"connect_timeout": 3, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                  "keepalives_count": 2}


def address(engine: Engine) -> bytes | None:
    """The abstract socket of a SQLite database file (None in memory): one name per file, whoever opens it."""
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    digest = hashlib.sha256(str(Path(database).resolve()).encode()).hexdigest()[:24]
    return b"\0barcode-station/print/" + digest.encode()


def ring(session: Session) -> None:
    """Tell the daemon, once this transaction commits, that labels wait for it."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(_NOTIFY)
    elif not session.info.get(_RANG):
        session.info[_RANG] = True
        event.listen(session, "after_commit", _after_commit, once=True)


def _after_commit(session: Session) -> None:
    session.info.pop(_RANG, None)
    knock(session.get_bind())


def knock(engine: Engine) -> None:
    """One datagram to the SQLite database's bell; nobody listening is no error (no daemon runs)."""
    name = address(engine)
    if name is None:
        return
    # ECONNREFUSED: no daemon; EAGAIN: it has rings enough to look already
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, contextlib.suppress(OSError):
        sock.sendto(b"!", name)


class Listener(threading.Thread):
    """Calls ``wake()`` each time the bell of ``engine``'s database rings (and once when it starts listening)."""

    def __init__(self, engine: Engine, wake: Callable[[], None]) -> None:
        super().__init__(name="print-bell", daemon=True)
        self.engine = engine
        self.wake = wake
        self._stopping = threading.Event()
        self._sock: socket.socket | None = None
        self._interrupt = socket.socketpair()  # stop() wakes the PostgreSQL listener through it
        if engine.dialect.name != "postgresql" and (name := address(engine)) is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                self._sock.bind(name)
            except OSError as exc:
                self._sock.close()
                self._sock = None
                log.warning("print queue: cannot listen for labels queued by other processes (%s): another"
                            " daemon on this database listens already; they print when this daemon next looks",
                            exc.strerror or exc)

    def run(self) -> None:
        try:
            if self.engine.dialect.name == "postgresql":
                self._listen()
            elif self._sock is not None:
                self._hear()
        finally:
            self._close()

    def stop(self, timeout: float = 1.0) -> None:
        self._stopping.set()
        if self.ident is None:  # never started: nobody else closes its sockets
            self._close()
            return
        try:
            if self._sock is not None:
                knock(self.engine)  # unblocks recv
            else:
                self._interrupt[1].send(b"!")  # unblocks the LISTEN connection's select
        except OSError:
            pass  # it has ended already
        self.join(timeout)

    def _close(self) -> None:
        for sock in (self._sock, *self._interrupt):
            if sock is not None:
                sock.close()

    def _hear(self) -> None:
        while not self._stopping.is_set():
            self._sock.recv(16)
            if not self._stopping.is_set():
                self.wake()

    def _listen(self) -> None:
        """PostgreSQL: LISTEN on a connection of its own, outside the pool, found again after an outage.

        It waits on the connection's socket and on ``stop()``'s wake-up at once (``select``), so it neither
        polls nor holds up a shutdown; TCP keepalives find a server that vanished without closing.
        """
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        interrupt = self._interrupt[0]
        while not self._stopping.is_set():
            try:
                with psycopg.connect(url, autocommit=True, **PG_LISTEN_ARGS) as conn, \
                        selectors.DefaultSelector() as selector:
                    conn.execute(f"LISTEN {PRINT_JOBS}")
                    selector.register(conn.fileno(), selectors.EVENT_READ, "database")
                    selector.register(interrupt, selectors.EVENT_READ, "stop")
                    self.wake()  # whatever was queued before we listened
                    while not self._stopping.is_set():
                        if any(key.data == "stop" for key, _ in selector.select()):
                            break
                        if list(conn.notifies(timeout=0)):
                            self.wake()
            except psycopg.Error as exc:
                log.warning("print queue: LISTEN connection lost (%s); trying again",
                            (str(exc).strip().splitlines() or [type(exc).__name__])[0])
                self._stopping.wait(RECONNECT)
