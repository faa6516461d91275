"""``station bench --processes N``: N stations, each its own OS process with its own connection (issue 22).

Threads in one process measure the interpreter's lock, not N tills, each of
which is a process on a box of its own. Here every station is a process
(``multiprocessing``, spawned: nothing inherited but its arguments) with its
own engine and one connection, scanning the plan ``drive.Plan`` gives it
through ``run_in_transaction`` and ``ScanService.process``, as the daemon
does. Two phases, started together by a barrier:

- saturation: every station scans its ``scans`` as fast as it can; the
  throughput is all scans over the wall time from the first start to the
  last finish, with the latency of each scan;
- paced: every station scans at ``rate`` scans a second (2: a busy counter)
  for ``seconds``, its starts spread over the first period so the stations
  do not scan in lockstep; each scan is timed from its start, and how late
  it started behind its schedule is reported apart.

Afterwards the database is proved as ``station check`` proves it (stock
against movements: ``differences``), and no serial taken twice
(``drive.integrity``: ``doubles``, ``open_twice``). Timings are reported,
never judged here.
"""
from __future__ import annotations

import logging
import multiprocessing
import time
import traceback

from sqlalchemy.engine import Engine

from station.domain import stock
from station.storage.db import make_sessionmaker

from .drive import Plan, _max_movement, integrity, percentiles, station_id
from .rows import Shape

log = logging.getLogger(__name__)

WAIT_S = 600  # the longest a barrier or an answer is waited for before the run is called failed


def _station_main(url: str, shape: Shape, n: int, stations: int, scans: int, paced: int, rate: float, seed: int,
                  barrier, answers) -> None:
    """One station process: warm up, then the saturation and paced phases; its figures go back on ``answers``."""
    from station.config import from_dict
    from station.scanning.service import ScanService
    from station.storage.db import make_engine
    from station.storage.retry import run_in_transaction

    logging.getLogger("station.scanning.service").setLevel(logging.WARNING)  # one log line a scan
    sid, warm = station_id(n), f"bench-warm-{n + 1:02d}"
    engine = make_engine(url, **({"pool_size": 1, "max_overflow": 0} if url.startswith("postgres") else {}))
    try:
        Session = make_sessionmaker(engine)
        service = ScanService(from_dict({"stations": [{"id": sid, "mode": "sell"}, {"id": warm, "mode": "sell"}]}))
        plan = Plan(shape, n, stations, seed).scans(scans + paced)
        for raw in Plan(shape, n, stations, seed + 7, warmup=True).scans(20):  # statements compiled, caches filled
            run_in_transaction(Session, lambda s, raw=raw: service.process(s, warm, raw, device="bench"))
        out = {"n": n, "errors": [], "refused": 0}

        def scan(raw: str) -> float:
            t0 = time.perf_counter()
            try:
                result = run_in_transaction(Session, lambda s: service.process(s, sid, raw, device="bench"))
            except Exception as exc:  # a bug: counted and shown, the run goes on
                out["errors"].append(f"{raw}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                return time.perf_counter() - t0
            out["refused"] += not result.accepted
            return time.perf_counter() - t0

        barrier.wait(WAIT_S)
        start, c0 = time.monotonic(), time.process_time()
        out["saturation"] = [scan(raw) for raw in plan[:scans]]
        out["saturation_span"] = (start, time.monotonic())
        out["saturation_cpu_s"] = time.process_time() - c0
        barrier.wait(WAIT_S)
        # Spread the stations' first scans over one period, then keep each to its own schedule.
        period = 1.0 / rate
        begin = time.monotonic() + period * n / stations
        latencies, late = [], []
        for k, raw in enumerate(plan[scans:]):
            due = begin + k * period
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # pacing a load generator, not waiting for an event
            late.append(max(0.0, time.monotonic() - due))
            latencies.append(scan(raw))
        out["paced"], out["late"] = latencies, late
        answers.put(out)
    except BaseException as exc:  # reported to the parent, which says so in the figures
        barrier.abort()
        answers.put({"n": n, "fatal": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()})
    finally:
        engine.dispose()


def measure(engine: Engine, url: str, shape: Shape, *, processes: int, scans: int, seconds: float,
            rate: float = 2.0, seed: int = 1) -> dict:
    """Run ``processes`` station processes on the filled database at ``url``; the figures, and the check after."""
    paced = max(1, round(seconds * rate))
    movement_before = _max_movement(engine)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes + 1)
    answers = ctx.Queue()
    procs = [ctx.Process(target=_station_main, name=station_id(n),
                         args=(url, shape, n, processes, scans, paced, rate, seed, barrier, answers))
             for n in range(processes)]
    for p in procs:
        p.start()
    results: list[dict] = []
    try:
        barrier.wait(WAIT_S)  # every station warm: saturation starts
        barrier.wait(WAIT_S)  # every station done with it: the paced phase starts
    except Exception:  # a station failed (it aborted the barrier): its answer says why
        pass
    for _ in procs:
        results.append(answers.get(timeout=WAIT_S))
    for p in procs:
        p.join(timeout=60)
    fatal = [r for r in results if "fatal" in r]
    out: dict = {"kind": "processes", "processes": processes, "scans": scans, "rate_per_station": rate,
                 "paced_seconds": seconds}
    if fatal:
        out["errors"] = len(fatal)
        out["first_errors"] = [r["fatal"] for r in fatal][:5]
        log.error("station process failed:\n%s", fatal[0]["trace"])
        return out
    sat = [x for r in results for x in r["saturation"]]
    wall = max(r["saturation_span"][1] for r in results) - min(r["saturation_span"][0] for r in results)
    paced_lat = [x for r in results for x in r["paced"]]
    late = [x for r in results for x in r["late"]]
    errors = [e for r in results for e in r["errors"]]
    out |= {
        "saturation": {"scans": len(sat), "throughput_per_s": round(len(sat) / wall, 1) if wall > 0 else 0.0,
                       **percentiles(sat),
                       "cpu_ms_per_scan": round(1000 * sum(r["saturation_cpu_s"] for r in results) / max(1, len(sat)),
                                                3)},
        "paced": {"scans": len(paced_lat), **percentiles(paced_lat),
                  "late_p99_ms": percentiles(late)["p99_ms"]},
        "refused": sum(r["refused"] for r in results),
        "errors": len(errors),
    }
    if errors:
        out["first_errors"] = errors[:5]
    with make_sessionmaker(engine)() as session:
        differences = stock.check(session)
    # ``station check``'s differences beside the run's own proof (doubles, differences, open_twice).
    out["check"] = {**integrity(engine, movement_before), "station_check_differences": len(differences)}
    if differences:
        out["check"]["first_station_check_differences"] = [str(d) for d in differences[:5]]
    return out
