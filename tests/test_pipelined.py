"""A transaction's BEGIN sent with its first statement and its last write with its COMMIT (PostgreSQL, issue 22).

station.storage.pipelined saves a scan two round trips; these guard what it
must never change: a held write is read by whatever the transaction sends
after it, is dropped by a rollback, fails the commit with the error
SQLAlchemy raises for it, and the connection is transactional again for the
next transaction the pool hands it to (psycopg leaves autocommit mode).
"""
from __future__ import annotations

import pytest
from helpers.database import POSTGRES_ONLY
from sqlalchemy import bindparam, column, func, insert, select, table, text
from sqlalchemy.exc import IntegrityError

from station.bench.statements import Counter
from station.domain import direct
from station.storage.db import make_engine
from station.storage.pipelined import BEGIN_WITH, at_commit

pytestmark = POSTGRES_ONLY

T = table("pipelined_rows", column("id"))
ADD = insert(T).values(id=bindparam("id"))
FIRST = {BEGIN_WITH: True}


@pytest.fixture
def rows(db):
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE pipelined_rows (id integer PRIMARY KEY)"))
    yield db
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE pipelined_rows"))


def _ids(db) -> list[int]:
    with db.engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM pipelined_rows ORDER BY id")).scalars())


def test_a_held_write_is_committed_with_the_commit_in_the_round_trips_of_the_statements(rows):
    """Guards the fold: BEGIN with the first statement, the held write with COMMIT; two statements, two round
    trips (psycopg alone sends four), and the row committed."""
    trips = Counter(rows.engine).start()
    try:
        with rows.Session.begin() as s:
            assert s.connection().execute(text("SELECT 1"), execution_options=FIRST).scalar_one() == 1
            at_commit(s.connection(), ADD, {"id": 1})
    finally:
        trips.stop()
    assert (trips.statements, trips.round_trips) == (2, 2)
    assert _ids(rows) == [1]


def test_a_statement_after_a_held_write_reads_it(rows):
    """Guards the order of a transaction: anything sent after a held write is sent after it (a daemon's batch
    of scans reads each scan's station state as the one before saved it)."""
    with rows.Session.begin() as s:
        s.connection().execute(text("SELECT 1"), execution_options=FIRST)
        at_commit(s.connection(), ADD, {"id": 1})
        assert s.connection().execute(text("SELECT count(*) FROM pipelined_rows")).scalar_one() == 1
        at_commit(s.connection(), ADD, {"id": 2})
    assert _ids(rows) == [1, 2]


def test_a_rollback_drops_a_held_write_and_leaves_the_connection_transactional(rows):
    """Guards autocommit mode ending with the transaction: after a folded transaction rolled back, the pooled
    connection's next transaction still rolls back (psycopg is out of autocommit mode)."""
    with rows.Session() as s:
        s.connection().execute(text("SELECT 1"), execution_options=FIRST)
        at_commit(s.connection(), ADD, {"id": 1})
        s.rollback()
    with rows.Session() as s:
        s.connection().execute(ADD, {"id": 2})
        assert s.connection().connection.driver_connection.autocommit is False
        s.rollback()
    assert _ids(rows) == []


def test_a_held_write_that_fails_fails_the_commit(rows):
    """Guards the errors: a held write refused by a unique index raises SQLAlchemy's IntegrityError from the commit
    (what the API's key race catches), nothing of the transaction is kept, and the next transaction is whole."""
    with rows.engine.begin() as conn:
        conn.execute(ADD, {"id": 1})
    with pytest.raises(IntegrityError), rows.Session.begin() as s:
        s.connection().execute(text("SELECT 1"), execution_options=FIRST)
        s.connection().execute(ADD, {"id": 2})
        at_commit(s.connection(), ADD, {"id": 1})
    assert _ids(rows) == [1]
    with rows.Session.begin() as s:
        s.connection().execute(text("SELECT 1"), execution_options=FIRST)
        at_commit(s.connection(), ADD, {"id": 3})
    with rows.Session() as s:
        s.connection().execute(ADD, {"id": 4})
        s.rollback()
    assert _ids(rows) == [1, 3]


def test_a_begin_that_says_more_is_left_to_psycopg(db):
    """Guards an engine's isolation level: psycopg's BEGIN names it, a plain BEGIN would not, so the statement goes
    on its own and the transaction is at the level the engine asked for."""
    engine = make_engine(db.url, isolation_level="REPEATABLE READ")
    try:
        with engine.begin() as conn:
            level = conn.execute(text("SHOW transaction_isolation"), execution_options=FIRST).scalar_one()
            assert (level, conn.connection.driver_connection.autocommit) == ("repeatable read", False)
    finally:
        engine.dispose()


def test_a_statement_is_prepared_on_its_first_execution(db):
    """Guards make_engine's prepare_threshold (issue 22): on PostgreSQL a statement is a prepared statement from its
    first execution, so the server does not parse and plan afresh a statement a connection sends once a document
    (psycopg's default prepares it on its sixth)."""
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT 41 + 1 AS prepared_probe")).scalar_one() == 42
        prepared = conn.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    assert any("prepared_probe" in statement for statement in prepared)


def test_a_savepoint_goes_with_the_next_statement_and_still_undoes_what_it_holds(rows):
    """Guards the held SAVEPOINT and RELEASE (a posting's savepoint): each goes with the statement after it, in its
    round trip, and the savepoint still works: a rollback to it undoes what was written inside it and keeps what
    was written before, and a released one keeps its rows. Counted as statements, no round trip of their own."""
    trips = Counter(rows.engine).start()
    try:
        with rows.Session.begin() as s:
            s.connection().execute(text("SELECT 1"), execution_options=FIRST)
            s.connection().execute(ADD, {"id": 1})
            with s.begin_nested():
                s.connection().execute(ADD, {"id": 2})
            s.connection().execute(ADD, {"id": 3})
    finally:
        trips.stop()
    # SELECT with BEGIN, 1, SAVEPOINT with 2, RELEASE with 3, COMMIT (sent as a statement, psycopg being in
    # autocommit mode): 7 statements in 5 round trips, where each sent alone would take 7.
    assert (trips.statements, trips.round_trips) == (7, 5)
    with rows.Session.begin() as s:
        s.connection().execute(ADD, {"id": 4})
        nested = s.begin_nested()
        s.connection().execute(ADD, {"id": 5})
        nested.rollback()
        nested = s.begin_nested()  # rolled back with nothing sent inside it: its SAVEPOINT goes with the ROLLBACK TO
        nested.rollback()
        assert s.connection().execute(text("SELECT count(*) FROM pipelined_rows")).scalar_one() == 4
    with rows.Session.begin() as s:
        s.connection().execute(ADD, {"id": 6})
        with s.begin_nested():  # released as the transaction commits: the commit ends it
            s.connection().execute(ADD, {"id": 7})
    assert _ids(rows) == [1, 2, 3, 4, 6, 7]


def test_an_error_inside_a_held_savepoint_is_undone_by_it(rows):
    """Guards a refusal's path: the statement sent with the SAVEPOINT fails, the rollback to the savepoint leaves
    the transaction usable, and what came before it commits."""
    with rows.Session.begin() as s:
        s.connection().execute(ADD, {"id": 1})
        nested = s.begin_nested()
        with pytest.raises(IntegrityError):
            s.connection().execute(ADD, {"id": 1})
        nested.rollback()
        s.connection().execute(ADD, {"id": 2})
    assert _ids(rows) == [1, 2]


COUNT = select(func.count()).select_from(T)


def test_writes_held_ahead_go_in_the_next_statements_round_trip_and_are_read_by_it(rows):
    """Guards direct.ahead (a posting's close and event): the writes held go first in the pipeline of the next
    statement sent directly, which reads them; counted as statements, no round trip of their own. SELECT with
    BEGIN, the two writes with the count, COMMIT: 5 statements in 3 round trips."""
    trips = Counter(rows.engine).start()
    try:
        with rows.Session.begin() as s:
            conn = s.connection()
            conn.execute(text("SELECT 1"), execution_options=FIRST)
            direct.ahead(conn, ((ADD, {"id": 1}), (ADD, {"id": 2})))
            assert direct.run(conn, COUNT, {})[0][0] == 2
    finally:
        trips.stop()
    assert (trips.statements, trips.round_trips) == (5, 3)
    assert _ids(rows) == [1, 2]


def test_writes_held_ahead_go_before_what_sqlalchemy_executes_and_with_the_commit(rows):
    """Guards the order of a transaction: a statement SQLAlchemy executes after writes held ahead reads them, and
    writes still held at the end are committed, whether the transaction's BEGIN went with a statement (the COMMIT
    in their round trip) or psycopg sent it."""
    with rows.Session.begin() as s:
        conn = s.connection()
        conn.execute(text("SELECT 1"), execution_options=FIRST)
        direct.ahead(conn, ((ADD, {"id": 1}),))
        assert conn.execute(COUNT).scalar_one() == 1
        direct.ahead(conn, ((ADD, {"id": 2}),))
    trips = Counter(rows.engine).start()
    try:
        with rows.Session.begin() as s:
            conn = s.connection()
            conn.execute(text("SELECT 1"), execution_options=FIRST)
            direct.ahead(conn, ((ADD, {"id": 3}),))
    finally:
        trips.stop()
    assert (trips.statements, trips.round_trips) == (2, 2)  # the SELECT with BEGIN, the write with COMMIT
    with rows.Session.begin() as s:
        s.connection().execute(text("SELECT 1"))  # psycopg's own BEGIN
        direct.ahead(s.connection(), ((ADD, {"id": 4}),))
    assert _ids(rows) == [1, 2, 3, 4]


def test_a_rollback_drops_writes_held_ahead_and_a_rollback_to_a_savepoint_those_held_inside_it(rows):
    """Guards a refusal after a posting's writes: a rollback to the savepoint they were held in drops them unsent (one
    that would fail raises nothing), what was written before the savepoint stays, and a rollback of the transaction
    drops them all."""
    with rows.Session.begin() as s:
        conn = s.connection()
        conn.execute(text("SELECT 1"), execution_options=FIRST)
        direct.ahead(conn, ((ADD, {"id": 1}),))
        nested = s.begin_nested()
        # (the session's connection: its SAVEPOINT is sent.) 1 again would fail, sent: dropped unsent, it cannot.
        direct.ahead(s.connection(), ((ADD, {"id": 2}), (ADD, {"id": 1})))
        nested.rollback()
        assert direct.run(conn, COUNT, {})[0][0] == 1
    with rows.Session() as s:
        conn = s.connection()
        conn.execute(text("SELECT 1"), execution_options=FIRST)
        direct.ahead(conn, ((ADD, {"id": 3}),))
        s.rollback()
    assert _ids(rows) == [1]


def test_a_write_held_ahead_that_fails_fails_the_statement_it_went_with(rows):
    """Guards the errors: a held write refused by a unique index raises SQLAlchemy's IntegrityError from the statement
    it went with, nothing of the transaction is kept, and the connection's next transaction is whole."""
    with rows.engine.begin() as conn:
        conn.execute(ADD, {"id": 1})
    with pytest.raises(IntegrityError), rows.Session.begin() as s:
        conn = s.connection()
        conn.execute(text("SELECT 1"), execution_options=FIRST)
        conn.execute(ADD, {"id": 2})
        direct.ahead(conn, ((ADD, {"id": 1}),))
        direct.run(conn, COUNT, {})
    with rows.Session.begin() as s:
        s.connection().execute(text("SELECT 1"), execution_options=FIRST)
        direct.ahead(s.connection(), ((ADD, {"id": 3}),))
    assert _ids(rows) == [1, 3]
