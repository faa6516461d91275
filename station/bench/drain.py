"""The drain figure: scans held through an outage, processed once the database answers (issue 22, item 2).

A station held through an outage has its scans pending in the spool; when
the database comes back the daemon's processor drains them, oldest first.
The run writes ``scans`` of one station's plan (``drive.Plan``: boxes
received, serials sold, a few refusals) into a new spool as pending, which
is what an outage leaves, starts a real ``Processor`` on it, and times it
from its start to the moment the spool holds none: the drain rate. The same
is done for ``one_by_one`` scans with a batch of one (each scan its own
transaction and spool commit, as before batching), the yardstick beside it.
"""
from __future__ import annotations

import shutil
import tempfile
import time

from sqlalchemy.engine import Engine

from station.config import from_dict
from station.daemon.processor import Processor
from station.daemon.spool import Spool
from station.live.status import LiveStatus
from station.scanning.service import ScanService
from station.storage.db import make_sessionmaker

from .drive import Plan
from .rows import Shape

WAIT_S = 600


def _drain(engine: Engine, shape: Shape, station: str, n: int, scans: int, batch: int, seed: int) -> dict:
    config = from_dict({"stations": [{"id": station, "mode": "sell"}]})
    folder = tempfile.mkdtemp(prefix="station-drain-")
    live = LiveStatus()
    try:
        with Spool(f"{folder}/spool.db") as spool:
            plan = Plan(shape, n, 2, seed + 13, warmup=True)  # the serials the scan run's stations leave alone
            plan.tag = f"DRAIN{n}-"  # new serials of its own
            for raw in plan.scans(scans):
                spool.append(station, "bench", raw.encode())
            processor = Processor(spool, make_sessionmaker(engine), ScanService(config), live, stations=[station],
                                  batch=batch)
            seen = live.version
            t0 = time.perf_counter()
            processor.start()
            deadline = time.monotonic() + WAIT_S
            try:
                while spool.has_pending() and time.monotonic() < deadline:
                    seen = live.wait_for_change(seen, 1.0)
                elapsed = time.perf_counter() - t0
            finally:
                processor.stop(timeout=10)
            outcomes = [s.outcome or s.state for s in spool.recent(scans + 1, station=station)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"scans": scans, "batch": batch, "seconds": round(elapsed, 3),
            "scans_per_s": round(scans / elapsed, 1) if elapsed > 0 else 0.0,
            "accepted": sum(o == "accepted" for o in outcomes),
            "refused": sum(o.startswith("refused") for o in outcomes),
            "failed": sum(not (o == "accepted" or o.startswith("refused")) for o in outcomes)}


def measure(engine: Engine, shape: Shape, *, scans: int, batch: int = 50, one_by_one: int = 200,
            seed: int = 1) -> dict:
    """The drain rate of ``scans`` held scans in batches of ``batch``, and of ``one_by_one`` scans one at a time."""
    out = {"drain": _drain(engine, shape, "bench-drain", 0, scans, batch, seed)}
    if one_by_one:
        out["one_by_one"] = _drain(engine, shape, "bench-drain-1", 1, min(scans, one_by_one), 1, seed)
    out["drain_per_s"] = out["drain"]["scans_per_s"]
    return out
