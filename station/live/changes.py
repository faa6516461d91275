"""The change feed live events follow: one per app, fed from one source, told to whoever listens.

A live screen must not hold a database connection or a thread while it
waits, so the screens' event loop (streams.py) registers one listener
here and hears, from a thread of this feed, which stations changed. The feed
learns of changes from the daemon's live status when the daemon runs in this
process (``station run``: it tells its news from the thread that made it, no
thread of the feed's in between), else
from PostgreSQL ``LISTEN`` on one dedicated connection, else by polling the
cheap ``station_state.version`` counter every 250 ms (SQLite, where other
processes may scan). A scan this app processes itself is told at once
(:meth:`ChangeFeed.bump`). The thread runs only while someone listens.

A listener is called with the stations that changed, or None for "any of
them" (the source was lost and found again, or the daemon's status moved:
held scans, a scanner, the database going away), and with whether the
thread telling it may read the change there (``read_here``: the daemon's
processor after a scanner's scan; never the feed's own threads, which may
have many stations to tell of).

The feed is handed its source (the engine, the sessions that only read, the
daemon's live status or None) and knows nothing of the web app, which keeps
its one feed (web.db.change_feed).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from station.domain.models import StationState
from station.scanning.scan_log import STATION_CHANGES

from .status import Live

log = logging.getLogger(__name__)

POLL = 0.25  # seconds between version polls on SQLite
READY_WAIT = 5.0  # how long a new listener waits for the feed to start listening

# Told the stations that changed (None: any) and whether it may read them in the telling thread (LiveStatus.notify).
Listener = Callable[[list[str] | None, bool], None]


class ChangeFeed:
    """Tells its listeners which stations changed: as the daemon's live status tells it, else from one source thread."""

    def __init__(self, engine: Engine, readers: sessionmaker[Session], live: Live | None = None):
        self.engine = engine
        self.readers = readers
        self.live = live
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        if live is not None:
            self._ready.set()
            live.follow(self.bump)  # with nobody listening, a bump tells nobody

    @property
    def source(self) -> str:
        if self.live is not None:
            return "live"
        return "listen" if self.engine.dialect.name == "postgresql" else "poll"

    # -- what listeners call -------------------------------------------------
    def subscribe(self, listener: Listener, *, wait: bool = True) -> None:
        """Add ``listener``, starting the source thread if none runs; with ``wait``, until it listens."""
        with self._lock:
            self._listeners.append(listener)
            if self._thread is None and self.source != "live":  # the live status tells its news itself
                self._ready = threading.Event()
                target = {"listen": self._listen, "poll": self._poll}[self.source]
                self._thread = threading.Thread(target=target, args=(self._ready,), name="station-changes",
                                                daemon=True)
                self._thread.start()
            ready = self._ready
        if wait and not ready.wait(READY_WAIT):
            log.warning("station events: the change feed is not ready yet; streams start anyway")

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def bump(self, stations: list[str] | None, read_here: bool = False) -> None:
        """These stations changed (None: any of them): tell every listener now, from the caller's thread, which may
        read the change there with ``read_here`` (LiveStatus.notify)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(stations, read_here)
            except Exception:  # one broken listener must not silence the others
                log.exception("station events: a change listener failed")

    # -- the source threads ---------------------------------------------------
    def _keep_going(self) -> bool:
        """False (and the thread forgotten) once nobody listens: decided under the lock."""
        with self._lock:
            if self._listeners:
                return True
            self._thread = None
            return False

    def _listen(self, ready: threading.Event) -> None:
        """PostgreSQL: LISTEN on one connection of its own, outside the pool."""
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        pause = threading.Event()
        while self._keep_going():
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
                    conn.execute(f"LISTEN {STATION_CHANGES}")
                    self.bump(None)  # whatever happened before we listened
                    ready.set()
                    while self._keep_going():
                        changed = [n.payload for n in conn.notifies(timeout=1.0)]
                        if changed:
                            self.bump(sorted(set(changed)))
            except psycopg.Error as exc:
                log.warning("station events: LISTEN connection lost (%s); retrying", exc)
                ready.set()
                self.bump(None)  # the screens look again, and say "offline" if the database is away
                pause.wait(1.0)

    def _poll(self, ready: threading.Event) -> None:
        """SQLite: one query of every station's version counter per interval, for all listeners at once."""
        seen: dict[str, int] = {}
        failing = False
        pause = threading.Event()
        while self._keep_going():
            try:
                with self.readers() as session:
                    rows = session.execute(select(StationState.station, StationState.version)).all()
            except OperationalError as exc:
                if not failing:
                    log.warning("station events: cannot read station versions: %s", exc.orig)
                    failing = True
                    self.bump(None)  # the screens look, and say "offline"
                rows = []
            else:
                if failing:
                    failing = False
                    seen.clear()
                    self.bump(None)
            changed = [station for station, version in rows if seen.get(station) != version]
            seen.update(rows)
            if changed:
                self.bump(changed)
            ready.set()
            pause.wait(POLL)
