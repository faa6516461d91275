"""What is at a location and under it (SPEC 3c): its subtree, its units, its serials, the tree of every location.

A location's subtree is one recursive CTE over ``location.parent_id`` (the
same SQL on SQLite and PostgreSQL), used as ``IN (SELECT id FROM subtree)``
by the reads here, so "here and below" is one statement whatever the depth.
What a location holds is read off the materialised columns that posting
keeps (models.py): an in-stock serial's ``location_id``, and ``stock_level``
per product and location for unserialised units. A serial in transit has
no location: it is counted at its destination only once it has arrived;
:func:`holds_stock` also names the units on their way to the subtree, so a
destination cannot be deactivated under a transfer.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .models import Document, Location, Product, SerialNumber, StockLevel
from .vocabulary import DocumentKind

L = Location.__table__
S = SerialNumber.__table__
SL = StockLevel.__table__
P = Product.__table__
D = Document.__table__

SERIALS_PER_PAGE = 100


def subtree(root_id: int) -> Select:
    """``SELECT id`` of the location ``root_id`` and every location under it, at any depth (a recursive CTE)."""
    top = select(L.c.id).where(L.c.id == root_id).cte("subtree", recursive=True)
    tree = top.union_all(select(L.c.id).join(top, L.c.parent_id == top.c.id))
    return select(tree.c.id)


def subtree_ids(session: Session, root_id: int) -> list[int]:
    return list(session.scalars(subtree(root_id)))


@dataclass(frozen=True)
class Held:
    """What a subtree holds: serials in stock there, unserialised units there, serials in transit to it."""

    serials: int
    units: int
    arriving: int

    @property
    def total(self) -> int:
        return self.serials + self.units + self.arriving


def holds_stock(session: Session, root_id: int) -> Held:
    """The stock in the subtree of ``root_id`` and on its way there (three counts, one statement each)."""
    ids = subtree(root_id)
    serials = session.scalar(select(func.count()).select_from(S).where(S.c.location_id.in_(ids))) or 0
    units = session.scalar(select(func.coalesce(func.sum(SL.c.quantity), 0)).where(SL.c.location_id.in_(ids))) or 0
    transfers = select(D.c.id).where(D.c.kind == DocumentKind.transfer.value, D.c.location_id.in_(subtree(root_id)))
    arriving = session.scalar(select(func.count()).select_from(S).where(S.c.transfer_id.in_(transfers))) or 0
    return Held(serials, units, arriving)


@dataclass(frozen=True)
class ProductUnits:
    code: str | None  # None: serials that name no product (SPEC 2 rule 1 lets a serial exist alone)
    name: str | None
    units: int


def products(session: Session, root_id: int) -> list[ProductUnits]:
    """Units per product here and below: in-stock serials plus unserialised units, by product code."""
    ids = subtree(root_id)
    counted: dict[str | None, list] = {}
    serials = (select(P.c.code, P.c.name, func.count()).select_from(S.outerjoin(P, S.c.product_id == P.c.id))
               .where(S.c.location_id.in_(ids)).group_by(P.c.code, P.c.name))
    loose = (select(P.c.code, P.c.name, func.sum(SL.c.quantity)).select_from(SL.join(P, SL.c.product_id == P.c.id))
             .where(SL.c.location_id.in_(subtree(root_id))).group_by(P.c.code, P.c.name))
    for code, name, units in [*session.execute(serials), *session.execute(loose)]:
        entry = counted.setdefault(code, [name, 0])
        entry[1] += int(units or 0)
    rows = [ProductUnits(code, name, units) for code, (name, units) in counted.items() if units]
    return sorted(rows, key=lambda r: (r.code is None, r.code or ""))


@dataclass(frozen=True)
class SerialHere:
    serial: str
    product_code: str | None
    product_name: str | None
    location: str  # the code of the location in the subtree where it is


def serials(session: Session, root_id: int, *, page: int = 1,
            per_page: int = SERIALS_PER_PAGE) -> tuple[list[SerialHere], int]:
    """One page of the serials in stock here and below, by serial, and how many there are."""
    ids = subtree(root_id)
    total = session.scalar(select(func.count()).select_from(S).where(S.c.location_id.in_(ids))) or 0
    rows = session.execute(
        select(S.c.serial, P.c.code, P.c.name, L.c.code)
        .select_from(S.join(L, S.c.location_id == L.c.id).outerjoin(P, S.c.product_id == P.c.id))
        .where(S.c.location_id.in_(subtree(root_id))).order_by(S.c.serial)
        .offset((max(page, 1) - 1) * per_page).limit(per_page))
    return [SerialHere(*row) for row in rows], total


def units_by_location(session: Session) -> dict[int, int]:
    """Units directly at each location (not below): in-stock serials plus unserialised units."""
    out: dict[int, int] = {}
    by_serial = (select(S.c.location_id, func.count()).where(S.c.location_id.is_not(None))
                 .group_by(S.c.location_id))
    by_level = select(SL.c.location_id, func.sum(SL.c.quantity)).group_by(SL.c.location_id)
    for location_id, units in [*session.execute(by_serial), *session.execute(by_level)]:
        out[location_id] = out.get(location_id, 0) + int(units or 0)
    return out


@dataclass(frozen=True)
class Node:
    """One location in the tree: its depth under its site (0 for a site), its own units and those below too."""

    location: Location
    depth: int
    here: int
    total: int


def tree(session: Session, *, root_id: int | None = None, active_only: bool = False) -> list[Node]:
    """Every location (or those under ``root_id``) depth first, children by code, with their units."""
    query = select(Location).order_by(Location.code)
    if root_id is not None:
        query = query.where(Location.id.in_(subtree(root_id)))
    rows = list(session.scalars(query))
    known = {r.id for r in rows}
    children: dict[int | None, list[Location]] = {}
    for r in rows:
        parent = r.parent_id if r.parent_id in known else None
        children.setdefault(parent, []).append(r)
    here = units_by_location(session)
    out: list[Node] = []

    def walk(nodes: Iterable[Location], depth: int) -> int:
        units = 0
        for loc in nodes:
            index = len(out)
            out.append(Node(loc, depth, here.get(loc.id, 0), 0))
            below = walk(children.get(loc.id, ()), depth + 1)
            out[index] = Node(loc, depth, here.get(loc.id, 0), here.get(loc.id, 0) + below)
            units += out[index].total
        return units

    walk(children.get(None, ()), 0)
    return [n for n in out if n.location.active] if active_only else out
