"""``station bench --kill``: scans through ``kill -9`` at full speed (SPEC 6).

Theory of operation: a serial scanner on a pseudo-terminal sends numbered
lines (``K<token>-<run>-<n>`` and CRLF, one write each) at ``rate`` lines a
second, paced on the monotonic clock, for the whole run. The bench keeps the
terminal's other end open, as a port whose buffer outlives its reader. A
real ``station run`` reads it and is killed (SIGKILL) ``kills`` times at a
random moment after its scanner connected, and started again at once each
time: half the moments within 50 ms (while the daemon reads the backlog its
restart found waiting in the port), the others up to ``max_delay`` seconds; the last start reads what is left, the
scanner stops, an end line is sent, and once the daemon has processed it the
daemon is stopped (SIGTERM). Then the spool and the scan log are held up to
what was sent:

- lost: lines sent and never spooled, with their bytes (terminators
  included); a kill's are those between the last line spooled before it
  and the first spooled after it (kills with nothing spooled between them
  share theirs), and any other lost line is counted apart: it was lost
  without a kill;
- doubled: a line spooled, or processed, more than once;
- reordered: a spooled line that comes after one sent later than it;
- fragments: spooled text that is no line sent (the tail of a cut line, a
  line missing its middle, two lines glued): what was taken as a scan;
- unprocessed: a spooled line the scan log does not hold.

Figures are reported, never judged here; ``tests/test_daemon_kill.py`` runs
a small version and asserts them.
"""
from __future__ import annotations

import os
import queue
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from station.daemon.spool import Spool
from station.domain.models import ScanLog
from station.storage.db import make_engine, migrate

from .children import child_env
from .replugs import PtyPort

BACKLOG_S = 0.05  # half the kills come this soon after the scanner connected
_WAIT = 60.0  # seconds without a word from station run (or the scanner blocked) before the bench gives up
_END = b"\r\n"


@dataclass
class Outcome:
    """One series of kills: what the scanner sent, what the spool holds, what the scan log processed."""

    sent: list[str]
    spooled: list[str]
    processed: Counter
    kill_rows: list[int]  # the spool's row count at each kill
    end: str
    read_size: int | None = None
    seconds: float = 0.0  # how long the scanner sent


def measure(rate: float = 250, runs: int = 10, kills: int = 8, *, seed: int = 1, max_delay: float = 2.0,
            say: Callable[[str], None] = lambda _: None) -> dict:
    """The kill figures over ``runs`` series of ``kills`` kills each, each series on a new SQLite database."""
    rng = random.Random(seed)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="station-bench-kill-") as tmp:
        for run in range(runs):
            workdir = Path(tmp) / f"run-{run}"
            workdir.mkdir()
            url = f"sqlite:///{workdir / 'station.db'}"
            engine = make_engine(url)
            migrate(engine)
            engine.dispose()
            outcomes.append(run_kills(url, workdir, rate=rate, kills=kills, rng=rng, run=run, max_delay=max_delay))
            figures = tally(outcomes[-1])
            say(f"run {run + 1}/{runs}: {figures['lines_sent']} lines, {figures['lost_lines']} lost "
                f"({figures['lost_bytes']} bytes), {figures['doubled']} doubled, {figures['reordered']} reordered, "
                f"{figures['fragments']} fragments")
    total = combine([tally(outcome) for outcome in outcomes])
    return {"kill": {"rate_per_s": rate, "runs": runs, "kills_per_run": kills, "max_delay_s": max_delay, **total}}


def run_kills(database_url: str, workdir: Path, *, rate: float, kills: int, rng: random.Random, run: int = 0,
              max_delay: float = 0.5) -> Outcome:
    """Send lines at ``rate`` while ``station run`` on ``database_url`` is killed ``kills`` times; what came of them."""
    token = secrets.token_hex(3)  # this series' lines, apart from any other in the same database
    station, prefix, end = f"kill-{token}", f"K{token}-{run:02d}-", f"END{token}-{run:02d}"
    spool_file = workdir / "spool.db"
    config = _config(workdir, database_url, spool_file, station)
    port = PtyPort(workdir / "scanner")
    writer = _Writer(port.master, prefix, rate)
    boundaries = []
    try:
        writer.start()
        for _ in range(kills):
            with _Daemon(config, workdir) as daemon:
                daemon.expect(r"scanner \S+: connected")
                # A deliberate pause: the random kill moment is the bench's input, not a wait for something.
                time.sleep(rng.uniform(0.0, BACKLOG_S if rng.random() < 0.5 else max_delay))
                daemon.kill()
            with Spool(spool_file) as spool:
                boundaries.append(len(spool.recent(10_000_000)))
        with _Daemon(config, workdir) as daemon:
            daemon.expect(r"scanner \S+: connected")
            time.sleep(rng.uniform(0.0, max_delay))  # the scanner goes on a while under the last daemon too
            writer.stop()
            _write_all(port.master, end.encode() + _END)
            daemon.expect(rf"outcome=\S+ .*text={re.escape(end)} ")
            daemon.terminate()
    finally:
        writer.stop()
        port.unplug()
    with Spool(spool_file) as spool:
        spooled = [scan.raw.decode("utf-8", "replace") for scan in reversed(spool.recent(10_000_000))]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            logged = conn.scalars(select(ScanLog.raw).where(ScanLog.station == station)).all()
    finally:
        engine.dispose()
    from drivers import serial_reader

    return Outcome(writer.sent, spooled, Counter(logged), boundaries, end, getattr(serial_reader, "READ_SIZE", None),
                   writer.seconds)


def most_lost_per_kill(read_size: int, line_bytes: int) -> int:
    """The most lines of ``line_bytes`` (terminator included) one kill may lose by design: those one read in flight
    of up to ``read_size`` bytes touched (it may begin and end inside a line), and the line after it, whose rest
    the next reader cannot tell from a line's when that read ended exactly where the line began."""
    return (read_size - 1) // line_bytes + 3


def tally(outcome: Outcome) -> dict:
    """The figures of one series (see the module's docstring)."""
    sent, end = outcome.sent, len(outcome.sent)
    index = {text: n for n, text in enumerate(sent)}
    fragments = [text for text in outcome.spooled if text not in index and text != outcome.end]
    seen = Counter(text for text in outcome.spooled if text in index)
    order = [index[text] for text in outcome.spooled if text in index]
    lost = {n for n, text in enumerate(sent) if text not in seen}
    gaps: dict[tuple[int, int], int] = Counter()  # (last spooled before, first spooled after) -> kills in it
    for boundary in outcome.kill_rows:
        before = [index[t] for t in outcome.spooled[:boundary] if t in index]
        after = [index[t] for t in outcome.spooled[boundary:] if t in index]
        gaps[(max(before, default=-1), min(after, default=end))] += 1
    per_kill = []  # (lines, bytes) one kill lost
    at_kills: set[int] = set()
    for (first, last), kills in gaps.items():
        mine = [n for n in range(first + 1, last) if n in lost]
        at_kills.update(mine)
        per_kill += [(len(mine) / kills, sum(len(sent[n]) + len(_END) for n in mine) / kills)] * kills
    return {
        "lines_sent": len(sent),
        "bytes_sent": sum(len(text) + len(_END) for text in sent),
        "seconds": round(outcome.seconds, 1),
        "kills": len(outcome.kill_rows),
        "read_size_bytes": outcome.read_size,
        "lost_lines": len(lost),
        "lost_bytes": sum(len(sent[n]) + len(_END) for n in lost),
        "kills_that_lost": sum(1 for lines, _ in per_kill if lines),
        "max_lost_lines_per_kill": max((lines for lines, _ in per_kill), default=0),
        "max_lost_bytes_per_kill": max((size for _, size in per_kill), default=0),
        "bound_lines_per_kill": (most_lost_per_kill(outcome.read_size, len(sent[0]) + len(_END))
                                 if outcome.read_size and sent else None),
        "lost_not_at_a_kill": len(lost - at_kills),
        "doubled": sum(n - 1 for n in seen.values()) + sum(n - 1 for n in outcome.processed.values()),
        "reordered": sum(1 for a, b in zip(order, order[1:], strict=False) if b < a),
        "fragments": len(fragments),
        "fragment_examples": fragments[:5],
        "unprocessed": sum(1 for text in outcome.spooled if outcome.processed[text] == 0),
    }


def combine(figures: list[dict]) -> dict:
    """Several series' figures as one: sums, and the worst of each maximum."""
    total = {key: sum(f[key] for f in figures) for key in
             ("lines_sent", "bytes_sent", "seconds", "kills", "lost_lines", "lost_bytes", "kills_that_lost",
              "lost_not_at_a_kill", "doubled", "reordered", "fragments", "unprocessed")}
    for key in ("max_lost_lines_per_kill", "max_lost_bytes_per_kill"):
        total[key] = max((f[key] for f in figures), default=0)
    total["seconds"] = round(total["seconds"], 1)
    total["sent_per_s"] = round(total["lines_sent"] / total["seconds"], 1) if total["seconds"] else None
    total["read_size_bytes"] = figures[0]["read_size_bytes"] if figures else None
    total["bound_lines_per_kill"] = max((f["bound_lines_per_kill"] or 0 for f in figures), default=0) or None
    total["fragment_examples"] = [text for f in figures for text in f["fragment_examples"]][:5]
    total["lost_lines_per_run"] = [f["lost_lines"] for f in figures]
    return total


def _config(workdir: Path, url: str, spool: Path, station: str) -> Path:
    path = workdir / "station.toml"
    path.write_text(f'[database]\nurl = "{url}"\n\n[web]\nhost = "127.0.0.1"\nport = 0\n\n'
                    f'[daemon]\nspool = "{spool}"\nkeep_done = 10000000\n\n'
                    f'[[stations]]\nid = "{station}"\nmode = "sell"\n\n'
                    f'[[stations.scanners]]\nkind = "serial"\npath = "{workdir / "scanner"}"\n', encoding="utf-8")
    return path


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


class _Writer(threading.Thread):
    """The scanner: one line per write, ``rate`` a second on the monotonic clock, until stopped."""

    def __init__(self, master: int, prefix: str, rate: float) -> None:
        super().__init__(name="kill-bench-scanner", daemon=True)
        self.master, self.prefix, self.rate = master, prefix, rate
        self.sent: list[str] = []
        self.seconds = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        for n in range(10**6):
            # The scanner's pace: the bench's input. A write the full port holds back (no daemon reading) is
            # the port's flow control; the lines due meanwhile go out after it, one by one, as soon as they can.
            if self._stop_event.wait(max(0.0, start + n / self.rate - time.monotonic())):
                break
            text = f"{self.prefix}{n:06d}"
            _write_all(self.master, text.encode() + _END)
            self.sent.append(text)
        self.seconds = time.monotonic() - start

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(_WAIT)


class _Daemon:
    """``station run`` in a child process; its output lines on a queue, waited on by ``expect``."""

    def __init__(self, config: Path, workdir: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "station", "--config", str(config), "run"], cwd=workdir,
                                     env=child_env(PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace")
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, pattern: str) -> None:
        """Wait for an output line matching ``pattern``; give up after ``_WAIT`` seconds without a line."""
        regex = re.compile(pattern)
        while True:
            try:
                line = self.lines.get(timeout=_WAIT)
            except queue.Empty:
                raise TimeoutError(f"station run logged nothing for {_WAIT} s, waiting for {pattern!r}") from None
            if line is None:
                raise RuntimeError(f"station run exited ({self.proc.wait()}) before {pattern!r}:\n"
                                   + "".join(self.seen[-20:]))
            self.seen.append(line)
            if regex.search(line):
                return

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=_WAIT)

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=_WAIT)

    def __enter__(self) -> _Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._pump.join(_WAIT)
        self.proc.stdout.close()
