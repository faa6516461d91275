"""The count figures (SPEC 6, issue 23): a count of thousands of units scanned, each scan costing what the first
did, and posted set-based in under a second.

A shelf is filled by one receipt of ``units`` serials put away there (written directly and posted, as the
pallet run does), a second site by a receipt of 1% more, and 1% more serials are made by hand, never in
stock. Then a station scans the count as a clerk would, through the scan service in process (the path a
scanner's line takes after the spool): ``CMD:COUNT``, ``LOC:`` the shelf, every unit found there one scan
each, and ``CMD:FINISH``. It finds every unit of the shelf but one in a hundred (missing: adjusted out when
the count posts), the units recorded at the other site (moved here) and those never in stock (added), the
odd ones in the middle of the run so that its first and last scans are plain ones. Every scan is timed and
its statements counted (``statements.Counter``: SQLAlchemy's ``before_cursor_execute``); the first and the last
``window`` serial scans are reported as the pallet's are, and ``CMD:FINISH`` as the posting (its time and
statements, the scan's own few with it). ``station check`` must be clean after.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from station.config import from_dict
from station.domain import catalogue, documents, posting, serials, stock, tallies
from station.domain.models import Document, DocumentKind, DocumentLine, Location
from station.scanning.service import ScanService
from station.storage.db import make_sessionmaker

from .drive import percentiles
from .large_document import timed_scans
from .statements import Counter

PRODUCT, SUPPLIER = "BENCH-COUNT", "BENCH-COUNT-SUPPLIER"
PLACE, OTHER_SITE = "BENCH-SHELF", "BENCH-OTHER"
#: The counting station: its location is MAIN's default, the shelf is under MAIN. It starts in sell mode, so
#: that its CMD:COUNT is a real mode change.
STATION = "bench-count"


def _location(s, code: str, parent: str | None) -> int:
    above = s.scalar(select(Location).where(Location.code == parent)) if parent else None
    loc = Location(code=code, name=f"Bench {code}", parent_id=above.id if above else None,
                   site_id=above.site_id if above else None)
    s.add(loc)
    s.flush()
    if above is None:
        loc.site_id = loc.id
    return loc.id


def _received(Session, location_id: int, numbers: list[str], product_id: int, supplier_id: int) -> None:
    """A receipt of ``numbers`` put away at ``location_id``, written as its scans would leave it, and posted."""
    L, D = DocumentLine.__table__, Document.__table__
    now = datetime.now(UTC)
    with Session.begin() as s:
        doc = documents.open_document(s, DocumentKind.receipt, station="bench-count-fill")
        doc.location_id, doc.supplier_id = location_id, supplier_id
        s.flush()
        rows = [{"document_id": doc.id, "line_no": i + 1, "product_id": product_id, "serial": text, "quantity": 1,
                 "is_open": True, "takes_unit": False, "created_at": now, "location_id": location_id}
                for i, text in enumerate(numbers)]
        for start in range(0, len(rows), 5000):
            s.execute(insert(L), rows[start:start + 5000])
        s.execute(update(D).where(D.c.id == doc.id).values(line_count=len(rows)))
        tallies.add_serial_lines(s, doc.id, product_id, len(rows))
        s.flush()
        posting.post(s, s.get(Document, doc.id))


def _stocked(Session, units: int) -> tuple[list[str], list[str], list[str]]:
    """The shelf and the other site filled, the never-stocked serials made: the three lists of serials."""
    with Session.begin() as s:
        product = catalogue.create_product(s, PRODUCT, "Bench counted unit")
        supplier = catalogue.create_party(s, "supplier", SUPPLIER, "Bench count supplier")
        shelf, other = _location(s, PLACE, "MAIN"), _location(s, OTHER_SITE, None)
        product_id, supplier_id = product.id, supplier.id
    few = max(units // 100, 1)
    here = [f"CNT-{n:07d}" for n in range(units)]
    elsewhere = [f"CNT-X-{n:07d}" for n in range(few)]
    never = [f"CNT-NEW-{n:07d}" for n in range(few)]
    _received(Session, shelf, here, product_id, supplier_id)
    _received(Session, other, elsewhere, product_id, supplier_id)
    with Session.begin() as s:
        for text in never:
            serials.create_serial(s, text, product=PRODUCT)
    return here, elsewhere, never


def measure(engine: Engine, units: int = 5000, window: int = 30) -> dict:
    """Fill a shelf with ``units`` serials, scan a count of it through the scan service, and post it."""
    Session = make_sessionmaker(engine)
    here, elsewhere, never = _stocked(Session, units)
    missing = here[::100]  # one in a hundred, spread over the shelf
    found = [text for n, text in enumerate(here) if n % 100]
    middle = len(found) // 2
    scans = found[:middle] + elsewhere + never + found[middle:]
    service = ScanService(from_dict({"stations": [{"id": STATION, "mode": "sell"}]}))
    counter = Counter(engine).start()
    scan = timed_scans(Session, service, STATION, counter, "count scan")

    try:
        scan("CMD:COUNT", "count-mode")
        scan(f"LOC:{PLACE}", "count-place")
        timed = [scan(text, f"count-{n}") for n, text in enumerate(scans)]
        posting_s, posting_statements, _ = scan("CMD:FINISH", "count-finish")
    finally:
        counter.stop()
    with Session() as s:
        differences = len(stock.check(s))
        lines = s.scalar(select(Document.line_count).where(Document.station == STATION,
                                                           Document.kind == DocumentKind.count))
    window = min(window, len(timed) // 2 or 1)
    first, last = percentiles([t for t, *_ in timed[:window]]), percentiles([t for t, *_ in timed[-window:]])
    return {
        "units": units, "scans": len(scans), "lines": lines,
        "missing": len(missing), "moved": len(elsewhere), "added": len(never),
        "first_scans": {"count": window, **first},
        "last_scans": {"count": window, **last},
        "last_vs_first_p50": round(last["p50_ms"] / first["p50_ms"], 2) if first["p50_ms"] else None,
        "statements_per_scan": {"first": timed[0][1], "last": timed[-1][1]},
        # A count scan on PostgreSQL: its statements, its BEGIN and its COMMIT riding on them (None on SQLite).
        "round_trips_per_scan": {"first": timed[0][2], "last": timed[-1][2]},
        "posting_ms": round(posting_s * 1000, 1), "posting_statements": posting_statements,
        "check_differences": differences,
    }
