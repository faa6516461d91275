"""/api/documents: create a purchase order to receive against, and read any document (SPEC 5)."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, url_for

from station.domain import document_record, documents
from station.domain.errors import Invalid
from station.interchange import representation

from ..db import station_app, transaction
from . import fields
from .inputs import MAX_PAGE, int_arg, json_body
from .paths import tail_key

bp = Blueprint("documents", __name__)

LINE_FIELDS = ("product", "quantity")


@bp.post("/documents")
def create():
    """A purchase order (``kind`` must be ``purchase_order``); its reference must match the document pattern."""
    body = json_body(allowed=("kind", "reference", "supplier", "lines"))
    if body.get("kind") != "purchase_order":
        raise Invalid("invalid_field", "kind must be \"purchase_order\": other documents are made by scanning.")
    reference, supplier = fields.text(body, "reference"), fields.text(body, "supplier")
    lines = _order_lines(body.get("lines"))
    with transaction() as session:
        order = documents.create_purchase_order(session, reference, supplier, lines,
                                                pattern=station_app().config.scanning.document_re)
        out = representation.document(session, document_record.by_id(session, order.id))
    return out, 201, {"Location": url_for(".create") + "/" + quote(out["reference"], safe="")}


def _order_lines(raw: Any) -> list[tuple[str, int]]:
    """``[{"product": code, "quantity": n}, ...]`` as (code, n) pairs; any other key in a line is refused."""
    if not isinstance(raw, list) or not raw:
        raise Invalid("invalid_field", "lines must be a non-empty list of {\"product\", \"quantity\"}.")
    lines = []
    for n, line in enumerate(raw, start=1):
        if not isinstance(line, dict):
            raise Invalid("invalid_field", f"line {n} must be an object.")
        unknown = set(line) - set(LINE_FIELDS)
        if unknown:
            raise Invalid("unknown_field",
                          f"line {n}: unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(unknown))}.")
        lines.append((fields.text(line, "product"), fields.whole(line, "quantity")))
    return lines


@bp.get("/documents/<tail:rest>", merge_slashes=False)
def show(rest: str):
    """Status and lines, 500 a page (``?page=``, SPEC 5); a purchase order also shows expected and received."""
    page = int_arg("page", 1, lo=1, hi=MAX_PAGE)
    with transaction() as session:
        out = representation.document(session, document_record.by_reference(session, tail_key(rest)), page=page)
    return out
