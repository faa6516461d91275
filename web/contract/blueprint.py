"""``GET /api/openapi.json`` and ``/api/docs``: the document, and Swagger UI rendering it for a person.

Swagger UI comes from the swagger-ui-bundle-v2 package (installed with the
station, so the page works on a station with no internet) and is served from
here: the page loads nothing from any other host. Its start-up is a file of
ours (static/docs.js), not an inline script, so the pages' Content Security
Policy holds here too.
"""
from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import NotFound

from .document import document

bp = Blueprint("contract", __name__, template_folder="templates", static_folder="static",
               static_url_path="/docs/own")

#: The renderer's files the page uses (the bundle holds more: source maps, other builds).
RENDERER_FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"})


@bp.get("/openapi.json")
def openapi():
    """The document as UTF-8 (its character classes are a fifth of the size of their \\u escapes)."""
    body = json.dumps(document(current_app), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, mimetype="application/json")


@bp.get("/docs")
def docs():
    return render_template("api_docs.html", spec_url=url_for(".openapi"))


@bp.get("/docs/renderer/<name>")
def renderer(name: str):
    """One file of Swagger UI, from the installed package."""
    if name not in RENDERER_FILES:
        raise NotFound()
    return send_from_directory(Path(str(swagger_ui_path)), name, max_age=86400)
