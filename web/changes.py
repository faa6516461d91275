"""The change feed event streams wait on: one per app, fed from one source.

A stream must not hold a pooled database connection while it waits, so it
waits here and opens a short session only to fetch the state it sends. The
feed learns of changes from the daemon's live status when the daemon runs
in this process (the scan endpoint notifies it too), else from PostgreSQL
``LISTEN`` on one dedicated connection, else by polling the cheap
``station_state.version`` counter every 250 ms (SQLite, where other
processes may scan). Its thread runs only while some stream listens.
"""
from __future__ import annotations

import logging
import threading

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from station.domain.models import StationState
from station.storage.channels import STATION_CHANGES

from .db import EXTENSION, StationApp

log = logging.getLogger(__name__)

POLL = 0.25  # seconds between version polls on SQLite
READY_WAIT = 5.0  # how long a new stream waits for the feed to start listening
FEED = "station.events"


def feed(app: Flask) -> ChangeFeed:
    """The app's one ChangeFeed, made on first use."""
    found = app.extensions.get(FEED)
    if found is None:
        found = app.extensions.setdefault(FEED, ChangeFeed(app.extensions[EXTENSION]))
    return found


class ChangeFeed:
    """Per-station change counters that event streams wait on, fed from one source per app."""

    def __init__(self, app_state: StationApp):
        self.app_state = app_state
        self._cond = threading.Condition()
        self._counts: dict[str, int] = {}
        self._subscribers = 0
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def _source(self) -> str:
        if self.app_state.live is not None:
            return "live"
        return "listen" if self.app_state.engine.dialect.name == "postgresql" else "poll"

    # -- what streams call -------------------------------------------------
    def subscribe(self) -> None:
        """Count a stream in, starting the listener if none runs; wait until it listens."""
        if self._source == "live":
            return
        with self._cond:
            self._subscribers += 1
            if self._thread is None:
                self._ready = threading.Event()
                target = self._listen if self._source == "listen" else self._poll
                self._thread = threading.Thread(target=target, args=(self._ready,), name="station-events", daemon=True)
                self._thread.start()
            ready = self._ready
        if not ready.wait(READY_WAIT):
            log.warning("station events: the change feed is not ready yet; the stream starts anyway")

    def unsubscribe(self) -> None:
        if self._source == "live":
            return
        with self._cond:
            self._subscribers -= 1

    def token(self, station: str) -> int:
        """The station's change count now, to wait past."""
        live = self.app_state.live
        if live is not None:
            return live.version
        with self._cond:
            return self._counts.get(station, 0)

    def wait(self, station: str, token: int, timeout: float) -> int:
        """Block until the station's count passes ``token`` or ``timeout`` ends; the count then."""
        live = self.app_state.live
        if live is not None:
            return live.wait_for_change(token, timeout)
        with self._cond:
            self._cond.wait_for(lambda: self._counts.get(station, 0) != token, timeout=timeout)
            return self._counts.get(station, 0)

    # -- the listener thread -----------------------------------------------
    def _bump(self, stations: list[str] | None) -> None:
        """Count a change of these stations (None: of every station, after a gap in listening)."""
        with self._cond:
            for station in (list(self._counts) if stations is None else stations):
                self._counts[station] = self._counts.get(station, 0) + 1
            self._cond.notify_all()

    def _keep_going(self) -> bool:
        """False (and the thread forgotten) once no stream listens: decided under the lock."""
        with self._cond:
            if self._subscribers > 0:
                return True
            self._thread = None
            return False

    def _listen(self, ready: threading.Event) -> None:
        """PostgreSQL: LISTEN on one connection of its own, outside the pool."""
        import psycopg

        url = self.app_state.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        pause = threading.Event()
        while self._keep_going():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {STATION_CHANGES}")
                    self._bump(None)  # whatever happened before we listened
                    ready.set()
                    while self._keep_going():
                        changed = [n.payload for n in conn.notifies(timeout=1.0)]
                        if changed:
                            self._bump(changed)
            except psycopg.Error as exc:
                log.warning("station events: LISTEN connection lost (%s); retrying", exc)
                ready.set()  # streams fall back to their heartbeat fetches meanwhile
                pause.wait(1.0)

    def _poll(self, ready: threading.Event) -> None:
        """SQLite: one query of every station's version counter per interval, for all streams at once."""
        seen: dict[str, int] = {}
        pause = threading.Event()
        while self._keep_going():
            try:
                with self.app_state.Session() as session:
                    rows = session.execute(select(StationState.station, StationState.version)).all()
            except OperationalError as exc:
                log.warning("station events: cannot read station versions: %s", exc.orig)
                rows = []
            changed = [station for station, version in rows if seen.get(station) != version]
            seen.update(rows)
            if changed:
                self._bump(changed)
            ready.set()
            pause.wait(POLL)
