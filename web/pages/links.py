"""Links to records whose keys may hold '/', '//', '%' or any printable character.

A key goes into the path percent-encoded as one segment (``quote(key,
safe="")``, so '/' travels as %2F) and the record views read it back from the
raw request URI (web.api.paths), exactly as the API does. Only a key that is
all dots ("." or "..") cannot travel in a path, because browsers resolve those
segments, even encoded, before sending; its link names it in the query string
instead (``/serials?exact=..``), which the collection view answers.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import url_for

DOT_SEGMENTS = frozenset({".", ".."})


def _record_url(collection_endpoint: str, key: str) -> str:
    if key in DOT_SEGMENTS:
        return url_for(collection_endpoint, exact=key)
    return url_for(collection_endpoint) + "/" + quote(key, safe="")


def serial_url(serial: str) -> str:
    return _record_url("serials.index", serial)


def product_url(code: str) -> str:
    return _record_url("products.index", code)


def document_url(reference: str) -> str:
    return _record_url("documents.index", reference)


def location_url(code: str) -> str:
    return _record_url("locations.index", code)


def station_url(station: str) -> str:
    return url_for("stations.screen", station=station)


def register(app) -> None:
    """Make the link builders available in every template."""
    for fn in (serial_url, product_url, document_url, location_url, station_url):
        app.add_template_global(fn)
