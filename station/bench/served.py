"""The figures of a real server: a scan over HTTP, and a scanner's line through the daemon to the screen (SPEC 6).

``over_http`` starts ``station serve`` on the scratch database and sends
scans of one growing receipt from one keep-alive client, as the operator
page's scan box does; its floor is the same client fetching a static file
(the server's and the socket's own cost, no database), and ``in_process``
the same scans of a receipt before it, through ``ScanService`` in the
bench's own process with no server (the scan's own cost, its commit
included, and what it is spent on: station.bench.hot_path): what HTTP adds
to a scan is the difference. Its ``refused`` are the receipt's first serial
sent again, each refused: the least a scan that is answered and logged
costs over HTTP, no line written. ``through_daemon``
starts ``station run`` with a serial scanner on a pseudo-terminal, follows
the station's live events as a screen does, and times each scan from the
moment its line's last byte is written to the moment the event showing it
arrives: the reader, the durable spool, the processor, the commit and the
event stream. Scans go at a scanner's pace (``pace`` seconds apart: the
event stream sends at most one event per 50 ms per station, so faster scans
would measure that limit).
"""
from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from .children import child_env
from .drive import percentiles

GTIN, SUPPLIER = "04012345678918", "BENCH-HTTP-SUPPLIER"
#: At most this many scans run under the profiler (station.bench.hot_path): enough for shares, a few seconds.
PROFILED = 400


def _config(workdir: Path, url: str, station: str, mode: str, scanner: Path | None = None) -> Path:
    scanners = (f'[[stations.scanners]]\nkind = "serial"\npath = "{scanner}"\nterminators = ["enter"]\n'
                if scanner else "")
    path = workdir / "station.toml"
    path.write_text(f'[database]\nurl = "{url}"\n\n[web]\nhost = "127.0.0.1"\nport = 0\n\n'
                    f'[daemon]\nspool = "{workdir / "spool.db"}"\n\n'
                    f'[[stations]]\nid = "{station}"\nmode = "{mode}"\n{scanners}', encoding="utf-8")
    return path


class _Served(str):
    """The URL of a started ``station`` child, with the child's process id."""

    pid: int


def _cpu_seconds(pid: int) -> float:
    """The CPU time a process has used so far, every thread's, user and system (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _station(command: str, config: Path, workdir: Path, ready: str):
    """``station COMMAND`` in a child process; its URL (with its ``pid``) once it says ``ready``; stopped on exit."""
    proc = subprocess.Popen([sys.executable, "-m", "station", "--config", str(config), command], cwd=workdir,
                            env=child_env(STATE_DIRECTORY=str(workdir), PYTHONUNBUFFERED="1"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    drain = threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True)  # keeps its pipe flowing
    try:
        url, is_ready = None, False
        deadline = time.monotonic() + 30
        for line in proc.stdout:  # the URL and the ready line come in either order
            found = re.search(r"(?:Serving on|Station running:) (http://\S+?)/?$", line.strip())
            url = url or (found.group(1) if found else None)
            is_ready = is_ready or bool(re.search(ready, line))
            if url and is_ready:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"station {command} did not start in 30 s")
        else:
            raise RuntimeError(f"station {command} exited ({proc.wait()}) before it was ready")
        drain.start()
        served = _Served(url)
        served.pid = proc.pid
        yield served
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if drain.is_alive():
            drain.join(timeout=5)
        proc.stdout.close()


def _seed(url: str) -> None:
    """The bench's product and supplier, made once per database."""
    from station.domain import catalogue
    from station.storage.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine).begin() as s:
            if catalogue.party_id(s, "supplier", SUPPLIER) is not None:
                return
            catalogue.create_product(s, "BENCH-HTTP", "Bench unit", barcodes=[GTIN])
            catalogue.create_party(s, "supplier", SUPPLIER, "Bench supplier")
    finally:
        engine.dispose()


def _receipt(scans: int) -> tuple[list[str], int]:
    """A receipt's scans as the bench sends them (supplier, product, serials, finish) and how many lead in untimed."""
    warm = min(50, scans // 10)
    return [f"SUP:{SUPPLIER}", GTIN, *(f"HTTP-{n:07d}" for n in range(scans + warm)), "CMD:FINISH"], 2 + warm


def scan_receipt(url: str, config: Path, station: str, *, scans: int, run: str,
                 profiler=None) -> tuple[list[float], list[float], int]:
    """The receipt's scans through ``ScanService`` in this process, a transaction each (its commit included), no
    server; each scan's time and CPU, and how many lead in untimed. ``run`` names this receipt: its serials are
    the HTTP run's with it in front, and its idempotency keys start with it. A ``profiler`` given runs during
    each timed scan (station.bench.hot_path)."""
    from station.config import load
    from station.scanning.service import ScanService
    from station.storage.db import make_engine, make_sessionmaker
    from station.storage.retry import run_in_transaction

    engine = make_engine(url)
    try:
        service, Session = ScanService(load(config)), make_sessionmaker(engine)
        sequence, lead = _receipt(scans)
        timed, cpu = [], []
        for n, data in enumerate(f"{run}-{d}" if d.startswith("HTTP-") else d for d in sequence):
            profiled = profiler is not None and lead <= n < len(sequence) - 1
            t0, c0 = time.perf_counter(), time.thread_time()
            if profiled:
                profiler.enable()
            answer = run_in_transaction(Session, lambda s, data=data: service.process(
                s, station, data, device="api", key=f"{run}-{data}"))
            if profiled:
                profiler.disable()
            timed.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
            if not answer.accepted:
                raise RuntimeError(f"the bench's own scan {data} was refused: {answer.as_json()}")
    finally:
        engine.dispose()
    return timed, cpu, lead


def in_process(url: str, config: Path, station: str, *, scans: int) -> dict:
    """The receipt's scans through ``ScanService`` in this process (``scan_receipt``): the scan's own cost, the
    same work as the server's, with what it is spent on (station.bench.hot_path, a receipt of its own)."""
    from . import hot_path

    timed, cpu, lead = scan_receipt(url, config, station, scans=scans, run="local")
    return {**percentiles(timed[lead:-1]), "cpu_ms_per_scan": round(sum(cpu[lead:-1]) / scans * 1000, 3),
            "spent": hot_path.spent(url, config, station, scans=min(scans, PROFILED))}


def over_http(url: str, *, scans: int = 1000) -> dict:
    """A serial scan of one receipt over HTTP to a real ``station serve``, the server's floor, and the same scans
    in process."""
    _seed(url)
    with tempfile.TemporaryDirectory(prefix="station-bench-http-") as tmp:
        workdir = Path(tmp)
        config = _config(workdir, url, "bench-http", "receive")
        local = in_process(url, config, "bench-http", scans=scans)
        with _station("serve", config, workdir, r"Serving on") as base:
            parts = urlsplit(base)
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            headers = {"Content-Type": "application/json"}

            def scan(data: str, key: str) -> tuple[float, dict]:
                """One scan, timed from the request sent to its answer read, and the answer."""
                body = json.dumps({"data": data, "id": key})
                t0 = time.perf_counter()
                conn.request("POST", "/api/stations/bench-http/scans", body=body, headers=headers)
                answer = json.loads(conn.getresponse().read())
                return time.perf_counter() - t0, answer

            def post(data: str) -> float:
                elapsed, answer = scan(data, f"http-{data}")
                if not answer.get("accepted"):
                    raise RuntimeError(f"the bench's own scan {data} was refused: {answer}")
                return elapsed

            def refused(n: int, data: str) -> tuple[float, str]:
                """``data`` sent again under a new id: a scan the station refuses (and logs, durably)."""
                elapsed, answer = scan(data, f"refused-{n}")
                if answer.get("accepted") is not False:
                    raise RuntimeError(f"the bench's scan of {data} again was not refused: {answer}")
                return elapsed, answer["code"]

            def static() -> float:
                t0 = time.perf_counter()
                conn.request("GET", "/static/station.css")
                conn.getresponse().read()
                return time.perf_counter() - t0

            sequence, lead = _receipt(scans)
            for data in sequence[:lead]:
                post(data)
            cpu0 = _cpu_seconds(base.pid)
            timed = [post(data) for data in sequence[lead:-1]]
            cpu1 = _cpu_seconds(base.pid)
            floor = [static() for _ in range(scans)]
            cpu2 = _cpu_seconds(base.pid)
            again = [refused(n, sequence[lead]) for n in range(scans)]
            post(sequence[-1])
            conn.close()
    scanned, floored = percentiles(timed), percentiles(floor)
    # The least a scan answered and logged costs: a serial of this receipt scanned again, refused before any line is
    # written (its log line and the station's state, committed as any scan's).
    refusals = percentiles([t for t, _ in again])

    def vs_floor(measured: dict) -> float:
        return round(measured["p50_ms"] / floored["p50_ms"], 1)

    # The server's CPU (every thread of it) per request: unlike the latencies, hardly moved by other work.
    return {"scans": scans, **scanned, "server_cpu_ms_per_scan": round((cpu1 - cpu0) / scans * 1000, 3),
            "floor": {**floored, "server_cpu_ms_per_request": round((cpu2 - cpu1) / scans * 1000, 3)},
            "p50_vs_floor": vs_floor(scanned),
            "refused": {**refusals, "codes": sorted({code for _, code in again}), "p50_vs_floor": vs_floor(refusals)},
            "in_process": local}


class _Events:
    """The station's server-sent events, read as a screen reads them."""

    def __init__(self, base: str, station: str):
        parts = urlsplit(base)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        self.sock.sendall(f"GET /api/stations/{station}/events HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                          f"Accept: text/event-stream\r\n\r\n".encode())
        self.buffer = b""

    def next(self) -> dict:
        """The next event's data (comments and the HTTP head skipped)."""
        while True:
            end = self.buffer.find(b"\n\n")
            if end >= 0:
                block, self.buffer = self.buffer[:end], self.buffer[end + 2:]
                data = [line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:")]
                if data:
                    return json.loads(b"".join(data))
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the event stream ended")
            self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def through_daemon(url: str, *, scans: int = 100, pace: float = 0.05) -> dict:
    """From a serial scanner's last byte to the screen's live event showing the scan, through a real daemon."""
    _seed(url)
    with tempfile.TemporaryDirectory(prefix="station-bench-daemon-") as tmp:
        workdir = Path(tmp)
        master, slave = os.openpty()
        tty.setraw(slave)
        link = workdir / "scanner"
        os.symlink(os.ttyname(slave), link)
        config = _config(workdir, url, "bench-daemon", "receive", scanner=link)
        try:
            with _station("run", config, workdir, r"scanner .*: connected") as base:
                events = _Events(base, "bench-daemon")
                try:
                    events.next()  # the state as the screen opens
                    timed = [_one(master, events, f"SUP:{SUPPLIER}"), _one(master, events, GTIN)]
                    pause = threading.Event()
                    for n in range(scans):
                        pause.wait(pace)  # a deliberate pause: a scanner's pace, not a wait for anything
                        timed.append(_one(master, events, f"DMN-{n:06d}"))
                    _one(master, events, "CMD:FINISH")
                finally:
                    events.close()
        finally:
            os.close(master)
            os.close(slave)
    return {"scans": scans, "pace_s": pace, **percentiles(timed[2:])}


def _one(master: int, events: _Events, text: str) -> float:
    os.write(master, text.encode() + b"\r")
    t0 = time.perf_counter()
    while True:
        view = events.next()
        recent = view.get("recent_scans") or []
        if recent and recent[0].get("raw") == text:
            return time.perf_counter() - t0

