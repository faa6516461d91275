"""The pages of SPEC 5: one blueprint per page group, registered by :func:`register_pages`.

Every page is rendered by an autoescaped Jinja template (nothing from a
barcode is ever marked safe; the serial's SVG is built by station.printing.labels with
its text escaped); every form carries the CSRF token and answers with
Post/Redirect/Get (forms.py); records whose keys may hold '/' are linked as
links.py says.
"""
from __future__ import annotations

from flask import Flask, current_app, render_template, send_from_directory
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ..api.paths import TailConverter
from . import auth, devices, documents, labels, links, locations, operators, products, serials, stations
from .format import register as register_filters

BLUEPRINTS = (stations.bp, serials.bp, products.bp, documents.bp, devices.bp, labels.bp, auth.bp, operators.bp,
              locations.bp)


def _http_error(exc: HTTPException):
    return render_template("error.html", status=exc.code, code=exc.name, message=exc.description), exc.code


def _database_down(exc: OperationalError):
    return render_template("error.html", status=503, code="database_unavailable",
                           message="The database cannot be reached: try again shortly."), 503


# Like a decorator on each view: set once, before any app registers the blueprints.
for _bp in BLUEPRINTS:
    _bp.register_error_handler(HTTPException, _http_error)
    _bp.register_error_handler(OperationalError, _database_down)


def favicon():
    """``/favicon.ico``, which browsers and tools ask for by habit (the pages name favicon.svg): the same drawing."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=86400)


def register_pages(app: Flask) -> None:
    """Add the page blueprints and their template helpers to ``app``."""
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    # Record pages route keys as the API does; the converter must exist before their rules.
    app.url_map.converters.setdefault("tail", TailConverter)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    links.register(app)
    register_filters(app)


__all__ = ["BLUEPRINTS", "register_pages"]
