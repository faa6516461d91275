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

A screen must not hold a pooled database connection while it waits, or
fifty screens would starve the API: a stream waits on the app's
:class:`web.changes.ChangeFeed` and opens a short session only to fetch the
state it sends.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.exc import IntegrityError, OperationalError

from station.domain.errors import Invalid, NotFound
from station.scanning.service import ScanService, check_key
from station.storage.retry import run_in_transaction

from ..changes import ChangeFeed, feed
from ..db import StationApp, station_app, transaction
from .errors import error
from .inputs import json_body

log = logging.getLogger(__name__)

bp = Blueprint("stations", __name__)

SCAN_FIELDS = ("data", "id", "source")
SOURCES = ("api", "web")
HEARTBEAT = 15.0  # seconds; app.config["STATION_SSE_HEARTBEAT"] overrides (tests)


def _known(station: str) -> None:
    if station_app().config.station(station) is None:
        raise NotFound("unknown_station", f"There is no station {station}: check the [[stations]] of the configuration.")


def _offline(app_state: StationApp, station: str) -> dict[str, Any]:
    live = app_state.live
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
    live = app_state.live
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
