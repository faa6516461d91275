"""The Flask app factory (as Flask's tutorial, flaskr): no module globals, one app per call; and the app as served.

``create_app`` does not migrate the database: ``station init``, ``run`` and
``serve`` do that before they serve. ``asgi_app`` hands the app to the
station's own server (station.live), with what that server cannot know of it.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, Flask
from sqlalchemy.engine import Engine

from station.config import Config, load
from station.live.asgi import StationASGI
from station.live.status import Live
from station.live.streams import HEARTBEAT, EventHub
from station.scanning.service import ScanService
from station.storage.db import make_engine, make_sessionmaker, read_only

from .api import API_PREFIX, MAX_BODY
from .api import bp as api_bp
from .api.paths import refuse_leading_slashes
from .api.stations import ASGI_ENVIRON, offline_body
from .contract import bp as contract_bp
from .db import EXTENSION, StationApp, change_feed
from .metrics import bp as metrics_bp
from .pages import register_pages
from .security import init_security


def blueprints() -> list[tuple[Blueprint, str | None]]:
    """The API's blueprint with its URL prefix (the pages add theirs in web.pages.register_pages)."""
    return [
        (api_bp, API_PREFIX),
        (contract_bp, API_PREFIX),  # /api/openapi.json and /api/docs
        (metrics_bp, None),
    ]


def create_app(config: Config | None = None, *, engine: Engine | None = None,
               live: Live | None = None) -> Flask:
    """An app on ``config`` (else the configuration found by ``station.config.load``).

    ``engine`` is used as given (tests pass theirs); otherwise one is made from
    ``config.database.url``. ``live`` is the daemon's status when ``station run``
    serves the app in its own process.
    """
    if config is None:
        config = load()
    if engine is None:
        engine = make_engine(config.database.url)
    app = Flask(__name__)
    # Every API body is small; the API checks this itself too, so pages that
    # need bigger uploads may raise the app-wide limit without widening the API.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.json.sort_keys = False  # keys in the order SPEC 5 shows them
    # No redirects: ``//`` in a URL is not "fixed" with an HTML 308 (the API answers JSON, always); a
    # route that wants the slashes as they came (a serial holding '//') says merge_slashes=False anyway.
    app.url_map.merge_slashes = False
    app.extensions[EXTENSION] = StationApp(config=config, engine=engine, Session=make_sessionmaker(engine),
                                             live=live, ReadSession=make_sessionmaker(read_only(engine)))
    # First of all: a path that starts with '//' routes nowhere (Werkzeug would strip the slashes).
    app.before_request(refuse_leading_slashes)
    # Security: one before_request hook; every API write is a POST, PATCH or
    # DELETE under API_PREFIX (web.api.is_api_write), and no GET writes anything.
    init_security(app)
    for bp, prefix in blueprints():
        app.register_blueprint(bp, url_prefix=prefix)
    register_pages(app)
    return app


def asgi_app(app: Flask, *, threads: int, max_streams: int, max_streams_per_client: int) -> StationASGI:
    """The app as the station's server runs it (station.live.serve.WebServer): Flask behind the bridge, live events
    from the event loop, each station's state read for them as the API reads it."""
    state: StationApp = app.extensions[EXTENSION]
    service = ScanService(state.config)

    def fetch(station: str) -> dict[str, Any]:
        # Only a read: a deferred transaction that never waits for a scan's write lock (storage.db.reading).
        with state.readers.begin() as session:
            return service.view(session, station)

    events = EventHub(change_feed(app), fetch, partial(offline_body, state), max_streams=max_streams,
                      max_per_client=max_streams_per_client,
                      heartbeat=float(app.config.get("STATION_SSE_HEARTBEAT", HEARTBEAT)))
    return StationASGI(app, events, threads=threads, max_body=MAX_BODY, environ={ASGI_ENVIRON: True})
