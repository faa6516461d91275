"""/api/serials: search, read, create, edit and adjust serial numbers (SPEC 5; SPEC 3 rules 1, 7, 10).

A serial travels percent-encoded, '/' as %2F: ``GET|PATCH /api/serials/<serial>``
and ``POST /api/serials/<serial>/adjust``. The tail after ``/api/serials/`` is
read from the raw request URI (paths.py): a literal trailing ``/adjust`` is the
action for POST only; everything else, decoded, is the serial, so ``SN%2F1``,
``SN%2F%2F2``, ``a%25b``, ``%C3%A9`` and a serial ``X%2Fadjust`` all arrive
exactly as stored.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, g, request, url_for

from station.domain import catalogue, searches, serials
from station.domain.errors import Invalid
from station.domain.serials import KEEP
from station.interchange import representation

from ..db import station_app, transaction
from . import fields
from .inputs import bool_arg, json_body, only, page_args, paged, text_arg
from .paths import ANY_METHOD, allowed, tail_parts

bp = Blueprint("serials", __name__)

EDITABLE = ("product", "customer", "supplier")


def _location(serial: str) -> str:
    return url_for(".index") + "/" + quote(serial, safe="")


@bp.get("/serials")
def index():
    """Serial summaries, filtered by product code, in_stock and a serial prefix ``q`` (any case)."""
    page, per_page = page_args()
    product_code = text_arg("product")
    in_stock = bool_arg("in_stock")
    prefix = text_arg("q")
    with transaction() as session:
        if product_code is not None:
            catalogue.get_product(session, product_code)  # 404 unknown_product, not an empty page
        rows, total = searches.serials(session, prefix=prefix, product=product_code, in_stock=in_stock, page=page,
                                       per_page=per_page)
        items = [representation.serial_summary(r) for r in rows]
    return paged("serials", items, page, per_page, total)


@bp.post("/serials")
def create():
    """Rule 1: only ``serial`` is needed; 201 with the record, 409 ``duplicate`` when it exists."""
    body = json_body()
    if "in_stock" in body:
        raise Invalid("read_only", "in_stock is derived from the movements and cannot be set.")
    only(body, ("serial", *EDITABLE))
    serial = fields.text(body, "serial", code="invalid_serial")
    refs = {key: value for key in EDITABLE if (value := fields.ref(body, key)) is not KEEP}
    with transaction() as session:
        record = serials.create_serial(session, serial, **refs, pattern=station_app().config.scanning.document_re)
        out = representation.serial(session, serials.record_by_id(session, record.id))
    return out, 201, {"Location": _location(out["serial"])}


@bp.route("/serials/<tail:rest>", methods=ANY_METHOD, merge_slashes=False)
def item(rest: str):
    parts = tail_parts(rest)
    if len(parts) >= 2 and parts[-1] == "adjust":
        return allowed(["POST"]) or adjust("/".join(parts[:-1]))
    serial = "/".join(parts)
    return allowed(["GET", "PATCH"]) or (update(serial) if request.method == "PATCH" else show(serial))


def show(serial: str):
    """The record with its movements, oldest first; ``page``/``per_page`` page the movements."""
    page, per_page = page_args(per_page=100)
    with transaction() as session:
        out = representation.serial(session, serials.record(session, serial), page=page, per_page=per_page)
    return out


def update(serial: str):
    """Product, customer, supplier by code (null clears); ``in_stock`` is 400 ``read_only``."""
    body = json_body()
    if "in_stock" in body:
        # SPEC 5: a body naming in_stock is 400 read_only, whichever serial it names.
        raise Invalid("read_only", "in_stock is derived from the movements and cannot be set.")
    only(body, EDITABLE)
    refs = {key: fields.ref(body, key) for key in EDITABLE}
    with transaction() as session:
        record = serials.get_serial(session, serial)
        serials.update_serial(session, record, **refs, user=g.get("user"))
        out = representation.serial(session, serials.record_by_id(session, record.id))
    return out


def adjust(serial: str):
    """Rule 7: ``{"direction": "in"|"out", "reason": "..."}``; 200 with the record."""
    body = json_body(allowed=("direction", "reason"))
    with transaction() as session:
        record = serials.get_serial(session, serial)
        serials.adjust_serial(session, record, fields.text(body, "direction"), fields.text(body, "reason"),
                              user=g.get("user"))
        out = representation.serial(session, serials.record_by_id(session, record.id))
    return out
