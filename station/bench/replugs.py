"""``station bench --hotplug``: how soon an unplugged scanner is read again after it comes back (SPEC 6: 2 s).

Theory of operation: a child process runs the daemon's own ``Supervisor``
(readers, hotplug watch, discovery) on a one-scanner configuration, and
prints a line, stamped with ``time.monotonic()``, for each state change and
each scan it reads; CLOCK_MONOTONIC is one clock for every process, so the
parent compares those stamps with its own. The parent unplugs the scanner,
waits for "unplugged", plugs it back in at t0, and measures

- evdev under umockdev (the child runs under the preload): a remove uevent
  and the node gone, then a new node and its add uevent at t0; the time to
  the reader's EVIOCGRAB on the new node, and to the first scan read (the
  scan is typed in one burst as soon as the grab is seen);
- a serial scanner on a pseudo-terminal behind a ``/dev/barcode``-like
  symlink: the link removed and the terminal hung up, then a new terminal
  and the link back at t0; the time to the port opened ("connected") and to
  the first scan read. No uevent comes for a pseudo-terminal, so this is
  the readers' own retry (every 0.5 s), the floor for any port udev misses.

Figures are reported, never judged: p50 and max in milliseconds over N
replugs, beside the 2,000 ms target.
"""
from __future__ import annotations

import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

TARGET_MS = 2000
_WAIT = 20.0  # seconds any one step may take before the bench gives up on it


def measure(replugs: int = 10) -> dict:
    """The hotplug figures of both kinds of scanner, as one JSON-ready dict."""
    from .emulation import problem

    why_not = problem()
    evdev = {"skipped": why_not} if why_not else _evdev(replugs)
    return {"hotplug": {"evdev_umockdev": evdev, "serial_pty": _serial(replugs), "target_ms": TARGET_MS}}


def _figures(samples: list[float]) -> dict:
    ms = [s * 1000 for s in samples]
    return {"p50": round(statistics.median(ms), 1), "max": round(max(ms), 1)}


def _evdev(replugs: int) -> dict:
    from .emulation import Testbed, wait_for

    bed = Testbed()
    scanner = bed.keyboard()
    with tempfile.TemporaryDirectory() as tmp, _Child(_config(tmp, "evdev", scanner.stable_path), bed.env) as child:
        def grabbed(t0: float) -> float:
            calls = scanner.ioctls
            wait_for(calls.changed, lambda: "grab" in calls.calls, _WAIT, "the grab after a replug")
            return calls.times[calls.calls.index("grab")] - t0

        to_grab, to_scan = _replug(child, scanner, replugs, grabbed,
                                   lambda text: scanner.type(f"{text}\n", pace=False))
    return {"replugs": replugs, "add_to_grab_ms": _figures(to_grab), "add_to_first_scan_ms": _figures(to_scan)}


def _serial(replugs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        link = Path(tmp) / "barcode-tty"
        port = PtyPort(link)
        try:
            with _Child(_config(tmp, "serial", str(link)), {}) as child:
                to_open, to_scan = _replug(child, port, replugs, lambda t0: child.expect("state", "connected") - t0,
                                           lambda text: os.write(port.master, f"{text}\r\n".encode()))
        finally:
            port.unplug()
    return {"replugs": replugs, "link_to_open_ms": _figures(to_open), "link_to_first_scan_ms": _figures(to_scan)}


def _replug(child: _Child, device, replugs: int, back: Callable[[float], float],
            send: Callable[[str], object]) -> tuple[list[float], list[float]]:
    """Once connected, ``replugs`` times: ``device`` unplugged (until the child says so) and plugged again; the
    seconds from the plug until ``back(t0)`` sees it read again, and until a scan ``send`` types is read."""
    child.expect("state", "connected")
    to_back, to_scan = [], []
    for n in range(replugs):
        device.unplug()
        child.expect("state", "unplugged")
        t0 = time.monotonic()
        device.plug()
        to_back.append(back(t0))
        send(f"HOTPLUG-{n}")
        to_scan.append(child.expect("scan", f"HOTPLUG-{n}".encode().hex()) - t0)
    return to_back, to_scan


def _config(tmp: str, kind: str, path: str) -> str:
    config = Path(tmp) / "station.toml"
    config.write_text(f'[[stations]]\nid = "bench"\n\n[[stations.scanners]]\nkind = "{kind}"\npath = "{path}"\n')
    return str(config)


class PtyPort:
    """A serial scanner: a pseudo-terminal reached through a symlink that goes and comes back, as udev's does.

    ``unplug`` closes the terminal (its reader gets EIO) and removes the link; ``plug`` makes a new one behind
    the same link, as udev does on a replug.
    """

    def __init__(self, link: Path, *, plugged: bool = True) -> None:
        self.link = Path(link)
        self.master: int | None = None
        self.slave: int | None = None
        if plugged:
            self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no line editing, as the daemon's pyserial sets it too
        new = self.link.with_name(self.link.name + ".new")
        os.symlink(os.ttyname(self.slave), new)
        os.replace(new, self.link)

    def unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None


class _Child:
    """The child process (``python -m station.bench.replugs CONFIG``) and its stamped lines."""

    def __init__(self, config: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "station.bench.replugs", config],
                                     env={**os.environ, **env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def expect(self, kind: str, value: str) -> float:
        """The monotonic stamp of the next line of ``kind`` ending in ``value`` (others are passed over)."""
        deadline = time.monotonic() + _WAIT
        while True:
            try:
                what, at, last = self.lines.get(timeout=max(0.0, deadline - time.monotonic())).split()
            except queue.Empty:
                raise TimeoutError(f"no {kind} {value} from the hotplug child in {_WAIT} s") from None
            if what == kind and last == value:
                return float(at)

    def __enter__(self) -> _Child:
        return self

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()  # the child stops its readers and exits
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def _child(config_path: str) -> None:
    """Run the Supervisor on ``config_path`` until stdin closes, printing stamped states and scans."""
    from station.config import load
    from station.daemon.supervisor import Supervisor

    lock = threading.Lock()

    def say(kind: str, value: str) -> None:
        with lock:
            print(kind, f"{time.monotonic():.6f}", value, flush=True)

    def scans(station: str, device: str, lines: list[bytes]) -> None:
        for raw in lines:
            say("scan", raw.hex())

    supervisor = Supervisor(load(config_path).stations, scans, lambda station, device, kind, state: say("state", state))
    supervisor.start()
    sys.stdin.read()
    supervisor.stop()


if __name__ == "__main__":
    _child(sys.argv[1])
