"""``/``: every station at a glance; ``/stations/<station>``: the operator screen.

The operator screen is rendered once; after that its script listens to the
station's server-sent events (``/api/stations/<station>/events``) and, on each
change, fetches ``/stations/<station>/panel``: the prompt and the two panels
(open document, recent scans) rendered here by the same autoescaped templates,
so nothing from a barcode ever becomes markup in the browser. Its scan box
posts to the scan API as device ``web``; ``POST /stations/<station>/scan`` is
the same scan for a browser without JavaScript.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, flash, render_template, request
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from station.domain import documents, service_desk
from station.domain.demo import FIRST_RUN_HINT, is_empty
from station.domain.errors import Refusal
from station.domain.models import Document
from station.domain.vocabulary import SERVICE_KINDS
from station.domain.warranty import utc_today
from station.interchange import representation
from station.scanning.service import ScanService
from station.scanning.views import offline

from ..db import station_app, transaction
from ..scans import Held, carry_out
from .forms import back, done, refused, user
from .links import station_url

log = logging.getLogger(__name__)

bp = Blueprint("stations", __name__)

WEB_DEVICE = "web"
MAX_SCREEN_LINES = 50
# A scan box holds one scan; the API refuses bodies over 4 KiB anyway.
MAX_SCAN = 2048


def live():
    """The daemon's in-process LiveStatus when this app runs inside ``station run``, else None."""
    return station_app().live


def _service() -> ScanService:
    return ScanService(station_app().config)


def _require_station(station: str) -> None:
    if station_app().config.station(station) is None:
        abort(404, description=f"There is no station {station} in the configuration.")


def order_counts(session: Session, doc_json: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per product of the open receipt's purchase order: on this receipt, received before, expected."""
    if not doc_json or not doc_json.get("order"):
        return []
    order = session.scalar(select(Document).where(Document.reference == doc_json["order"]))
    if order is None:
        return []
    here: dict[str, int] = {}
    for line in doc_json["lines"]:
        if line["product"] is not None:
            code = line["product"]["code"]
            here[code] = here.get(code, 0) + line["quantity"]
    return [
        {**row, "here": here.get(row["product"], 0)}
        for row in documents.order_progress(session, order)
    ]


def desk_view(session: Session, doc_json: dict[str, Any]) -> dict[str, Any]:
    """The service desk's screen: the customer, each shown line's warranty (its state gives the colour), and
    the units being replaced on it (faulty: their warranty shows plain)."""
    shown = [line["serial"] for line in doc_json["lines"] if line["serial"]]
    ends = service_desk.line_warranties(session, doc_json["reference"], shown, utc_today())
    for line in doc_json["lines"]:
        line["warranty_until"] = representation.day(ends.get(line["serial"]))
    last = doc_json["lines"][-1] if doc_json["lines"] else None
    replaced = {line["replaces"] for line in doc_json["lines"] if line.get("replaces")}
    return {"customer": doc_json["customer"], "last": last, "replaced": replaced}


def station_view(session: Session, station: str) -> dict[str, Any]:
    """What the screen shows: ScanService.view plus the order counts and the spool's backlog."""
    view = _service().view(session, station)
    status = live()
    view["held"] = status.held(station) if status is not None else 0
    view["offline"] = bool(status.offline) if status is not None else False
    view["order_counts"] = order_counts(session, view["document"])
    doc = view["document"]
    view["desk"] = desk_view(session, doc) if doc is not None and doc["kind"] in SERVICE_KINDS else None
    # A count's progress (CountProgress: counted, expected, missing, the last scan, its serial and where it was
    # recorded), as the scan service puts it on the document.
    view["count"] = doc.get("count") if doc is not None else None
    if doc is not None and len(doc["lines"]) > MAX_SCREEN_LINES:
        view["hidden_lines"] = len(doc["lines"]) - MAX_SCREEN_LINES
        doc["lines"] = doc["lines"][-MAX_SCREEN_LINES:]
    return view


OVERDUE_SHOWN = 50


def overdue(session: Session) -> dict[str, Any]:
    """The units at the service desk for longer than ``[service] overdue_days``, longest first."""
    days = station_app().config.service.overdue_days
    now = datetime.now(UTC)
    units, total = service_desk.overdue(session, now - timedelta(days=days), limit=OVERDUE_SHOWN)
    rows = [{"serial": u.serial, "product": u.product, "customer": u.customer, "document": u.document,
             "since": representation.timestamp(u.since),
             "days": (now - (u.since if u.since.tzinfo else u.since.replace(tzinfo=UTC))).days}
            for u in units]
    return {"days": days, "units": rows, "total": total}


@bp.get("/")
def overview():
    """Every configured station: its mode, prompt and open document; the units overdue at the service desk."""
    config = station_app().config
    with transaction() as session:
        views = [station_view(session, s.id) for s in config.stations]
        first_run = FIRST_RUN_HINT if is_empty(session) else None
        late = overdue(session)
    return render_template("overview.html", views=views, first_run=first_run, overdue=late)


def offline_view(station: str) -> dict[str, Any]:
    """What the screen shows while the database is away: no state to read, the held scans to count."""
    status = live()
    held = status.held(station) if status is not None else 0
    return {"station": station, "mode": station_app().config.station(station).mode.value,
            "prompt": offline(held), "document": None, "recent_scans": [], "version": 0,
            "held": held, "offline": True, "order_counts": [], "operator": None, "printer": None, "count": None}


@bp.get("/stations/<station>")
def screen(station: str):
    """The operator screen; with the database away, the same screen saying so, its scan box still taking scans."""
    _require_station(station)
    try:
        with transaction() as session:
            view = station_view(session, station)
            first_run = FIRST_RUN_HINT if is_empty(session) else None
    except OperationalError as exc:
        log.warning("station %s: screen shown offline, database unavailable: %s", station, exc.orig)
        view, first_run = offline_view(station), None
    return render_template("screen.html", view=view, station=station, first_run=first_run)


@bp.get("/stations/<station>/panel")
def panel(station: str):
    """The live parts of the screen, fetched by its script each time the station changes (503 while offline)."""
    _require_station(station)
    try:
        with transaction() as session:
            view = station_view(session, station)
    except OperationalError:
        held = offline_view(station)["held"]
        return {"error": {"code": "offline", "message": offline(held)}, "held": held,
                "offline": True}, 503
    latest = view["recent_scans"][0] if view["recent_scans"] else None
    return {
        "station": station,
        "version": view.get("version", 0),
        "mode": view["mode"],
        "prompt": view["prompt"],
        "operator": view["operator"],
        "held": view["held"],
        "offline": view["offline"],
        "latest": latest,
        "printer": view.get("printer"),  # the station's label printer: its state and queue, or None
        "document_html": render_template("_screen_document.html", view=view),
        "count_html": render_template("_screen_count.html", view=view) if view["count"] else None,
        "scans_html": render_template("_screen_scans.html", view=view),
    }


@bp.post("/stations/<station>/scan")
def scan(station: str):
    """The scan box without JavaScript: one scan as device ``web``, then back to the screen."""
    _require_station(station)
    text = request.form.get("scan", "")[:MAX_SCAN]
    if text.strip():
        answer = carry_out(station, text, device=WEB_DEVICE, key=None, user=user())
        status = live()
        if status is not None:
            status.record_scan(station, WEB_DEVICE, text)
        if isinstance(answer, Held):
            flash(answer.answer()["error"]["message"], "error")
        elif answer.accepted:
            done(answer.message)
        else:
            refused(Refusal(answer.code or "refused", answer.message))
    return back(station_url(station))
