"""``station bench``: fill a scratch database, drive stations through the scan path, report JSON.

Theory of operation: for each database (a temporary SQLite file always, the
local PostgreSQL when it answers, or the URLs given) the bench makes a
scratch database -- a new SQLite file, or a new schema in the PostgreSQL
database, dropped afterwards -- migrates it as ``station init`` does, fills
it with N serials and about 5N movements (``fill``), then runs, one after
the other: K stations scanning M scans each at once (``drive``), the floor
(K threads committing M bare inserts), a serial's record and history
served (``history``), and the integration figures (``integration``: twenty
stations posting while the webhook deliverer sends each posting to a
receiver on loopback, then the event feed read from the start). Timings
are reported, never judged here.
"""
from __future__ import annotations

import logging
import os
import platform
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url

from station.storage.db import make_engine, migrate, normalise_url

from . import drive, integration, yardsticks
from .fill import Shape, fill

log = logging.getLogger(__name__)

DEFAULT_POSTGRES = "postgresql+psycopg://127.0.0.1/test"
DEFAULTS = {"serials": 20000, "stations": 4, "scans": 100, "pallet": 5000, "big_posting": 30000, "http": 400,
            "daemon": 50, "hook_stations": 20, "hook_postings": 5, "drain": 1000, "count": 5000}
FIGURES = ("throughput_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms")  # the same in scan and floor runs


@dataclass
class Target:
    """One database to bench: where the scratch copy lives, and how to remove it."""

    database: str  # sqlite | postgresql
    url: str
    cleanup: Callable[[], None]
    where: str


def sqlite_target(path: str | None = None) -> Target:
    if path is None:
        tmp = tempfile.mkdtemp(prefix="station-bench-")
        return Target("sqlite", f"sqlite:///{tmp}/bench.db", lambda: shutil.rmtree(tmp, ignore_errors=True),
                      "a temporary file")
    return Target("sqlite", f"sqlite:///{_check_new_sqlite(path)}", lambda: None, path)


def postgres_target(url: str) -> Target:
    """A scratch schema in the given database; raises when the server does not answer."""
    admin = make_engine(url, pool_size=1, max_overflow=0, connect_args={"connect_timeout": 3})
    schema = f"station_bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    scratch = make_url(normalise_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
    return Target("postgresql", scratch.render_as_string(hide_password=False), drop,
                  f"schema {schema} of {make_url(normalise_url(url)).render_as_string(hide_password=True)}")


def _check_new_sqlite(path: str) -> str:
    if os.path.exists(path) and os.path.getsize(path) > 0:
        raise ValueError(f"{path} exists: the bench fills a new SQLite file of its own, "
                         "give a path that does not exist")
    return path


def _reachable(makers, skipped: list[dict]) -> Iterator[Target]:
    """Each target made, one at a time; one that does not answer (a given PostgreSQL URL) is added to ``skipped``
    with why, and a bad URL (ValueError) goes up."""
    for database, make in makers:
        try:
            target = make()
        except ValueError:
            raise
        except Exception as exc:  # a given PostgreSQL URL that does not answer
            skipped.append({"database": database, "reason": f"not reachable: {_first_line(exc)}"})
            continue
        yield target


def targets_for(urls: tuple[str, ...]) -> tuple[list[tuple[str, Callable[[], Target]]], list[dict]]:
    """What to bench: the URLs given, else SQLite always and the local PostgreSQL when reachable.

    Each target is made only when its turn comes (a fill of a million serials
    should not sit in a scratch schema while SQLite runs); a bad URL is refused
    here, before anything runs.
    """
    makers: list[tuple[str, Callable[[], Target]]] = []
    skipped: list[dict] = []
    if not urls:
        makers.append(("sqlite", lambda: sqlite_target()))
        try:
            probe = make_engine(DEFAULT_POSTGRES, pool_size=1, max_overflow=0, connect_args={"connect_timeout": 3})
            with probe.connect() as conn:
                conn.execute(text("SELECT 1"))
            probe.dispose()
            makers.append(("postgresql", lambda: postgres_target(DEFAULT_POSTGRES)))
        except Exception as exc:  # unreachable, refused, no such database: skip it and say why
            skipped.append({"database": "postgresql", "url": DEFAULT_POSTGRES,
                            "reason": f"not reachable: {_first_line(exc)}"})
        return makers, skipped
    for url in urls:
        if url == "sqlite":
            makers.append(("sqlite", lambda: sqlite_target()))
        elif url.startswith("sqlite:///"):
            path = _check_new_sqlite(url[len("sqlite:///"):])
            makers.append(("sqlite", lambda path=path: sqlite_target(path)))
        elif url.startswith(("postgresql", "postgres")):
            makers.append(("postgresql", lambda url=url: postgres_target(url)))
        else:
            raise ValueError(f"--database {url}: give a sqlite:///PATH or postgresql://HOST/DB URL")
    return makers, skipped


def _first_line(exc: BaseException) -> str:
    text_ = str(exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__


def machine() -> dict:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            # Other work on the machine shows in the latencies: say how busy it was.
            "load_average": [round(x, 2) for x in os.getloadavg()]}


@dataclass(frozen=True)
class Extras:
    """The runs beside the scan run, each sized (0 leaves it out): see the README's Performance section."""

    pallet: int = DEFAULTS["pallet"]  # serials of the one large receipt scanned
    big_posting: int = DEFAULTS["big_posting"]  # lines of the receipt only posted
    http: int = DEFAULTS["http"]  # scans over HTTP to a real station serve (SQLite only: SPEC 6's target)
    daemon: int = DEFAULTS["daemon"]  # scans through a real station run, scanner to screen (SQLite only)
    hook_stations: int = DEFAULTS["hook_stations"]  # stations posting at once while a webhook receives
    hook_postings: int = DEFAULTS["hook_postings"]  # receipts each of them posts
    drain: int = DEFAULTS["drain"]  # scans held in the spool, then drained by the daemon's processor
    count: int = DEFAULTS["count"]  # units of the one count posted (SPEC 3c, issue 23)


def run(urls: tuple[str, ...] = (), *, serials: int = DEFAULTS["serials"], locations: int = 0,
        stations: int = DEFAULTS["stations"],
        scans: int = DEFAULTS["scans"], history_samples: int = 200, seed: int = 1, extras: Extras = Extras(),
        progress: Callable[[str, int], Callable[[int], None]] | None = None,
        say: Callable[[str], None] = lambda s: None) -> dict:
    """Bench every target and return the JSON document: ``{"runs": [...], ...}``."""
    makers, skipped = targets_for(urls)
    shape = Shape.for_serials(serials, locations=locations)
    runs: list[dict] = []
    # One log line per scan is the daemon's, not the bench's: keep stderr for the progress bars.
    quiet = logging.getLogger("station.scanning.service")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    hooks_log = logging.getLogger("station.webhooks.deliverer")  # and one per delivery
    hooks_level = hooks_log.level
    hooks_log.setLevel(logging.WARNING)
    try:
        for target in _reachable(makers, skipped):
            try:
                runs.extend(_bench_one(target, shape, stations, scans, history_samples, seed, progress, say,
                                       hooks=(extras.hook_stations, extras.hook_postings)))
                runs.extend(_extras(target, shape, extras, say))
            finally:
                target.cleanup()
    finally:
        quiet.setLevel(level)
        hooks_log.setLevel(hooks_level)
    return {"runs": runs, "skipped": skipped, "machine": machine()}


def _bench_one(target: Target, shape: Shape, stations: int, scans: int, history_samples: int, seed: int,
               progress, say, hooks: tuple[int, int] = (0, 0)) -> list[dict]:
    pool = max(stations, hooks[0]) + 4  # the stations' connections, the deliverer's, and the reader's
    engine = make_engine(target.url, **({"pool_size": pool, "max_overflow": 4}
                                        if target.database == "postgresql" else {}))
    try:
        migrate(engine)
        say(f"{target.database}: filling {target.where} with {shape.serials} serials")
        tick = progress(f"Filling {target.database}", shape.serials) if progress else None
        t0 = time.perf_counter()
        counts = fill(engine, shape, progress=tick)
        fill_s = time.perf_counter() - t0
        say(f"{target.database}: {counts['movement']} movements in {fill_s:.1f} s; scanning")
        common = {"database": target.database, "serials": shape.serials, "locations": shape.locations,
                  "stations": stations, "scans": scans}
        scan = drive.drive(engine, shape, stations, scans, seed=seed)
        scan_rss, rss_now = drive.peak_rss_mb(), drive.rss_mb()
        base = yardsticks.floor(engine, stations, scans)
        hist = yardsticks.history(engine, shape, history_samples, seed=seed)
        figures = {k: scan.pop(k) for k in FIGURES}
        scan_run = {"kind": "scan", **common, **figures, "peak_rss_mb": scan_rss, "rss_mb": rss_now,
                    "p99_vs_floor": round(figures["p99_ms"] / base["p99_ms"], 2) if base["p99_ms"] else None,
                    "history": hist, "movements": counts["movement"], "fill_s": round(fill_s, 1), **scan}
        floor_run = {"kind": "floor", **common, **base, "peak_rss_mb": drive.peak_rss_mb()}
        say(f"{target.database}: scan p50 {figures['p50_ms']} ms p99 {figures['p99_ms']} ms "
            f"({figures['throughput_per_s']}/s); floor p99 {base['p99_ms']} ms; history p99 {hist['p99_ms']} ms; "
            f"doubles {scan['doubles']}")
        if not hooks[0]:
            return [scan_run, floor_run]
        say(f"{target.database}: {hooks[0]} stations posting {hooks[1]} receipts each to a webhook")
        hook_run = {"database": target.database, "serials": shape.serials,
                    **integration.measure(engine, target.url, stations=hooks[0], postings=hooks[1])}
        w, f = hook_run["webhook"], hook_run["feed"]
        say(f"{target.database}: webhook lag p50 {w['p50_ms']} ms p99 {w['p99_ms']} ms ({w['delivered']} delivered, "
            f"{w['missing']} missing); feed {f['limit_100']['events_per_s']} events/s (pages of 100), "
            f"{f['limit_1000']['events_per_s']}/s (of 1000)")
        return [scan_run, floor_run, hook_run]
    finally:
        engine.dispose()


def _extras(target: Target, shape: Shape, extras: Extras, say) -> list[dict]:
    """The large receipt, the big posting, and (SQLite) the real server and daemon, on the filled database."""
    from . import large_document, served

    common = {"database": target.database, "serials": shape.serials}
    runs: list[dict] = []
    if extras.pallet or extras.big_posting:
        engine = make_engine(target.url)
        try:
            if extras.pallet:
                say(f"{target.database}: one receipt of {extras.pallet} serials")
                pallet = large_document.pallet(engine, serials=extras.pallet, posting_lines=extras.big_posting)
                runs.append({"kind": "pallet", **common, **pallet})
                first = pallet["first_scans"]
                say(f"{target.database}: scans 1-{first['count']} p50 {first['p50_ms']} ms, "
                    f"last p50 {pallet['last_scans']['p50_ms']} ms; {pallet['statements_per_scan']['last']} statements "
                    f"a scan; posting {pallet['posting_ms']} ms")
            elif extras.big_posting:
                big = large_document.big_posting(engine, extras.big_posting)
                runs.append({"kind": "pallet", **common, "big_posting": big})
        finally:
            engine.dispose()
    if extras.drain:
        from . import drain

        say(f"{target.database}: {extras.drain} held scans drained from the spool")
        engine = make_engine(target.url)
        try:
            drained = drain.measure(engine, shape, scans=extras.drain)
        finally:
            engine.dispose()
        runs.append({"kind": "drain", **common, **drained})
        say(f"{target.database}: drained {drained['drain_per_s']} scans/s in batches"
            + (f", {drained['one_by_one']['scans_per_s']}/s one by one" if "one_by_one" in drained else ""))
    if extras.count:
        from . import stocktake

        engine = make_engine(target.url)
        try:
            say(f"{target.database}: a count of {extras.count} units, scanned and posted")
            counted = stocktake.measure(engine, extras.count)
            runs.append({"kind": "count", **common, **counted})
            say(f"{target.database}: count scans 1-{counted['first_scans']['count']} p50 "
                f"{counted['first_scans']['p50_ms']} ms, last p50 {counted['last_scans']['p50_ms']} ms; "
                f"{counted['statements_per_scan']['last']} statements a scan; {counted['lines']} lines posted in "
                f"{counted['posting_ms']} ms ({counted['posting_statements']} statements)")
        finally:
            engine.dispose()
    if extras.http:
        say(f"{target.database}: {extras.http} scans over HTTP to station serve")
        runs.append({"kind": "http", **common, **served.over_http(target.url, scans=extras.http)})
    if extras.daemon:
        say(f"{target.database}: {extras.daemon} scans from a pseudo-terminal through station run to the screen")
        runs.append({"kind": "daemon", **common, **served.through_daemon(target.url, scans=extras.daemon)})
    return runs


def run_processes(urls: tuple[str, ...] = (), *, serials: int = DEFAULTS["serials"], locations: int = 0,
                  processes: int = 4, scans: int = DEFAULTS["scans"], seconds: float = 10.0, rate: float = 2.0,
                  seed: int = 1,
                  progress: Callable[[str, int], Callable[[int], None]] | None = None,
                  say: Callable[[str], None] = lambda s: None) -> dict:
    """``--processes N``: every target filled, then N station processes on it (processes.py); the JSON document."""
    from . import processes as procs

    makers, skipped = targets_for(urls)
    shape = Shape.for_serials(serials, locations=locations)
    runs: list[dict] = []
    for target in _reachable(makers, skipped):
        try:
            engine = make_engine(target.url, **({"pool_size": 2, "max_overflow": 2}
                                                if target.database == "postgresql" else {}))
            try:
                migrate(engine)
                say(f"{target.database}: filling {target.where} with {shape.serials} serials")
                tick = progress(f"Filling {target.database}", shape.serials) if progress else None
                counts = fill(engine, shape, progress=tick)
                say(f"{target.database}: {processes} station processes, {scans} scans each at saturation, "
                    f"then {rate:g} scans/s each for {seconds:g} s")
                figures = procs.measure(engine, target.url, shape, processes=processes, scans=scans,
                                        seconds=seconds, rate=rate, seed=seed)
            finally:
                engine.dispose()
        finally:
            target.cleanup()
        run = {"database": target.database, "serials": shape.serials, "locations": shape.locations,
               "movements": counts["movement"], **figures}
        runs.append(run)
        if "saturation" in run:
            sat, paced, check = run["saturation"], run["paced"], run["check"]
            say(f"{target.database}: saturation {sat['throughput_per_s']} scans/s (p99 {sat['p99_ms']} ms); paced "
                f"p50 {paced['p50_ms']} ms p99 {paced['p99_ms']} ms; doubles {check['doubles']}, differences "
                f"{check['differences']}, station check {check['station_check_differences']}")
        else:
            say(f"{target.database}: a station process failed: {run.get('first_errors')}")
    return {"runs": runs, "skipped": skipped, "machine": machine()}
