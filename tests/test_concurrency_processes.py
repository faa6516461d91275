"""Station processes, not threads, racing on one PostgreSQL (issue 6 item 1).

Threads share one interpreter (and its GIL), which could hide a race that
separate daemons on separate machines would meet. Here eight separate
processes, each with its own engine, sell the same serials at the same
moments (a ``multiprocessing`` barrier before each serial), then post.
"""
from __future__ import annotations

import multiprocessing
from collections import Counter

import pytest
from helpers.database import create_database
from sqlalchemy import func, select

from station.domain import catalogue, documents, posting, stock
from station.domain.models import DocumentKind, Movement, MovementKind, SerialNumber

pytestmark = pytest.mark.slow

PROCESSES = 8
SERIALS = 80


def station_process(url: str, k: int, serials: list[str], barrier, answers) -> None:
    """One station daemon: its own engine, the daemon's path for each scan, answers sent back."""
    from station.config import from_dict
    from station.scanning.service import ScanService
    from station.storage.db import make_engine, make_sessionmaker
    from station.storage.retry import run_in_transaction

    station = f"till{k}"
    engine = make_engine(url, pool_size=1, max_overflow=0)
    Session = make_sessionmaker(engine)
    service = ScanService(from_dict({"stations": [{"id": station, "mode": "sell"}]}))
    out = []

    def scan(raw: str):
        result = run_in_transaction(Session, lambda s: service.process(s, station, raw, device="race"))
        out.append((raw, result.accepted, result.code))
        return result

    try:
        for n, serial in enumerate(serials):
            barrier.wait(timeout=60)
            scan(serial)
            if n % (2 + k % 3) == 1 and scan("CMD:FINISH").code not in (None, "no_open_document"):
                scan("CMD:CANCEL")
        if scan("CMD:FINISH").code not in (None, "no_open_document"):
            scan("CMD:CANCEL")
        answers.put((k, out, None))
    except BaseException as exc:  # reported to the test, which fails on it
        barrier.abort()
        answers.put((k, out, repr(exc)))
    finally:
        engine.dispose()


def test_station_processes_never_sell_a_serial_twice(tmp_path):
    """Eight station processes scan each in-stock serial at once: each is sold at most once, stock stays true."""
    db = create_database("postgresql", tmp_path)
    try:
        with db.Session.begin() as s:
            widget = catalogue.create_product(s, "WID-1", "Widget", barcodes=["036000291452"])
            acme = catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")
            receipt = documents.open_document(s, DocumentKind.receipt, station="setup", supplier=acme)
            for n in range(SERIALS):
                documents.add_line(s, receipt, product=widget, serial=f"SN-{n:04d}")
            posting.post(s, receipt)
        serials = [f"SN-{n:04d}" for n in range(SERIALS)]
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(PROCESSES)
        answers = ctx.Queue()
        procs = [ctx.Process(target=station_process, args=(db.url, k, serials, barrier, answers))
                 for k in range(PROCESSES)]
        for p in procs:
            p.start()
        results = [answers.get(timeout=600) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert [r[2] for r in results if r[2]] == [], "a station process raised"
        assert all(p.exitcode == 0 for p in procs)
        taken = Counter(raw for _, out, _ in results for raw, ok, _ in out if ok and raw.startswith("SN-"))
        assert taken, "no scan was accepted: the race did not run"
        with db.Session() as s:
            sales = Counter(dict(s.execute(
                select(SerialNumber.serial, func.count()).join(Movement, Movement.serial_id == SerialNumber.id)
                .where(Movement.kind == MovementKind.sale).group_by(SerialNumber.serial)).all()))
            assert sales and max(sales.values()) == 1, "a serial was sold twice"
            assert s.scalar(select(func.count()).select_from(SerialNumber).where(
                SerialNumber.in_stock.is_(False))) == len(sales)
            assert stock.check(s) == []
    finally:
        db.close()
