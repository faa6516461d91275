"""``/serials``: search and create; ``/serials/<serial>``: the record, its movements, edit and adjust.

The record is the ERP page's: serial, product code and name, In Stock (a
read-only checkbox: SPEC 3 rule 1), customer, supplier, and a Movements tab
(rule 10, refused scans marked), with the serial drawn as an inline Code 128
SVG, and its URI (its GS1 Digital Link when its product has a GTIN: SPEC 5
Traceability) with a QR code of it, an inline SVG drawn by zxing-cpp.
``/serial/<serial>``, the path of the station's own serial URIs, answers 303
See Other to the record. Every form posts to ``/serials`` with the serial in a hidden field and an
``action``, so no serial text (a '/', '//', '%', "..") ever has to survive a
form's action URL; the answer redirects to the record (Post/Redirect/Get).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from station.domain import location_facts, searches, serials
from station.domain.facts import head_of
from station.domain.tables import SU, C, P
from station.domain.validation import is_printable
from station.interchange import representation
from station.printing import labels, matrix
from station.traceability import uris
from station.traceability.gtins import product_gtins

from ..api.paths import tail_key
from ..db import station_app, transaction
from .forms import PER_PAGE, Pager, attempt, back, done, field, page_arg, user
from .links import serial_url

bp = Blueprint("serials", __name__)

IN_STOCK_CHOICES = {"": None, "yes": True, "no": False}
# Datalists offer codes to pick from; a site with more than this types them.
CHOICES = 500
SEARCH_MAX = 200
QR_SIDE_MM = 30.0  # the serial's QR code on its page, quiet zone included


def search_arg(name: str) -> str | None:
    """A printable search text from the query string; anything else is no filter."""
    raw = request.args.get(name, "").strip()
    if not raw or len(raw) > SEARCH_MAX or not is_printable(raw):
        return None
    return raw


def choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Codes and names for the edit form's pickers."""
    def rows(table):
        return session.execute(select(table.c.code, table.c.name).order_by(table.c.code).limit(CHOICES)).all()

    return {"products": rows(P), "suppliers": rows(SU), "customers": rows(C)}


@bp.get("/serials")
def index():
    """Search by serial prefix (any case), product, in stock and customer, paged; ``exact`` shows one record."""
    exact = request.args.get("exact")
    if exact is not None:
        return record_page(exact)
    filters = {
        "q": search_arg("q"),
        "product": search_arg("product"),
        "customer": search_arg("customer"),
        "in_stock": request.args.get("in_stock", "") if request.args.get("in_stock", "") in IN_STOCK_CHOICES else "",
    }
    page = page_arg()
    with transaction() as session:
        rows, total = searches.serials(session, prefix=filters["q"], product=filters["product"],
                                       customer=filters["customer"], in_stock=IN_STOCK_CHOICES[filters["in_stock"]],
                                       page=page, per_page=PER_PAGE)
        pager = Pager(page, total)
        found = [representation.serial_summary(r) for r in rows]
        picks = choices(session)
    return render_template("serials.html", serials=found, filters=filters, pager=pager, choices=picks,
                           new=request.args.get("new", ""))


@bp.get("/serials/<tail:rest>", merge_slashes=False)
def record(rest: str):
    return record_page(tail_key(rest))


def movement_rows(session: Session, record: Row, page: int) -> tuple[list[dict[str, Any]], int]:
    entries, total = serials.history(session, record, page=page, per_page=PER_PAGE)
    others = serials.counterparts(session, record, [e.movement for e in entries if e.movement is not None])
    return [representation.history_entry(e, others) for e in entries], total


def barcode_svg(serial: str) -> tuple[str | None, str | None]:
    """The serial as inline Code 128 SVG, or why it cannot be drawn (non-ASCII, too long)."""
    try:
        return labels.svg(serial, module_height_mm=10.0), None
    except ValueError as exc:
        return None, str(exc)


@bp.get("/serial/<tail:rest>", merge_slashes=False)
def uri(rest: str):
    """A station URI of a serial (``<base_uri>/serial/<serial>``) is its record page: 303 See Other."""
    return redirect(serial_url(tail_key(rest)), 303)


def serial_uri(session: Session, record: Row) -> dict[str, Any]:
    """The serial's URI, whether it is a GS1 Digital Link, and a QR code of it (inline SVG), or why none."""
    gtin = product_gtins(session, [record.product_id])[record.product_id] if record.product_id is not None else None
    uri = uris.serial_uri(station_app().config, record.serial, gtin)
    try:
        qr, problem = matrix.qr_svg(uri, max_side_mm=QR_SIDE_MM), None
    except ValueError as exc:
        qr, problem = None, str(exc)
    return {"uri": uri, "digital_link": uris.gs1_form(gtin, record.serial) is not None, "qr": qr,
            "qr_problem": problem}


def where_now(session: Session, record: Row) -> dict[str, Any] | None:
    """Where the unit is now (SPEC 3c): its location and that location's site, or the transfer it is on; ``record``
    is the serial's record (a row of serials.RECORD, which holds its location's facts)."""
    at = location_facts.of(record, "location_")
    if at is not None:
        return {"code": at.code, "name": at.name, "site": {"code": at.site_code, "name": at.site_name}}
    if record.transfer_id is not None:
        transfer = head_of(session, record.transfer_id)
        to = location_facts.by_id(session, transfer.location_id)
        return {"transfer": transfer.reference, "to": {"code": to.code, "name": to.name} if to else None}
    return None


def record_page(serial: str):
    page = page_arg("mpage")
    with transaction() as session:
        facts = serials.find_record(session, serial)
        if facts is None:
            waiting = serials.pending(session, serial)
            if waiting is not None:  # a new unit on an open receipt: its record comes with the posting
                return render_template("serial_pending.html", pending=waiting, svg=barcode_svg(serial)[0])
            return render_template("serial_missing.html", serial=serial), 404
        moves, total = movement_rows(session, facts, page)
        data = representation.serial_summary(facts)
        data["open_document"] = serials.open_reference(session, facts.serial)
        picks = choices(session)
        link = serial_uri(session, facts)
        where = where_now(session, facts)
    svg, svg_problem = barcode_svg(facts.serial)
    pager = Pager(page, total, arg="mpage", base=serial_url(data["serial"]))
    return render_template("serial.html", s=data, movements=moves, pager=pager, choices=picks,
                           svg=svg, svg_problem=svg_problem, link=link, where=where)


@bp.post("/serials")
def post():
    """Every serial form: ``action`` is create, edit or adjust."""
    action = request.form.get("action")
    if action == "create":
        return create()
    serial = request.form.get("serial", "")
    if action == "edit":
        return edit(serial)
    if action == "adjust":
        return adjust(serial)
    abort(400, description="Unknown form action.")


def create():
    """Rule 1: only the serial text is needed; product and supplier may come with it."""
    text = request.form.get("serial", "")
    created = None
    with attempt(), transaction() as session:
        created = serials.create_serial(session, text, product=field("product"), supplier=field("supplier"),
                                        pattern=station_app().config.scanning.document_re).serial
    if created is None:
        return back(url_for(".index", new=text[:SEARCH_MAX]) + "#new")
    done(f"Serial {created} created.")
    return back(serial_url(created))


def _code(obj) -> str | None:
    return obj.code if obj is not None else None


def edit(serial: str):
    """Product, customer and supplier by code; an empty field clears it, a field the post leaves out stays."""
    message = None
    with attempt(), transaction() as session:
        record = serials.get_serial(session, serial)
        current = {"product": _code(record.product), "customer": _code(record.customer),
                   "supplier": _code(record.supplier)}
        changes = {key: field(key) for key in current if key in request.form and field(key) != current[key]}
        if changes:
            serials.update_serial(session, record, **changes, user=user())
            message = f"Serial {record.serial} saved: {', '.join(sorted(changes))} changed."
        else:
            message = "Nothing changed."
    if message is not None:  # flashed once the transaction has committed
        done(message)
    return back(serial_url(serial))


def adjust(serial: str):
    """Rule 7: into or out of stock, always with a reason."""
    message = None
    direction = request.form.get("direction")
    with attempt(), transaction() as session:
        record = serials.get_serial(session, serial)
        doc = serials.adjust_serial(session, record, direction or "", request.form.get("reason", ""), user=user())
        where = "into" if direction == "in" else "out of"
        message = f"Serial {record.serial} adjusted {where} stock ({doc.reference})."
    if message is not None:
        done(message)
    return back(serial_url(serial))
