"""/api/stations: scan through HTTP, read a station's state, follow it live (SPEC 5).

- ``POST /api/stations/<station>/scans`` ``{"data": "...", "id": "key"}``:
  one scan, processed exactly as a scanner's (device ``api``, or ``web`` with
  ``"source": "web"`` from the operator page's scan box). Always 200 with
  ``{"accepted", "code", "message", "prompt", "document"}`` once the request
  is well formed: a refused scan is an answer, not an error. The same ``id``
  twice is processed once (the scan log's unique index says so, not a set).
- ``GET /api/stations/<station>``: mode, prompt, open document, recent scans;
  503 ``offline`` ("Offline: N scans held") while the database is away.
- ``GET /api/stations/<station>/events``: server-sent events. The first
  event is the current state; then one each time the station's state
  changes (``id:`` is the station's version), ``event: offline`` while the
  database is away, and a comment line as a heartbeat every 15 seconds.

Theory of the events. A screen must not hold a pooled database connection
while it waits, or fifty screens would starve the API. So a stream waits on
a :class:`ChangeFeed` (one per app) and opens a short session only to fetch
the state it sends. The feed learns of changes from the in-process
``LiveStatus`` when the daemon runs in this process (the scan endpoint
notifies it too), else from PostgreSQL ``LISTEN station_changes`` on one
dedicated connection, else by polling the cheap ``station_state.version``
counter every 250 ms (SQLite, where other processes may scan). Its thread
runs only while some stream listens.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from station.domain.errors import Invalid, NotFound
from station.domain.models import StationState
from station.scanning.service import ScanService, check_key
from station.storage.retry import run_in_transaction

from ..db import EXTENSION, StationApp, station_app, transaction
from .errors import error
from .inputs import json_body

log = logging.getLogger(__name__)

bp = Blueprint("stations", __name__)

SCAN_FIELDS = ("data", "id", "source")
SOURCES = ("api", "web")
HEARTBEAT = 15.0  # seconds; app.config["STATION_SSE_HEARTBEAT"] overrides (tests)
POLL = 0.25  # seconds between version polls on SQLite
READY_WAIT = 5.0  # how long a new stream waits for the feed to start listening
FEED = "station.events"


def _known(station: str) -> None:
    if station_app().config.station(station) is None:
        raise NotFound("unknown_station", f"There is no station {station}: check the [[stations]] of the configuration.")


def _live(app_state: StationApp) -> Any:
    """The daemon's LiveStatus when it runs in this process, else None."""
    return app_state.live


def _offline(app_state: StationApp, station: str) -> dict[str, Any]:
    live = _live(app_state)
    held = live.held(station) if live is not None else 0
    return {"error": {"code": "offline", "message": f"Offline: {held} scans held"}, "held": held}


@bp.post("/stations/<station>/scans")
def scan(station: str):
    """One scan: 200 with the answer (accepted or refused); 400/404/413 for a request that is not one."""
    _known(station)
    body = json_body(SCAN_FIELDS)
    data = body.get("data")
    if not isinstance(data, str):
        raise Invalid("invalid_field", 'data must be the scanned text, as in {"data": "SN-1"}.')
    key = check_key(body.get("id"))
    source = body.get("source", "api")
    if source not in SOURCES:
        raise Invalid("invalid_field", f"source must be one of {', '.join(SOURCES)}.")
    app_state = station_app()
    service = ScanService(app_state.config)
    def process(session):
        return service.process(session, station, data, device=source, key=key)

    try:
        # Deadlocks and serialization failures are retried, never shown to the operator.
        result = run_in_transaction(app_state.Session, process)
    except IntegrityError:
        if key is None:
            raise
        # The same key raced in on another connection and won: answer as it was answered.
        result = run_in_transaction(app_state.Session, process)
    live = _live(app_state)
    if live is not None:
        live.notify()
    return jsonify(result.as_json())


@bp.get("/stations/<station>")
def show(station: str):
    """The station's state; 503 ``offline`` with the count of held scans when the database is away."""
    _known(station)
    app_state = station_app()
    try:
        with transaction() as session:
            view = ScanService(app_state.config).view(session, station)
    except OperationalError as exc:
        log.warning("station %s: database unavailable: %s", station, exc.orig)
        offline = _offline(app_state, station)["error"]
        return error(offline["code"], offline["message"], 503)
    return jsonify(view)


@bp.get("/stations/<station>/events")
def events(station: str):
    """Server-sent events: the state now, then one event per change of it."""
    _known(station)
    app_state = station_app()
    heartbeat = float(current_app.config.get("STATION_SSE_HEARTBEAT", HEARTBEAT))
    stream = _stream(app_state, feed(current_app), station, heartbeat)
    return Response(stream, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _event(view: dict[str, Any]) -> str:
    return f"id: {view.get('version', 0)}\ndata: {json.dumps(view, separators=(',', ':'))}\n\n"


def _stream(app_state: StationApp, changes: ChangeFeed, station: str, heartbeat: float) -> Iterator[str]:
    """The event stream of one screen; holds no database connection between fetches."""
    service = ScanService(app_state.config)

    def fetch() -> tuple[Any, str]:
        try:
            with app_state.Session.begin() as session:
                view = service.view(session, station)
            return ("state", view["version"]), _event(view)
        except OperationalError:
            offline = _offline(app_state, station)
            return ("offline", offline["held"]), f"event: offline\ndata: {json.dumps(offline)}\n\n"

    changes.subscribe()
    try:
        token = changes.token(station)
        last, text = fetch()
        yield text
        while True:
            new = changes.wait(station, token, heartbeat)
            key, text = fetch()
            if key != last:
                last = key
                yield text
            elif new == token:
                # Quiet for a whole heartbeat: a comment keeps proxies from closing the stream
                # and lets the server notice a screen that went away.
                yield ": heartbeat\n\n"
            token = new
    finally:
        changes.unsubscribe()


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
        if _live(self.app_state) is not None:
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
        live = _live(self.app_state)
        if live is not None:
            return live.version
        with self._cond:
            return self._counts.get(station, 0)

    def wait(self, station: str, token: int, timeout: float) -> int:
        """Block until the station's count passes ``token`` or ``timeout`` ends; the count then."""
        live = _live(self.app_state)
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
        """PostgreSQL: LISTEN station_changes on one connection of its own, outside the pool."""
        import psycopg

        url = self.app_state.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        pause = threading.Event()
        while self._keep_going():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("LISTEN station_changes")
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
