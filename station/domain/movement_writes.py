"""Writing movements: the one INSERT ... SELECT of a document's serial lines, and the one row of a movement by value.

Every posting writes its movements through here (posting.py, service_posting.py, relocation.py, counting.py),
so a movement's columns are listed once, from the table itself (``COLUMNS``):

- ``bound_lines``: a document's serial lines, each joined to its serial's record, in line order, one statement
  however many lines. The caller names the expression of each column it decides (``kind``, ``quantity``, the
  party, the places...); the posting's time, document and station, the line's user (else the document's), the
  serial's product (else the line's) and the serial are given here, and any other column is NULL. The time,
  document, station and user are bind parameters (``line_params``): each caller builds its statement once (per
  kind) and runs it for any document.
- ``row``: one movement by value (unserialised units, a count's findings): the same defaults, every column
  present in every row; ``insert_rows`` writes many of them as a few multi-row INSERTs.

A new movement column is the model's column (and its migration): both builders write it, NULL until a caller
names it; a value every movement of a line takes (a fact of the line or its serial) is one more default in
``_line_defaults``, and the reading side is one more column in movement_facts.FACTS.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, null, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from .facts import DocumentHead
from .models import DocumentLine, Movement, SerialNumber

M = Movement.__table__
L = DocumentLine.__table__
S = SerialNumber.__table__

#: Rows one INSERT of ``insert_rows`` carries at most: 13 parameters a row, within SQLite's 32,766 and
#: PostgreSQL's 65,535 a statement.
PAGE = 1000
#: Every column a movement is written with (all but its id), in the table's order.
COLUMNS: tuple[str, ...] = tuple(column.name for column in M.c if not column.primary_key)
_EMPTY = dict.fromkeys(COLUMNS)


def _line_defaults(at, document_id, station, user) -> dict:
    """What every movement of a serial line says unless its caller says otherwise (given: the expressions of the
    posting's time, document, station and user)."""
    return {"at": at, "document_id": document_id, "station": station,
            "user": func.coalesce(L.c.user, user),  # who scanned the line, else the document's
            "product_id": func.coalesce(S.c.product_id, L.c.product_id),  # the serial's product, else the line's
            "serial_id": S.c.id}


def _insert(defaults: dict, document_id, where, columns: dict) -> Insert:
    unknown = columns.keys() - _EMPTY.keys()
    if unknown:
        raise TypeError(f"not a movement column: {', '.join(sorted(unknown))}")
    values = defaults | columns
    return insert(M).from_select(
        list(COLUMNS),
        select(*(values.get(name, null()) for name in COLUMNS))
        .select_from(L.join(S, S.c.serial == L.c.serial)).where(L.c.document_id == document_id, *where)
        .order_by(L.c.line_no))


#: ``bound_lines``' bind parameters, the posting's time, document, station and user (``line_params``): prefixed,
#: so that a caller's own parameters (``p_...``) and SQLAlchemy's names for an UPDATE's columns never meet them.
_AT, _DOC = bindparam("m_at", type_=M.c.at.type), bindparam("m_document_id", type_=M.c.document_id.type)
_BOUND = _line_defaults(_AT, _DOC, bindparam("m_station", type_=M.c.station.type),
                        bindparam("m_user", type_=M.c.user.type))


def bound_lines(*where, **columns) -> Insert:
    """INSERT ... SELECT of one movement per serial line of a document (``where``: only these lines), in line order;
    its document, time, station and user left to the execution's parameters (``line_params``).

    ``columns``: a movement column's expression over the line (``L``) and its serial's record (``S``); ``kind`` and
    ``quantity`` always, the rest as the kind needs them. A statement built once and run for any document: one built
    per posting, its values literals, is built again, and its cache key made again from its whole tree, each time:
    for a small posting, more Python than running it.
    """
    return _insert(_BOUND, _DOC, where, columns)


def line_params(doc: DocumentHead, at: datetime) -> dict:
    """The parameters ``bound_lines``' statement takes for ``doc`` posted at ``at``."""
    return {"m_at": at, "m_document_id": doc.id, "m_station": doc.station, "m_user": doc.user}


def row(doc: DocumentHead, at: datetime, *, user: str | None = None, **values) -> dict:
    """One movement of ``doc`` by value, for ``insert(M)`` with many rows: every column, NULL unless given here;
    ``user`` who scanned its line (else the document's)."""
    written = _EMPTY | {"at": at, "document_id": doc.id, "station": doc.station, "user": user or doc.user} | values
    if len(written) != len(_EMPTY):
        raise TypeError(f"not a movement column: {', '.join(sorted(written.keys() - _EMPTY.keys()))}")
    return written


def insert_rows(executor: Session | Connection, rows: list[dict]) -> None:
    """Movements by value (each from ``row``), PAGE to a statement: a multi-row INSERT, not an executemany.

    psycopg's executemany sends the statement once per row, and on PostgreSQL a movement's references are
    checked once per statement (migration 0011): a count's 5,000 findings would be 5,000 checks, not five.
    """
    for start in range(0, len(rows), PAGE):
        executor.execute(insert(M).values(rows[start:start + PAGE]))
