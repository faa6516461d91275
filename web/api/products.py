"""/api/products: list, create, read, edit, barcodes and stock adjustments of products (SPEC 5).

Paths follow the rule in paths.py: ``GET|PATCH /api/products/<code>``,
``POST .../<code>/barcodes``, ``DELETE .../<code>/barcodes/<barcode>``,
``POST .../<code>/adjust``; a code or barcode holding '/' is sent as %2F.
Barcodes are matched in any GTIN form (UPC-A, EAN-13, GTIN-14 are one number).
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, g, request, url_for
from sqlalchemy.orm import Session

from station.domain import catalogue, product_record, searches, stock
from station.domain.errors import Invalid
from station.domain.models import Product
from station.interchange import representation

from ..db import station_app, transaction
from . import fields
from .inputs import json_body, only, page_args, paged, text_arg
from .paths import ANY_METHOD, allowed, tail_parts

bp = Blueprint("products", __name__)

FIELDS = ("code", "name", "serial_required_for_purchase", "serial_required_for_sales", "warranty_months", "barcodes")
DERIVED = ("on_hand", "serials_in_stock")


def _pattern():
    """The purchase order pattern: a barcode that matches it would be read as an order, never the product."""
    return station_app().config.scanning.document_re


def _answer(session: Session, product: Product) -> dict:
    """The product a write holds, read again as its record (what the write changed flushed first)."""
    return representation.product(product_record.by_id(session, product.id))


def _refuse_derived(body: dict) -> None:
    named = [k for k in DERIVED if k in body]
    if named:
        raise Invalid("read_only", f"{', '.join(named)} is counted from the movements and cannot be set.")


@bp.get("/products")
def index():
    """Products by code; ``q`` matches a code prefix or part of a name, ``barcode`` any GTIN form."""
    page, per_page = page_args()
    text = text_arg("q", max_len=200)
    barcode = text_arg("barcode")
    with transaction() as session:
        rows, total = searches.products(session, text=text, barcode=barcode, page=page, per_page=per_page)
        items = [representation.product(r) for r in rows]
    return paged("products", items, page, per_page, total)


@bp.post("/products")
def create():
    """201 with the product; 409 ``duplicate`` for a taken code, ``duplicate_barcode`` for a taken barcode."""
    body = json_body()
    _refuse_derived(body)
    only(body, FIELDS)
    with transaction() as session:
        product = catalogue.create_product(
            session, fields.text(body, "code"), fields.text(body, "name"),
            serial_required_for_purchase=fields.flag(body, "serial_required_for_purchase", True),
            serial_required_for_sales=fields.flag(body, "serial_required_for_sales", True),
            barcodes=fields.texts(body, "barcodes") or (), pattern=_pattern(),
            warranty_months=fields.optional_whole(body, "warranty_months", 0))
        out = _answer(session, product)
    return out, 201, {"Location": url_for(".index") + "/" + quote(out["code"], safe="")}


@bp.route("/products/<tail:rest>", methods=ANY_METHOD, merge_slashes=False)
def item(rest: str):
    """The view the tail's shape and the method name (paths.py): an action, else the product itself."""
    parts = tail_parts(rest)
    views = {}
    if len(parts) >= 2 and parts[-1] == "adjust":
        views["POST"] = lambda: adjust("/".join(parts[:-1]))
    elif len(parts) >= 2 and parts[-1] == "barcodes":
        views["POST"] = lambda: add_barcode("/".join(parts[:-1]))
    if len(parts) >= 3 and parts[-2] == "barcodes":
        views["DELETE"] = lambda: remove_barcode("/".join(parts[:-2]), parts[-1])
    if not views:
        code = "/".join(parts)
        views = {"GET": lambda: show(code), "HEAD": lambda: show(code), "PATCH": lambda: update(code)}
    return allowed(views) or views[request.method]()


def show(code: str):
    with transaction() as session:
        out = representation.product(product_record.by_code(session, code))
    return out


def update(code: str):
    """Name, flags, warranty months, or the whole barcode list; the code and the counts are read-only."""
    body = json_body()
    _refuse_derived(body)
    only(body, FIELDS)
    changes = dict(name=fields.optional_text(body, "name"),
                   serial_required_for_purchase=fields.flag(body, "serial_required_for_purchase"),
                   serial_required_for_sales=fields.flag(body, "serial_required_for_sales"),
                   barcodes=fields.texts(body, "barcodes"),
                   warranty_months=fields.optional_whole(body, "warranty_months"))
    with transaction() as session:
        product = catalogue.get_product(session, code)
        if "code" in body and body["code"] != product.code:
            raise Invalid("read_only", "A product's code cannot be changed.")
        product = catalogue.update_product(session, product, **changes, pattern=_pattern())
        out = _answer(session, product)
    return out


def add_barcode(code: str):
    """``{"barcode": "..."}``: 201 with the product."""
    body = json_body(allowed=("barcode",))
    with transaction() as session:
        product = catalogue.get_product(session, code)
        catalogue.add_barcode(session, product, fields.text(body, "barcode", code="invalid_barcode"), _pattern())
        out = _answer(session, product)
    return out, 201


def remove_barcode(code: str, barcode: str):
    """The barcode in any of its GTIN forms; 200 with the product."""
    with transaction() as session:
        product = catalogue.get_product(session, code)
        catalogue.remove_barcode(session, product, barcode)
        out = _answer(session, product)
    return out


def adjust(code: str):
    """Rule 7: ``{"quantity": +n or -n, "reason": "..."}`` of unserialised units; 200 with the product."""
    body = json_body(allowed=("quantity", "reason"))
    with transaction() as session:
        product = catalogue.get_product(session, code)
        stock.adjust_product(session, product, fields.whole(body, "quantity"), fields.text(body, "reason"),
                             user=g.get("user"))
        out = _answer(session, product)
    return out
