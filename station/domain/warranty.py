"""A serial's warranty as SPEC 2 and 3b define it: dates and words, in plain Python (the scan core's prompts use it).

A sale (or a replacement) on UTC day D of a product with M months of
warranty covers the unit until D + M months, clamped to the month's last
day (31 January + 1 month = 28 or 29 February), as PostgreSQL's interval
arithmetic and ``dateutil.relativedelta`` count. That last day is still in
warranty. A replacement's customer keeps the faulty unit's end when it is
later. The SQL side of the same arithmetic, for posting and ``station
check``, is ``sqldates.add_months``; tests hold the two to the same answers.
"""
from __future__ import annotations

import calendar
import enum
from datetime import UTC, date, datetime

MAX_MONTHS = 600  # fifty years: anything longer is a typing slip


class WarrantyState(enum.StrEnum):
    """What the desk tells the customer (and the screen shows in colour)."""

    in_warranty = "in_warranty"
    out_of_warranty = "out_of_warranty"
    none = "none"


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the last day of the month it lands in."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def warranty_end(sold_on: date, months: int | None, keeps: date | None = None) -> date | None:
    """The last day of warranty a sale or replacement on ``sold_on`` gives: None for none.

    ``keeps`` is the faulty unit's end, which a replacement's customer keeps when it is later.
    """
    own = add_months(sold_on, months) if months else None
    if own is None or keeps is None:
        return own or keeps
    return max(own, keeps)


def utc_today() -> date:
    return datetime.now(UTC).date()


def state(until: date | None, today: date) -> WarrantyState:
    if until is None:
        return WarrantyState.none
    return WarrantyState.in_warranty if today <= until else WarrantyState.out_of_warranty


def words(until: date | None, today: date) -> str:
    """"in warranty until 2027-06-01", "out of warranty since 2026-01-31" (its last day), or "no warranty"."""
    now = state(until, today)
    if now is WarrantyState.none:
        return "no warranty"
    if now is WarrantyState.in_warranty:
        return f"in warranty until {until.isoformat()}"
    return f"out of warranty since {until.isoformat()}"
