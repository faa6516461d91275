"""Template filters: times as the operator reads them, and the words for kinds and modes.

Times: the API speaks UTC (``2026-11-26T10:15:02Z``); every page shows them in
the station's time zone, ``[web] timezone`` (a ZoneInfo), else the system's
local time (its own rules for each date, so summer time is right), and says
which zone in its column headings (:func:`zone_name`).
"""
from __future__ import annotations

from datetime import date, datetime

from station.domain import warranty as warranty_rules
from station.domain.wording import plural

from ..db import station_app

WORDS = {
    "purchase_order": "Purchase order",
    "receipt": "Receipt",
    "sale": "Sale",
    "customer_return": "Customer return",
    "supplier_return": "Return to supplier",
    "adjustment": "Adjustment",
    "refused_scan": "Refused scan",
    "receive": "Receiving",
    "sell": "Selling",
    "return": "Returning",
    "service": "Service desk",
    "service_check_in": "Service check-in",
    "service_check_out": "Service check-out",
    "service_in": "Checked in for repair",
    "service_out": "Checked out after repair",
    "replaced": "Replaced (faulty)",
    "replacement": "Given as a replacement",
    "in_service": "In service",
    "faulty": "Faulty",
    "in_stock": "In stock",
    "with_customer": "With customer",
    "not_in_stock": "Not in stock",
    "in_warranty": "In warranty",
    "out_of_warranty": "Out of warranty",
}


def words(value: str | None) -> str:
    """``customer_return`` as "Customer return"; anything unknown as itself."""
    if value is None:
        return ""
    return WORDS.get(value, value.replace("_", " ").capitalize())


def local(stamp: str) -> datetime:
    """An API timestamp as an aware datetime in the station's zone."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    zone = station_app().config.web.zone
    return moment.astimezone(zone) if zone is not None else moment.astimezone()


def when(stamp: str | None) -> str:
    """An API timestamp (``2026-11-26T10:15:02Z``) as ``2026-11-26 23:15:02`` in the station's zone."""
    if not stamp:
        return ""
    return local(stamp).strftime("%Y-%m-%d %H:%M:%S")


def clock(stamp: str | None) -> str:
    """Only the time of day (the station's zone), for the operator screen's recent scans."""
    return local(stamp).strftime("%H:%M:%S") if stamp else ""


def zone_name() -> str:
    """The zone page times are in: the configured name, else the system's abbreviation (CET, UTC...)."""
    zone = station_app().config.web.zone
    return zone.key if zone is not None else (datetime.now().astimezone().tzname() or "local time")


def cut(text: str | None, limit: int) -> str:
    """At most ``limit`` characters, "…" marking a cut: a 600-character scan must not push the list away."""
    if not text:
        return ""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def warranty(until: str | None, faulty: bool = False) -> dict[str, str]:
    """A serial's ``warranty_until`` (``2027-06-01`` or None) as the pages show it: its state, its words, its tone.

    The tone is the colour: the state's, except for a faulty unit (replaced at the service desk, or being
    replaced on the open check-out), whose warranty is only a date now: the customer's cover went with the
    replacement, so green would say all is well with a unit that is broken and ours.
    """
    end = date.fromisoformat(until) if until else None
    today = warranty_rules.utc_today()
    state = warranty_rules.state(end, today).value
    return {"state": state, "words": warranty_rules.words(end, today), "tone": "plain" if faulty else state}


def register(app) -> None:
    for fn in (words, when, clock, cut, warranty, plural):
        app.add_template_filter(fn)
    app.add_template_global(zone_name)
