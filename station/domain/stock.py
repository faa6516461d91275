"""Stock of products, adjustments of unserialised units, and ``station check``."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .errors import Invalid
from .models import Document, Movement, Product, SerialNumber
from .posting import post_adjustment
from .validation import require_quantity, require_text


def adjust_product(session: Session, product: Product, quantity: int, reason: str, *,
                   station: str | None = None, user: str | None = None) -> Document:
    """Rule 7: a product's unserialised quantity up or down, always with a reason."""
    quantity = require_quantity(quantity, "quantity")
    if quantity == 0:
        raise Invalid("invalid_quantity", "quantity must not be 0.")
    reason = require_text(reason, "reason", max_len=500)
    return post_adjustment(session, reason, [(product, None, quantity)], station=station, user=user)


@dataclass(frozen=True)
class Difference:
    """A materialised figure that disagrees with what the movements say."""

    what: str
    key: str
    stored: int
    derived: int

    def __str__(self) -> str:
        return f"{self.what} {self.key}: stored {self.stored}, movements say {self.derived}"


def check(session: Session) -> list[Difference]:
    """Recompute in_stock and unserialised on-hand from the movements; list every difference."""
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
    return diffs
