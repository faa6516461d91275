"""Locations (SPEC 3c): sites and the places under them, as records: add, rename, move, deactivate, look up.

A location without a parent is a site; below it any depth. Every location
keeps ``site_id``, the site it is under (a site's own id), so that "within
the station's site" is one comparison on the scan path; it is written here
only, for the whole subtree, whenever a parent changes.

The rules, each refused before anything is written:

- a code is 1-32 of ``A-Z a-z 0-9 . _ -`` (scanned as ``LOC:<code>``), unique
  (409 ``duplicate``); a parent must exist (404 ``unknown_location``) and be
  active;
- a GLN (optional; SPEC 5 Traceability) is 13 digits with a right check digit
  (``invalid_field``, gln.py), and no two locations share one (409
  ``duplicate``, as a taken code); None clears it;
- a parent change that would make a cycle (the location itself or one under
  it as its parent) is refused, and so is one that makes a location holding
  stock (itself or below) a site, or puts it under another site: units
  change site only by a transfer, whose movements say so (``invalid_field``);
- a location holding stock (itself or below, or units in transit to it)
  cannot be deactivated (``location_not_empty``); deactivating an empty one
  deactivates everything under it, so that no active location stands under
  an inactive one; reactivating needs an active parent.

Every change of the tree takes one lock to the end of its transaction
(PostgreSQL's ``pg_advisory_xact_lock``; SQLite has one writer anyway), and
reads the location again under it, so two moves racing cannot make a cycle
that neither saw. (A posting that brings stock to a location being
deactivated at the same moment is not serialised here: posting would have to
lock the location it writes to.)

The refusals that depend on the records (a cycle, stock, an inactive
parent) are plain ``Refusal``s (422: well formed, but the records say no
now); a code that can never be one is ``Invalid`` (400). Every location made
or changed is a ``location.changed`` event (events.py), in the caller's
transaction, one per location whose record changed.
"""
from __future__ import annotations

import re

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from . import events, location_facts
from . import gln as glns
from .errors import Conflict, Invalid, NotFound, Refusal
from .location_facts import LocationFacts
from .location_stock import holds_stock, subtree, subtree_ids
from .models import Location
from .serials import KEEP, Keep
from .validation import require_name
from .vocabulary import LOCATION_CODE_MAX, EventType
from .wording import plural

# Names the location tree's lock among the database's advisory locks (any constant; 'LOCT').
TREE_LOCK = 0x4C4F4354
_LOCK = select(func.pg_advisory_xact_lock(literal(TREE_LOCK)))

CODE = re.compile(rf"[A-Za-z0-9._-]{{1,{LOCATION_CODE_MAX}}}")
#: What a location's badge holds before its code.
PREFIX = "LOC:"


def check_code(code: str) -> str:
    """A location's code exactly as given: 1-32 of A-Z a-z 0-9 . _ - (it is printed and scanned as LOC:<code>)."""
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise Invalid("invalid_field", f"A location's code is 1-{LOCATION_CODE_MAX} of the characters A-Z a-z 0-9 "
                                       ". _ - (it is scanned as LOC:<code>).")
    return code


def find(session: Session, code: str) -> Location | None:
    """The record to change (the ORM's); a reader reads its facts (``read``, station.domain.location_facts)."""
    if not isinstance(code, str) or not CODE.fullmatch(code):
        return None
    return session.scalar(select(Location).where(Location.code == code))


def _unknown(code: str) -> NotFound:
    return NotFound("unknown_location", f"There is no location {code}: add it with station location add.")


def get(session: Session, code: str) -> Location:
    location = find(session, code)
    if location is None:
        raise _unknown(code)
    return location


def read(session: Session, code: str) -> LocationFacts:
    """The location's facts (its parent's and site's codes with it), or NotFound as ``get``."""
    session.flush()  # by_code reads on the connection, as the scan path does: changes made so far first
    place = location_facts.by_code(session, code) if isinstance(code, str) and CODE.fullmatch(code) else None
    if place is None:
        raise _unknown(code)
    return place


def _parent(session: Session, code: str) -> Location:
    parent = get(session, code)
    if not parent.active:
        raise Refusal("invalid_field", f"Location {parent.code} is deactivated: reactivate it, or choose another "
                                       "parent.")
    return parent


def lock_tree(session: Session) -> None:
    """Changes of the tree one at a time, to the end of the transaction: two moves racing (A under B, B under A)
    would each see no cycle in the tree as it was. SQLite has one writer at a time already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK)


def changed(session: Session, ids) -> None:
    """The feed's ``location.changed``, one per location id, in the caller's transaction (call it last)."""
    for location_id in sorted(ids):
        events.record(session, EventType.location_changed, "location", location_id)


def _refuse_taken_gln(session: Session, gln: str, location_id: int | None = None) -> None:
    holder = session.scalar(select(Location.code).where(Location.gln == gln, Location.id != (location_id or 0)))
    if holder is not None:
        raise Conflict("duplicate", f"GLN {gln} is location {holder}'s already: a GLN names one place.")


def add(session: Session, code: str, name: str, parent: str | None = None, gln: str | None = None) -> Location:
    """A new active location: a site when ``parent`` is None, else under that (active) location; ``gln``: its GS1
    Global Location Number, if it has one."""
    code = check_code(code)
    name = require_name(name)
    gln = glns.check(gln) if gln is not None else None
    lock_tree(session)
    if session.scalar(select(Location.id).where(Location.code == code)) is not None:
        raise Conflict("duplicate", f"Location {code} exists already.")
    if gln is not None:
        _refuse_taken_gln(session, gln)
    above = _parent(session, parent) if parent is not None else None
    location = Location(code=code, name=name, parent_id=above.id if above else None, active=True, gln=gln)
    session.add(location)
    session.flush()
    location.site_id = above.site_id if above is not None else location.id
    session.flush()
    changed(session, [location.id])
    return location


def rename(session: Session, location: Location, name: str) -> list[int]:
    """A new name; the ids whose record changed (events written)."""
    return _emit(session, _rename(location, name))


def _set_gln(session: Session, location: Location, gln: str | None) -> list[int]:
    gln = glns.check(gln) if gln is not None else None
    if gln == location.gln:
        return []
    if gln is not None:
        lock_tree(session)  # two locations given one GLN at once: the second waits and sees the first
        _refuse_taken_gln(session, gln, location.id)
    location.gln = gln
    return [location.id]


def _emit(session: Session, ids: list[int]) -> list[int]:
    session.flush()
    changed(session, ids)
    return ids


def _rename(location: Location, name: str) -> list[int]:
    name = require_name(name)
    if name == location.name:
        return []
    location.name = name
    return [location.id]


def _refuse_stock_leaving_site(session: Session, location: Location, where: str) -> None:
    held = holds_stock(session, location.id)
    if held.total:
        what = plural(held.serials + held.units, "unit") + (f" and {held.arriving} arriving" if held.arriving else "")
        raise Refusal("invalid_field", f"{location.code} holds stock ({what}, here or below): it cannot {where}; "
                                       "units change site only by a transfer.")


def move(session: Session, location: Location, parent: str | None) -> list[int]:
    """Put the location under ``parent`` (None: make it a site); the ids whose record changed (events written)."""
    return _emit(session, _move(session, location, parent))


def _move(session: Session, location: Location, parent: str | None) -> list[int]:
    lock_tree(session)
    session.flush()
    session.refresh(location)  # as it is now that no other change of the tree is under way
    if parent is None:
        if location.parent_id is None:
            return []
        _refuse_stock_leaving_site(session, location, "become a site")
        location.parent_id = None
        return _set_site(session, location, location.id)
    above = _parent(session, parent)
    if above.id == location.parent_id:
        return []
    if above.id in set(subtree_ids(session, location.id)):
        where = "itself" if above.id == location.id else f"under {location.code}"
        raise Refusal("invalid_field", f"{above.code} is {where}: {location.code} cannot go under it (a location "
                                       "cannot be inside itself).")
    if above.site_id != location.site_id:
        _refuse_stock_leaving_site(session, location,
                                   f"move to another site ({location_facts.by_id(session, above.id).site_code})")
    location.parent_id = above.id
    return _set_site(session, location, above.site_id)


def _set_site(session: Session, location: Location, site_id: int) -> list[int]:
    """The whole subtree's ``site_id``; the moved location and every one whose site changed get an event."""
    ids = subtree(location.id)
    moved = set(session.scalars(select(Location.id).where(Location.id.in_(ids), Location.site_id != site_id)))
    session.execute(update(Location).where(Location.id.in_(subtree(location.id))).values(site_id=site_id)
                    .execution_options(synchronize_session="fetch"))
    session.flush()
    return sorted(moved | {location.id})


def set_active(session: Session, location: Location, active: bool) -> list[int]:
    """Deactivate (with everything under it) or reactivate (itself); the ids whose record changed (events written)."""
    return _emit(session, _set_active(session, location, active))


def _set_active(session: Session, location: Location, active: bool) -> list[int]:
    lock_tree(session)
    session.flush()
    session.refresh(location)
    if active:
        if location.active:
            return []
        parent = session.get(Location, location.parent_id) if location.parent_id is not None else None
        if parent is not None and not parent.active:
            raise Refusal("invalid_field", f"{location.code} is under {parent.code}, which is deactivated: "
                                           f"reactivate {parent.code} first.")
        location.active = True
        session.flush()
        return [location.id]
    held = holds_stock(session, location.id)
    if held.total:
        parts = [plural(held.serials + held.units, "unit") + " here or below"] if held.serials + held.units else []
        parts += [f"{plural(held.arriving, 'unit')} on their way to it"] if held.arriving else []
        raise Refusal("location_not_empty", f"{location.code} is not empty ({', '.join(parts)}): move or sell them "
                                            "first.")
    touched = set(session.scalars(select(Location.id).where(Location.id.in_(subtree(location.id)),
                                                            Location.active.is_(True))))
    if not touched:
        return []
    session.execute(update(Location).where(Location.id.in_(touched)).values(active=False)
                    .execution_options(synchronize_session="fetch"))
    session.flush()
    return sorted(touched)


def edit(session: Session, location: Location, *, name: str | None = None, parent: str | None | Keep = KEEP,
         active: bool | None = None, gln: str | None | Keep = KEEP) -> Location:
    """PATCH: rename, set or clear the GLN, move (None: make it a site) and (de)activate, in that order; None or
    KEEP leaves a field (``gln`` None clears it).

    One event per location whose record changed, however many of its fields did.
    """
    touched: set[int] = set()
    if name is not None:
        touched.update(_rename(location, name))
    if gln is not KEEP:
        touched.update(_set_gln(session, location, gln))
    if parent is not KEEP:
        touched.update(_move(session, location, parent))
    if active is not None:
        touched.update(_set_active(session, location, active))
    session.flush()
    changed(session, touched)
    return location
