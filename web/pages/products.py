"""``/products``: list, search and create; ``/products/<code>``: flags, barcodes, stock.

As with serials, every form posts to the collection (``/products``) with the
code in a hidden field and an ``action``, then redirects to the product.
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy import select

from station.domain import catalogue, product_record, searches, stock
from station.domain.errors import Invalid, NotFound
from station.domain.models import Product, SerialNumber
from station.domain.wording import plural
from station.interchange import representation

from ..api.paths import tail_key
from ..db import station_app, transaction
from .forms import PER_PAGE, Pager, attempt, back, checked, done, field, page_arg, user
from .links import product_url
from .serials import search_arg

bp = Blueprint("products", __name__)

# An adjustment counts units on a shelf; a bigger figure is a typing slip (and would overflow the column).
MAX_ADJUST = 1_000_000
FLAGS = ("serial_required_for_purchase", "serial_required_for_sales")


@bp.get("/products")
def index():
    """Products by code; ``q`` matches a code prefix or part of a name."""
    exact = request.args.get("exact")
    if exact is not None:
        return record_page(exact)
    q = search_arg("q")
    page = page_arg()
    with transaction() as session:
        rows, total = searches.products(session, text=q, page=page, per_page=PER_PAGE)
        pager = Pager(page, total)
        products = [representation.product(r) for r in rows]
    return render_template("products.html", products=products, q=q or "", pager=pager)


@bp.get("/products/<tail:rest>", merge_slashes=False)
def record(rest: str):
    return record_page(tail_key(rest))


def record_page(code: str):
    page = page_arg("spage")
    with transaction() as session:
        try:
            product = product_record.by_code(session, code)
        except NotFound as e:
            return render_template("error.html", status=404, code=e.code, message=e.message), 404
        data = representation.product(product)
        data["unserialised_on_hand"] = product.unserialised_on_hand
        pager = Pager(page, product.serials_in_stock, arg="spage", base=product_url(product.code))
        in_stock = session.scalars(
            select(SerialNumber.serial).where(SerialNumber.product_id == product.id, SerialNumber.in_stock.is_(True))
            .order_by(SerialNumber.serial).offset(pager.offset).limit(PER_PAGE)
        ).all()
    return render_template("product.html", p=data, in_stock=in_stock, pager=pager)


@bp.post("/products")
def post():
    """Every product form: ``action`` is create, edit, add_barcode, remove_barcode or adjust."""
    action = request.form.get("action")
    if action == "create":
        return create()
    handler = {"edit": edit, "add_barcode": add_barcode, "remove_barcode": remove_barcode,
               "adjust": adjust}.get(action or "")
    if handler is None:
        abort(400, description="Unknown form action.")
    code = request.form.get("code", "")
    message = None
    with attempt(), transaction() as session:
        product = catalogue.get_product(session, code)
        message = handler(session, product)
    if message is not None:
        done(message)
    return back(product_url(code))


def _pattern():
    return station_app().config.scanning.document_re


def months_field() -> int | None:
    """The form's warranty in months: None when the form has no such field, Invalid when it is not 0-600."""
    if "warranty_months" not in request.form:
        return None
    raw = (field("warranty_months") or "0").strip()
    if not re.fullmatch(r"[0-9]{1,4}", raw):
        raise Invalid("invalid_field", "warranty_months must be a whole number of months from 0 (no warranty) to 600.")
    return int(raw)


def create():
    barcodes = (request.form.get("barcodes") or "").split()
    flags = {flag: checked(flag) for flag in FLAGS}
    created = None
    with attempt(), transaction() as session:
        created = catalogue.create_product(session, request.form.get("code", ""), request.form.get("name", ""),
                                           barcodes=barcodes, warranty_months=months_field() or 0, **flags,
                                           pattern=_pattern()).code
    if created is None:
        return back(url_for(".index") + "#new")
    done(f"Product {created} created.")
    return back(product_url(created))


def edit(session, product: Product) -> str:
    catalogue.update_product(session, product, name=request.form.get("name", ""), warranty_months=months_field(),
                             **{flag: checked(flag) for flag in FLAGS})
    return f"Product {product.code} saved."


def add_barcode(session, product: Product) -> str:
    row = catalogue.add_barcode(session, product, request.form.get("barcode", ""), _pattern())
    return f"Barcode {row.barcode} added to {product.code}."


def remove_barcode(session, product: Product) -> str:
    barcode = request.form.get("barcode", "")
    catalogue.remove_barcode(session, product, barcode)
    return f"Barcode {barcode} removed from {product.code}."


def adjust(session, product: Product) -> str:
    """Rule 7: unserialised units up or down, with a reason."""
    raw = (field("quantity") or "").strip()
    # ASCII digits only: int() would also take "١٢" and "1_0".
    quantity = int(raw) if re.fullmatch(r"[+-]?[0-9]{1,9}", raw) else None
    if quantity is None or abs(quantity) > MAX_ADJUST:
        raise Invalid("invalid_field",
                      f"quantity must be a whole number from -{MAX_ADJUST} to {MAX_ADJUST}, like 3 or -2.")
    doc = stock.adjust_product(session, product, quantity, request.form.get("reason", ""), user=user())
    return f"{product.code}: {'+' if quantity > 0 else ''}{plural(quantity, 'unserialised unit')} ({doc.reference})."
