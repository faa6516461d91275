"""Driving K stations through the scan path at once, and proving nothing was taken twice.

Each scan goes the way a scanner's line goes in the daemon: one transaction
(``run_in_transaction``), ``ScanService.process`` reads it, the state
machine decides, the actions are carried out, it commits, and the answer
holds the new prompt. The time of a scan is taken around all of that.
"""
from __future__ import annotations

import gc
import logging
import random
import resource
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from station.config import from_dict
from station.scanning.service import ScanService
from station.storage.checkpoints import checkpointer_of
from station.storage.retry import run_in_transaction

from .rows import Shape
from .statements import Counter, per

log = logging.getLogger(__name__)

# A sale picks one of the serials every station may pick this often (when K > 1), so that
# stations really race for the same serial; the loser is refused, never doubled.
CONTENDED = 0.1
WARMUP_STATION = "bench-warmup"


def station_id(n: int) -> str:
    return f"bench-{n + 1:02d}"


def run_together(station, stations: int, barrier: threading.Barrier, before_release=None) -> float:
    """``station(n)`` for n in 0..stations-1, each on its own thread, all released at once by ``barrier`` (which
    they wait on, and this thread last, after ``before_release``): the wall time from the release until the last
    one ends."""
    threads = [threading.Thread(target=station, args=(n,), name=station_id(n)) for n in range(stations)]
    for t in threads:
        t.start()
    if before_release is not None:
        before_release()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def percentiles(latencies_s: list[float]) -> dict[str, float]:
    """p50/p90/p99/max in milliseconds (nearest rank)."""
    if not latencies_s:
        return {"p50_ms": 0.0, "p90_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(latencies_s)

    def rank(q: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 1)) - 1))] * 1000

    return {"p50_ms": round(rank(0.50), 3), "p90_ms": round(rank(0.90), 3), "p99_ms": round(rank(0.99), 3),
            "max_ms": round(ordered[-1] * 1000, 3)}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB): the fill's peak included."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_mb() -> float | None:
    """Resident memory now (Linux), so the scan path's footprint shows apart from the fill's peak."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * resource.getpagesize() / 2 ** 20, 1)


class Plan:
    """What one station's operator scans: boxes received, then a few serials sold, over and over.

    Receiving: ``CMD:RECEIVE``, ``SUP:<supplier>``, a product's barcode, 5-20 new
    serials (now and then one that is in stock already, which is refused),
    ``CMD:FINISH``. Selling: ``CMD:SELL``, 1-3 serials of the filled stock
    (half of them after their product's barcode), ``CMD:FINISH``. The serials
    a station sells are its own, except ``CONTENDED`` of them, which any
    station may pick, and those are only ever scanned alone (a refused serial
    after a product scan would leave the product waiting).
    """

    def __init__(self, shape: Shape, station: int, stations: int, seed: int, *, warmup: bool = False):
        self.shape = shape
        self.station = station
        self.stations = stations
        self.rng = random.Random(seed * 1000 + station)
        self.used: set[int] = set()
        self.new = 0
        # In-stock serials are i % 4 in (0, 1): i = 4g or 4g + 1. The measured stations sell
        # i = 4g (the first ``hot`` groups shared by all, the rest split by station), the warm-up 4g + 1.
        self.groups = shape.serials // 4
        self.hot = min(max(8, 2 * stations), max(1, self.groups // 4))  # few, so that picks do collide
        self.offset = 1 if warmup else 0
        self.tag = "WARM" if warmup else "NEW"  # new serials of the warm-up never collide with the run's

    def own_serial(self) -> int:
        span = (self.groups - self.hot) // self.stations
        for _ in range(1000):
            g = self.hot + 1 + self.station + self.stations * self.rng.randrange(max(1, span))
            i = 4 * g + self.offset
            if 1 <= i <= self.shape.serials and i not in self.used:
                self.used.add(i)
                return i
        raise RuntimeError("the fill holds too few serials in stock for this many scans: raise --serials")

    def contended_serial(self) -> int:
        # The same small pool for every station, so that picks collide.
        return 4 * (1 + self.rng.randrange(self.hot))

    def scans(self, count: int) -> list[str]:
        sh, rng, out = self.shape, self.rng, []
        while len(out) < count:
            product = rng.randint(1, sh.products)
            out += ["CMD:RECEIVE", f"SUP:{sh.supplier_code(rng.randint(1, sh.suppliers))}", sh.barcode(product)]
            for _ in range(rng.randint(5, 20)):
                if rng.random() < 0.03:
                    out.append(sh.serial(self.own_serial()))  # in stock already: refused
                self.new += 1
                out.append(f"{self.tag}{self.station:03d}X{self.new:07d}")
            out += ["CMD:FINISH", "CMD:SELL"]
            for _ in range(rng.randint(1, 3)):
                if self.stations > 1 and rng.random() < CONTENDED:
                    out.append(sh.serial(self.contended_serial()))
                    continue
                i = self.own_serial()
                if rng.random() < 0.5:
                    out.append(sh.barcode(sh.product_of(i)))
                out.append(sh.serial(i))
            out.append("CMD:FINISH")
        return out[:count]


def bench_config(stations: int):
    return from_dict({"stations": [{"id": station_id(n), "mode": "sell"} for n in range(stations)]
                      + [{"id": WARMUP_STATION, "mode": "sell"}]})


@dataclass
class StationRun:
    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0  # this thread's CPU seconds in the scans: the time not spent waiting
    accepted: int = 0
    refused: int = 0
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    costs: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)  # by kind: statements, round trips
    spans: list[tuple[float, float, str]] = field(default_factory=list)  # each scan's start, end and kind
    codes: dict[str, int] = field(default_factory=dict)  # refusals by code: lost races show here


def kind_costs(costs: list[tuple[int, int | None]]) -> dict:
    """What one kind of scan cost: its statements (and on PostgreSQL round trips) a scan on average and at most,
    each scan counted in its own station's thread (statements.Counter.in_this_thread), its retries included."""
    if not costs:
        return {}
    statements = [c[0] for c in costs]
    out = {"statements": per(sum(statements), len(costs)), "statements_max": max(statements)}
    if costs[0][1] is not None:
        trips = [c[1] for c in costs]
        out |= {"round_trips": per(sum(trips), len(costs)), "round_trips_max": max(trips)}
    return out


def drive(engine: Engine, shape: Shape, stations: int, scans: int, *, seed: int = 1) -> dict:
    """K stations scanning M scans each, at once (one thread and connection each)."""
    config = bench_config(stations)
    service = ScanService(config)
    factory = sessionmaker(engine, expire_on_commit=False)
    plans = [Plan(shape, n, stations, seed).scans(scans) for n in range(stations)]
    warm = Plan(shape, 0, 1, seed + 7, warmup=True).scans(30)
    for raw in warm:  # compile statements, fill caches and the pool: not measured
        run_in_transaction(factory, lambda s, raw=raw: service.process(s, WARMUP_STATION, raw, device="bench"))
    movement_before = _max_movement(engine)
    counter = Counter(engine)
    barrier = threading.Barrier(stations + 1)
    runs = [StationRun() for _ in range(stations)]

    def station(n: int) -> None:
        run, sid = runs[n], station_id(n)
        with engine.connect():
            pass  # a pooled connection ready before the start
        barrier.wait()
        for raw in plans[n]:
            def one(session: Session, raw=raw):
                run.attempts += 1
                return service.process(session, sid, raw, device="bench")
            t0, c0 = time.perf_counter(), time.thread_time()
            sent = counter.in_this_thread()
            try:
                result = run_in_transaction(factory, one)
            except Exception as exc:  # a bug: counted and shown, the bench goes on
                run.errors.append(f"{raw}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                continue
            dt = time.perf_counter() - t0
            run.cpu += time.thread_time() - c0
            run.latencies.append(dt)
            kind = result.read_as or "invalid"
            run.by_kind.setdefault(kind, []).append(dt)
            statements, round_trips = counter.in_this_thread()
            run.costs.setdefault(kind, []).append(
                (statements - sent[0], None if round_trips is None else round_trips - sent[1]))
            run.spans.append((t0, t0 + dt, kind))
            if result.accepted:
                run.accepted += 1
            else:
                run.refused += 1
                run.codes[result.code or "?"] = run.codes.get(result.code or "?", 0) + 1

    collections: list[tuple[str, int, float]] = []  # the garbage collector's (phase, generation, when)

    def collected(phase: str, info: dict) -> None:
        collections.append((phase, info["generation"], time.perf_counter()))

    checkpointer = checkpointer_of(engine)
    checkpoints_before = checkpointer.done if checkpointer else 0
    gc.callbacks.append(collected)
    try:
        wall = run_together(station, stations, barrier, before_release=counter.start)
    finally:
        gc.callbacks.remove(collected)
    counter.stop()
    latencies = [x for r in runs for x in r.latencies]
    by_kind: dict[str, list[float]] = {}
    costs: dict[str, list[tuple[int, int | None]]] = {}
    for r in runs:
        for k, v in r.by_kind.items():
            by_kind.setdefault(k, []).extend(v)
        for k, c in r.costs.items():
            costs.setdefault(k, []).extend(c)
    total = sum(len(p) for p in plans)
    out = {
        "throughput_per_s": round(len(latencies) / wall, 1) if wall > 0 else 0.0,
        **percentiles(latencies),
        "cpu_ms_per_scan": round(1000 * sum(r.cpu for r in runs) / max(1, len(latencies)), 3),
        "accepted": sum(r.accepted for r in runs),
        "refused": sum(r.refused for r in runs),
        "refused_by_code": {c: sum(r.codes.get(c, 0) for r in runs)
                            for c in sorted({c for r in runs for c in r.codes})},
        "retries": sum(r.attempts for r in runs) - (total - sum(len(r.errors) for r in runs)),
        "errors": sum(len(r.errors) for r in runs),
        # Over the whole mix (commands, parties, products, serials, postings), retries included.
        "statements_per_scan": per(counter.statements, len(latencies)),
        "round_trips_per_scan": per(counter.round_trips, len(latencies)),
        "by_kind": {k: {"scans": len(v), **{q: p for q, p in percentiles(v).items() if q in ("p50_ms", "p99_ms")},
                        **kind_costs(costs.get(k, []))}
                    for k, v in sorted(by_kind.items())},
    }
    out.update(tail([span for r in runs for span in r.spans], collections))
    # SQLite: checkpoints the engine's thread ran meanwhile, none of them on a scan's time (storage/checkpoints.py).
    out["wal_checkpoints"] = checkpointer.done - checkpoints_before if checkpointer else None
    if any(r.errors for r in runs):
        out["first_errors"] = [e for r in runs for e in r.errors][:5]
    out.update(integrity(engine, movement_before))
    return out


def tail(spans: list[tuple[float, float, str]], collections: list[tuple[str, int, float]]) -> dict:
    """What the slowest 1% of the scans were (at least one), and the garbage collections of the run: a tail is
    read by what it spent its time on, the load of the machine aside (issue 22)."""
    runs = [(t, g) for phase, g, t in collections if phase == "start"]
    ends = [t for phase, _g, t in collections if phase == "stop"]
    pauses = list(zip(runs, ends, strict=False))  # ((start, generation), stop): one collection at a time
    slow = sorted(spans, key=lambda s: s[0] - s[1])[:max(1, len(spans) // 100)]
    kinds: dict[str, int] = {}
    for _t0, _t1, kind in slow:
        kinds[kind] = kinds.get(kind, 0) + 1
    return {"gc_collections": {str(g): sum(1 for _t, gen in runs if gen == g) for g in (0, 1, 2)},
            "tail": {"scans": len(slow), "by_kind": dict(sorted(kinds.items())),
                     "in_a_collection": sum(1 for t0, t1, _k in slow
                                            if any(s < t1 and e > t0 for (s, _g), e in pauses))}}


def _max_movement(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(max(id), 0) FROM movement")).scalar_one()


def integrity(engine: Engine, movement_before: int) -> dict[str, int]:
    """Proof that no serial was taken twice: over every serial the run moved, its stock never left 0..1.

    ``doubles``: serials whose running sum of movements went below 0 (sold
    twice) or above 1 (received twice); ``differences``: serials whose
    ``in_stock`` disagrees with their movements; ``open_twice``: serials on
    two open documents.
    """
    touched = "SELECT DISTINCT serial_id FROM movement WHERE id > :m0 AND serial_id IS NOT NULL"
    with engine.connect() as conn:
        doubles = conn.execute(text(
            f"SELECT count(DISTINCT serial_id) FROM (SELECT m.serial_id, SUM(m.quantity) OVER "
            f"(PARTITION BY m.serial_id ORDER BY m.id) AS level FROM movement m "
            f"WHERE m.serial_id IN ({touched})) AS run WHERE level < 0 OR level > 1"),
            {"m0": movement_before}).scalar_one()
        differences = conn.execute(text(
            f"SELECT count(*) FROM serial_number s JOIN (SELECT serial_id, SUM(quantity) AS q FROM movement "
            f"WHERE serial_id IN ({touched}) GROUP BY serial_id) x ON x.serial_id = s.id "
            f"WHERE x.q NOT IN (0, 1) OR (x.q = 1 AND NOT s.in_stock) OR (x.q = 0 AND s.in_stock)"),
            {"m0": movement_before}).scalar_one()
        open_twice = conn.execute(text(
            "SELECT count(*) FROM (SELECT serial FROM document_line WHERE is_open AND serial IS NOT NULL "
            "GROUP BY serial HAVING count(*) > 1) AS d")).scalar_one()
        moved = conn.execute(text(f"SELECT count(*) FROM ({touched}) AS t"), {"m0": movement_before}).scalar_one()
    return {"serials_moved": moved, "doubles": doubles, "differences": differences, "open_twice": open_twice}
