"""A location's facts: the one read model of the location record, read the same way by everything that reads one.

Theory of operation. A location's facts are its own columns (``LocationFacts``'s fields that are columns of
``location``) and the codes and names of what they name: its parent's code, its site's code and name. One
``Reading`` says how a statement reads them: the location (a table or an alias), its site and its parent,
each joined by primary key, with the columns labelled once. ``FACTS`` is that select on its own, and
``by_code``, ``by_id``, ``by_ids`` and ``listing`` answer with it; a statement that reads a location along
with something else (the station's row on the scan path reads the station's own location and the last one
scanned) takes a ``Reading`` of its own aliases and ``of(row, prefix)`` turns its columns back into facts, so
a scan reads no extra statement. A new column of the location record is one field here, and every reader
(the scan path, posting's places, the JSON, the pages) has it.

The writers (add, rename, move, deactivate: locations.py) hold the ORM record; what they answer is read
again as facts.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from .models import Location
from .validation import could_be_key
from .vocabulary import LOCATION_CODE_MAX

LOC = Location.__table__


@dataclass(frozen=True)
class LocationFacts:
    """A location as every reader sees it; a site is its own site (``site_id == id``) and has no parent."""

    id: int
    code: str
    name: str
    parent_id: int | None
    parent_code: str | None
    site_id: int
    site_code: str
    site_name: str
    active: bool
    gln: str | None

    def __str__(self) -> str:
        """"Aisle A, bin 3 (A-03)": a location as the operator reads it."""
        return f"{self.name} ({self.code})"


_FIELDS = tuple(f.name for f in fields(LocationFacts))


@dataclass(frozen=True)
class Reading:
    """How one statement reads a location's facts: the location, its site and its parent (tables or aliases)."""

    place: Any
    site: Any
    parent: Any

    @classmethod
    def named(cls, name: str) -> Reading:
        """Aliases of their own (``name``, ``name_site``, ``name_parent``), for a statement that reads several."""
        return cls(LOC.alias(name), LOC.alias(f"{name}_site"), LOC.alias(f"{name}_parent"))

    def columns(self, prefix: str = "") -> list:
        """The facts' columns, labelled ``prefix`` + field name."""
        named = {"parent_code": self.parent.c.code, "site_code": self.site.c.code, "site_name": self.site.c.name}
        return [(named[f] if f in named else self.place.c[f]).label(prefix + f) for f in _FIELDS]

    def joins(self, base):
        """``base`` (which holds ``place``) joined to the site and the parent, each by primary key."""
        return (base.outerjoin(self.site, self.site.c.id == self.place.c.site_id)
                .outerjoin(self.parent, self.parent.c.id == self.place.c.parent_id))


def of(row, prefix: str = "") -> LocationFacts | None:
    """The facts a row read with ``Reading.columns(prefix)``; None when it names no location."""
    if row is None or getattr(row, prefix + "id") is None:
        return None
    return LocationFacts(*(getattr(row, prefix + f) for f in _FIELDS))


_READING = Reading(LOC, LOC.alias("site"), LOC.alias("parent"))
#: Every location's facts: filter and order it by ``LOC``'s columns. Built once (see station.domain.facts).
FACTS = select(*_READING.columns()).select_from(_READING.joins(LOC))
_BY_CODE = FACTS.where(LOC.c.code == bindparam("code"))
_ACTIVE_BY_CODE = _BY_CODE.where(LOC.c.active.is_(True))
_BY_IDS = FACTS.where(LOC.c.id.in_(bindparam("ids", expanding=True)))


def by_code(session: Session, code: str, *, active_only: bool = False) -> LocationFacts | None:
    """The location ``code`` names (``active_only``: only an active one), or None; read on the session's connection
    as the scan path reads (flushed changes only), where ``by_id`` and ``by_ids`` flush first."""
    if not could_be_key(code, LOCATION_CODE_MAX):
        return None
    return of(session.connection().execute(_ACTIVE_BY_CODE if active_only else _BY_CODE, {"code": code}).first())


def by_ids(session: Session, ids: Iterable[int | None]) -> dict[int, LocationFacts]:
    """The named locations, by id (one statement; none for no ids)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return {row.id: of(row) for row in session.execute(_BY_IDS, {"ids": wanted})}


def by_id(session: Session, location_id: int | None) -> LocationFacts | None:
    return by_ids(session, [location_id]).get(location_id) if location_id is not None else None


def listing(session: Session, *, page: int = 1, per_page: int = 50,
            active: bool | None = None) -> tuple[list[LocationFacts], int]:
    """One page of locations by code, and how many there are in all."""
    query = FACTS if active is None else FACTS.where(LOC.c.active.is_(active))
    total = session.scalar(select(func.count()).select_from(LOC).where(
        *([] if active is None else [LOC.c.active.is_(active)]))) or 0
    rows = session.execute(query.order_by(LOC.c.code).offset((max(page, 1) - 1) * per_page).limit(per_page))
    return [of(row) for row in rows], total
