"""``station check`` of where each unit is (SPEC 3c): locations and transfers recomputed from the movements alone.

Theory of operation. A serial's place is said by its movements: the last one that put it somewhere or
took it away (any quantity but 0, or a ``move``) names where it went (``to_location``; NULL when it
left: sold, returned, sent on a transfer). It is in transit while its last movement is a
``transfer_out``, on that movement's document: a unit that never arrived and was adjusted out (an
``adjustment`` of quantity 0 after it) is on none, and at no place. Unserialised units per product and
location add up from their movements: in at ``to_location``, out at ``from_location``, and a ``move``
(quantity 0, one unit) one out of the first and one into the second. Each is compared with what posting materialised
(``SerialNumber.location_id``, ``transfer_id``, ``StockLevel``); a serial whose movements put it in stock
must also have been put somewhere (a movement in that names no location is itself a difference).
"""
from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select, union_all
from sqlalchemy.orm import Session

from .differences import Difference
from .tables import LOC, SL, D, M, P, S
from .vocabulary import MovementKind


def differences(session: Session) -> list[Difference]:
    return serial_differences(session) + unit_differences(session)


def _code(codes: dict[int, str], location_id: int | None) -> str:
    return codes.get(location_id, str(location_id)) if location_id is not None else "none"


def serial_differences(session: Session) -> list[Difference]:
    """Every serial's location and transfer against its movements; an in-stock serial without a place."""
    placing = or_(M.c.quantity != 0, M.c.kind == MovementKind.move)
    last_place = (select(M.c.serial_id, func.max(M.c.id).label("id")).where(M.c.serial_id.is_not(None), placing)
                  .group_by(M.c.serial_id).subquery("last_place"))
    last_any = (select(M.c.serial_id, func.max(M.c.id).label("id")).where(M.c.serial_id.is_not(None))
                .group_by(M.c.serial_id).subquery("last_any"))
    put, latest = M.alias("put"), M.alias("latest")
    derived_place = put.c.to_location_id
    derived_transfer = case((latest.c.kind == MovementKind.transfer_out, latest.c.document_id))
    stored_transfer = D.alias("stored_transfer")
    derived_doc = D.alias("derived_transfer")
    rows = session.execute(
        select(S.c.serial, S.c.in_stock, S.c.location_id, derived_place.label("derived_place"),
               case((or_(put.c.quantity > 0, put.c.kind == MovementKind.move), put.c.id)).label("put_id"),
               stored_transfer.c.reference.label("stored_transfer"), derived_doc.c.reference.label("derived_transfer"))
        .select_from(S.outerjoin(last_place, last_place.c.serial_id == S.c.id)
                     .outerjoin(put, put.c.id == last_place.c.id)
                     .outerjoin(last_any, last_any.c.serial_id == S.c.id)
                     .outerjoin(latest, latest.c.id == last_any.c.id)
                     .outerjoin(stored_transfer, stored_transfer.c.id == S.c.transfer_id)
                     .outerjoin(derived_doc, derived_doc.c.id == derived_transfer))
        .where(or_(S.c.location_id.is_distinct_from(derived_place),
                   S.c.transfer_id.is_distinct_from(derived_transfer),
                   and_(or_(put.c.quantity > 0, put.c.kind == MovementKind.move), put.c.to_location_id.is_(None))))
        .order_by(S.c.serial)).all()
    if not rows:
        return []
    codes = dict(session.execute(select(LOC.c.id, LOC.c.code)).all())
    diffs = []
    for r in rows:
        if r.location_id != r.derived_place:
            diffs.append(Difference("serial", r.serial, _code(codes, r.location_id), _code(codes, r.derived_place),
                                    "location"))
        elif r.derived_place is None and r.put_id is not None:
            diffs.append(Difference("serial", r.serial, _code(codes, r.location_id),
                                    f"in stock at no location (movement {r.put_id} names none)", "location"))
        if r.stored_transfer != r.derived_transfer:
            diffs.append(Difference("serial", r.serial, r.stored_transfer or "none", r.derived_transfer or "none",
                                    "transfer"))
    return diffs


def unit_differences(session: Session) -> list[Difference]:
    """Each product's unserialised units at each location against their movements."""
    units = M.c.serial_id.is_(None)
    moved = M.c.kind == MovementKind.move
    flows = union_all(
        select(M.c.product_id, M.c.to_location_id.label("location_id"),
               case((moved, 1), else_=M.c.quantity).label("quantity"))
        .where(units, M.c.to_location_id.is_not(None)),
        select(M.c.product_id, M.c.from_location_id.label("location_id"),
               case((moved, -1), else_=M.c.quantity).label("quantity"))
        .where(units, M.c.from_location_id.is_not(None))).subquery("flows")
    derived = {(r.product_id, r.location_id): int(r.quantity) for r in session.execute(
        select(flows.c.product_id, flows.c.location_id, func.sum(flows.c.quantity).label("quantity"))
        .group_by(flows.c.product_id, flows.c.location_id))}
    stored = {(r.product_id, r.location_id): r.quantity for r in session.execute(select(SL))}
    wrong = sorted(k for k in set(derived) | set(stored) if derived.get(k, 0) != stored.get(k, 0))
    if not wrong:
        return []
    codes = dict(session.execute(select(LOC.c.id, LOC.c.code)).all())
    products = dict(session.execute(select(P.c.id, P.c.code)).all())
    return [Difference("units", f"{products.get(p, p)} at {_code(codes, loc)}", stored.get((p, loc), 0),
                       derived.get((p, loc), 0)) for p, loc in wrong]
