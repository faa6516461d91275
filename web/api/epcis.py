"""/api/epcis/events: the posted documents' movements as EPCIS 2.0 events (SPEC 5 Traceability).

``GET /api/epcis/events?after=<id>&limit=<n>`` answers an ``EPCISDocument``
(station.traceability.epcis) whose ``eventList`` holds the ObjectEvents of the
next ``limit`` posted documents (1-1000, default 100; anything else is 400
``invalid_field``) after the feed's event id ``after``, in event order, each
document's movements in id order. The cursor is the integration feed's event id
(the ``id`` of ``GET /api/events`` and the ``webhook-id``), not a movement's:
event ids become visible in commit order, movement ids need not (two postings
on PostgreSQL), so a reader that asks after the last id it was given never
skips a document. That id is in the ``Link`` header (``rel="next"``), as
EPCIS 2.0's own query interface pages: the document itself has no place for it.

The answer is streamed, one event at a time, so a page of large receipts is
never one string in memory. Reading is open like every other read of the API.
"""
from __future__ import annotations

from flask import Blueprint, Response, stream_with_context, url_for

from station.traceability import epcis

from ..db import station_app, transaction
from .events import feed_args

bp = Blueprint("epcis", __name__)


@bp.get("/epcis/events")
def index():
    after, limit = feed_args()
    state = station_app()
    with transaction() as session:
        event_ids = epcis.posted_after(session, after, limit)

    def chunks():
        with state.readers.begin() as session:
            yield from epcis.document_text(session, state.config, epcis.movement_rows(session, event_ids=event_ids))

    response = Response(stream_with_context(chunks()), mimetype="application/json")
    last = event_ids[-1] if event_ids else after
    response.headers["Link"] = f'<{url_for(".index", after=last, limit=limit)}>; rel="next"'
    return response
