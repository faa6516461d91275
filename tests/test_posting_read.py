"""Posting reads its document, lines, products and serials' records in one statement (issue 22): what it misses.

On PostgreSQL that statement's snapshot is taken before it waits for the
document's lock (FOR UPDATE in a subquery), so a line another request adds
while it holds that lock is not among the lines it joins, though the head
it locks (its ``line_count``) is the one that request left: posting then
reads the lines again. SQLite takes one writer at a time (BEGIN IMMEDIATE):
nothing can change under a posting there.
"""
from __future__ import annotations

import threading

import pytest
from helpers.receipts import receipt_of_new_serials
from sqlalchemy import select

from station.domain import documents, posting
from station.domain.errors import Refusal
from station.domain.models import Document, Movement, Product, SerialNumber


@pytest.fixture
def receipt(db):
    """An open receipt of ACME holding WID-1 serials SN-0..SN-4, none of which has a record yet."""
    return receipt_of_new_serials(db)[:2]


def test_a_line_added_while_the_posting_waits_is_checked(db, receipt):
    """Guards the one-statement read on PostgreSQL: a line another request adds while it holds the document's lock,
    which the posting waits for, is checked with the others. Here its serial's record, made in that request too,
    is in stock already: the posting refuses it (serial_in_stock) and writes nothing, where posting the lines it
    read and then every line by INSERT ... SELECT would have received the unit twice."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite takes one writer at a time: no line can be added while a posting waits")
    doc_id, widget = receipt
    posting_pid, posted, outcome = [], threading.Event(), []

    def post() -> None:
        try:
            with db.Session.begin() as s:
                posting_pid.append(s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar())
                posting.post(s, s.get(Document, doc_id))
            outcome.append("posted")
        except Refusal as refused:
            outcome.append(refused.code)
        finally:
            posted.set()

    with db.Session() as adder, adder.begin():
        documents.add_line(adder, adder.get(Document, doc_id), product=adder.get(Product, widget), serial="SN-9")
        adder.add(SerialNumber(serial="SN-9", product_id=widget, in_stock=True))
        adder.flush()
        poster = threading.Thread(target=post)
        poster.start()
        with db.engine.connect() as watch:  # until the posting waits for the lock this line's number took
            waiting = False
            while not waiting and not posted.is_set():
                waiting = bool(posting_pid) and watch.exec_driver_sql(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %(pid)s AND NOT granted)",
                    {"pid": posting_pid[0]}).scalar()
                watch.rollback()
        assert waiting and not posted.is_set()
    poster.join()
    assert outcome == ["serial_in_stock"]
    with db.Session() as s:
        assert s.scalars(select(SerialNumber.serial)).all() == ["SN-9"]
        assert s.scalar(select(Movement.id).limit(1)) is None
