"""The psycopg cursor of the station's PostgreSQL engines: its ``description`` made only when it is read, and
its long statements converted once.

SQLAlchemy asks a cursor for its ``description`` after every statement, and
psycopg builds it afresh each time: a ``Column`` for each of the result's
columns, each looking its type up. A scan's locked read returns about a
hundred columns (station_row.py): that list alone cost about 80 us, and a
scan's descriptions 0.2-0.3 ms of its CPU, to be read once per compiled
statement. SQLAlchemy keeps what it learns from it
with the compiled statement, and after that only asks whether there is one
(rows, or none). Here the description is a sequence of the same ``Column``
objects, made when first read (its length and truth read none), from the
result it was asked of, even if the cursor has executed again since.

psycopg also rewrites each statement's placeholders (``%(name)s`` to ``$1``)
on every execution, and remembers the rewriting only for statements of up
to 4 kB (an ORM's many-row INSERT seldom runs twice). The locked read is
12 kB, and built once (station_row.py): its rewriting, about 0.05-0.09 ms
of a scan's CPU, is remembered here, for the few longest statements
(``LONG``).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

from psycopg import Column, Cursor, pq

try:  # psycopg's own conversion, as 3.2 and 3.3 have it
    from psycopg._queries import (
        MAX_CACHED_STATEMENT_LENGTH,
        MAX_CACHED_STATEMENT_PARAMS,
        PostgresQuery,
        _query2pg_nocache,
    )
except ImportError:  # another psycopg's inside: its conversion left as it is
    PostgresQuery = None  # type: ignore[assignment,misc]

#: The statuses of a result with rows (TUPLES_CHUNK: psycopg 3.2 on).
_ROWS = tuple(status for status in pq.ExecStatus if status.name in ("TUPLES_OK", "SINGLE_TUPLE", "TUPLES_CHUNK"))


class _Described:
    """What ``Column`` reads of a cursor, with the result the description was asked of."""

    __slots__ = ("pgresult", "_encoding", "adapters")

    def __init__(self, result: pq.abc.PGresult, cursor: Cursor):
        self.pgresult = result
        self._encoding = cursor._encoding
        self.adapters = cursor.adapters


class Description(Sequence):
    """A result's columns as psycopg describes them (a list of ``Column``), made when first read."""

    __slots__ = ("_cursor", "_result", "_columns")

    def __init__(self, cursor: Cursor, result: pq.abc.PGresult):
        self._cursor: Cursor | None = cursor
        self._result = result
        self._columns: list[Column] | None = None

    def _made(self) -> list[Column]:
        if self._columns is None:
            of = _Described(self._result, self._cursor)
            self._columns = [Column(of, i) for i in range(self._result.nfields)]  # type: ignore[arg-type]
            self._cursor = None
        return self._columns

    def __len__(self) -> int:
        return self._result.nfields

    def __getitem__(self, index):
        return self._made()[index]

    def __iter__(self):
        return iter(self._made())

    def __eq__(self, other) -> bool:
        return self._made() == other

    def __repr__(self) -> str:
        return repr(self._made())


#: How many statements longer than psycopg remembers have their rewriting remembered here.
LONG = 32

if PostgresQuery is not None:
    @functools.lru_cache(maxsize=LONG)
    def _rewritten(query: str, encoding: str):
        """psycopg's rewriting of ``query``, remembered by the text SQLAlchemy sends (the same string each time, its
        hash kept with it)."""
        return _query2pg_nocache(query.encode(encoding), encoding)

    class _Query(PostgresQuery):
        """psycopg's statement conversion, remembering that of long statements too (psycopg's, up to 4 kB)."""

        __slots__ = ()

        def convert(self, query, vars) -> None:
            if (vars is None or not isinstance(query, str) or len(query) <= MAX_CACHED_STATEMENT_LENGTH
                    or len(vars) > MAX_CACHED_STATEMENT_PARAMS):
                super().convert(query, vars)
                return
            # What psycopg does for a statement it remembers, with a cache of its own.
            self.query, self._want_formats, self._order, self._parts = _rewritten(query, self._tx.encoding)
            self.dump(vars)


class LazyCursor(Cursor):
    """psycopg's cursor, with a description made when first read and long statements rewritten once (see the
    module's docstring)."""

    __slots__ = ()
    if PostgresQuery is not None:
        _query_cls = _Query

    @property
    def description(self) -> Description | None:  # type: ignore[override]
        res = self.pgresult
        # As psycopg's: columns when the result has fields, or says it has rows (``SELECT ;``), else None.
        if not res or not (res.nfields or res.status in _ROWS):
            return None
        return Description(self, res)
