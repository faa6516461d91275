"""Locations made directly as rows for the scan tests (the Location record's own commands are the locations room's)."""
from __future__ import annotations

from sqlalchemy import select

from station.domain.models import Location


def add_location(session, code: str, name: str, parent: str | None = None, *, active: bool = True) -> Location:
    """A location under ``parent`` (a code), or a site when None; its site kept as the schema says."""
    up = session.scalar(select(Location).where(Location.code == parent)) if parent else None
    place = Location(code=code, name=name, parent_id=up.id if up else None, active=active)
    session.add(place)
    session.flush()
    place.site_id = up.site_id if up else place.id
    session.flush()
    return place


def location_id(session, code: str) -> int:
    return session.scalar(select(Location.id).where(Location.code == code))
