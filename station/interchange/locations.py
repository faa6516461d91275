"""A location as the JSON of SPEC 5 (``/api/locations``, the ``location.changed`` event, the pages).

``summary`` is a location in a list: its code, name, parent's code (null for
a site), its site's code, whether it is active and its GLN (or null). ``record`` is
``GET /api/locations/<code>``: the summary with its children's codes, the
units per product here and below, and one page of the serials in stock here
and below (100 a page, by serial, each with the code of the location under
it where it is). The event carries the record as GET gives its first page.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from station.domain import location_stock
from station.domain.location_facts import LocationFacts
from station.domain.models import Location


def summary(place: LocationFacts) -> dict[str, Any]:
    """A location as a list gives it, from its facts (station.domain.location_facts)."""
    return {"code": place.code, "name": place.name, "parent": place.parent_code, "site": place.site_code,
            "active": place.active, "gln": place.gln}


def summaries(places: list[LocationFacts]) -> list[dict[str, Any]]:
    return [summary(p) for p in places]


def _named(code: str | None, name: str | None) -> dict[str, str] | None:
    return None if code is None else {"code": code, "name": name}


def record(session: Session, location: LocationFacts, *, page: int = 1) -> dict[str, Any]:
    """GET /api/locations/<code>: the summary, ``children`` (codes), ``products`` and a page of ``serials``."""
    children = session.scalars(select(Location.code).where(Location.parent_id == location.id)
                               .order_by(Location.code)).all()
    units = location_stock.products(session, location.id)
    serials, _ = location_stock.serials(session, location.id, page=page)
    return {**summary(location), "children": list(children),
            "products": [{"product": _named(p.code, p.name), "units": p.units} for p in units],
            "serials": [{"serial": s.serial, "product": _named(s.product_code, s.product_name), "location": s.location}
                        for s in serials]}
