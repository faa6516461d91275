"""Locations as the scan path reads them: a ``LOC:`` code, the station's own location, and the places under one.

The Location record itself (adding, editing, moving a parent) is the locations
room's; this module only reads, in one indexed statement each, what a scan
needs: the active location a code names with its site (``by_code``), whether a
station's configured location is an active one (``home``), both read as the
location's facts (station.domain.location_facts, the record's one read model)
and seen by the machine as a ``LocationInfo`` (``info``), and whether one
location is under another (``under``: a walk up the parents, as deep as the
tree, never as wide). The statements are built once (see station.domain.facts).
"""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import bindparam, literal, select, update
from sqlalchemy.orm import Session

from station.domain import location_facts
from station.domain.errors import Refusal
from station.domain.facts import DocumentHead
from station.domain.location_facts import LocationFacts
from station.domain.models import Document, Location
from station.domain.vocabulary import DocumentKind, DocumentStatus
from station.domain.wording import plural
from station.scan_core.reading import LocationInfo

L = Location.__table__
D = Document.__table__
_SET_DOCUMENT_PLACE = update(D).where(D.c.id == bindparam("document_id")).values(location_id=bindparam("location_id"))
_TO = location_facts.Reading.named("destination")


def _under():
    """Whether ``place`` is ``root`` or under it: its chain of parents walked up (a recursive CTE)."""
    up = select(L.c.id, L.c.parent_id).where(L.c.id == bindparam("place")).cte("up", recursive=True)
    up = up.union_all(select(L.c.id, L.c.parent_id).join(up, L.c.id == up.c.parent_id))
    return select(literal(1)).select_from(up).where(up.c.id == bindparam("root")).limit(1)


_UNDER = _under()
_SENT = select(D.c.id).where(D.c.reference == bindparam("reference"), D.c.kind == DocumentKind.transfer,
                             D.c.status == DocumentStatus.posted)
_DESTINATION = (select(*_TO.columns()).select_from(_TO.joins(D.join(_TO.place, _TO.place.c.id == D.c.location_id)))
                .where(D.c.reference == bindparam("reference"), D.c.kind == DocumentKind.transfer))


def info(place: LocationFacts | None, home_site_id: int | None) -> LocationInfo | None:
    """A location's facts as the scan machine sees them: whether it is at the station's site (``home_site_id``;
    None: the station has no location, so every site is its own)."""
    if place is None:
        return None
    return LocationInfo(place.id, place.code, place.name, place.site_id, place.site_code, place.site_name,
                        here=home_site_id is None or place.site_id == home_site_id)


def by_code(session: Session, code: str, home_site_id: int | None) -> LocationInfo | None:
    """The active location ``code`` names, with its site, and whether that is the station's site; None: no such."""
    return info(location_facts.by_code(session, code, active_only=True), home_site_id)


def home(session: Session, code: str) -> LocationFacts | None:
    """The station's configured location ``code``, when it is an active location (else None)."""
    return location_facts.by_code(session, code, active_only=True)


def under(session: Session, place_id: int, root_id: int) -> bool:
    """True when location ``place_id`` is ``root_id`` or anywhere under it."""
    return session.connection().execute(_UNDER, {"place": place_id, "root": root_id}).first() is not None


def transfer_sent(session: Session, reference: str) -> bool:
    """True when ``reference`` is a transfer that was sent (posted): its units can arrive."""
    return session.connection().execute(_SENT, {"reference": reference}).first() is not None


def arrival_place(session: Session, reference: str, home_site_id: int | None) -> int:
    """Where a transfer's units arrive: its destination, which must be at the station's site (else a Refusal)."""
    to = location_facts.of(session.connection().execute(_DESTINATION, {"reference": reference}).one())
    if home_site_id is not None and to.site_id != home_site_id:
        raise Refusal("location_at_other_site", f"{reference} goes to {to.site_name} ({to.site_code}), not to this "
                                                "station's site: its units arrive there.")
    return to.id


def named(place: LocationInfo) -> str:
    """"Aisle A, bin 3 (A-03)": a location as the operator reads it."""
    return f"{place.name} ({place.code})"


def settle(session: Session, doc: DocumentHead, current: LocationInfo | None, new: LocationInfo) -> DocumentHead:
    """A LOC: on the open document: the document as it stands after it (its own location may follow), or a Refusal.

    A transfer goes to one site: a location of another site is refused once units are on it, else it becomes
    the transfer's destination. A count counts one place and what is under it: a location under it says where
    the next units were found; one outside it is refused once units are counted, else it is the place counted.
    A receipt's, an arrival's or a move's LOC: only says where the next units go.
    """
    if doc.kind is DocumentKind.transfer and current is not None and new.site_id != current.site_id:
        if doc.line_count:
            raise Refusal("document_open", f"Transfer {doc.reference} with {plural(doc.line_count, 'line')} goes to "
                                           f"{current.site_name} ({current.site_code}), and {new.code} is at "
                                           f"{new.site_name} ({new.site_code}): scan CMD:FINISH or CMD:CANCEL "
                                           "before sending units to another site.")
        return _replace_place(session, doc, new)
    counted = doc.location_id
    if doc.kind is DocumentKind.count and counted is not None and not under(session, new.id, counted):
        if doc.line_count:
            raise Refusal("document_open", f"Count {doc.reference} with {plural(doc.line_count, 'line')} counts "
                                           f"another place, and {new.code} is not under it: scan CMD:FINISH or "
                                           "CMD:CANCEL before counting it.")
        return _replace_place(session, doc, new)
    return doc


def _replace_place(session: Session, doc: DocumentHead, new: LocationInfo) -> DocumentHead:
    session.connection().execute(_SET_DOCUMENT_PLACE, {"document_id": doc.id, "location_id": new.id})
    return replace(doc, location_id=new.id)


def homeless(session: Session, stations) -> str | None:
    """The sentence ``station run`` and ``station serve`` refuse to start with while a station's ``location`` is not
    an active location (SPEC 3c), naming the first such station; None when every station's is."""
    for station in stations:
        if home(session, station.location) is None:
            return (f"station {station.id}'s location {station.location} is not an active location: "
                    f"add it with `station location add` (or set the station's location to an active one)")
    return None
