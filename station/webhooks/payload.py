"""The events of the integration feed as JSON (SPEC 5 "Integration"): each with its subject as the API gives it.

An event row names its subject (station.domain.events, whose docstring says
why the JSON is rendered here, when the event is read, and not stored at
posting). ``document.posted`` carries the document as
``GET /api/documents/<ref>`` gives it, all its lines and all its movements
(not one page of each); ``serial.changed``, ``product.changed``, ``party.changed`` and
``location.changed`` carry the record under ``serial``, ``product``, ``party`` or ``location``
(a party says whether it is a ``supplier`` or a ``customer``; a location is as
GET /api/locations/<code> gives it, with the first page of its serials). A subject that no longer
exists reads as null.

A webhook of ``format = "epcis"`` takes ``document.posted`` events only, each
as that document's EPCIS 2.0 events in one ``EPCISDocument``
(station.traceability.epcis), created at the event's time, so that every
attempt of a delivery sends the same bytes.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.orm import Session

from station.config import Config, WebhookConfig
from station.domain import document_record, location_facts, party_record, product_record, serials
from station.interchange import locations, representation
from station.traceability import epcis

#: The key each subject travels under in an event.
KEYS = {"document": "document", "serial": "serial", "product": "product", "supplier": "party", "customer": "party",
        "location": "location"}


def document(session: Session, document_id: int) -> dict[str, Any] | None:
    """The posted document as GET /api/documents/<ref> gives it, with every line (no pages) and its movements."""
    d = document_record.by_id(session, document_id)
    if d is None:
        return None
    return representation.document(session, d, whole=True)


def _subject(session: Session, subject: str, subject_id: int) -> dict[str, Any] | None:
    if subject == "document":
        return document(session, subject_id)
    if subject == "serial":
        record = serials.record_by_id(session, subject_id)
        return representation.serial(session, record) if record is not None else None
    if subject == "location":
        place = location_facts.by_id(session, subject_id)
        return locations.record(session, place) if place is not None else None
    if subject == "product":
        product = product_record.by_id(session, subject_id)
        return representation.product(product) if product is not None else None
    party = party_record.by_id(session, subject, subject_id)
    return {"kind": subject, **representation.party(party)} if party is not None else None


def event(session: Session, row) -> dict[str, Any]:
    """One event (a row of station.domain.events.after) as the feed and the webhooks give it."""
    return {"id": row.id, "type": row.type, "at": representation.timestamp(row.at),
            KEYS[row.subject]: _subject(session, row.subject, row.subject_id)}


def events(session: Session, rows: Iterable) -> list[dict[str, Any]]:
    return [event(session, row) for row in rows]


def body(payload: dict[str, Any]) -> bytes:
    """An event as the bytes of a webhook's POST (compact UTF-8 JSON, keys in SPEC 5's order)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def epcis_body(session: Session, config: Config, row) -> bytes:
    """A ``document.posted`` event as the bytes of an epcis webhook's POST: its document's EPCISDocument."""
    rows = epcis.movement_rows(session, event_ids=epcis.event_of(session, row.id))
    return "".join(epcis.document_text(session, config, rows, created=row.at)).encode("utf-8")


def renderer(config: Config, hook: WebhookConfig) -> Callable[[Session, Any], bytes]:
    """How a webhook's POST body is made from an event row: by its ``format``."""
    if hook.format == "epcis":
        return lambda session, row: epcis_body(session, config, row)
    return lambda session, row: body(event(session, row))
