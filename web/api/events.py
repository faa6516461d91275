"""/api/events: the integration feed (SPEC 5 "Integration: events, webhooks, metrics").

``GET /api/events?after=<id>&limit=<n>`` answers ``{"events": [...],
"last_id": <the last event's id, or the given after>}``: the events after
that id, oldest first, at most ``limit`` (1-1000, default 100; anything else
is 400 ``invalid_field``). Each is ``{"id", "type", "at", ...}`` with its
subject (station.webhooks.payload). Ids are handed out in commit order
(station.domain.events), so a reader that always asks for what follows the
last id it saw never misses an event and never sees one twice. Reading is
open like every other read of the API (SPEC 1: anyone on the LAN reads).
"""
from __future__ import annotations

from flask import Blueprint

from station.domain import events
from station.webhooks import payload

from ..db import transaction
from .inputs import int_arg

bp = Blueprint("events", __name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_ID = 2**31 - 1  # the id column's range


def feed_args() -> tuple[int, int]:
    """``after`` (an event id, default 0) and ``limit`` (1-1000, default 100) from the query string, as every
    reader of the feed takes them (here and /api/epcis/events)."""
    return (int_arg("after", 0, lo=0, hi=MAX_ID, digits=10),
            int_arg("limit", DEFAULT_LIMIT, lo=1, hi=MAX_LIMIT, digits=10))


@bp.get("/events")
def index():
    after, limit = feed_args()
    with transaction() as session:
        rows = events.after(session, after, limit)
        out = payload.events(session, rows)
    return {"events": out, "last_id": rows[-1].id if rows else after}
