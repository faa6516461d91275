"""The large-document figures: one receipt of thousands of serials scanned, and posted (SPEC 6, issue 12).

A goods-in clerk receiving a pallet scans thousands of serials into one
receipt; the 5,000th scan must cost what the first does. The run scans the
first and the last ``window`` serials of a receipt of ``serials`` through the
scan service in process (the path a scanner's line takes, after the spool),
timing every scan and counting its statements, then times the posting of all
of them. The lines in between are written directly (rows of lines and their
tally in a few multi-row inserts, what the scans would have left): scanning
them too would repeat the first figure for half a minute and keep the plain
bench over its minute. A posting of ``posting_lines`` serials is timed apart,
its open receipt written the same way.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from station.config import from_dict
from station.domain import catalogue, documents, posting, tallies
from station.domain.models import Document, DocumentKind, DocumentLine, DocumentStatus
from station.scanning.service import ScanService
from station.storage.db import make_sessionmaker

from .drive import percentiles
from .statements import Counter

STATION = "bench-pallet"
PRODUCT, GTIN, SUPPLIER = "BENCH-PALLET", "04012345678901", "BENCH-SUPPLIER"


def pallet(engine: Engine, *, serials: int = 5000, window: int = 500, posting_lines: int = 30000) -> dict:
    """Scan one receipt of ``serials`` serials and post it; post one of ``posting_lines`` apart."""
    Session = make_sessionmaker(engine)
    _catalogue(Session)
    service = ScanService(from_dict({"stations": [{"id": STATION, "mode": "receive"}]}))
    counter = Counter(engine).start()
    scan = timed_scans(Session, service, STATION, counter, "scan")

    try:
        scan(f"SUP:{SUPPLIER}", "pallet-sup")
        scan(GTIN, "pallet-product")
        window = min(window, serials // 2 or 1)
        timed = [scan(f"PAL-{n:07d}", f"pallet-{n}") for n in range(window)]
        _write_lines(Session, STATION, range(window, serials - window), prefix="PAL-")
        timed += [scan(f"PAL-{n:07d}", f"pallet-{n}") for n in range(max(window, serials - window), serials)]
        posting_s, posting_statements, _ = scan("CMD:FINISH", "pallet-finish")
    finally:
        counter.stop()
    first, last = [t for t, *_ in timed[:window]], [t for t, *_ in timed[-window:]]
    return {
        "serials": serials,
        "first_scans": {"count": window, **percentiles(first)},
        "last_scans": {"count": window, **percentiles(last)},
        "last_vs_first_p50": round(percentiles(last)["p50_ms"] / percentiles(first)["p50_ms"], 2),
        "statements_per_scan": {"first": timed[0][1], "last": timed[-1][1]},
        # A serial of a receipt, on PostgreSQL: its statements, its BEGIN and COMMIT riding on them (None on SQLite).
        "round_trips_per_scan": {"first": timed[0][2], "last": timed[-1][2]},
        "posting_ms": round(posting_s * 1000, 1),
        "posting_statements": posting_statements,
        "big_posting": big_posting(engine, posting_lines) if posting_lines else None,
    }


def timed_scans(Session, service: ScanService, station: str, counter: Counter,
                what: str) -> Callable[[str, str], tuple[float, int, int | None]]:
    """A scan of ``station`` in its own transaction, answering its time (s), statements and round trips (None off
    PostgreSQL); a refusal of the bench's own ``what`` is an error."""
    def scan(text: str, key: str) -> tuple[float, int, int | None]:
        (statements, trips), t0 = counter.snapshot(), time.perf_counter()
        with Session.begin() as s:
            result = service.process(s, station, text, device="bench", key=key)
        elapsed = time.perf_counter() - t0
        if not result.accepted:
            raise RuntimeError(f"the bench's own {what} {text} was refused: {result.message}")
        after = counter.snapshot()
        return elapsed, after[0] - statements, None if trips is None else after[1] - trips

    return scan


def _catalogue(Session) -> None:
    """The bench's product and supplier, made once (the pallet run or a big posting alone, whichever comes first)."""
    with Session.begin() as s:
        if catalogue.product_by_barcode(s, GTIN) is None:
            catalogue.create_product(s, PRODUCT, "Bench pallet unit", barcodes=[GTIN])
            catalogue.create_party(s, "supplier", SUPPLIER, "Bench supplier")


def _write_lines(Session, station: str, numbers: range, *, prefix: str) -> int:
    """Append a line a serial to the station's open receipt (opened if it has none), as scans would."""
    L, D = DocumentLine.__table__, Document.__table__
    now = datetime.now(UTC)
    with Session.begin() as s:
        product = catalogue.get_product(s, PRODUCT)
        doc = s.scalars(select(Document).where(Document.station == station, Document.status == DocumentStatus.open,
                                               Document.kind == DocumentKind.receipt)).one_or_none()
        if doc is None:
            supplier = catalogue.get_party(s, "supplier", SUPPLIER)
            doc = documents.open_document(s, DocumentKind.receipt, station=station, supplier=supplier)
        first = doc.line_count + 1
        rows = [{"document_id": doc.id, "line_no": first + i, "product_id": product.id, "serial": f"{prefix}{n:07d}",
                 "quantity": 1, "is_open": True, "takes_unit": False, "created_at": now} for i, n in enumerate(numbers)]
        for start in range(0, len(rows), 5000):
            s.execute(insert(L), rows[start:start + 5000])
        # Set, not added to: on SQLite the lines' trigger (migration 0012) has raised it to their last number.
        s.execute(update(D).where(D.c.id == doc.id).values(line_count=first - 1 + len(rows)))
        tallies.add_serial_lines(s, doc.id, product.id, len(rows))
        return doc.id


def big_posting(engine: Engine, lines: int) -> dict:
    """The posting time of an open receipt of ``lines`` new serials, written directly."""
    Session = make_sessionmaker(engine)
    _catalogue(Session)
    doc_id = _write_lines(Session, "bench-big", range(lines), prefix="BIG-")
    counter = Counter(engine).start()
    try:
        t0 = time.perf_counter()
        with Session.begin() as s:
            posted = posting.post(s, s.get(Document, doc_id))
        elapsed = (time.perf_counter() - t0) * 1000
    finally:
        counter.stop()
    return {"lines": posted.lines, "posting_ms": round(elapsed, 1), "statements": counter.statements}
