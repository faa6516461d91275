"""A scan's answer read in one statement: the document's per-product counts and its last lines together.

Every scan with an open document answers with that document's products
(units here, and expected and received against an order: the tallies) and
its last lines (SPEC 5). Both are indexed reads of a size that does not
grow with the document; asked apart they were two statements a scan, and
on PostgreSQL two round trips. Here they are one ``UNION ALL``: part 0 the
counts, numbered in product code order by the database (its collation, as
``tallies.summary`` orders them), part 1 the last ``RECENT_LINES`` lines;
the rows come back ordered by part and number and are split again.

A scan reads its answer with the station's locked read when it can
(``beside``: the document named by the station's row, its order's counts
whatever it is, as one column of JSON), and a line the scan adds joins that answer in Python
(``Shown.with_line``): most scans then ask nothing of their own for it. A
scan that did more (opened, posted, cancelled, a line of a product not shown
yet) reads it after its writes, with ``read``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from sqlalchemy import BindParameter, Integer, String, bindparam, cast, func, literal, null, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import visitors
from sqlalchemy.sql.functions import FunctionElement

from station.domain import direct, tallies
from station.domain.models import DocumentLine, Product
from station.interchange import places
from station.interchange.representation import RECENT_LINES

L = DocumentLine.__table__
P = Product.__table__

_LINE_COLUMNS = (("line_no", Integer), ("serial", String), ("quantity", Integer), ("batch", String),
                 ("expiry", String), ("user", String), ("replaces", String),
                 # where a line moves its unit (places.line_places reads them)
                 ("line_location", String), ("now_at", String), ("moved_id", Integer), ("moved_from", String))


def _counts_beside():
    """``tallies.summary_statement(True)``'s rows as one aggregate of the tallies of the document and its order: each
    product's tally here and on the order are at most one row each (the tally's key), so the largest of those
    the ``FILTER`` picks is that row's (none: 0). The same rows; for ``beside``, where the document and its order
    are the outer statement's columns, a third of the plan's nodes (one read of the tallies, not three)."""
    here, order = bindparam("document_id"), bindparam("order_id")

    def of(column, document):
        return func.coalesce(func.max(column).filter(tallies.T.c.document_id == document), 0)

    return (select(P.c.code, P.c.name, of(tallies.T.c.units, here).label("units"),
                   of(tallies.T.c.units, order).label("expected"), of(tallies.T.c.received, order).label("received"))
            .join_from(tallies.T, P, P.c.id == tallies.T.c.product_id)
            .where(tallies.T.c.document_id.in_([here, order])).group_by(P.c.id))


def _union(against_order: bool, counts=None):
    counts = (counts if counts is not None else tallies.summary_statement(against_order)).subquery("counts")
    numbers = (counts.c.expected, counts.c.received) if against_order else (cast(null(), Integer),) * 2
    part_counts = select(
        literal(0).label("part"), func.row_number().over(order_by=counts.c.code).label("ord"),
        counts.c.code, counts.c.name, counts.c.units, numbers[0].label("expected"), numbers[1].label("received"),
        *(cast(null(), kind).label(name) for name, kind in _LINE_COLUMNS))
    recent = (select(L.c.line_no, L.c.serial, L.c.quantity, L.c.batch, L.c.expiry, L.c.user, L.c.replaces,
                     P.c.code, P.c.name, *places.LINE_COLUMNS)
              .select_from(places.line_joins(L.outerjoin(P, P.c.id == L.c.product_id)))
              .where(L.c.document_id == bindparam("document_id"))
              .order_by(L.c.line_no.desc()).limit(RECENT_LINES).subquery("recent"))
    part_lines = select(
        literal(1).label("part"), recent.c.line_no.label("ord"), recent.c.code, recent.c.name,
        cast(null(), Integer).label("units"), cast(null(), Integer).label("expected"),
        cast(null(), Integer).label("received"), *(recent.c[name].label(name) for name, _ in _LINE_COLUMNS))
    return union_all(part_counts, part_lines)


def _statement(against_order: bool):
    both = _union(against_order).subquery("answer")
    return select(both).order_by(both.c.part, both.c.ord)


# Built once (see station.domain.facts).
_READ = {False: _statement(False), True: _statement(True)}
class _JsonRows(FunctionElement):
    """A subquery's rows as one JSON text, an array of arrays: so another statement reads them as one column of its
    one row (a join would repeat its row, and its columns' processing, for each)."""

    type = String()
    name = "json_rows"
    inherit_cache = True


@compiles(_JsonRows, "sqlite")
def _sqlite_rows(element, compiler, **kw):
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(_JsonRows, "postgresql")
def _postgresql_rows(element, compiler, **kw):
    return f"CAST(json_agg(json_build_array({compiler.process(element.clauses, **kw)})) AS TEXT)"


def beside(document_id, order_id):
    """The answer's rows as one column for another statement (a scalar subquery of JSON text: ``from_rows`` reads
    it), the document and its order given as SQL expressions (scalar subqueries of that statement's own rows).
    Read against the order: without one, its expected and received are zeros ``from_rows`` leaves out."""
    named = {"document_id": document_id, "order_id": order_id}

    def swap(element):
        return named[element.key] if isinstance(element, BindParameter) and element.key in named else None

    both = visitors.replacement_traverse(_union(True, _counts_beside()), {}, swap).subquery("answer")
    return select(_JsonRows(*both.c)).select_from(both).scalar_subquery()


#: Where each column is in a row of ``beside``'s JSON (its union's columns, in order).
_AT = {name: n for n, name in enumerate(_union(True).selected_columns.keys())}
_COUNT_AT = tuple(_AT[name] for name in ("code", "name", "units", "expected", "received"))
class LineRow(NamedTuple):
    """A line of an answer, with the columns representation.last_lines reads (as ``read``'s rows have them)."""

    line_no: int
    serial: str | None
    quantity: int
    batch: str | None
    expiry: str | None
    user: str | None
    replaces: str | None
    code: str | None
    name: str | None
    line_location: str | None
    now_at: str | None
    moved_id: int | None
    moved_from: str | None


_LINE_AT = tuple(_AT[name] for name in LineRow._fields)
# Picked out of a row by C code (a generator per row cost more than the rest of the row's work).
_LINE_OF, _COUNT_OF, _ORDER = itemgetter(*_LINE_AT), itemgetter(*_COUNT_AT), itemgetter(0, 1)


@dataclass(frozen=True)
class Shown:
    """A document's answer as it stands: its product counts (``read``'s first list) and its last lines, oldest
    first (its second)."""

    document_id: int
    counts: tuple[tallies.ProductCount, ...]
    lines: tuple

    def with_line(self, line: LineRow, product: tuple[str, str] | None, against_order: bool) -> Shown | None:
        """The answer once ``line`` is added, of ``product`` (code, name); None when it cannot be told here: a
        product not among the counts yet, beside others (its place in the database's collation is the database's
        to say)."""
        counts = self.counts
        if product is not None:
            at = next((n for n, c in enumerate(counts) if c.code == product[0]), None)
            if at is None and counts:
                return None
            if at is None:  # the document's first product
                first = (tallies.ProductCount(*product, line.quantity, 0, 0) if against_order
                         else tallies.ProductCount(*product, line.quantity))
                return Shown(self.document_id, (first,), (*self.lines, line)[-RECENT_LINES:])
            mine = counts[at]
            mine = (tallies.ProductCount(mine.code, mine.name, mine.units + line.quantity, mine.expected, mine.received)
                    if against_order else tallies.ProductCount(mine.code, mine.name, mine.units + line.quantity))
            counts = (*counts[:at], mine, *counts[at + 1:])
        return Shown(self.document_id, counts, (*self.lines, line)[-RECENT_LINES:])


def from_rows(document_id: int, order_id: int | None, text: str | None) -> Shown:
    """``beside``'s JSON, as ``read`` would give it (ordered here by part and number: an aggregate's order is the
    database's)."""
    counts, lines = [], []
    if text:
        rows = json.loads(text)
        rows.sort(key=_ORDER)
        line, count, against_order = LineRow._make, tallies.ProductCount, order_id is not None
        for row in rows:
            if row[0] == 0:
                code, name, units, expected, received = _COUNT_OF(row)
                counts.append(count(code, name, units, expected, received) if against_order
                              else count(code, name, units))
            else:
                lines.append(line(_LINE_OF(row)))
    return Shown(document_id, tuple(counts), tuple(lines))


def read(session, document_id: int, order_id: int | None) -> tuple[list[tallies.ProductCount], list]:
    """The document's product counts (as ``tallies.summary`` gives them) and its last lines, oldest first (rows
    with the columns ``representation.last_lines`` reads)."""
    params = {"document_id": document_id} | ({"order_id": order_id} if order_id is not None else {})
    counts, lines = [], []
    for row in direct.run(session.connection(), _READ[order_id is not None], params):  # (below SQLAlchemy)
        if row.part == 0:
            counts.append(tallies.ProductCount(row.code, row.name, row.units, row.expected, row.received)
                          if order_id is not None else tallies.ProductCount(row.code, row.name, row.units))
        else:
            lines.append(row)
    return counts, lines
