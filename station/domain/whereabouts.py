"""Where units are, as posting needs it: the site MAIN, a location's site and subtree, and unserialised units
taken from a site's locations (SPEC 3c).

Theory of operation. A serial in stock names its location (``SerialNumber.location_id``); unserialised
units are a quantity per product per location (``StockLevel``). Posting decides where each unit goes (a
line's ``location_id``, else its document's, else MAIN: older data and API adjustments carry none) and
where unserialised units leave from: the line's location first, then the other locations of its site in
code order (``take``). ``take`` locks the stock levels it reads (in product and location order, so two
postings wait rather than deadlock) and answers, per request, the portions it takes; ``add`` writes
every stock level change of a posting in one statement per sign. Everything here takes the caller's
session and never commits.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import location_facts
from .errors import Refusal
from .models import Location, StockLevel
from .vocabulary import MAIN_SITE

LOC = Location.__table__
SL = StockLevel.__table__


def main_id(session: Session) -> int:
    """The id of the site MAIN, which every database has (migration 0008)."""
    found = location_facts.by_code(session, MAIN_SITE)
    if found is None:
        raise Refusal("unknown_location", f"There is no site {MAIN_SITE}: run station init to migrate the database.")
    return found.id


def default_location(session: Session, document_location_id: int | None) -> int:
    """Where a line without a location of its own puts or takes units: its document's location, else MAIN."""
    return document_location_id if document_location_id is not None else main_id(session)


def site_of(session: Session, location_id: int) -> int | None:
    place = location_facts.by_id(session, location_id)
    return place.site_id if place is not None else None


def subtree(session: Session, location_id: int) -> list[int]:
    """The location and every location under it, at any depth (one recursive statement)."""
    below = select(LOC.c.id).where(LOC.c.id == location_id).cte("below", recursive=True)
    child = LOC.alias("child")
    below = below.union_all(select(child.c.id).where(child.c.parent_id == below.c.id))
    return list(session.scalars(select(below.c.id)))


@dataclass(frozen=True)
class Want:
    """Unserialised units to take out of stock: ``key`` names the request (a line), ``first`` where to look first."""

    key: object
    product_id: int
    quantity: int
    first: int
    exclude: int | None = None  # never from here (a move's destination)


@dataclass(frozen=True)
class Portion:
    key: object
    product_id: int
    location_id: int
    quantity: int


class Short(Exception):
    """Not enough units of a product at the site: ``available`` there."""

    def __init__(self, product_id: int, available: int):
        super().__init__(product_id, available)
        self.product_id, self.available = product_id, available


def take(session: Session, wants: Sequence[Want]) -> list[Portion]:
    """Portions of stock for every request, from its ``first`` location, then its site's others in code order.

    The levels read are locked; what is taken is written at once (one guarded UPDATE per portion's level,
    as one executemany). Raises Short, having taken nothing the caller keeps, when a site runs out.
    """
    if not wants:
        return []
    firsts = location_facts.by_ids(session, (w.first for w in wants))
    sites = sorted({p.site_id for p in firsts.values()})
    products = sorted({w.product_id for w in wants})
    rows = session.execute(
        select(SL.c.product_id, SL.c.location_id, SL.c.quantity, LOC.c.site_id, LOC.c.code)
        .join(LOC, LOC.c.id == SL.c.location_id)
        .where(SL.c.product_id.in_(products), LOC.c.site_id.in_(sites), SL.c.quantity > 0)
        .order_by(SL.c.product_id, SL.c.location_id).with_for_update(of=SL)).all()
    levels: dict[tuple[int, int], int] = {}
    held: dict[tuple[int, int], int] = {}  # (product, site): units there before this posting took any
    by_site: dict[tuple[int, int], list[tuple[str, int]]] = {}
    for r in rows:
        levels[r.product_id, r.location_id] = r.quantity
        held[r.product_id, r.site_id] = held.get((r.product_id, r.site_id), 0) + r.quantity
        by_site.setdefault((r.product_id, r.site_id), []).append((r.code, r.location_id))
    portions: list[Portion] = []
    for want in wants:
        site = firsts[want.first].site_id
        order = [want.first] + [loc for _, loc in sorted(by_site.get((want.product_id, site), []))
                                if loc != want.first]
        left = want.quantity
        for loc in order:
            if left == 0:
                break
            have = levels.get((want.product_id, loc), 0)
            if loc == want.exclude or have <= 0:
                continue
            n = min(have, left)
            levels[want.product_id, loc] = have - n
            left -= n
            portions.append(Portion(want.key, want.product_id, loc, n))
        if left:
            raise Short(want.product_id, held.get((want.product_id, site), 0))
    add(session, [(p.product_id, p.location_id, -p.quantity) for p in portions])
    return portions


def _upsert(dialect):
    stmt = dialect.insert(SL).values(product_id=bindparam("p"), location_id=bindparam("l"), quantity=bindparam("q"))
    return stmt.on_conflict_do_update(index_elements=[SL.c.product_id, SL.c.location_id],
                                      set_={"quantity": SL.c.quantity + stmt.excluded.quantity})


_UPSERT = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}
_TAKE = (update(SL).where(SL.c.product_id == bindparam("p"), SL.c.location_id == bindparam("l"),
                          SL.c.quantity >= -bindparam("q"))
         .values(quantity=SL.c.quantity + bindparam("q")))


def add(session: Session, changes: Iterable[tuple[int, int, int]]) -> None:
    """Stock levels moved by (product, location, delta): units in upserted, units out taken under a guard."""
    summed: dict[tuple[int, int], int] = {}
    for product_id, location_id, delta in changes:
        summed[product_id, location_id] = summed.get((product_id, location_id), 0) + delta
    ins = [{"p": p, "l": loc, "q": q} for (p, loc), q in sorted(summed.items()) if q > 0]
    outs = [{"p": p, "l": loc, "q": q} for (p, loc), q in sorted(summed.items()) if q < 0]
    connection = session.connection()
    if outs:
        done = connection.execute(_TAKE, outs)
        if done.rowcount not in (-1, len(outs)):  # the levels were read under lock: only a bug lands here
            raise Short(outs[0]["p"], 0)
    if ins:
        connection.execute(_UPSERT[session.get_bind().dialect.name], ins)


def literal_location(location_id: int):
    return literal(location_id, LOC.c.id.type)
