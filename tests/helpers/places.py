"""Locations and located documents for the posting and scan tests, written as scanning will write them (SPEC 3c).

Scanning (station.scanning) sets a document's and each line's ``location_id``; these helpers do the same
directly, so posting is tested on its own. Lines of the kinds the scan rules do not know here (move,
transfer, arrival, count) are inserted as add_line would insert them: numbered, tallied, a count's line
holding no serial (rule 8 does not apply to it).
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from station.domain import catalogue, documents, posting, tallies
from station.domain.facts import product_by_id
from station.domain.models import Document, Location
from station.domain.tables import D, L
from station.domain.vocabulary import DocumentKind

#: The posting tests' places, (code, parent): site MAIN with A (A-01, A-02) and B-01 under it; site NORTH with N-01.
PLACES = (("A", "MAIN"), ("A-01", "A"), ("A-02", "A"), ("B-01", "MAIN"), ("NORTH", None), ("N-01", "NORTH"))


def place(session, code: str, parent: str | None = None, name: str | None = None) -> Location:
    """A location under ``parent`` (a site when None), by plain ORM insert."""
    above = session.scalar(select(Location).where(Location.code == parent)) if parent else None
    loc = Location(code=code, name=name or f"Place {code}", parent_id=above.id if above else None,
                   site_id=above.site_id if above else None)
    session.add(loc)
    session.flush()
    if above is None:
        loc.site_id = loc.id
        session.flush()
    return loc


def shop(session, places=PLACES, **widget) -> None:
    """The posting tests' shop: ``places``; WID-1 (serials, ``widget`` its other fields), LOOSE (units, no serials
    either way); supplier ACME and customer BOB."""
    for code, parent in places:
        place(session, code, parent)
    catalogue.create_product(session, "WID-1", "Widget", **widget)
    catalogue.create_product(session, "LOOSE", "Loose", serial_required_for_purchase=False,
                             serial_required_for_sales=False)
    catalogue.create_party(session, "supplier", "ACME", "Acme Ltd")
    catalogue.create_party(session, "customer", "BOB", "Bob")
    session.flush()


def loc_id(session, code: str | None) -> int | None:
    return None if code is None else session.scalar(select(Location.id).where(Location.code == code))


def opened(session, kind: DocumentKind, at: str | None = "MAIN", **kw) -> Document:
    """A document opened at a station whose location is ``at`` (a count's counted place, a transfer's destination)."""
    doc = documents.open_document(session, kind, **kw)
    doc.location_id = loc_id(session, at)
    session.flush()
    return doc


def line(session, doc: Document, *, serial: str | None = None, product=None, quantity: int = 1,
         at: str | None = None, **kw) -> None:
    """A line located ``at`` (None: none, as older data), through add_line where the kind's rules are known."""
    if doc.kind in (DocumentKind.move, DocumentKind.transfer, DocumentKind.arrival, DocumentKind.count):
        number = session.execute(update(D).where(D.c.id == doc.id).values(line_count=D.c.line_count + 1)
                                 .returning(D.c.line_count)).scalar_one()
        product_id = product.id if product is not None else None
        session.execute(L.insert().values(
            document_id=doc.id, line_no=number, product_id=product_id, serial=serial, quantity=quantity,
            is_open=doc.kind != DocumentKind.count, created_at=datetime.now(UTC), user=doc.user,
            location_id=loc_id(session, at)))
        if product_id is not None:
            tallies.add(session, doc.id, product_id, quantity)
        session.expire(doc, ["lines", "line_count"])
        return
    documents.add_line(session, doc, serial=serial, product=product, quantity=quantity, **kw)
    if at is not None:
        session.execute(update(L).where(L.c.document_id == doc.id, L.c.line_no == doc.line_count)
                        .values(location_id=loc_id(session, at)))


def post(session, kind: DocumentKind, *lines: dict, at: str | None = "MAIN", **kw) -> Document:
    """Open, fill and post a document; each line a dict of ``line``'s keywords."""
    doc = opened(session, kind, at, **kw)
    for one in lines:
        line(session, doc, **one)
    posting.post(session, doc)
    return doc


def product(session, product_id: int):
    return product_by_id(session, product_id)


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
