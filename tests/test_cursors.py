"""The PostgreSQL engines' psycopg cursor: a description made when read, long statements rewritten once.

station.storage.cursors saves a scan a few tenths of a millisecond of CPU;
these guard what it must never change: a description says what psycopg's
says, of the result it was asked of, even read after the cursor moved on;
a statement without rows has none; and a statement too long for psycopg's
own cache answers with its own parameters every time.
"""
from __future__ import annotations

import psycopg
import pytest
from helpers.database import POSTGRES_ONLY
from sqlalchemy import bindparam, literal_column, select, text

from station.storage.cursors import LazyCursor

pytestmark = POSTGRES_ONLY

MIXED = "SELECT 1::int AS n, 'a'::text AS t, now() AS at, 2.5::numeric(6, 2) AS amount, NULL::varchar(20) AS v"


def _described(cursor) -> list[tuple]:
    return [tuple(column) + (column.type_display,) for column in cursor.description]


def test_the_engine_hands_out_the_lazy_cursor(db):
    """Guards the wiring: make_engine's connections make LazyCursor (else nothing here runs in a scan)."""
    with db.engine.connect() as conn:
        assert isinstance(conn.connection.driver_connection.cursor(), LazyCursor)


def test_a_description_says_what_psycopgs_says(db):
    """Guards the columns: names, type codes, sizes, precision and display, as psycopg's own cursor gives them."""
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        plain = psycopg.Cursor(raw)
        lazy = LazyCursor(raw)
        plain.execute(MIXED)
        lazy.execute(MIXED)
        assert _described(lazy) == _described(plain)
        assert len(lazy.description) == 5
        assert [tuple(c) for c in lazy.description] == [tuple(c) for c in plain.description]
        assert [c.name for c in lazy.description[1:3]] == ["t", "at"]


def test_a_description_read_after_the_cursor_moved_on_is_of_its_own_result(db):
    """Guards the laziness: a description kept and read after the cursor executed again describes the result
    it was asked of, not the cursor's latest."""
    with db.engine.connect() as conn:
        cursor = LazyCursor(conn.connection.driver_connection)
        cursor.execute(MIXED)
        kept = cursor.description
        cursor.execute("SELECT 'x'::text AS other")
        assert [c.name for c in kept] == ["n", "t", "at", "amount", "v"]
        assert [c.name for c in cursor.description] == ["other"]


@pytest.mark.parametrize(("statement", "described"), [
    pytest.param("CREATE TEMPORARY TABLE lazy_t (id int)", None, id="no_rows"),
    pytest.param("SELECT", [], id="rows_without_columns"),
])
def test_a_result_without_columns_is_described_as_psycopg_describes_it(db, statement, described):
    """Guards None (a statement without rows: SQLAlchemy closes its result) apart from an empty description."""
    with db.engine.connect() as conn:
        cursor = LazyCursor(conn.connection.driver_connection)
        cursor.execute(statement)
        assert cursor.description == described
        assert (cursor.description is None) is (described is None)
        conn.rollback()


def test_a_statement_longer_than_psycopg_remembers_answers_with_its_own_parameters(db):
    """Guards the remembered rewriting: a statement over 4 kB run again with other parameters (and named the same
    in a different order) answers with them, through SQLAlchemy as a scan's locked read runs."""
    padding = ", ".join(f"{n} AS c{n}" for n in range(900))
    statement = select(bindparam("a") + 0, bindparam("b") + 0, literal_column(padding))
    assert len(str(statement.compile(db.engine))) > 4096
    with db.engine.connect() as conn:
        for a, b in ((1, 2), (30, 40), (2, 1)):
            row = conn.execute(statement, {"b": b, "a": a}).first()
            assert (row[0], row[1], row[-1]) == (a, b, 899)
        assert conn.execute(text("SELECT CAST(:x AS int)"), {"x": 5}).scalar_one() == 5
