"""The JSON API of SPEC 5 under /api: one blueprint per resource group, nested in ``bp``.

Every view opens one transaction (web.db.transaction) and builds its answer
with station.interchange.representation inside it; errors are JSON (see errors.py).
Writes are POST, PATCH or DELETE only, so the security hook (web.security)
tells them apart with :func:`is_api_write`.
"""
from __future__ import annotations

from flask import Blueprint, Request

from . import documents, epcis, errors, events, locations, operators, parties, products, serials, stations
from .inputs import MAX_BODY
from .paths import TailConverter

API_PREFIX = "/api"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

bp = Blueprint("api", __name__)
# The converter must exist before the child blueprints' rules are added.
bp.record_once(lambda state: state.app.url_map.converters.setdefault("tail", TailConverter))
for child in (serials.bp, products.bp, parties.bp, documents.bp, operators.bp, locations.bp, events.bp, epcis.bp):
    bp.register_blueprint(child)
bp.register_blueprint(stations.bp)
errors.register(bp, API_PREFIX)


def is_api(request: Request) -> bool:
    """True for any request under the API's prefix: it answers JSON, whatever the method."""
    path = request.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def is_api_write(request: Request) -> bool:
    """True for a request that may change data through the API."""
    return request.method in WRITE_METHODS and is_api(request)


__all__ = ["API_PREFIX", "MAX_BODY", "WRITE_METHODS", "bp", "is_api", "is_api_write"]
