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
  it started behind its schedule is reported apart. Every station then
  waits for the others before it sends its figures and ends: a process
  ending took the CPU from the other stations' last scans (at 1,000,000
  serials, the 19 paced scans that ended after the first station had
  finished had a p50 of 185 ms; the 381 before, 17 ms).

Where the time went, per scan (``_split``): the station process's CPU and its
wait for a CPU, its PostgreSQL backend's two (read from Linux's schedstat:
the server is a process on this machine), the garbage collector, and the
rest (waiting on the network, a lock, a disk): the saturation's mean scan as
``*_ms_per_scan``, the paced phase's slowest 1% as ``slowest_1pct_ms``. What
the backends wait on is sampled from ``pg_stat_activity`` (``server_waits``).
``STATION_BENCH_TRACE=FILE`` writes every scan's record to FILE.

Afterwards the database is proved as ``station check`` proves it (stock
against movements: ``differences``), and no serial taken twice
(``drive.integrity``: ``doubles``, ``open_twice``). Timings are reported,
never judged here.
"""
from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import os
import threading
import time
import traceback
from collections import Counter

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from station.domain import stock
from station.storage.db import make_sessionmaker

from .drive import Plan, _max_movement, integrity, percentiles, station_id
from .rows import Shape

log = logging.getLogger(__name__)

WAIT_S = 600  # the longest a barrier or an answer is waited for before the run is called failed
#: Scans each station makes before it is measured: about six receipts and six sales posted, so that its
#: connection's statements are past their first plans, as a till's are once it has posted a few documents (a
#: statement is planned at each of its first five executions on a connection, then takes a generic plan). What
#: those first scans cost, a till's first documents of the day, is reported apart (``warmup``).
WARM_SCANS = 150
#: The stations' connections say who they are (``application_name``): the sampler of their waits finds them by it.
APP = "station-bench-"
SAMPLE_S = 0.025  # how often the stations' backends are looked at (pg_stat_activity) for what they wait on
#: A file to write every scan's record to (one JSON line each: see ``_Tracer``), for a look at the tail.
TRACE_ENV = "STATION_BENCH_TRACE"


def _schedstat(pid: int | str) -> tuple[int, int]:
    """The CPU time a process (or thread) has run, and waited for on the run queue, ns (Linux's schedstat); 0, 0
    elsewhere."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as f:
            ran, waited, _ = f.read().split()
        return int(ran), int(waited)
    except (OSError, ValueError):
        return 0, 0


def _plans(engine: Engine) -> dict[str, tuple[int, int]]:
    """How many custom and generic plans each of the connection's prepared statements has had, by its name
    (PostgreSQL; none elsewhere). A custom plan is a statement planned for its parameters, at each of its first five
    executions; a generic plan is planned once and reused. A statement psycopg dropped (at a rollback) and prepared
    again has a new name."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.begin() as conn:  # committed, not rolled back: psycopg drops its prepared statements at a rollback
        rows = conn.execute(text("SELECT name, custom_plans, generic_plans FROM pg_prepared_statements"))
        return {name: (int(custom), int(generic)) for name, custom, generic in rows}


class _Tracer:
    """What one scan cost, apart: this process's CPU and its wait for a CPU, its server backend's (the same two:
    a PostgreSQL backend is a process on this machine), and the time Python's garbage collector ran within it.
    The rest of a scan's wall time is waiting: on the network, a lock, a disk, a retry's sleep."""

    def __init__(self, backend: int | None):
        self.backend = backend
        self.gc_ns = 0
        self._gc_start = 0
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, _info) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter_ns()
        else:
            self.gc_ns += time.perf_counter_ns() - self._gc_start

    def sample(self) -> tuple[int, ...]:
        c = _schedstat("thread-self")
        s = _schedstat(self.backend) if self.backend else (0, 0)
        return (*c, *s, self.gc_ns)


def _station_main(url: str, shape: Shape, n: int, stations: int, scans: int, paced: int, rate: float, seed: int,
                  barrier, answers) -> None:
    """One station process: warm up, then the saturation and paced phases; its figures go back on ``answers``."""
    from station.config import from_dict
    from station.scanning.service import ScanService
    from station.storage.db import make_engine
    from station.storage.retry import run_in_transaction

    logging.getLogger("station.scanning.service").setLevel(logging.WARNING)  # one log line a scan
    sid, warm = station_id(n), f"bench-warm-{n + 1:02d}"
    one = {"pool_size": 1, "max_overflow": 0, "connect_args": {"application_name": f"{APP}{sid}"}}
    engine = make_engine(url, **(one if url.startswith("postgres") else {}))
    try:
        Session = make_sessionmaker(engine)
        service = ScanService(from_dict({"stations": [{"id": sid, "mode": "sell"}, {"id": warm, "mode": "sell"}]}))
        plan = Plan(shape, n, stations, seed).scans(scans + paced)
        warmup = []
        for raw in Plan(shape, n, stations, seed + 7, warmup=True).scans(WARM_SCANS):
            t0 = time.perf_counter()
            run_in_transaction(Session, lambda s, raw=raw: service.process(s, warm, raw, device="bench"))
            warmup.append(time.perf_counter() - t0)
        out = {"n": n, "errors": [], "refused": 0, "costs": [], "warmup": warmup}
        backend = None
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:  # committed: a rollback would make psycopg drop its prepared statements
                backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        tracer = _Tracer(backend)
        plans_before = _plans(engine)
        rollbacks = [0]  # psycopg drops every prepared statement of its connection at a rollback
        event.listen(engine, "rollback", lambda conn: rollbacks.__setitem__(0, rollbacks[0] + 1))

        def scan(raw: str) -> float:
            before = tracer.sample()
            t0 = time.perf_counter()
            try:
                result = run_in_transaction(Session, lambda s: service.process(s, sid, raw, device="bench"))
                out["refused"] += not result.accepted
            except Exception as exc:  # a bug: counted and shown, the run goes on
                out["errors"].append(f"{raw}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            wall = time.perf_counter() - t0
            after = tracer.sample()
            out["costs"].append((time.time() - wall, wall, *(b - a for a, b in zip(before, after, strict=True)), raw))
            return wall

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
        # Every station done before any ends: a process that ends (its answer pickled and sent, its engine
        # disposed, its interpreter torn down) took the CPU from the other stations' last scans.
        barrier.wait(WAIT_S)
        plans = _plans(engine)
        out["plans"] = [sum(counts[i] - plans_before.get(name, (0, 0))[i] for name, counts in plans.items())
                        for i in (0, 1)]
        out["rollbacks"] = rollbacks[0]
        answers.put(out)
    except BaseException as exc:  # reported to the parent, which says so in the figures
        barrier.abort()
        answers.put({"n": n, "fatal": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()})
    finally:
        engine.dispose()


class _Waits:
    """What the stations' PostgreSQL backends are doing, sampled every SAMPLE_S from ``pg_stat_activity``: per
    phase, the share of samples of a backend in a transaction that found it running ("cpu"), waiting on the client
    ("client": the round trip, the station's own CPU), or waiting on ``wait_event_type:wait_event`` (a lock, an
    advisory lock, a WAL flush...)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.phase = ""
        self.counts: dict[str, Counter] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-waits", daemon=True)

    def __enter__(self) -> _Waits:
        if self.engine.dialect.name == "postgresql":
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        query = text("SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                     "WHERE application_name LIKE :app AND state <> 'idle'")
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            while not self._stop.wait(SAMPLE_S):
                if not self.phase:
                    continue
                counts = self.counts.setdefault(self.phase, Counter())
                for state, kind, event in conn.execute(query, {"app": APP + "%"}):
                    if kind is None:
                        counts["cpu"] += 1
                    elif kind == "Client" and state.startswith("idle in transaction"):
                        counts["client"] += 1
                    else:
                        counts[f"{kind}:{event}"] += 1

    def shares(self, phase: str) -> dict[str, float]:
        counts = self.counts.get(phase, Counter())
        total = sum(counts.values())
        return {key: round(n / total, 3) for key, n in counts.most_common()} if total else {}


def _split(costs: list[tuple]) -> dict[str, float]:
    """Where scans' time went, mean ms a scan: this process's CPU and its wait for one, the server backend's two,
    the garbage collector (within the client's CPU), and the rest (waiting on the network, locks, disks)."""
    if not costs:
        return {}
    n = len(costs)
    mean = [sum(c[i] for c in costs) / n for i in range(1, 7)]
    wall, ccpu, cwait, scpu, swait, gc_ns = mean[0] * 1e9, *mean[1:]
    return {"wall": round(wall / 1e6, 3), "client_cpu": round(ccpu / 1e6, 3), "client_cpu_wait": round(cwait / 1e6, 3),
            "server_cpu": round(scpu / 1e6, 3), "server_cpu_wait": round(swait / 1e6, 3), "gc": round(gc_ns / 1e6, 3),
            "other": round((wall - ccpu - cwait - scpu - swait) / 1e6, 3)}


def _explain(out: dict, results: list[dict], scans: int, waits: _Waits) -> None:
    """Where the scans' time went (_split, _Waits): the saturation's mean scan, and the paced phase's slowest 1%;
    every scan's record to the file TRACE_ENV names, if it names one."""
    sat_costs = [c for r in results for c in r["costs"][:scans]]
    paced_costs = [c for r in results for c in r["costs"][scans:]]
    out["saturation"] |= {f"{key}_ms_per_scan": value for key, value in _split(sat_costs).items()}
    slowest = sorted(paced_costs, key=lambda c: c[1])[-max(1, len(paced_costs) // 100):]
    out["paced"]["slowest_1pct_ms"] = _split(slowest)
    for phase in ("saturation", "paced"):
        if waits.counts.get(phase):
            out[phase]["server_waits"] = waits.shares(phase)
    if os.environ.get(TRACE_ENV):
        with open(os.environ[TRACE_ENV], "w") as f:
            for r in results:
                for k, c in enumerate(r["costs"]):
                    f.write(json.dumps({"station": r["n"], "phase": "saturation" if k < scans else "paced",
                                        "start": c[0], "wall": c[1], "client_cpu": c[2] / 1e9,
                                        "client_wait": c[3] / 1e9, "server_cpu": c[4] / 1e9,
                                        "server_wait": c[5] / 1e9, "gc": c[6] / 1e9, "raw": c[7]}) + "\n")


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
    with _Waits(engine) as waits:
        try:
            barrier.wait(WAIT_S)  # every station warm: saturation starts
            waits.phase = "saturation"
            barrier.wait(WAIT_S)  # every station done with it: the paced phase starts
            waits.phase = "paced"
            barrier.wait(WAIT_S)  # every station done with it: they send their figures and end
            waits.phase = ""
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
        "warmup": {"scans": sum(len(r["warmup"]) for r in results),
                   **percentiles([x for r in results for x in r["warmup"]])},
        "paced": {"scans": len(paced_lat), **percentiles(paced_lat),
                  "late_p99_ms": percentiles(late)["p99_ms"]},
        # The measured scans' executions of prepared statements: planned for their parameters, or on a plan kept.
        "plans": {"custom": sum(r["plans"][0] for r in results), "generic": sum(r["plans"][1] for r in results)},
        "rollbacks": sum(r["rollbacks"] for r in results),
        "refused": sum(r["refused"] for r in results),
        "errors": len(errors),
    }
    _explain(out, results, scans, waits)
    if errors:
        out["first_errors"] = errors[:5]
    with make_sessionmaker(engine)() as session:
        differences = stock.check(session)
    # ``station check``'s differences beside the run's own proof (doubles, differences, open_twice).
    out["check"] = {**integrity(engine, movement_before), "station_check_differences": len(differences)}
    if differences:
        out["check"]["first_station_check_differences"] = [str(d) for d in differences[:5]]
    return out
