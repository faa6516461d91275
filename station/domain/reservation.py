"""Reserving new serial numbers for printed labels: never issued twice, even by two stations at once.

The counter row of a prefix is advanced by one atomic ``UPDATE ... RETURNING``
(row-locked on PostgreSQL, serialised by SQLite's write lock), so two
stations reserving at the same moment get disjoint ranges. Each reserved
number becomes a SerialNumber record of the product, not yet in stock.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import Invalid
from .models import Product, SerialCounter, SerialNumber
from .validation import serial_text

MAX_BATCH = 10_000


def _advance(session: Session, prefix: str, count: int) -> int:
    """Take ``count`` numbers of the prefix; return the first."""
    if session.get(SerialCounter, prefix) is None:
        try:
            with session.begin_nested():
                session.add(SerialCounter(prefix=prefix, next_value=1))
        except IntegrityError:
            pass  # another station made it first; the UPDATE below takes its turn
    new_next = session.execute(
        update(SerialCounter).where(SerialCounter.prefix == prefix)
        .values(next_value=SerialCounter.next_value + count)
        .returning(SerialCounter.next_value)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return new_next - count


def reserve(session: Session, product: Product, count: int, *, prefix: str | None = None,
            digits: int = 6) -> list[str]:
    """Reserve ``count`` new serials ``PREFIX000001``... for a product; numbers already taken are skipped."""
    if not 1 <= count <= MAX_BATCH:
        raise Invalid("invalid_quantity", f"Reserve between 1 and {MAX_BATCH} serials at a time.")
    prefix = f"{product.code}-" if prefix is None else prefix
    serials: list[str] = []
    while len(serials) < count:
        want = count - len(serials)
        first = _advance(session, prefix, want)
        candidates = [f"{prefix}{n:0{digits}d}" for n in range(first, first + want)]
        for text in candidates:
            serial_text(text)  # a prefix that makes unscannable serials is refused here
        taken = set(session.scalars(select(SerialNumber.serial).where(SerialNumber.serial.in_(candidates))))
        for text in candidates:
            if text not in taken:
                session.add(SerialNumber(serial=text, product=product, in_stock=False))
                serials.append(text)
    session.flush()
    return serials
