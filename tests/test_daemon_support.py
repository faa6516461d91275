"""Helpers the daemon tests share (no tests here): a serial scanner on a real pseudo-terminal,
a configuration writer, a daemon subprocess, and a TCP proxy that can take PostgreSQL away.
"""
from __future__ import annotations

import os
import queue
import re
import selectors
import signal
import socket
import subprocess
import struct
import sys
import threading
import time
import tty
from collections.abc import Callable, Iterable
from pathlib import Path

from station.live import LiveStatus

# The `run` command registers itself when its module is imported.
BOOT = "import station.commands.run; from station.cli import main; main()"


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.02):
    """Poll ``predicate`` until it returns something true; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        threading.Event().wait(interval)


def wait_live(live: LiveStatus, predicate, timeout: float, what: str) -> None:
    """Wait on the live status's change counter (no polling) until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    seen = live.version
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        seen = live.wait_for_change(seen, remaining)


def device_state(live: LiveStatus, device: str) -> str | None:
    return next((d.state for d in live.devices() if d.device == device), None)


class PtyScanner:
    """A serial scanner: a pseudo-terminal whose slave is reached through a stable symlink.

    ``unplug`` closes the terminal (the reader gets EIO) and removes the link;
    ``plug`` makes a new one behind the same link, as udev does on a replug.
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
        tmp = self.link.with_name(self.link.name + ".new")
        os.symlink(os.ttyname(self.slave), tmp)
        os.replace(tmp, self.link)

    def unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None

    def send(self, line: str | bytes, end: bytes = b"\r\n") -> None:
        data = line.encode() if isinstance(line, str) else line
        os.write(self.master, data + end)

    def close(self) -> None:
        self.unplug()


def write_config(path: Path, *, database_url: str, scanner_link: Path | None, station: str = "counter",
                 mode: str = "sell", daemon: str = "") -> Path:
    """A station.toml with one station, (optionally) one serial scanner on ``scanner_link``, and its
    spool as ``spool.db`` beside the file (the tests' databases are shared by a module's tests)."""
    scanners = ""
    if scanner_link is not None:
        scanners = (f'[[stations.scanners]]\nkind = "serial"\npath = "{scanner_link}"\n'
                    "baudrate = 9600\nidle_gap_ms = 0\n")
    path.write_text(
        f'[database]\nurl = "{database_url}"\n\n[web]\nhost = "127.0.0.1"\nport = 0\n\n'
        f'[daemon]\nspool = "{path.parent / "spool.db"}"\n{daemon}\n'
        f'[[stations]]\nid = "{station}"\nmode = "{mode}"\n{scanners}',
        encoding="utf-8",
    )
    return path


class DaemonProcess:
    """``station run`` in a subprocess; its stdout and stderr lines are collected as they come."""

    def __init__(self, config: Path, cwd: Path, *, env: dict[str, str] | None = None,
                 command: tuple[str, ...] = ("run",)) -> None:
        base = {k: v for k, v in os.environ.items() if k not in ("STATION_DATABASE_URL", "STATION_CONFIG")}
        env = {**base, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BOOT, "--config", str(config), *command],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._readers = [threading.Thread(target=self._pump, args=(stream,), daemon=True)
                         for stream in (self.proc.stdout, self.proc.stderr)]
        for reader in self._readers:
            reader.start()

    def _pump(self, stream) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match:
        """The first output line matching ``pattern``, seen already or to come; fails at the deadline or at exit."""
        regex = re.compile(pattern)
        for line in self.lines:
            if match := regex.search(line):
                return match
        deadline = time.monotonic() + timeout
        ended = 0
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no output line matching {pattern!r} in {timeout} s:\n" + self.output) from None
            if line is None:
                ended += 1
                if ended == 2:
                    raise AssertionError(f"daemon exited ({self.proc.wait()}) before {pattern!r}:\n" + self.output)
                continue
            self.lines.append(line)
            match = regex.search(line)
            if match:
                return match

    def next_line(self, timeout: float) -> str:
        """The next output line (kept in ``lines``); fails at the deadline or when the daemon has exited."""
        try:
            line = self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise AssertionError(f"no output line in {timeout} s:\n" + self.output) from None
        if line is None:
            self._ended = getattr(self, "_ended", 0) + 1
            if self._ended == 2:
                raise AssertionError(f"daemon exited ({self.proc.wait()}):\n" + self.output)
            return self.next_line(timeout)
        self.lines.append(line)
        return line

    def expect_count(self, pattern: str, count: int, timeout: float = 20.0) -> list[str]:
        """Wait until ``count`` output lines in all match ``pattern``; return them."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while len(found := [line for line in self.lines if regex.search(line)]) < count:
            self.next_line(deadline - time.monotonic())
        return found

    @property
    def output(self) -> str:
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return "\n".join(self.lines)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._drain()

    def terminate(self, timeout: float) -> int:
        """SIGTERM; the exit status, or AssertionError if still running after ``timeout`` seconds."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"daemon still running {timeout} s after SIGTERM:\n" + self.output) from None
        self._drain()
        return code

    def _drain(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._drain()
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()


class FlakyProxy:
    """A TCP proxy on 127.0.0.1 that the test can take down (dropping and refusing connections) and bring back."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._refusing = False
        self._closed = threading.Event()
        self.refused = 0
        self._thread = threading.Thread(target=self._accept, name="flaky-proxy", daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Drop every open connection, and refuse new ones until ``up``."""
        with self._lock:
            self._refusing = True
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close(pair)

    def up(self) -> None:
        with self._lock:
            self._refusing = False

    def close(self) -> None:
        self._closed.set()
        self.down()
        self.listener.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                refusing = self._refusing
            if refusing:
                self.refused += 1
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pump, args=((client, server),), daemon=True).start()

    def _pump(self, pair: tuple[socket.socket, socket.socket]) -> None:
        client, server = pair
        sel = selectors.DefaultSelector()
        try:
            sel.register(client, selectors.EVENT_READ, server)
            sel.register(server, selectors.EVENT_READ, client)
            while True:
                for key, _ in sel.select(timeout=0.2):
                    data = key.fileobj.recv(65536)
                    if not data:
                        raise ConnectionError("closed")
                    key.data.sendall(data)
                with self._lock:
                    if pair not in self._pairs:
                        return
        except (OSError, ValueError):
            pass
        finally:
            sel.close()
            _close(pair)
            with self._lock:
                if pair in self._pairs:
                    self._pairs.remove(pair)


def _reset(sock: socket.socket) -> None:
    """Close with a reset, as a host going away looks to the client."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def _close(pair: Iterable[socket.socket]) -> None:
    for sock in pair:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        _reset(sock)
