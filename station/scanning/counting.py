"""A count as the station shows it while it is scanned (SPEC 3c): counted against expected, and what is missing.

A count counts a place and every location under it. What is expected there is
what the database holds there now: the serials in stock at the place or under
it (the recursive walk down its locations, as wide as its subtree of
locations, never as the site). One statement answers, before each count line
is written: how many are expected, how many of them are not counted yet
(``missing``: in stock there and on no line of this count, each probed once
through the lines' (serial, document) index), the first ``MISSING`` of them by
serial and one more, whether the serial scanned is expected there, how many
lines of this count carry it already (one: a repeat, refused
``already_counted`` before anything is written, so a count scan needs no
savepoint), where the record has that serial now (the code of its location,
if in stock: a station's view says where a unit counted from elsewhere was
recorded), and for a product scanned, its units expected there and counted.
``counted`` then adds the line just written to that answer, in Python. So
every count scan costs one statement more than a line elsewhere, the same at
the 5,000th unit as at the first: nothing grows with what was counted.

Posting the count (moves, adjustments, quantities) is posting's; this is the
scan side only.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from sqlalchemy import bindparam, exists, func, select, true
from sqlalchemy.orm import Session

from station.domain.errors import Refusal
from station.domain.facts import DocumentHead, SerialFacts
from station.domain.models import DocumentLine, DocumentTally, Location, SerialNumber, StockLevel

L, S, DL = Location.__table__, SerialNumber.__table__, DocumentLine.__table__
T, SL = DocumentTally.__table__, StockLevel.__table__
#: How many missing serials the screen lists (the first, by serial).
MISSING = 50


def _statement(lateral: bool):
    sub = select(L.c.id).where(L.c.id == bindparam("root")).cte("counted_place", recursive=True)
    sub = sub.union_all(select(L.c.id).join(sub, L.c.parent_id == sub.c.id))
    # What is expected there, taken first (MATERIALIZED: the planner may not fold it into the join below). On
    # PostgreSQL each location's units are read through the serials' location index, one location at a time (a
    # LATERAL subquery that OFFSET 0 keeps from being flattened into a join): it guesses 101 locations for any
    # recursive walk, and for 101 locations it chose to read all of serial_number, 186 ms a scan counting a bin
    # of 525 units at 1,000,000 serials. SQLite probes the index per location already (and has no LATERAL).
    if lateral:
        held = select(S.c.serial).where(S.c.location_id == sub.c.id, S.c.in_stock.is_(True)).offset(0).lateral("held")
        there = select(held.c.serial).select_from(sub.join(held, true()))
    else:
        there = select(S.c.serial).where(S.c.in_stock.is_(True), S.c.location_id.in_(select(sub.c.id)))
    there = there.cte("expected_there").prefix_with("MATERIALIZED")
    # Each expected serial is then probed once through the lines' serial index, never joined to the count's
    # lines: planned before the statistics know a count's lines (34, PostgreSQL guessed, of thousands), that
    # join rescanned every line for every serial and a scan grew with the count (16.7 times at 5,000 units).
    probe = select(DL.c.id).where(DL.c.serial == there.c.serial, DL.c.document_id == bindparam("document_id")) \
        .limit(1).scalar_subquery()
    missing = select(there.c.serial).where(probe.is_(None)).cte("missing_there").prefix_with("MATERIALIZED")
    head = select(
        select(func.count()).select_from(there).scalar_subquery().label("expected"),
        select(func.count()).select_from(missing).scalar_subquery().label("missing"),
        select(func.count()).select_from(DL).where(DL.c.document_id == bindparam("document_id"),
                                                  DL.c.serial == bindparam("serial")).scalar_subquery().label("lines"),
        exists().where(sub.c.id == bindparam("place")).label("here"),
        select(L.c.code).select_from(S.join(L, L.c.id == S.c.location_id))
        .where(S.c.serial == bindparam("serial"), S.c.in_stock.is_(True)).scalar_subquery().label("recorded"),
        select(func.coalesce(func.sum(SL.c.quantity), 0)).where(SL.c.product_id == bindparam("product_id"),
                                                                 SL.c.location_id.in_(select(sub.c.id)))
        .scalar_subquery().label("units_expected"),
        select(T.c.units).where(T.c.document_id == bindparam("document_id"), T.c.product_id == bindparam("product_id"))
        .scalar_subquery().label("units_counted"),
    ).subquery("head")
    # One more than is shown: the unit a scan counts leaves the list, and the next takes its place.
    listed = select(missing.c.serial).order_by(missing.c.serial).limit(MISSING + 1).subquery("listed")
    return select(head, listed.c.serial).select_from(head.outerjoin(listed, true()))


#: The statement, per database: PostgreSQL's reads each location's units by LATERAL, SQLite's by IN.
_STATE = {True: _statement(lateral=True), False: _statement(lateral=False)}


@dataclass(frozen=True)
class Progress:
    """A count as it stands: serials expected at its place, how many of them are counted, the first missing ones,
    and what the last scan was (``counted``, ``elsewhere``, ``added``, ``faulty``, ``unit``, ``already``), the
    serial it named, and for ``elsewhere`` the location the unit is recorded at (``from`` in its JSON)."""

    expected: int
    counted: int
    missing: tuple[str, ...]
    missing_total: int
    last: str | None = None
    serial: str | None = None  # the serial the last scan named (None: a unit without one, or no last scan)
    recorded_at: str | None = None  # "elsewhere": the code of the location its record has it at
    here: bool = False  # the serial just counted was expected here
    units_expected: int = 0  # the product just counted: its units without a serial expected here
    units_counted: int = 0  # and counted on this count

    def as_json(self) -> dict:
        out = asdict(self)
        out["missing"] = list(self.missing)
        out["from"] = out.pop("recorded_at")
        for private in ("here", "units_expected", "units_counted"):
            del out[private]
        return out


def progress(session: Session, doc: DocumentHead, last: str | None = None, serial: str | None = None) -> Progress:
    """The count ``doc`` as it stands (one statement), after a scan that was ``last`` and named ``serial``; for
    ``elsewhere``, where that serial is recorded (read by the same statement)."""
    state, _ = _read(session, doc, serial=serial, last=last)
    recorded = state.recorded_at if last == "elsewhere" else None
    return replace(state, missing=state.missing[:MISSING], recorded_at=recorded)


def _read(session: Session, doc: DocumentHead, *, serial: str | None = None, place_id: int | None = None,
          product_id: int | None = None, last: str | None = None) -> tuple[Progress, int]:
    """The count as it stands, and how many of its lines carry ``serial``; ``place_id`` (where the serial's record
    has it) and ``product_id`` name what was just counted."""
    conn = session.connection()
    rows = conn.execute(_STATE[conn.dialect.name == "postgresql"], {
        "root": doc.location_id, "document_id": doc.id, "serial": serial, "place": place_id,
        "product_id": product_id}).all()
    first = rows[0]
    missing = tuple(row.serial for row in rows if row.serial is not None)
    return Progress(first.expected, first.expected - first.missing, missing, first.missing, last, serial,
                    first.recorded, bool(first.here), first.units_expected or 0, first.units_counted or 0), first.lines


def before_line(session: Session, doc: DocumentHead, facts: SerialFacts | None, product_id: int | None) -> Progress:
    """Before a count line is written: where the count stands (one statement), and a repeat refused, so that
    nothing is written for it and the scan needs no savepoint."""
    if facts is None:  # one unit without a serial
        state, _ = _read(session, doc, product_id=product_id)
        return state
    state, lines = _read(session, doc, serial=facts.serial, place_id=facts.location_id, product_id=product_id)
    if lines:
        raise Refusal("already_counted", f"{facts.serial} is counted already on {doc.reference}: it is never counted "
                                         "twice. Scan the next unit.")
    return state


def counted(before: Progress, facts: SerialFacts | None, quantity: int = 1) -> Progress:
    """After the line is written: the count as ``before`` stood, with the unit just counted, and what it was. A
    serial expected here leaves the missing list (read one longer than shown, so it stays full)."""
    if facts is None:
        return replace(before, missing=before.missing[:MISSING], last="unit",
                       units_counted=before.units_counted + quantity)
    if facts.faulty:
        last = "faulty"
    elif not facts.in_stock:
        last = "added"
    else:
        last = "counted" if before.here else "elsewhere"
    expected_here = facts.in_stock and before.here
    missing = tuple(serial for serial in before.missing if serial != facts.serial)[:MISSING]
    return replace(before, missing=missing, counted=before.counted + expected_here,
                   missing_total=before.missing_total - expected_here, last=last, serial=facts.serial,
                   recorded_at=facts.location_code if last == "elsewhere" else None)
