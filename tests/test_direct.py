"""Statements sent on the driver's cursor, below SQLAlchemy's execution (station.domain.direct, issue 22).

A serial's scan sends its statements so; these guard what that must not
change: the rows read (names, values and their types, as SQLAlchemy's Row
has them), the bench's count of statements and round trips, the exceptions
raised (SQLAlchemy's, which the callers catch), the order of a transaction
(a write held for the commit goes first) and its BEGIN, and that a statement
needing more of SQLAlchemy's execution is refused rather than sent without it.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers.database import POSTGRES_ONLY
from sqlalchemy import Boolean, Column, DateTime, Enum, Integer, MetaData, String, Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from station.bench.statements import Counter
from station.config import from_dict
from station.domain import catalogue, direct, facts
from station.domain.vocabulary import DocumentKind
from station.scanning import station_row
from station.scanning.service import ScanService
from station.storage import pipelined

META = MetaData()
ROWS = Table("direct_rows", META, Column("id", Integer, primary_key=True), Column("kind", Enum(DocumentKind)),
             Column("at", DateTime(timezone=True)), Column("done", Boolean), Column("note", String(20)))
DEFAULTED = Table("direct_defaulted", META, Column("id", Integer, primary_key=True),
                  Column("at", DateTime(timezone=True), default=lambda: datetime.now(UTC)))
ADD = insert(ROWS).values(id=bindparam("id"), kind=bindparam("kind"), at=bindparam("at"), done=bindparam("done"),
                          note=bindparam("note"))
READ = select(ROWS).where(ROWS.c.id >= bindparam("from_id")).order_by(ROWS.c.id)
COUNT = select(ROWS.c.id).order_by(ROWS.c.id)
GTIN = "036000291452"


@pytest.fixture
def rows(db):
    META.create_all(db.engine)
    yield db
    META.drop_all(db.engine)


def _row(n: int) -> dict:
    return {"id": n, "kind": DocumentKind.receipt, "at": datetime(2026, 12, 7, 10, n, tzinfo=UTC), "done": n % 2 == 0,
            "note": f"row {n}"}


def test_rows_are_read_as_sqlalchemy_reads_them(rows):
    """Guards the conversions: an Enum's member, a datetime (SQLite's text), a boolean (SQLite's integer), under
    the columns' names, and a write's parameters converted as SQLAlchemy converts them."""
    with rows.Session.begin() as s:
        direct.run(s.connection(), ADD, _row(1))
        s.connection().execute(ADD, _row(2))
    with rows.Session() as s:
        ours = direct.run(s.connection(), READ, {"from_id": 1})
        theirs = s.connection().execute(READ, {"from_id": 1}).all()
    assert [tuple(row) for row in ours] == [tuple(row) for row in theirs]
    assert ours[0]._fields == tuple(theirs[0]._fields) == ("id", "kind", "at", "done", "note")
    assert (ours[0].kind, ours[0].done, ours[1].done) == (DocumentKind.receipt, False, True)
    assert ours[0].at.replace(tzinfo=UTC) == _row(1)["at"]


def test_the_locked_read_reads_as_sqlalchemy_reads_it(db):
    """Guards a scan's locked reads (station_row._probing: a hundred and thirty columns, the station's row, the
    probe, the answer's JSON), read directly: the same rows as SQLAlchemy's."""
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget", barcodes=[GTIN])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
    service = ScanService(from_dict({"stations": [{"id": "in", "mode": "receive"}]}))
    for n, text in enumerate(("SUP:ACME", GTIN, "D-1", "D-2")):
        with db.Session.begin() as s:
            assert service.process(s, "in", text, key=f"d-{n}").accepted
    # The party asked about with the row (a supplier's or customer's id by code): ACME, a supplier and no customer;
    # the walk-in customer is not looked up while the station has a document open (its receipt).
    params = {"station": "in", "home": "MAIN", "key": "d-1", "party_code": "ACME"} | facts.probe_params("D-2")
    for (_, _, party), statement in station_row._LOCK_PROBED.items():
        with db.Session() as s:
            ours = direct.first(s.connection(), statement, params)
            s.rollback()
        with db.Session() as s:
            theirs = s.connection().execute(statement, params).one()
            s.rollback()
        assert ours._fields == tuple(theirs._fields)
        assert tuple(ours) == tuple(theirs)
        assert ours.st_document_id is not None and ours.an_rows is not None
        if party is not None:
            assert (ours.pa_id is not None) == (party == "supplier")


def test_a_statement_sent_directly_is_counted_as_sqlalchemys(rows):
    """Guards the bench's statements_per_scan: a statement sent directly is one, as SQLAlchemy's is, and a pair sent
    in one pipeline two statements in one round trip on PostgreSQL (one statement where it is not pipelined)."""
    with rows.Session.begin() as s:
        direct.run(s.connection(), ADD, _row(1))
    count = Counter(rows.engine).start()
    try:
        with rows.Session.begin() as s:
            s.connection().execute(COUNT).all()
            before = count.snapshot()
            direct.run(s.connection(), COUNT, {})
            after_one = count.snapshot()
            direct.both(s.connection(), COUNT, {}, COUNT, {})
            after_pair = count.snapshot()
    finally:
        count.stop()
    assert (after_one[0] - before[0], after_pair[0] - after_one[0]) == (1, 2)
    if rows.backend == "postgresql":
        assert (after_one[1] - before[1], after_pair[1] - after_one[1]) == (1, 1)


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(rows):
    """Guards the callers' except clauses (rule 8's unique index, a retried deadlock): a duplicate key sent directly
    raises SQLAlchemy's IntegrityError, alone or in a pair, and the next transaction is whole."""
    with rows.Session.begin() as s:
        direct.run(s.connection(), ADD, _row(1))
    with pytest.raises(IntegrityError), rows.Session.begin() as s:
        direct.run(s.connection(), ADD, _row(1))
    with pytest.raises(IntegrityError), rows.Session.begin() as s:
        direct.both(s.connection(), ADD, _row(2), ADD, _row(1))
    with rows.Session.begin() as s:
        direct.run(s.connection(), ADD, _row(3))
    with rows.Session() as s:
        assert [row.id for row in direct.run(s.connection(), COUNT, {})] == [1, 3]


def test_a_statement_that_needs_sqlalchemys_execution_is_refused(rows):
    """Guards against a write losing what SQLAlchemy adds to it: a column's Python-side default (the caller passes
    the value), and a connection that has begun no transaction (none is begun here)."""
    with rows.Session() as s, pytest.raises(direct.DirectError):
        direct.run(s.connection(), insert(DEFAULTED), {"id": 1})
    with rows.Session.begin() as s:
        direct.run(s.connection(), insert(DEFAULTED), {"id": 1, "at": datetime.now(UTC)})
    with rows.engine.connect() as conn, pytest.raises(direct.DirectError):
        direct.run(conn, COUNT, {})


def test_statements_go_together_only_where_the_engine_pipelines(rows):
    """Guards direct.send: three statements go in one pipeline on PostgreSQL, in order, counted as three statements
    in one round trip; on SQLite, which has no pipeline, a batch is refused rather
    than sent as if it were one, and both() sends its pair one after the other."""
    with rows.Session.begin() as s:
        conn = s.connection()
        if rows.backend != "postgresql":
            with pytest.raises(direct.DirectError):
                direct.send(conn, ((ADD, _row(1)), (ADD, _row(2))))
            direct.both(conn, ADD, _row(1), ADD, _row(2))
        else:
            count = Counter(rows.engine).start()
            try:
                sent = direct.send(conn, ((ADD, _row(1)), (ADD, _row(2)), (COUNT, {})))
            finally:
                count.stop()
            assert [row.id for row in sent[2]] == [1, 2]
            assert count.snapshot() == (3, 1)
    with rows.Session() as s:
        assert [row.id for row in direct.run(s.connection(), COUNT, {})] == [1, 2]


@POSTGRES_ONLY
def test_a_held_write_goes_before_a_statement_sent_directly(rows):
    """Guards the order of a transaction (station.storage.pipelined): a write held for the commit is sent before a
    statement sent directly, which reads it."""
    with rows.Session.begin() as s:
        assert pipelined.first(s.connection(), COUNT, {}) == []
        pipelined.at_commit(s.connection(), ADD, _row(1))
        assert [row.id for row in direct.run(s.connection(), COUNT, {})] == [1]
        pipelined.at_commit(s.connection(), ADD, _row(2))
    with rows.Session() as s:
        assert [row.id for row in direct.run(s.connection(), COUNT, {})] == [1, 2]


@POSTGRES_ONLY
def test_a_first_statement_sent_directly_carries_the_begin(rows):
    """Guards pipelined.first: the transaction's BEGIN goes with it and its held write with the COMMIT (two round
    trips for the two statements), the connection is transactional after, and a rollback still rolls back."""
    trips = Counter(rows.engine).start()
    try:
        with rows.Session.begin() as s:
            pipelined.first(s.connection(), COUNT, {})
            pipelined.at_commit(s.connection(), ADD, _row(1))
    finally:
        trips.stop()
    assert (trips.statements, trips.round_trips) == (2, 2)
    with rows.Session() as s:
        pipelined.first(s.connection(), COUNT, {})
        direct.run(s.connection(), ADD, _row(2))
        assert s.connection().connection.driver_connection.autocommit is True  # ours: psycopg sent no BEGIN
        s.rollback()
    with rows.Session() as s:
        assert s.connection().connection.driver_connection.autocommit is False
        assert [row.id for row in direct.run(s.connection(), COUNT, {})] == [1]


@POSTGRES_ONLY
def test_a_lost_connection_is_invalidated_as_sqlalchemy_invalidates_it(rows):
    """Guards run_in_transaction's retry after a server restart: a statement sent directly on a connection the
    server closed raises SQLAlchemy's DBAPIError saying the connection was invalidated, and the next session works
    on a new one."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with rows.Session() as s:
        pid = s.connection().execute(text("SELECT pg_backend_pid()")).scalar_one()
        with rows.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as raised:
            direct.run(s.connection(), COUNT, {})
        assert raised.value.connection_invalidated
    with rows.Session.begin() as s:
        direct.run(s.connection(), ADD, _row(1))
    with rows.Session() as s:
        assert [row.id for row in direct.run(s.connection(), COUNT, {})] == [1]
