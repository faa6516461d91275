"""Warranty date arithmetic in SQL, so posting and ``station check`` stay set-based: one expression per dialect.

``add_months(day, months)`` is warranty.add_months in SQL. PostgreSQL's
``date + n * interval '1 month'`` clamps to the month's last day by itself.
SQLite's ``date(d, '+1 months')`` does not (31 January + 1 month is 3
March there), so it takes the month's first day plus the months, then the
day of the month, and keeps the earlier of that and the month's last day.
``utc_date(at)`` is a stored time's UTC date; ``later_of(a, b)`` the later of
two dates where either may be NULL.
"""
from __future__ import annotations

from sqlalchemy import Date, case, null
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class add_months(FunctionElement):
    """``add_months(day, months)``: a DATE plus whole months, clamped to the last day of the month."""

    type = Date()
    name = "add_months"
    inherit_cache = True


class utc_date(FunctionElement):
    """``utc_date(at)``: the UTC date of a stored (timezone-aware) time."""

    type = Date()
    name = "utc_date"
    inherit_cache = True


class later_of(FunctionElement):
    """``later_of(a, b)``: the later date; the other when one is NULL; NULL when both are."""

    type = Date()
    name = "later_of"
    inherit_cache = True


def _args(element, compiler, **kw) -> list[str]:
    return [compiler.process(arg, **kw) for arg in element.clauses]


@compiles(add_months, "postgresql")
def _add_months_pg(element, compiler, **kw):
    day, months = _args(element, compiler, **kw)
    return f"CAST(CAST({day} AS DATE) + ({months}) * INTERVAL '1 month' AS DATE)"


@compiles(add_months, "sqlite")
def _add_months_sqlite(element, compiler, **kw):
    day, months = _args(element, compiler, **kw)
    first = f"date({day}, 'start of month', '+' || ({months}) || ' months')"
    last = f"date({day}, 'start of month', '+' || (({months}) + 1) || ' months', '-1 day')"
    same_day = f"date({first}, '+' || (CAST(strftime('%d', {day}) AS INTEGER) - 1) || ' days')"
    return f"min({same_day}, {last})"


@compiles(utc_date, "postgresql")
def _utc_date_pg(element, compiler, **kw):
    (at,) = _args(element, compiler, **kw)
    return f"CAST(timezone('UTC', {at}) AS DATE)"


@compiles(utc_date, "sqlite")
def _utc_date_sqlite(element, compiler, **kw):
    # SQLite keeps the UTC time the station wrote as text: its first ten characters are the date.
    (at,) = _args(element, compiler, **kw)
    return f"date({at})"


@compiles(later_of, "postgresql")
def _later_of_pg(element, compiler, **kw):
    a, b = _args(element, compiler, **kw)
    return f"GREATEST({a}, {b})"  # GREATEST ignores NULLs


@compiles(later_of, "sqlite")
def _later_of_sqlite(element, compiler, **kw):
    a, b = _args(element, compiler, **kw)
    # max() of two values is NULL when either is: give each the other in its place. ISO dates sort as text.
    return f"max(coalesce({a}, {b}), coalesce({b}, {a}))"


def warranty_given(day, months):
    """The warranty's last day a sale or replacement on ``day`` gives with ``months`` (NULL, 0: none)."""
    return case((months > 0, add_months(day, months)), else_=null())
