"""Per document and product counts (DocumentTally): kept line by line, read instead of adding lines up.

A line added or undone changes its product's tally in one upsert (on SQLite
a serial's line in its own INSERT, by a trigger: ``by_trigger``); a posted
receipt adds its tallies to its purchase order's ``received`` in one
statement. So the prompt's "3 of 5 received", the rules' "units free to
sell" and the answer's per-product summary cost one indexed read whatever
the document's size. The statements are built once (see facts.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import direct
from .models import DocumentTally, Product

T = DocumentTally.__table__
P = Product.__table__


@dataclass(frozen=True)
class ProductCount:
    """One product of a document: units on it, and for a receipt against an order, expected and received."""

    code: str
    name: str
    units: int
    expected: int | None = None
    received: int = 0


def _upsert(dialect):
    insert = dialect.insert(T).values(document_id=bindparam("document_id"), product_id=bindparam("product_id"),
                                      units=bindparam("units"), taken=bindparam("taken"), received=0)
    return insert.on_conflict_do_update(index_elements=[T.c.document_id, T.c.product_id],
                                        set_={"units": T.c.units + insert.excluded.units,
                                              "taken": T.c.taken + insert.excluded.taken})


_UPSERT = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}
_ONE = T.c.document_id == bindparam("document_id"), T.c.product_id == bindparam("product_id")
_TAKEN = select(T.c.taken).where(*_ONE)
_DROP = delete(T).where(*_ONE)
_UNITS = select(T.c.units).where(*_ONE)
_ON_ORDER = select(T.c.units, T.c.received).where(T.c.document_id == bindparam("order_id"),
                                                  T.c.product_id == bindparam("product_id"))
_ORDER_SUMMARY = (select(P.c.code, P.c.name, T.c.units, T.c.received).join(P, P.c.id == T.c.product_id)
                  .where(T.c.document_id == bindparam("document_id")).order_by(P.c.code))
_SUMMARY = (select(P.c.code, P.c.name, T.c.units).join(P, P.c.id == T.c.product_id)
            .where(T.c.document_id == bindparam("document_id")).order_by(P.c.code))


def _against_order():
    here, ordered = T.alias("here"), T.alias("ordered")
    ids = (select(T.c.product_id).where(T.c.document_id.in_([bindparam("document_id"), bindparam("order_id")]))
           .distinct().subquery("ids"))
    return (select(P.c.code, P.c.name, func.coalesce(here.c.units, 0).label("units"),
                   func.coalesce(ordered.c.units, 0).label("expected"),
                   func.coalesce(ordered.c.received, 0).label("received"))
            .select_from(ids).join(P, P.c.id == ids.c.product_id)
            .outerjoin(here, (here.c.document_id == bindparam("document_id")) & (here.c.product_id == ids.c.product_id))
            .outerjoin(ordered, (ordered.c.document_id == bindparam("order_id"))
                       & (ordered.c.product_id == ids.c.product_id))
            .order_by(P.c.code))


_SUMMARY_AGAINST_ORDER = _against_order()
_HERE = T.alias("here")
_RECEIVE = (update(T).where(T.c.document_id == bindparam("order_id"), T.c.product_id == _HERE.c.product_id,
                            _HERE.c.document_id == bindparam("receipt_id"))
            .values(received=T.c.received + _HERE.c.units))


def made_cte():
    """PostgreSQL: ``add``'s upsert as a data-modifying CTE whose row says whether it made the tally (``made``: there
    was none) or added to it, for a caller that writes it beside a read (documents.add_line)."""
    return _UPSERT["postgresql"].returning(literal_column("xmax = 0").label("made")).cte("tallied")


def by_trigger(dialect: str, names_serial: bool) -> bool:
    """Whether a tallied line's own INSERT tallies it (a tallied line names a product): on SQLite a line naming a
    serial is tallied by the trigger ``document_line_tallied`` (migration 0014), units its quantity and taken its
    ``takes_unit``; its writer adds nothing (a line written in bulk included)."""
    return dialect == "sqlite" and names_serial


def add_serial_lines(session: Session, document_id: int, product_id: int, lines: int) -> None:
    """The tally of ``lines`` serials' lines of one product written in bulk, taking no unit (the bench's receipts):
    one upsert, where their INSERT did not tally them already (``by_trigger``: SQLite's did)."""
    if lines and not by_trigger(session.get_bind().dialect.name, names_serial=True):
        add(session, document_id, product_id, lines)


def add(session: Session, document_id: int, product_id: int, units: int, taken: int = 0) -> None:
    """units += ``units``, taken += ``taken`` for the document's product (a new tally when it has none). On SQLite
    a scan's statement for a line of unserialised units (documents.add_line; a serial's line is tallied by its
    INSERT: ``by_trigger``), sent on the driver's cursor (station.domain.direct)."""
    conn = session.connection()
    direct.run(conn, _UPSERT[conn.dialect.name],
               {"document_id": document_id, "product_id": product_id, "units": units, "taken": taken})


def drop(session: Session, document_id: int, product_id: int) -> None:
    """The document's tally of the product gone (one just made by a line taken back)."""
    session.connection().execute(_DROP, {"document_id": document_id, "product_id": product_id})


def taken(session: Session, document_id: int, product_id: int) -> int:
    """Unserialised units of the product this open document takes already."""
    return session.connection().scalar(_TAKEN, {"document_id": document_id, "product_id": product_id}) or 0


def units(session: Session, document_id: int, product_id: int) -> int:
    """Units of the product on the document."""
    return session.connection().scalar(_UNITS, {"document_id": document_id, "product_id": product_id}) or 0


def on_order(session: Session, order_id: int, product_id: int) -> tuple[int, int]:
    """(expected, received) of a product on a purchase order; (0, 0) when it is not on it."""
    row = session.connection().execute(_ON_ORDER, {"order_id": order_id, "product_id": product_id}).first()
    return (row.units, row.received) if row is not None else (0, 0)


def order_summary(session: Session, order_id: int) -> list[ProductCount]:
    """A purchase order's products: expected (``units``) and received so far."""
    rows = session.connection().execute(_ORDER_SUMMARY, {"document_id": order_id})
    return [ProductCount(r.code, r.name, r.units, r.units, r.received) for r in rows]


def summary(session: Session, document_id: int, order_id: int | None = None) -> list[ProductCount]:
    """The document's products (and, against an order, the order's), by product code."""
    if order_id is None:
        return [ProductCount(r.code, r.name, r.units)
                for r in session.connection().execute(_SUMMARY, {"document_id": document_id})]
    rows = session.connection().execute(_SUMMARY_AGAINST_ORDER, {"document_id": document_id, "order_id": order_id})
    return [ProductCount(r.code, r.name, r.units, r.expected, r.received) for r in rows]


def receive_on_order(session: Session, receipt_id: int, order_id: int) -> None:
    """A posted receipt's units join its purchase order's received counts (one statement)."""
    session.connection().execute(_RECEIVE, {"order_id": order_id, "receipt_id": receipt_id})


def summary_statement(against_order: bool):
    """The statement ``summary`` runs (bind parameters ``document_id``, and ``order_id`` against an order), for a
    caller that reads it beside other things in one statement (the scan's answer: station.scanning.answer_read)."""
    return _SUMMARY_AGAINST_ORDER if against_order else _SUMMARY
