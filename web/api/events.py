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

from flask import Blueprint, request

from station.domain import events
from station.domain.errors import Invalid
from station.webhooks import payload

from ..db import transaction

bp = Blueprint("events", __name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_ID = 2**31 - 1  # the id column's range


def whole_query(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not lo <= int(raw) <= hi:
        raise Invalid("invalid_field", f"{name} must be a whole number from {lo} to {hi}.")
    return int(raw)


@bp.get("/events")
def index():
    after = whole_query("after", 0, 0, MAX_ID)
    limit = whole_query("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    with transaction() as session:
        rows = events.after(session, after, limit)
        out = payload.events(session, rows)
    return {"events": out, "last_id": rows[-1].id if rows else after}
