"""EPCIS 2.0 (SPEC 5 Traceability): each posted movement as one ``ObjectEvent``, in an ``EPCISDocument`` (JSON-LD).

Theory of operation. A movement is final once posted, so its event is a pure
function of its row (and the configuration's URIs): ``object_event`` maps one
row of ``movement_rows`` to one event, by the table ``VOCABULARY`` (said once:
the Core Business Vocabulary's bizStep and disposition per movement kind, the
party's side, the document's business transaction type). Nothing is stored:

- ``eventID`` is ``urn:uuid:`` + the UUID5 (RFC 4122 name-based, SHA-1) of
  ``<base_uri>/movement/<id>`` in the URL namespace: the same movement always
  gives the same id, on every read, export and webhook delivery, and two
  stations (two base URIs) never share one. It is not the standard's event
  hash (``ni:///sha-256;...``, a hash of the event's canonical content),
  which a reader could recompute and would find different.
- ``action`` is the movement's sign: ADD for units coming in, DELETE for
  units leaving, OBSERVE for what moves none (a move, a service, a faulty
  unit leaving our hands but not our stock). One exception: an adjustment
  of quantity 0 right after the serial's ``transfer_out`` writes off a unit
  that never arrived (SPEC 3c; ``written_off``, read once a batch, as its
  previous movement is final too): DELETE, without a disposition.
- ``readPoint`` is where the unit was handled (where it went, else where it
  left, else the station's own location); ``bizLocation`` where it is after
  the event (where it went): none for a unit that left us. A location is
  named by its GLN when it has one (``https://id.gs1.org/414/<GLN>``), else
  by ``<base_uri>/location/<code>`` (uris.location_uri).
- ``epcList`` holds the serial's URI (uris.serial_uri); an unserialised
  movement has ``quantityList`` instead, by its product's class URI.

The events go out in document order: the posted documents in the order of
their ``document.posted`` events (ids in commit order, station.domain.events,
so a reader paging ``after`` an event id never skips a document), each
document's movements in id order; documents posted before the feed existed
(no event) come first in an export. ``document_chunks`` writes a document a
piece at a time from an iterator of events, and ``movement_rows`` reads the
rows through a server-side cursor in batches, so an export of 100,000 events
holds one batch, never the list.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from station.config import Config
from station.domain import location_facts
from station.domain.models import FeedEvent, Movement
from station.domain.movement_facts import FACTS, M
from station.domain.vocabulary import MAIN_SITE, DocumentKind, EventType, MovementKind

from . import uris
from .gtins import product_gtins

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
SCHEMA_VERSION = "2.0"
BATCH = 1000  # rows fetched at a time through the cursor


@dataclass(frozen=True)
class Step:
    """What one movement kind is in the Core Business Vocabulary, and whose party it names on which side."""

    biz_step: str
    disposition: str | None  # None: the event carries none
    party: str | None = None  # "source" or "destination": the supplier or customer, as owning_party
    party_type: str = "owning_party"


#: SPEC 5 Traceability's table, one entry per movement kind. CBV 2.0 has no bizStep "returning" (the schema's
#: enum refuses it): a return is ``receiving`` (a customer's, coming back) or ``shipping`` (to the supplier),
#: its units ``returned``. An adjustment is ``stock_taking``, ``cycle_counting`` when a count (C-) posted it.
VOCABULARY: dict[MovementKind, Step] = {
    MovementKind.receipt: Step("receiving", "in_progress", "source"),
    MovementKind.sale: Step("retail_selling", "retail_sold", "destination"),
    MovementKind.customer_return: Step("receiving", "returned", "source"),
    MovementKind.supplier_return: Step("shipping", "returned", "destination"),
    MovementKind.adjustment: Step("stock_taking", "sellable_accessible"),
    # The customer's unit at our desk and back: it stays theirs, so they are its possessing party, not owner.
    MovementKind.service_in: Step("repairing", "non_sellable_other", "source", "possessing_party"),
    MovementKind.service_out: Step("repairing", None, "destination", "possessing_party"),
    MovementKind.replaced: Step("replacing", "damaged", "source"),  # the faulty unit, now ours
    MovementKind.replacement: Step("replacing", None, "destination"),  # the unit given in its place
    MovementKind.move: Step("storing", "sellable_accessible"),
    MovementKind.transfer_out: Step("shipping", "in_transit"),
    MovementKind.transfer_in: Step("receiving", "in_progress"),
}

#: The CBV business transaction type of each document kind (None: CBV has none for it, the event names the
#: document untyped). ``po``: the purchase order; ``recadv`` (receiving advice): what a receipt or an arrival
#: took in; ``inv``: a sale's till receipt, the invoice of the sale; ``rma``: a return, either way;
#: ``desadv`` (despatch advice): a transfer (T-), on its way out and, as an arrival's order, on its way in.
TRANSACTION_TYPES: dict[DocumentKind, str | None] = {
    DocumentKind.purchase_order: "po",
    DocumentKind.receipt: "recadv",
    DocumentKind.arrival: "recadv",
    DocumentKind.sale: "inv",
    DocumentKind.customer_return: "rma",
    DocumentKind.supplier_return: "rma",
    DocumentKind.transfer: "desadv",
}

_posted = FeedEvent.__table__.alias("posted")
#: A movement's facts (station.domain.movement_facts) with the ``document.posted`` event that reported its document.
_ROWS = FACTS.add_columns(_posted.c.id.label("event_id")).outerjoin(
    _posted, and_(_posted.c.subject == "document", _posted.c.subject_id == M.c.document_id,
                  _posted.c.type == EventType.document_posted.value))


def movement_rows(session: Session, *, since: datetime | None = None,
                  event_ids: Sequence[int] | None = None) -> Iterator[Any]:
    """The movements in document order (see the module's doc), read in batches through a server-side cursor.

    ``event_ids``: only the movements of the documents those ``document.posted`` events report.
    ``since``: only movements at or after it.
    """
    query = _ROWS.order_by(_posted.c.id.asc().nulls_first(), M.c.id)
    if event_ids is not None:
        # By the documents' ids too, so that the movements are found through their document's index rather
        # than by reading every movement for the few documents of a page.
        documents = session.scalars(select(FeedEvent.subject_id).where(FeedEvent.id.in_(list(event_ids)))).all()
        query = query.where(_posted.c.id.in_(list(event_ids)), M.c.document_id.in_(documents))
    if since is not None:
        query = query.where(M.c.at >= since)
    yield from session.execute(query.execution_options(yield_per=BATCH, stream_results=True))


def posted_after(session: Session, after: int, limit: int) -> list[int]:
    """The ids of the next ``limit`` ``document.posted`` events after ``after``, oldest first."""
    return list(session.scalars(
        select(FeedEvent.id).where(FeedEvent.id > after, FeedEvent.type == EventType.document_posted.value)
        .order_by(FeedEvent.id).limit(limit)))


def event_of(session: Session, event_id: int) -> list[int]:
    """``[event_id]`` when it is a ``document.posted`` event, else ``[]``."""
    found = session.scalar(select(FeedEvent.id).where(FeedEvent.id == event_id,
                                                      FeedEvent.type == EventType.document_posted.value))
    return [found] if found is not None else []


def _utc(at: datetime) -> datetime:
    # SQLite gives the stored UTC time back naive.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def event_time(at: datetime) -> str:
    """An instant as EPCIS writes it: UTC, milliseconds, ``Z``."""
    return _utc(at).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def zone_offset(config: Config, at: datetime) -> str:
    """``eventTimeZoneOffset``: the station's zone's offset then (``[web] timezone``, else the system's), ±HH:MM."""
    local = _utc(at).astimezone(config.web.zone) if config.web.zone else _utc(at).astimezone()
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def event_id(config: Config, movement_id: int, base: str | None = None) -> str:
    """The movement's stable event id: ``urn:uuid:`` + UUID5 of ``<base_uri>/movement/<id>`` (see the module's doc)."""
    base = uris.base_uri(config) if base is None else base
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{base}/movement/{movement_id}')}"


def station_location(config: Config, station: str | None) -> str:
    """The code of a station's location: its ``location`` key (SPEC 3c), ``MAIN`` while none is configured."""
    entry = config.station(station) if station is not None else None
    return getattr(entry, "location", None) or MAIN_SITE


class Events:
    """Turns movement rows into ObjectEvents, reading each product's GTIN once (a few statements a batch)."""

    def __init__(self, session: Session, config: Config) -> None:
        self.session = session
        self.config = config
        self.names = Names(config, session)
        self._gtins: dict[int, str | None] = {}

    def __call__(self, rows: Iterable[Any]) -> Iterator[dict[str, Any]]:
        batch: list[Any] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                yield from self._batch(batch)
                batch = []
        yield from self._batch(batch)

    def _batch(self, rows: list[Any]) -> Iterator[dict[str, Any]]:
        unseen = {row.product_id for row in rows if row.product_id is not None} - self._gtins.keys()
        if unseen:
            self._gtins.update(product_gtins(self.session, unseen))
        off = written_off(self.session, [row.id for row in rows if _maybe_written_off(row)])
        for row in rows:
            yield object_event(self.config, row, self._gtins.get(row.product_id), self.names,
                               written_off=row.id in off)


def _maybe_written_off(row: Any) -> bool:
    return row.kind == MovementKind.adjustment and row.quantity == 0 and row.serial is not None


def written_off(session: Session, movement_ids: list[int]) -> set[int]:
    """Of these adjustments of quantity 0, the ones that wrote off a unit in transit (SPEC 3c): the serial's
    movement before it is a ``transfer_out``. The others are a faulty unit leaving our hands (SPEC 3b)."""
    if not movement_ids:
        return set()
    before = aliased(Movement)
    previous = (select(before.kind).where(before.serial_id == Movement.serial_id, before.id < Movement.id)
                .order_by(before.id.desc()).limit(1).scalar_subquery())
    rows = session.execute(select(Movement.id, previous.label("previous")).where(Movement.id.in_(movement_ids)))
    return {row.id for row in rows if row.previous == MovementKind.transfer_out}


class Names:
    """The URIs of locations, products, documents and parties, each made once while it recurs (a bounded cache:
    an export names the same few places and the same document hundreds of times in a row).

    ``location(code, gln)`` names a location of a movement row (its GLN read with it); ``station_location(code)``
    a station's own location, whose GLN is read from ``session`` once (without a session: named by its code).
    """

    def __init__(self, config: Config, session: Session | None = None) -> None:
        self.base = uris.base_uri(config)
        self.location = lru_cache(maxsize=1024)(partial(uris.location_uri, config))
        self.station_location = lru_cache(maxsize=64)(partial(self._station_location, config, session))
        self.product = lru_cache(maxsize=1024)(partial(uris.product_uri, config))
        self.document = lru_cache(maxsize=64)(partial(uris.document_uri, config))
        self.party = lru_cache(maxsize=1024)(partial(uris.party_uri, config))

    @staticmethod
    def _station_location(config: Config, session: Session | None, code: str) -> str:
        place = location_facts.by_code(session, code) if session is not None else None
        return uris.location_uri(config, code, place.gln if place is not None else None)


def object_event(config: Config, row: Any, gtin: str | None, names: Names | None = None, *,
                 written_off: bool = False) -> dict[str, Any]:
    """One movement (a row of ``movement_rows``) as one EPCIS 2.0 ObjectEvent; ``gtin``: its product's;
    ``written_off``: the row is an adjustment out of a unit in transit that never arrived (``written_off()``)."""
    names = names or Names(config)
    kind = MovementKind(row.kind)
    step = VOCABULARY[kind]
    doc_kind = DocumentKind(row.document_kind) if row.document_kind is not None else None
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": event_time(row.at),
        "eventTimeZoneOffset": zone_offset(config, row.at),
        "eventID": event_id(config, row.id, names.base),
    }
    if row.serial is not None:
        event["epcList"] = [uris.serial_uri(config, row.serial, gtin)]
    else:  # unserialised units: a move writes one unit with quantity 0
        event["quantityList"] = [{"epcClass": names.product(row.product_code or "", gtin),
                                  "quantity": abs(row.quantity) or 1}]
    event["action"] = "ADD" if row.quantity > 0 else "DELETE" if row.quantity < 0 or written_off else "OBSERVE"
    biz_step, disposition = step.biz_step, step.disposition
    if kind in (MovementKind.adjustment, MovementKind.move) and doc_kind is DocumentKind.count:
        biz_step = "cycle_counting"
    if kind is MovementKind.adjustment and (row.quantity < 0 or written_off):
        disposition = None  # adjusted out (or never arrived, written off on its way): gone, why unknown
    elif kind is MovementKind.adjustment and row.quantity == 0:
        disposition = "damaged"  # a faulty unit leaves our hands, not our stock (SPEC 3b)
    event["bizStep"] = biz_step
    if disposition is not None:
        event["disposition"] = disposition
    if row.to_location is not None:
        there = names.location(row.to_location, row.to_gln)
        event["readPoint"], event["bizLocation"] = {"id": there}, {"id": there}
    elif row.from_location is not None:
        event["readPoint"] = {"id": names.location(row.from_location, row.from_gln)}
    else:
        event["readPoint"] = {"id": names.station_location(station_location(config, row.station))}
    transactions = []
    if row.order_reference is not None:
        transactions.append(_transaction(names, row.order_reference, DocumentKind(row.order_kind)))
    if row.document_reference is not None:
        transactions.append(_transaction(names, row.document_reference, doc_kind))
    if transactions:
        event["bizTransactionList"] = transactions
    party = ("supplier", row.supplier_code) if row.supplier_code is not None else ("customer", row.customer_code)
    if step.party is not None and party[1] is not None:
        event[f"{step.party}List"] = [{"type": step.party_type,
                                       step.party: names.party(party[0], party[1])}]
    return event


def _transaction(names: Names, reference: str, kind: DocumentKind | None) -> dict[str, str]:
    btt = TRANSACTION_TYPES.get(kind) if kind is not None else None
    out = {"type": btt} if btt is not None else {}
    return out | {"bizTransaction": names.document(reference)}


def document_chunks(events: Iterable[dict[str, Any]], created: datetime | None = None) -> Iterator[str]:
    """An EPCISDocument as text, a piece at a time: the head, each event, the tail (never the whole list)."""
    head = {"@context": [CONTEXT], "type": "EPCISDocument", "schemaVersion": SCHEMA_VERSION,
            "creationDate": event_time(created or datetime.now(UTC))}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "epcisBody": {"eventList": ['
    first = True
    for event in events:
        yield ("\n" if first else ",\n") + json.dumps(event, ensure_ascii=False)
        first = False
    yield "]}}\n"


def document_text(session: Session, config: Config, rows: Iterable[Any],
                  created: datetime | None = None) -> Iterator[str]:
    """The EPCISDocument of these movement rows, as text chunks; ``created``: its creationDate (default now)."""
    return document_chunks(Events(session, config)(rows), created)
