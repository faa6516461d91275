"""/api/stations: scan through HTTP, read a station's state, follow it live (SPEC 5).

- ``POST /api/stations/<station>/scans`` ``{"data": "...", "id": "key"}``:
  one scan, processed exactly as a scanner's (device ``api``, or ``web`` with
  ``"source": "web"`` from the operator page's scan box), in order with the
  scanners' (web.scans). 200 with ``{"accepted", "code", "message", "prompt",
  "document"}`` once the request is well formed: a refused scan is an answer,
  not an error. The same ``id`` twice is processed once (the scan log's
  unique index says so, not a set). Under ``station run`` with the database
  away: 503 ``offline`` "Offline: N scans held", ``"queued": true``: the scan
  is held in the daemon's spool and will be processed in its turn; sending
  it again with the same ``id`` answers its result once it has one.
- ``GET /api/stations/<station>``: mode, prompt, open document, recent scans;
  503 ``offline`` ("Offline: N scans held") while the database is away.
- ``GET /api/stations/<station>/events``: server-sent events. The first
  event is the current state; then one each time the station's state
  changes (``id:`` is the station's version), ``event: offline`` while the
  database is away, and a comment line as a heartbeat every 15 seconds.
  This view only admits the request (the guard has run, the station exists)
  and answers a marker; station.live.streams streams from the event loop, so
  a waiting screen holds neither a thread nor a database connection.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy.exc import OperationalError

from station.domain.errors import Invalid, NotFound
from station.live.streams import EVENTS_MARKER, TRUST_MARKER
from station.scanning.service import ScanService, check_key
from station.scanning.views import offline

from ..db import StationApp, station_app, transaction
from ..scans import Held, carry_out
from .errors import error
from .inputs import json_body

log = logging.getLogger(__name__)

bp = Blueprint("stations", __name__)

SCAN_FIELDS = ("data", "id", "source")
SOURCES = ("api", "web")
# Set in the environ by the station's own server (web.app.asgi_app), which serves the events themselves.
ASGI_ENVIRON = "station.asgi"


def _known(station: str) -> None:
    if station_app().config.station(station) is None:
        raise NotFound("unknown_station",
                       f"There is no station {station}: check the [[stations]] of the configuration.")


def offline_body(app_state: StationApp, station: str) -> dict[str, Any]:
    """The answer while the database is away: "Offline: N scans held", N from the daemon's spool."""
    live = app_state.live
    held = live.held(station) if live is not None else 0
    return {"error": {"code": "offline", "message": offline(held)}, "held": held}


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
    answer = carry_out(station, data, device=source, key=key, user=g.get("user"))
    if isinstance(answer, Held):
        return jsonify(answer.answer()), 503, {"Retry-After": "2"}
    # The answer as the scan log keeps it, encoded once (ScanResult.json_text), as jsonify would send it.
    return Response(f"{answer.json_text}\n", mimetype="application/json")


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
        offline = offline_body(app_state, station)["error"]
        return error(offline["code"], offline["message"], 503)
    return jsonify(view)


@bp.get("/stations/<station>/events")
def events(station: str):
    """Server-sent events: admitted here (guard, station, headers), streamed by station.live.streams."""
    _known(station)
    if not request.environ.get(ASGI_ENVIRON):
        # A plain WSGI server would hold a thread per screen for as long as it stays open.
        return error("events_unavailable", "Live events are served by the station's own web server "
                     "(station serve or station run), not by a plain WSGI server.", 501)
    return Response(b"", mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no",
                             EVENTS_MARKER: station, TRUST_MARKER: "1" if g.get("trusted") else "0"})
