"""A scan's answer read in one statement: the document's per-product counts and its last lines together.

Every scan with an open document answers with that document's products
(units here, and expected and received against an order: the tallies) and
its last lines (SPEC 5). Both are indexed reads of a size that does not
grow with the document; asked apart they were two statements a scan, and
on PostgreSQL two round trips. Here they are one ``UNION ALL``: part 0 the
counts, numbered in product code order by the database (its collation, as
``tallies.summary`` orders them), part 1 the last ``RECENT_LINES`` lines;
the rows come back ordered by part and number and are split again.
"""
from __future__ import annotations

from sqlalchemy import Integer, String, bindparam, cast, func, literal, null, select, union_all

from station.domain import tallies
from station.domain.models import DocumentLine, Product
from station.interchange import places
from station.interchange.representation import RECENT_LINES

L = DocumentLine.__table__
P = Product.__table__

_LINE_COLUMNS = (("line_no", Integer), ("serial", String), ("quantity", Integer), ("batch", String),
                 ("expiry", String), ("user", String), ("replaces", String),
                 # where a line moves its unit (places.line_places reads them)
                 ("line_location", String), ("now_at", String), ("moved_id", Integer), ("moved_from", String))


def _statement(against_order: bool):
    counts = tallies.summary_statement(against_order).subquery("counts")
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
    both = union_all(part_counts, part_lines).subquery("answer")
    return select(both).order_by(both.c.part, both.c.ord)


# Built once (see station.domain.facts).
_READ = {False: _statement(False), True: _statement(True)}


def read(session, document_id: int, order_id: int | None) -> tuple[list[tallies.ProductCount], list]:
    """The document's product counts (as ``tallies.summary`` gives them) and its last lines, oldest first (rows
    with the columns ``representation.last_lines`` reads)."""
    params = {"document_id": document_id} | ({"order_id": order_id} if order_id is not None else {})
    counts, lines = [], []
    for row in session.connection().execute(_READ[order_id is not None], params):
        if row.part == 0:
            counts.append(tallies.ProductCount(row.code, row.name, row.units, row.expected, row.received)
                          if order_id is not None else tallies.ProductCount(row.code, row.name, row.units))
        else:
            lines.append(row)
    return counts, lines
