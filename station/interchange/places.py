"""Where units are, as the JSON of SPEC 5 says it: a line's places, a transfer's units, a count's findings.

Theory of operation. A line names ``to_location`` where it puts a unit (a receipt's put-away, a return,
a move's or transfer's destination, an arrival's place, where a count found it) and ``from_location``
where a unit leaves from: the place its document's movement took it from once posted, the serial's
present place while open. A transfer carries its ``destination`` and, per serial, ``shipped`` (its
``transfer_out`` posted) and ``arrived`` (a ``transfer_in`` of an arrival against it). A count carries
its ``location``, and ``expected``, ``counted``, ``missing``, ``moved``, ``added`` and ``quantities``:
while open, against what the database holds now; once posted, read back from the movements its posting
wrote (its moves, its adjustments in and out, and each product's difference), so a posted count reads
the same for ever, as every posted document does.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from station.domain import location_facts
from station.domain.location_facts import LocationFacts
from station.domain.models import DocumentKind, DocumentStatus, MovementKind
from station.domain.movement_facts import FACTS
from station.domain.tables import LOC, SL, D, L, M, P, S
from station.domain.whereabouts import subtree

_LINE_LOC, _NOW, _MOVED_FROM = LOC.alias("line_location"), LOC.alias("now_at"), LOC.alias("moved_from")
_SN, _MV = S.alias("line_serial"), M.alias("line_movement")

#: Kinds whose lines put a unit somewhere, and kinds whose serial lines take one from where it is.
_PUTS = frozenset({DocumentKind.receipt, DocumentKind.customer_return, DocumentKind.move, DocumentKind.transfer,
                   DocumentKind.arrival, DocumentKind.count})
_TAKES = frozenset({DocumentKind.sale, DocumentKind.supplier_return, DocumentKind.move, DocumentKind.transfer,
                    DocumentKind.service_check_out, DocumentKind.adjustment})

_LAST_MOVE = (select(func.max(M.c.id)).where(M.c.document_id == L.c.document_id, M.c.serial_id == _SN.c.id)
              .correlate(L, _SN).scalar_subquery())
LINE_COLUMNS = (_LINE_LOC.c.code.label("line_location"), _NOW.c.code.label("now_at"),
                _MV.c.id.label("moved_id"), _MOVED_FROM.c.code.label("moved_from"))


def line_joins(base):
    """``base`` (the lines) joined to what a line's places are read from: its own, its serial's, its movement's."""
    return (base.outerjoin(_LINE_LOC, _LINE_LOC.c.id == L.c.location_id)
            .outerjoin(_SN, _SN.c.serial == L.c.serial).outerjoin(_NOW, _NOW.c.id == _SN.c.location_id)
            .outerjoin(_MV, _MV.c.id == _LAST_MOVE).outerjoin(_MOVED_FROM, _MOVED_FROM.c.id == _MV.c.from_location_id))


def line_places(row, kind: DocumentKind | None) -> dict[str, str | None]:
    """A line's ``from_location`` and ``to_location`` (codes, or null where it moves no unit that way)."""
    to = row.line_location if kind in _PUTS or (kind == DocumentKind.adjustment and row.quantity > 0) else None
    source = None
    if row.serial is not None and kind in _TAKES and (kind != DocumentKind.service_check_out or row.replaces):
        source = row.moved_from if row.moved_id is not None else row.now_at
    return {"from_location": source, "to_location": to}


def located(at: LocationFacts | None) -> dict[str, str] | None:
    """A location's facts as a serial's ``location`` reads: ``{"code", "name", "site"}``, or null."""
    return None if at is None else {"code": at.code, "name": at.name, "site": at.site_code}


def document_places(session: Session, d: Row) -> dict[str, Any]:
    """What a transfer or a count adds to its document's JSON (SPEC 5); nothing for other kinds. ``d``: the document's
    record (a row of station.domain.document_record.RECORD)."""
    if d.kind == DocumentKind.transfer:
        return {"destination": located(location_facts.of(d, "place_")), "units": _units(session, d)}
    if d.kind == DocumentKind.count:
        found = _posted_count(session, d) if d.status == DocumentStatus.posted else _open_count(session, d)
        return {"location": located(location_facts.of(d, "place_")), **found}
    return {}


def _units(session: Session, d: Row) -> list[dict[str, Any]]:
    """Per serial of a transfer: shipped (its transfer posted) and arrived (taken in by an arrival against it)."""
    arrival = D.alias("arrival")
    arrived = (select(M.c.id).join(arrival, arrival.c.id == M.c.document_id)
               .where(M.c.serial_id == S.c.id, M.c.kind == MovementKind.transfer_in, arrival.c.order_id == d.id)
               .correlate(S).exists())
    rows = session.execute(select(L.c.serial, arrived.label("arrived")).outerjoin(S, S.c.serial == L.c.serial)
                           .where(L.c.document_id == d.id, L.c.serial.is_not(None)).order_by(L.c.line_no))
    shipped = d.status == DocumentStatus.posted
    return [{"serial": r.serial, "shipped": shipped, "arrived": bool(r.arrived)} for r in rows]


def _counted_units(session: Session, d: Row) -> dict[str, int]:
    """Unserialised units counted, per product code."""
    return {code: int(n) for code, n in session.execute(
        select(P.c.code, func.sum(L.c.quantity)).join(P, P.c.id == L.c.product_id)
        .where(L.c.document_id == d.id, L.c.serial.is_(None)).group_by(P.c.code))}


def _findings(expected: set[str], counted: set[str], missing, moved, added, quantities) -> dict[str, Any]:
    return {"expected": len(expected) + sum(q["expected"] for q in quantities.values()),
            "counted": len(counted) + sum(q["counted"] for q in quantities.values()),
            "missing": sorted(missing), "moved": sorted(moved, key=lambda m: m["serial"]), "added": sorted(added),
            "quantities": dict(sorted(quantities.items()))}


def _open_count(session: Session, d: Row) -> dict[str, Any]:
    """An open count against what the database holds now in its place and under it."""
    inside = subtree(session, d.location_id) if d.location_id is not None else []
    expected = set(session.scalars(select(S.c.serial).where(S.c.location_id.in_(inside))))
    here = set(inside)
    rows = session.execute(
        select(L.c.serial, S.c.in_stock, S.c.location_id, LOC.c.code, S.c.customer_id, S.c.in_service,
               S.c.transfer_id, S.c.faulty)
        .select_from(L.outerjoin(S, S.c.serial == L.c.serial).outerjoin(LOC, LOC.c.id == S.c.location_id))
        .where(L.c.document_id == d.id, L.c.serial.is_not(None))).all()
    counted, moved, added = set(), [], []
    for r in rows:
        if r.serial in counted:
            continue
        counted.add(r.serial)
        if r.in_stock and r.location_id not in here:
            moved.append({"serial": r.serial, "from": r.code})
        elif not r.in_stock and not (r.customer_id or r.in_service or r.transfer_id or r.faulty):
            added.append(r.serial)
    held = {code: int(n) for code, n in session.execute(
        select(P.c.code, func.sum(SL.c.quantity)).join(P, P.c.id == SL.c.product_id)
        .where(SL.c.location_id.in_(inside)).group_by(P.c.code)) if n}
    found = _counted_units(session, d)
    quantities = {code: {"expected": held.get(code, 0), "counted": found.get(code, 0)}
                  for code in set(held) | set(found)}
    return _findings(expected, counted, expected - counted, moved, added, quantities)


def _posted_count(session: Session, d: Row) -> dict[str, Any]:
    """A posted count read back from what its posting wrote."""
    rows = session.execute(FACTS.where(M.c.document_id == d.id)).all()
    counted = set(session.scalars(select(L.c.serial).where(L.c.document_id == d.id, L.c.serial.is_not(None))))
    missing, moved, added, differences = [], [], [], {}
    for r in rows:
        if r.serial is None:
            if r.kind == MovementKind.adjustment:
                differences[r.product_code] = differences.get(r.product_code, 0) + r.quantity
        elif r.kind == MovementKind.move:
            moved.append({"serial": r.serial, "from": r.from_location})
        elif r.quantity > 0:
            added.append(r.serial)
        else:
            missing.append(r.serial)
    found = _counted_units(session, d)
    quantities = {code: {"expected": found.get(code, 0) - differences.get(code, 0), "counted": found.get(code, 0)}
                  for code in set(found) | set(differences)}
    elsewhere = {m["serial"] for m in moved} | set(added)
    return _findings((counted - elsewhere) | set(missing), counted, missing, moved, added, quantities)

