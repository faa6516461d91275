"""The count figure (SPEC 6, issue 23): a count of thousands of units posted set-based, in under a second.

A location is filled by one receipt of ``units`` serials put away there (written directly and posted,
as the pallet run does); a count of it is written as its scans would leave it: every unit found but
1% (missing: adjusted out), plus 1% never seen (added) and 1% recorded at another site (moved here).
Its posting is timed and its statements counted; ``station check`` must be clean after.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from station.domain import catalogue, documents, posting, stock, tallies
from station.domain.models import Document, DocumentKind, DocumentLine, Location
from station.storage.db import make_sessionmaker

from .document import _statements

PRODUCT, SUPPLIER = "BENCH-COUNT", "BENCH-COUNT-SUPPLIER"
PLACE, OTHER_SITE = "BENCH-SHELF", "BENCH-OTHER"


def _location(s, code: str, parent: str | None) -> int:
    above = s.scalar(select(Location).where(Location.code == parent)) if parent else None
    loc = Location(code=code, name=f"Bench {code}", parent_id=above.id if above else None,
                   site_id=above.site_id if above else None)
    s.add(loc)
    s.flush()
    if above is None:
        loc.site_id = loc.id
    return loc.id


def _filled(Session, kind: DocumentKind, location_id: int, serials: list[str], product_id: int, **kw) -> int:
    """An open document at ``location_id`` with a line a serial (found there), as scans would leave it."""
    L, D = DocumentLine.__table__, Document.__table__
    now = datetime.now(UTC)
    with Session.begin() as s:
        doc = documents.open_document(s, kind, station="bench-count", **kw)
        doc.location_id = location_id
        s.flush()
        rows = [{"document_id": doc.id, "line_no": i + 1, "product_id": product_id, "serial": text, "quantity": 1,
                 "is_open": kind != DocumentKind.count, "takes_unit": False, "created_at": now,
                 "location_id": location_id} for i, text in enumerate(serials)]
        for start in range(0, len(rows), 5000):
            s.execute(insert(L), rows[start:start + 5000])
        s.execute(update(D).where(D.c.id == doc.id).values(line_count=len(rows)))
        tallies.add(s, doc.id, product_id, len(rows))
        return doc.id


def measure(engine: Engine, units: int = 5000) -> dict:
    """Fill a shelf with ``units`` serials, count it, and time the count's posting."""
    Session = make_sessionmaker(engine)
    with Session.begin() as s:
        product = catalogue.create_product(s, PRODUCT, "Bench counted unit")
        supplier = catalogue.create_party(s, "supplier", SUPPLIER, "Bench count supplier")
        shelf, other = _location(s, PLACE, "MAIN"), _location(s, OTHER_SITE, None)
        product_id, supplier_id = product.id, supplier.id
    few = max(units // 100, 1)
    here = [f"CNT-{n:07d}" for n in range(units)]
    elsewhere = [f"CNT-X-{n:07d}" for n in range(few)]
    for place, serials in ((shelf, here), (other, elsewhere)):
        doc_id = _filled(Session, DocumentKind.receipt, place, serials, product_id, supplier=None)
        with Session.begin() as s:
            doc = s.get(Document, doc_id)
            doc.supplier_id = supplier_id
            s.flush()
            posting.post(s, doc)
    found = here[few:] + elsewhere + [f"CNT-NEW-{n:07d}" for n in range(few)]
    count_id = _filled(Session, DocumentKind.count, shelf, found, product_id)
    count, stop_counting = _statements(engine)
    try:
        t0 = time.perf_counter()
        with Session.begin() as s:
            posted = posting.post(s, s.get(Document, count_id))
        elapsed = (time.perf_counter() - t0) * 1000
    finally:
        stop_counting()
    with Session() as s:
        differences = len(stock.check(s))
    return {"units": units, "lines": posted.lines, "missing": few, "moved": few, "added": few,
            "posting_ms": round(elapsed, 1), "posting_statements": count[0], "check_differences": differences}
