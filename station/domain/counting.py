"""Posting a count (stocktake, SPEC 3c): what was found against what the database holds when it posts.

Theory of operation. A count's lines are observations (where each unit was found, ``location_id``), not
claims on their serials. Posting, in one transaction and a fixed number of statements whatever the
count's size:

1. locks, in one statement, every serial recorded in the counted location and under it (expected: what
   the database holds there now, read under the lock, so a unit sold after it was counted has left and is
   neither missing nor moved) and every serial counted, with the time of its last movement;
2. decides each in Python, over sets: counted and expected (nothing written); in stock elsewhere, at any
   site: ``move`` to where it was found; not in stock and nobody's: ``adjustment`` +1 there ("found in
   count C-..."); expected and not counted: ``adjustment`` -1 from where it was ("not found in count
   C-..."). A counted serial whose last movement came after its scan (sold, moved, received since) is
   left as that news says: the database's later word wins over the count's earlier look. A serial with
   a customer, in service, in transit or faulty is left as it is (the scan refused the first three; a
   faulty one is counted and stays faulty);
3. sets each product's unserialised units at each counted location to what was counted (an
   ``adjustment`` of the difference), under the stock levels' locks;
4. writes the movements in one executemany, the serials' new places in one executemany per kind of
   change, the stock levels and products' totals in one statement each.

The reasons are not stored: the movements' kind, sign and document say them, and the JSON derives them.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, func, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import movement_writes, whereabouts
from .facts import DocumentHead
from .tables import SL, L, M, P, S
from .vocabulary import MovementKind

_PLACE = update(S).where(S.c.id == bindparam("s_id")).values(location_id=bindparam("s_location"))
_ADDED = (update(S).where(S.c.id == bindparam("s_id"))
          .values(location_id=bindparam("s_location"), in_stock=True,
                  product_id=func.coalesce(S.c.product_id, bindparam("s_product"))))
_MISSING = update(S).where(S.c.id == bindparam("s_id")).values(location_id=None, in_stock=False)
_TOTAL = update(P).where(P.c.id == bindparam("p_id")).values(unserialised_on_hand=P.c.unserialised_on_hand
                                                             + bindparam("p_delta"))


def post(session: Session, doc: DocumentHead, here: int, at: datetime) -> dict[int, int]:
    """Write the count's movements and set what it found; answers each product's change of unserialised units."""
    counted_here = whereabouts.subtree(session, here)
    inside = set(counted_here)
    lines = session.execute(select(L.c.line_no, L.c.serial, L.c.product_id, L.c.quantity, L.c.location_id, L.c.user)
                            .where(L.c.document_id == doc.id).order_by(L.c.line_no)).all()
    first: dict[str, object] = {}
    for line in lines:
        if line.serial is not None:
            first.setdefault(line.serial, line)
    held = _locked(session, doc.id, counted_here)
    expected = {r.id: r for r in held if r.location_id in inside}
    units = {r.serial: r for r in held if r.serial in first}
    new = [text for text in first if text not in units]
    if new:
        _make_records(session, first, new)
        units |= {r.serial: r for r in _locked(session, doc.id, [], only=new)}
    rows: list[dict] = []
    placed, added, counted = _serials(doc, first, units, _news(session, doc.id), inside, here, at, rows)
    for serial_id, unit in expected.items():
        if serial_id not in counted:
            rows.append(movement_writes.row(doc, at, kind=MovementKind.adjustment.value, product_id=unit.product_id,
                                            serial_id=serial_id, quantity=-1, from_location_id=unit.location_id))
    missing = [{"s_id": i} for i in expected if i not in counted]
    deltas = _set_units(session, doc, lines, counted_here, here, at, rows)
    connection = session.connection()
    movement_writes.insert_rows(connection, rows)
    for statement, changes in ((_PLACE, placed), (_ADDED, added), (_MISSING, missing)):
        if changes:
            connection.execute(statement, changes)
    return deltas


def _serials(doc: DocumentHead, first: dict, units: dict, news: set[str], inside: set[int], here: int,
             at: datetime, rows: list[dict]) -> tuple[list[dict], list[dict], set[int]]:
    """Each counted serial decided: moved here, added, or nothing to write; the serials' changes, and all counted."""
    placed, added, counted = [], [], set()
    for text, line in first.items():
        unit = units[text]
        counted.add(unit.id)
        where = line.location_id if line.location_id is not None else here
        if text in news:
            continue  # news since the scan: the database's later word wins
        product = unit.product_id if unit.product_id is not None else line.product_id
        if unit.in_stock and unit.location_id not in inside:
            kind, quantity, source = MovementKind.move, 0, unit.location_id
            placed.append({"s_id": unit.id, "s_location": where})
        elif not unit.in_stock and not (unit.customer_id or unit.in_service or unit.transfer_id or unit.faulty):
            kind, quantity, source = MovementKind.adjustment, 1, None
            added.append({"s_id": unit.id, "s_location": where, "s_product": product})
        else:
            continue
        rows.append(movement_writes.row(doc, at, user=line.user, kind=kind.value, product_id=product,
                                        serial_id=unit.id, quantity=quantity, from_location_id=source,
                                        to_location_id=where))
    return placed, added, counted


def _make_records(session: Session, first: dict, texts: list[str]) -> None:
    """Records for serials first seen in this count (found, never known: they are added)."""
    made = datetime.now(UTC)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.connection().execute(dialect.insert(S).on_conflict_do_nothing(index_elements=[S.c.serial]), [
        {"serial": text, "product_id": first[text].product_id, "in_stock": False, "created_at": made}
        for text in texts])


def _locked(session: Session, document_id: int, counted_here: list[int], only: list[str] | None = None) -> list:
    """Row-locked in one statement, each once, in id order: the serials recorded in the counted place and the
    serials on the count's lines; ``only``: just these."""
    if only is not None:
        ids = select(S.c.id).where(S.c.serial.in_(only))
    else:
        ids = union(select(S.c.id).where(S.c.location_id.in_(counted_here)),
                    select(S.c.id).join(L, L.c.serial == S.c.serial).where(L.c.document_id == document_id))
    return session.execute(
        select(S.c.serial, S.c.id, S.c.location_id, S.c.product_id, S.c.in_stock, S.c.customer_id, S.c.in_service,
               S.c.transfer_id, S.c.faulty)
        .where(S.c.id.in_(ids)).order_by(S.c.id).with_for_update(of=S)).all()


def _news(session: Session, document_id: int) -> set[str]:
    """The counted serials that moved after they were scanned here (one join; a few rows, no time fetched)."""
    return set(session.scalars(
        select(S.c.serial).distinct().select_from(L.join(S, S.c.serial == L.c.serial).join(M, M.c.serial_id == S.c.id))
        .where(L.c.document_id == document_id, M.c.at > L.c.created_at)))


def _set_units(session: Session, doc: DocumentHead, lines, counted_here: list[int], here: int, at: datetime,
               rows: list[dict]) -> dict[int, int]:
    """Each product's unserialised units at each location counted set to what was found there."""
    found: dict[tuple[int, int], int] = {}
    users: dict[tuple[int, int], str | None] = {}
    for line in lines:
        if line.serial is None and line.product_id is not None:
            key = (line.product_id, line.location_id if line.location_id is not None else here)
            found[key] = found.get(key, 0) + line.quantity
            users.setdefault(key, line.user)
    held = {(r.product_id, r.location_id): r.quantity for r in session.execute(
        select(SL.c.product_id, SL.c.location_id, SL.c.quantity)
        .where(SL.c.location_id.in_(counted_here), SL.c.quantity != 0)
        .order_by(SL.c.product_id, SL.c.location_id).with_for_update())}
    changes, deltas = [], {}
    for key in sorted(set(found) | set(held)):
        diff = found.get(key, 0) - held.get(key, 0)
        if diff == 0:
            continue
        product_id, location_id = key
        changes.append((product_id, location_id, diff))
        deltas[product_id] = deltas.get(product_id, 0) + diff
        rows.append(movement_writes.row(doc, at, user=users.get(key), kind=MovementKind.adjustment.value,
                                        product_id=product_id, quantity=diff,
                                        from_location_id=location_id if diff < 0 else None,
                                        to_location_id=location_id if diff > 0 else None))
    whereabouts.add(session, changes)
    if deltas:
        session.connection().execute(_TOTAL, [{"p_id": p, "p_delta": d} for p, d in sorted(deltas.items())])
    return deltas
