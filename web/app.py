"""The Flask app factory (as Flask's tutorial, flaskr): no module globals, one app per call.

``create_app`` does not migrate the database: ``station init``, ``run`` and
``serve`` do that before they serve.
"""
from __future__ import annotations

from flask import Blueprint, Flask
from sqlalchemy.engine import Engine

from station.config import Config, load
from station.storage.db import make_engine, make_sessionmaker, read_only

from .api import API_PREFIX, MAX_BODY
from .api import bp as api_bp
from .api.paths import refuse_leading_slashes
from .contract import bp as contract_bp
from .db import EXTENSION, StationApp
from .live import Live
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
