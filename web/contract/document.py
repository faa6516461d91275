"""The OpenAPI 3.1 document of the station's API (SPEC 5: ``GET /api/openapi.json``), kept as data in code.

Built from routes (the paths), records (what the API answers with), bodies
(what it takes) and codes (the refusal and error codes, as enums), once per
app: the purchase order pattern comes from the app's configuration.
README "The API contract" says why a hand-kept document and not one
generated from decorators.
"""
from __future__ import annotations

from typing import Any

from flask import Flask

from station.config import Config

from ..db import EXTENSION
from . import bodies, epcis, locations, records, routes

VERSION = "3.1.0"
_CACHE = "station.openapi"

DESCRIPTION = """\
The barcode station's HTTP API (SPEC 5). JSON in and out; errors are
`{"error": {"code": "...", "message": "..."}}`, with the codes of each status
listed as enums. Reading is open to whoever reaches the server. The server
binds 127.0.0.1 by default and trusts loopback clients; bound to any other
address, every write (POST, PATCH, DELETE) and `/metrics` from another machine
need `Authorization: Bearer <token>` (`station token create NAME`). Writes take
only `Content-Type: application/json`, at most 4 KiB.
"""


def build(config: Config) -> dict[str, Any]:
    """The document for an app on ``config``."""
    pattern = config.scanning.document_re
    return {
        "openapi": VERSION,
        "info": {"title": "Barcode station", "version": "1", "description": DESCRIPTION,
                 "license": {"name": "MIT", "identifier": "MIT"}},
        "tags": [{"name": n} for n in ("stations", "serials", "products", "parties", "documents", "operators",
                                       "locations", "integration", "documentation")],
        "paths": {**routes.paths([s.id for s in config.stations]), **locations.paths()},
        "components": {
            "schemas": {**records.schemas(), **epcis.schemas(), **bodies.text_schemas(pattern), **bodies.bodies(),
                        **locations.schemas()},
            "responses": routes.responses_component(),
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "A token from `station token create NAME`: needed for writes and /metrics from "
                               "any machine but the station's own (loopback)."}},
        },
    }


def document(app: Flask) -> dict[str, Any]:
    """The app's document, built on first use."""
    found = app.extensions.get(_CACHE)
    if found is None:
        found = app.extensions.setdefault(_CACHE, build(app.extensions[EXTENSION].config))
    return found
