"""What a scan answers and the station shows: the prompt, and the document as SPEC 5 gives it.

The document in an answer carries its line count, its products (units here,
expected and received before, from the tallies) and its last 50 lines: two
indexed reads whatever its size, asked in one statement (answer_read.py), most often with the station's
locked read and the scan's own line added to them (Stand.shown). The prompt is worded from the same
per-product counts, so they are read once per scan, if at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from station.domain import service_desk, tallies
from station.domain.facts import DocumentHead
from station.domain.vocabulary import SERVICE_KINDS, DocumentKind, Mode
from station.domain.warranty import utc_today
from station.interchange import representation
from station.printing import queue as print_queue
from station.scan_core import decisions, prompts
from station.scan_core.reading import LocationInfo

from . import answer_read, counting, places, scan_log, sign_in
from .context import ScanContext, Stand
from .station_row import StationRow

RECENT = 10
#: What the screens and the API say while the database is away (the core's words: web reaches the core through here).
offline = prompts.offline


@dataclass(frozen=True)
class Answer:
    prompt: str
    document: dict[str, Any] | None


def _facts(session: Session, doc: DocumentHead | None, state: decisions.State,
           counts: list[tallies.ProductCount], place: LocationInfo | None = None,
           count: counting.Progress | None = None) -> prompts.Facts:
    if doc is None:
        return prompts.Facts()
    facts = dict(reference=doc.reference, party=doc.party_name, order=doc.order_reference,
                 place=places.named(place) if place is not None else None,
                 counted=(count.counted, count.expected) if count is not None else None)
    if doc.kind in SERVICE_KINDS and state.lines:  # the desk's prompt says the last unit's warranty: one read
        facts["today"] = utc_today()
        facts["unit"] = service_desk.last_unit(session, doc.id, facts["today"])
    if state.product is not None:
        mine = next((c for c in counts if c.code == state.product.code), None)
        if mine is not None:
            facts |= dict(product_units=mine.units, expected=mine.expected, received_before=mine.received)
        elif doc.order_id is not None:
            facts |= dict(expected=0)
    return prompts.Facts(**facts)


def answer(ctx: ScanContext, stand: Stand, state: decisions.State, refused: str | None = None,
           serial: str | None = None) -> Answer:
    """The prompt for ``state``, and the document to answer with: the one just posted, else the open one.

    An open count's answer carries where the count stands (``count``): the progress its line left, else read
    now (one statement), with what the scan was (``refused``: its refusal code, if any; ``serial``: the serial
    it named)."""
    session = ctx.session
    doc = stand.document if stand.posted is None else stand.posted[0]
    shown = stand.shown if stand.posted is None and doc is not None else None
    if shown is not None and shown.document_id == doc.id:  # read with the station's row, and the scan's lines
        counts, rows = list(shown.counts), list(shown.lines)
    else:
        counts, rows = answer_read.read(session, doc.id, doc.order_id) if doc is not None else ([], None)
    count = stand.count
    if count is None and stand.posted is None and doc is not None and doc.kind is DocumentKind.count:
        again = refused == "already_counted"
        count = counting.progress(session, doc, "already" if again else None, serial if again else None)
    prompt = prompts.prompt(state, _facts(session, stand.document, state, counts if stand.posted is None else [],
                                          stand.place, count))
    document = representation.document_summary(session, doc, counts, rows) if doc is not None else None
    if count is not None:
        document["count"] = count.as_json()
    return Answer(prompt, document)


def _scan(row) -> dict[str, Any]:
    return {"at": representation.timestamp(row.at), "device": row.device, "raw": row.raw, "read_as": row.read_as,
            "accepted": row.accepted, "code": row.code, "message": row.message, "user": row.user}


def _printer(session: Session, printer: str) -> dict[str, Any]:
    """The station's label printer: its state and queue counts (a few indexed reads)."""
    return print_queue.brief(print_queue.queues(session, [printer], labels=False)[printer])


def station(session: Session, station_id: str, row: StationRow | None, default_mode: Mode, *,
            idle_minutes: int | None = None, require_operator: bool = False,
            printer: str | None = None) -> dict[str, Any]:
    """GET /api/stations/<station>: the stored state and prompt, the open document, the recent scans, the operator,
    and the station's label printer (its state and queue) when it has one; ``row`` as station_row.shown reads it
    (with its open document's answer).

    The operator is who is signed in as of now: one idle past ``idle_minutes`` is shown as nobody
    (the sign-out itself is written by the next scan).
    """
    if row is None:
        state = decisions.State(mode=default_mode)
        prompt, document, version = prompts.prompt(state, prompts.Facts()), None, 0
        signed = None
    else:
        state, prompt, version = row.state, row.prompt, row.version
        document = None
        if row.document is not None:  # its answer, read with the row (station_row.shown)
            document = representation.document_summary(session, row.document, list(row.shown.counts),
                                                       list(row.shown.lines))
        signed, _ = sign_in.current(row.operator, idle_minutes, datetime.now(UTC))
    prompt = sign_in.prompt(prompt, signed, require_operator)
    recent = scan_log.recent(session, station_id, RECENT)
    if document is not None and row.document.kind is DocumentKind.count:
        # What the last scan was, as its answer said, and the serial it named (the screen flashes a repeat, says
        # where a unit was).
        last = prompts.count_kind(recent[0].message, recent[0].code) if recent else None
        serial = recent[0].serial_text if last is not None and last != "unit" else None
        document["count"] = counting.progress(session, row.document, last, serial).as_json()
    return {
        "station": station_id,
        "mode": state.mode.value,
        "prompt": prompt,
        "document": document,
        "recent_scans": [_scan(r) for r in recent],
        "version": version,
        "operator": sign_in.as_json(signed),
        "printer": _printer(session, printer) if printer else None,
    }
