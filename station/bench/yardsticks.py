"""The yardsticks beside the scan figures: the physical floor, and a serial's history served.

The floor is the least any durable scan could cost on the same database: one
single-row insert and its commit, nothing else, by the same number of
threads, so the scan path reads as a ratio to it. The history figure is a
serial's record and movements as the API serves them (SPEC 6: under 5 ms).
"""
from __future__ import annotations

import json
import random
import threading
import time

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from station.domain import serials
from station.interchange import representation

from .drive import percentiles, run_together, station_id
from .rows import Shape


def floor(engine: Engine, stations: int, ops: int) -> dict:
    """The physical floor: K threads each committing M bare single-row inserts, durably."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_floor"))
        conn.execute(text(
            "CREATE TABLE bench_floor (id SERIAL PRIMARY KEY, at TIMESTAMPTZ, station VARCHAR(64), raw TEXT)"
            if postgres else
            "CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, at TEXT, station VARCHAR(64), raw TEXT)"))
    barrier = threading.Barrier(stations + 1)
    lat: list[list[float]] = [[] for _ in range(stations)]

    def worker(n: int) -> None:
        raw = engine.raw_connection()
        try:
            conn = raw.driver_connection
            cur = conn.cursor()
            insert = ("INSERT INTO bench_floor (at, station, raw) VALUES (now(), %s, %s)" if postgres else
                      "INSERT INTO bench_floor (at, station, raw) VALUES (datetime('now'), ?, ?)")
            barrier.wait()
            for k in range(ops):
                t0 = time.perf_counter()
                if postgres:
                    cur.execute(insert, (station_id(n), f"SCAN{k}"))
                    conn.commit()
                else:
                    cur.execute("BEGIN IMMEDIATE")
                    cur.execute(insert, (station_id(n), f"SCAN{k}"))
                    cur.execute("COMMIT")
                lat[n].append(time.perf_counter() - t0)
            cur.close()
        finally:
            raw.close()

    wall = run_together(worker, stations, barrier)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_floor"))
    flat = [x for each in lat for x in each]
    return {"throughput_per_s": round(len(flat) / wall, 1) if wall > 0 else 0.0, **percentiles(flat)}


def history(engine: Engine, shape: Shape, samples: int, *, seed: int = 1) -> dict:
    """A serial's record and history as the API serves it (lookup, movements, refused scans, JSON)."""
    Session = sessionmaker(engine, expire_on_commit=False)
    rng = random.Random(seed)
    lat: list[float] = []
    for _ in range(samples):
        t0 = time.perf_counter()
        with Session() as session:
            record = serials.record(session, shape.serial(rng.randint(1, shape.serials)))
            json.dumps(representation.serial(session, record))
        lat.append(time.perf_counter() - t0)
    p = percentiles(lat)
    return {"samples": samples, "p50_ms": p["p50_ms"], "p99_ms": p["p99_ms"]}

