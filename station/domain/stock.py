"""Stock of products, adjustments of unserialised units, and ``station check``.

``Difference`` lives in differences.py (location_check reports them too) and is named here as before.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from . import location_check
from .differences import Difference
from .errors import Invalid
from .models import Document, Movement, Product, SerialNumber
from .posting import post_adjustment
from .sqldates import utc_date, warranty_given
from .tables import L, M, S
from .validation import require_quantity, require_text
from .vocabulary import MovementKind


def adjust_product(session: Session, product: Product, quantity: int, reason: str, *,
                   station: str | None = None, user: str | None = None) -> Document:
    """Rule 7: a product's unserialised quantity up or down, always with a reason."""
    quantity = require_quantity(quantity, "quantity")
    if quantity == 0:
        raise Invalid("invalid_quantity", "quantity must not be 0.")
    reason = require_text(reason, "reason", max_len=500)
    return post_adjustment(session, reason, [(product, None, quantity)], station=station, user=user)


def check(session: Session) -> list[Difference]:
    """Recompute in_stock, unserialised on-hand, in_service, faulty, warranty_until, and where each unit is
    (location_check) from the movements; list every difference."""
    diffs: list[Difference] = []
    per_serial = (
        select(Movement.serial_id, func.sum(Movement.quantity).label("qty"))
        .where(Movement.serial_id.is_not(None)).group_by(Movement.serial_id).subquery()
    )
    derived = func.coalesce(per_serial.c.qty, 0)
    rows = session.execute(
        select(SerialNumber.serial, SerialNumber.in_stock, derived)
        .outerjoin(per_serial, per_serial.c.serial_id == SerialNumber.id)
        .where(
            (derived.not_in([0, 1]))
            | ((derived == 1) & SerialNumber.in_stock.is_(False))
            | ((derived == 0) & SerialNumber.in_stock.is_(True))
        )
    )
    for serial, in_stock, qty in rows:
        diffs.append(Difference("serial", serial, int(bool(in_stock)), int(qty)))
    per_product = (
        select(Movement.product_id, func.sum(Movement.quantity).label("qty"))
        .where(Movement.serial_id.is_(None)).group_by(Movement.product_id).subquery()
    )
    pderived = func.coalesce(per_product.c.qty, 0)
    for code, stored, qty in session.execute(
        select(Product.code, Product.unserialised_on_hand, pderived)
        .outerjoin(per_product, per_product.c.product_id == Product.id)
        .where(pderived != Product.unserialised_on_hand)
    ):
        diffs.append(Difference("product", code, stored, int(qty)))
    diffs += service_differences(session)
    diffs += warranty_differences(session)
    diffs += location_check.differences(session)
    return diffs


_K = MovementKind
# Rules 11-13, as steps of a sum like in_stock's: check-in +1, check-out or replaced -1: in service when 1.
# A replaced unit is faulty (+1) until it leaves our hands, by a supplier return or an adjustment of quantity 0 (-1).
# An adjustment of quantity 0 right after a transfer_out is no such end: it writes off a unit in transit that never
# arrived (SPEC 3c), and a unit in transit is never faulty (a faulty one is out of stock, so never transferred).
def _faulty_step(kind, previous):
    """The faulty step of a serial's movement of quantity 0 of ``kind``, ``previous`` the kind of the one before."""
    return case((kind == _K.replaced, 1), (kind == _K.supplier_return, -1),
                (and_(kind == _K.adjustment, previous.is_distinct_from(_K.transfer_out)), -1), else_=0)


def service_differences(session: Session) -> list[Difference]:
    """in_service and faulty (so status) of every serial against its movements of quantity 0 (SPEC 3b)."""
    serial_moves = (select(M.c.serial_id, M.c.kind, M.c.quantity,
                           func.lag(M.c.kind).over(partition_by=M.c.serial_id, order_by=M.c.id).label("previous"))
                    .where(M.c.serial_id.is_not(None)).subquery("serial_moves"))
    m = serial_moves.c
    in_service = case((m.kind == _K.service_in, 1), (m.kind.in_([_K.service_out, _K.replaced]), -1), else_=0)
    steps = (select(m.serial_id, func.sum(in_service).label("in_service"),
                    func.sum(_faulty_step(m.kind, m.previous)).label("faulty"))
             .where(m.quantity == 0).group_by(m.serial_id).subquery())
    rows = session.execute(
        select(S.c.serial, S.c.in_service, S.c.faulty, func.coalesce(steps.c.in_service, 0).label("d_in_service"),
               func.coalesce(steps.c.faulty, 0).label("d_faulty"))
        .outerjoin(steps, steps.c.serial_id == S.c.id)
        .where(S.c.in_service.is_(True) | S.c.faulty.is_(True) | steps.c.serial_id.is_not(None))
        .order_by(S.c.serial))
    diffs = []
    for row in rows:
        for field, stored, derived in (("in_service", row.in_service, row.d_in_service),
                                       ("faulty", row.faulty, row.d_faulty)):
            if int(bool(stored)) != int(derived):
                diffs.append(Difference("serial", row.serial, int(bool(stored)), int(derived), field))
    return diffs


def _shown(day: date | None) -> str:
    return day.isoformat() if day is not None else "none"


def warranty_differences(session: Session) -> list[Difference]:
    """warranty_until of every serial against its last sale or replacement (SPEC 2).

    A sale's end is its UTC day plus the months it gave (Movement.warranty_months). A replacement's is
    the later of that and the faulty unit's end, itself derived the same way: those chains are
    followed in Python, oldest replacement first, so each faulty unit's end is known when it is needed.
    """
    last = (select(M.c.serial_id, func.max(M.c.id).label("movement_id"))
            .where(M.c.kind.in_([_K.sale, _K.replacement]), M.c.serial_id.is_not(None))
            .group_by(M.c.serial_id).subquery("last_given"))
    own = warranty_given(utc_date(M.c.at), M.c.warranty_months)
    diffs = []
    by_sale = (select(S.c.serial, S.c.warranty_until, own.label("derived"))
               .select_from(S.outerjoin(last, last.c.serial_id == S.c.id).outerjoin(M, M.c.id == last.c.movement_id))
               .where((M.c.kind.is_(None)) | (M.c.kind == _K.sale), S.c.warranty_until.is_distinct_from(own))
               .order_by(S.c.serial))
    for row in session.execute(by_sale):
        diffs.append(Difference("serial", row.serial, _shown(row.warranty_until), _shown(row.derived),
                                "warranty_until"))
    faulty, faulty_last = S.alias("faulty"), last.alias("faulty_last")
    faulty_move = M.alias("faulty_move")
    faulty_own = warranty_given(utc_date(faulty_move.c.at), faulty_move.c.warranty_months)
    by_replacement = (
        select(S.c.id, S.c.serial, S.c.warranty_until, own.label("own"), faulty.c.id.label("faulty_id"),
               faulty_move.c.kind.label("faulty_kind"), faulty_own.label("faulty_own"))
        .select_from(last.join(M, M.c.id == last.c.movement_id).join(S, S.c.id == last.c.serial_id)
                     .join(L, and_(L.c.document_id == M.c.document_id, L.c.serial == S.c.serial,
                                   L.c.replaces.is_not(None)))
                     .join(faulty, faulty.c.serial == L.c.replaces)
                     .outerjoin(faulty_last, faulty_last.c.serial_id == faulty.c.id)
                     .outerjoin(faulty_move, faulty_move.c.id == faulty_last.c.movement_id))
        .where(M.c.kind == _K.replacement).order_by(M.c.id))
    ends: dict[int, date | None] = {}
    for row in session.execute(by_replacement):
        keeps = ends.get(row.faulty_id) if row.faulty_kind == _K.replacement else row.faulty_own
        ends[row.id] = end = max((d for d in (row.own, keeps) if d is not None), default=None)
        if end != row.warranty_until:
            diffs.append(Difference("serial", row.serial, _shown(row.warranty_until), _shown(end), "warranty_until"))
    return diffs
