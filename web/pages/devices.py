"""``/devices``: each configured scanner, whether it is connected, its last scan, the spool's backlog; each
configured label printer, its state and its queue (web.pages.printers).

Inside ``station run`` the daemon's in-process LiveStatus knows best (it is
there even while the database is down); a separate ``station serve`` reads
what the daemon last wrote to the ``device_status`` table. A scanner is
matched by its station and its device id, which the daemon makes as
station.daemon.supervisor does: the configured label (path, vendor:product or name),
with ``#2``, ``#3``... for a label repeated within a station. Devices seen but
not configured are listed after the configured ones. Below them, each
configured webhook's deliveries pending and failed (the outbox's rows,
read from the database, whichever process sends them).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from station.domain.models import DeviceStatus
from station.interchange.representation import timestamp
from station.webhooks import outbox

from ..db import station_app, transaction
from .printers import printer_rows
from .stations import live

bp = Blueprint("devices", __name__)


def _seen() -> dict[tuple[str, str], dict[str, Any]]:
    """What is known of each device, keyed by (station, device)."""
    status = live()
    if status is not None:
        return {(d.station, d.device): {"kind": d.kind, "state": d.state, "last_scan": d.last_scan,
                                        "last_scan_at": timestamp(d.last_scan_at), "backlog": None}
                for d in status.devices()}
    with transaction() as session:
        return {(d.station, d.device): {"kind": d.kind, "state": d.state, "last_scan": d.last_scan,
                                        "last_scan_at": timestamp(d.last_scan_at), "backlog": d.backlog}
                for d in session.scalars(select(DeviceStatus))}


@bp.get("/devices")
def index():
    config = station_app().config
    seen = _seen()
    status = live()
    rows = []
    for station in config.stations:
        held = status.held(station.id) if status is not None else None
        for scanner, device in zip(station.scanners, station.device_ids, strict=True):
            known = seen.pop((station.id, device), None)
            rows.append({"station": station.id, "device": device, "kind": scanner.kind,
                         "configured": True, "state": known["state"] if known else "missing",
                         "last_scan": known["last_scan"] if known else None,
                         "last_scan_at": known["last_scan_at"] if known else None,
                         "backlog": known["backlog"] if known and known["backlog"] is not None else held})
    for (station_id, device), known in sorted(seen.items()):
        rows.append({"station": station_id, "device": device, "configured": False, **known})
    printers, printers_problems = printer_rows(config)
    return render_template("devices.html", rows=rows, live=status is not None,
                           configured=any(s.scanners for s in config.stations), webhooks=_webhooks(config),
                           printers=printers, printers_problems=printers_problems)


def _webhooks(config) -> list[dict[str, Any]] | None:
    """Per configured webhook: deliveries pending, failed and delivered, and how old the oldest pending is (None
    while the database cannot be read)."""
    if not config.webhooks:
        return []
    try:
        with transaction() as session:
            counts = outbox.counts(session, [w.url for w in config.webhooks],
                                   {w.url: w.events for w in config.webhooks})
    except OperationalError:
        return None
    return [{"url": c.url, "pending": c.pending, "failed": c.failed, "delivered": c.delivered,
             "oldest_pending_at": timestamp(c.oldest_pending_at)} for c in counts]
