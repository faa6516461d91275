"""/api/documents: create a purchase order to receive against, and read any document (SPEC 5)."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, url_for

from station.domain import documents
from station.interchange import representation

from ..db import station_app, transaction
from .inputs import json_body
from .paths import tail_key

bp = Blueprint("documents", __name__)


@bp.post("/documents")
def create():
    """A purchase order (``kind`` must be ``purchase_order``); its reference must match the document pattern."""
    body = json_body(allowed=("kind", "reference", "supplier", "lines"))
    with transaction() as session:
        order = documents.create_purchase_order(session, body, pattern=station_app().config.scanning.document_re)
        out = representation.document(session, order)
    return out, 201, {"Location": url_for(".create") + "/" + quote(out["reference"], safe="")}


@bp.get("/documents/<tail:rest>", merge_slashes=False)
def show(rest: str):
    """Status and lines; a purchase order also shows expected and received per line."""
    with transaction() as session:
        out = representation.document(session, documents.get_document(session, tail_key(rest)))
    return out
