"""Warranty dates (SPEC 2): the UTC day of the sale plus the months, clamped to the month's last day.

31 January + 1 month is 29 February in a leap year and 28 February in
another; 29 February + 12 months is 28 February. The Python arithmetic (the
prompts) and the SQL one (posting and ``station check``, on SQLite and on
PostgreSQL, where SQLite's own date() would say 2 or 3 March) give the same
day for any date and term, and ``station check`` derives a serial's end from
the day its sale was posted, in UTC, across a month end and a leap day.
"""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Date, DateTime, Integer, bindparam, select, text

from station.domain import catalogue, documents, posting, serials, stock
from station.domain.models import DocumentKind
from station.domain.sqldates import add_months as sql_add_months
from station.domain.sqldates import warranty_given
from station.domain.stock import Difference
from station.domain.warranty import WarrantyState, add_months, state, utc_today, warranty_end, words


@pytest.mark.parametrize("day, months, end", [
    pytest.param(date(2024, 1, 31), 1, date(2024, 2, 29), id="jan_31_leap_year"),
    pytest.param(date(2023, 1, 31), 1, date(2023, 2, 28), id="jan_31_common_year"),
    pytest.param(date(2024, 2, 29), 12, date(2025, 2, 28), id="leap_day_plus_a_year"),
    pytest.param(date(2024, 2, 29), 48, date(2028, 2, 29), id="leap_day_plus_four_years"),
    pytest.param(date(2024, 3, 31), 1, date(2024, 4, 30), id="thirty_day_month"),
    pytest.param(date(2025, 12, 31), 2, date(2026, 2, 28), id="across_the_year_end"),
    pytest.param(date(2025, 6, 15), 0, date(2025, 6, 15), id="no_months"),
    pytest.param(date(2026, 1, 1), 600, date(2076, 1, 1), id="fifty_years"),
])
def test_months_clamp_to_the_month_s_last_day(day, months, end):
    """Guards SPEC 2's example: 31 January + 1 month = 28 or 29 February, never 2 or 3 March."""
    assert add_months(day, months) == end


def test_warranty_words_and_state():
    """Guards rule 14's three sentences, and that the last day is still in warranty."""
    until = date(2027, 6, 1)
    assert words(until, date(2027, 6, 1)) == "in warranty until 2027-06-01"
    assert words(until, date(2027, 6, 2)) == "out of warranty since 2027-06-01"
    assert words(None, date(2027, 6, 2)) == "no warranty"
    assert [state(d, date(2027, 6, 1)) for d in (until, date(2027, 5, 31), None)] == [
        WarrantyState.in_warranty, WarrantyState.out_of_warranty, WarrantyState.none]


def test_a_replacement_keeps_the_later_end():
    """Guards rule 13's warranty: the later of the new unit's own end and the faulty unit's."""
    assert warranty_end(date(2026, 1, 31), 1, date(2027, 1, 1)) == date(2027, 1, 1)
    assert warranty_end(date(2026, 1, 31), 24, date(2027, 1, 1)) == date(2028, 1, 31)
    assert warranty_end(date(2026, 1, 31), 0, date(2027, 1, 1)) == date(2027, 1, 1)
    assert warranty_end(date(2026, 1, 31), 0, None) is None
    assert warranty_end(date(2026, 1, 31), None, None) is None


_SQL = select(sql_add_months(bindparam("day", type_=Date), bindparam("months", type_=Integer)),
              warranty_given(bindparam("day", type_=Date), bindparam("months", type_=Integer)))


@settings(max_examples=300, deadline=None)
@given(day=st.dates(date(1900, 1, 1), date(2300, 12, 31)), months=st.integers(0, 600))
@example(day=date(2024, 1, 31), months=1)
@example(day=date(2023, 1, 31), months=1)
@example(day=date(2024, 2, 29), months=12)
@example(day=date(2024, 8, 31), months=6)
def test_sql_and_python_give_the_same_day(database, day, months):
    """Guards posting and station check against a dialect's own month arithmetic: both databases agree with Python."""
    with database.engine.connect() as conn:
        got, given_ = conn.execute(_SQL, {"day": day, "months": months}).one()
    assert got == add_months(day, months)
    assert given_ == (add_months(day, months) if months else None)


@pytest.fixture
def sold(session):
    """PHONE (1 month of warranty) SN-1 received and sold (today)."""
    phone = catalogue.create_product(session, "PHONE", "Phone", warranty_months=1)
    acme = catalogue.create_party(session, "supplier", "ACME", "Acme Ltd")
    bob = catalogue.create_party(session, "customer", "BOB", "Bob")
    for kind, party in ((DocumentKind.receipt, {"supplier": acme}), (DocumentKind.sale, {"customer": bob})):
        doc = documents.open_document(session, kind, **party)
        documents.add_line(session, doc, product=phone, serial="SN-1")
        posting.post(session, doc)
    session.commit()


# Typed binds: the database driver's own date adapters differ (and sqlite3's are deprecated).
SET_END = text("UPDATE serial_number SET warranty_until = :d WHERE serial = 'SN-1'").bindparams(
    bindparam("d", type_=Date))


@pytest.mark.parametrize("posted_at, months, end, spilled", [
    pytest.param(datetime(2024, 1, 31, 23, 30, tzinfo=UTC), 1, date(2024, 2, 29), date(2024, 3, 2),
                 id="leap_february"),
    pytest.param(datetime(2023, 1, 31, 0, 0, 1, tzinfo=UTC), 1, date(2023, 2, 28), date(2023, 3, 3),
                 id="common_february"),
    pytest.param(datetime(2024, 2, 29, 12, 0, tzinfo=UTC), 12, date(2025, 2, 28), date(2025, 3, 1),
                 id="leap_day"),
    pytest.param(datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC), 2, date(2026, 2, 28), date(2026, 3, 3),
                 id="year_end"),
])
def test_check_derives_the_end_from_the_sale_s_utc_day(db, session, sold, posted_at, months, end, spilled):
    """Guards station check across a month end and a leap day: the end is the sale's UTC day plus its months
    (a sale posted at 23:30 UTC on 31 January counts from the 31st), never the day a naive sum spills into."""
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE movement SET at = :at, warranty_months = :m WHERE kind = 'sale'")
                     .bindparams(bindparam("at", type_=DateTime(timezone=True))), {"at": posted_at, "m": months})
        conn.execute(SET_END, {"d": end})
    with db.Session() as fresh:
        assert stock.check(fresh) == []
    with db.engine.begin() as conn:
        conn.execute(SET_END, {"d": spilled})
    with db.Session() as fresh:
        assert stock.check(fresh) == [Difference("serial", "SN-1", spilled.isoformat(), end.isoformat(),
                                                 "warranty_until")]


def test_posting_gives_today_plus_the_months(session, sold):
    """Guards the sale's posting: the serial's end is today's UTC date plus the product's months, clamped."""
    assert serials.get_serial(session, "SN-1").warranty_until == add_months(utc_today(), 1)
