"""What the daemon tests share: a serial scanner on a real pseudo-terminal, a configuration writer,
a daemon subprocess, a watch on the spool file, and a TCP proxy that can take PostgreSQL away.

Nothing here waits by sleeping or polling: each wait blocks on the thing that
changes (the LiveStatus change counter, a commit of the daemon's sessions,
inotify on the spool's folder, the daemon's output lines, the proxy's own
loop) and looks again when it is told something happened; its timeout is a
deadline for failing, never a pace.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from helpers.database import Database, create_database
from station.bench.replugs import PtyPort
from station.live.status import LiveStatus

# The command line as the `station` script starts it.
BOOT = "from station.cli.main import main; main()"

#: How long a test waits for station run to exit after SIGTERM before calling it hung.
STOP_WAIT = 15.0

T = TypeVar("T")


def _timed_out(timeout: float, what: str) -> AssertionError:
    return AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_live(live: LiveStatus, predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Wait on the live status's change counter (no polling) until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    seen = live.version
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timed_out(timeout, what)
        seen = live.wait_for_change(seen, remaining)


def wait_committed(Session: sessionmaker[Session], predicate: Callable[[], T], timeout: float, what: str) -> T:
    """Wait until ``predicate()`` holds, looking again each time a session of ``Session`` has committed.

    For what the daemon writes to the database with no LiveStatus change to say
    so (its DeviceStatus rows): ``Session`` is the daemon's own session factory.
    """
    changed = threading.Condition()
    commits = 0

    def committed(_session: Session) -> None:
        nonlocal commits
        with changed:
            commits += 1
            changed.notify_all()

    event.listen(Session, "after_commit", committed)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with changed:
                seen = commits
            if value := predicate():
                return value
            remaining = deadline - time.monotonic()
            with changed:
                if remaining <= 0 or not changed.wait_for(lambda seen=seen: commits != seen, remaining):
                    raise _timed_out(timeout, what)
    finally:
        event.remove(Session, "after_commit", committed)


def device_state(live: LiveStatus, device: str) -> str | None:
    return next((d.state for d in live.devices() if d.device == device), None)


class SpoolWatch:
    """inotify on a spool file's folder (Linux): wakes the test each time the spool or its WAL is written.

    For a daemon in another process, whose spool the test can only read:
    ``wait_for`` reads it (through ``predicate``) again after each write.
    """

    # Writes only: the test's own reads open and close the files, which IN_CREATE and IN_CLOSE_WRITE report.
    _IN_MODIFY = 0x2
    _HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then len bytes of name

    def __init__(self, spool: Path) -> None:
        self.names = {spool.name, spool.name + "-wal"}  # not -shm (mapped, written by readers) nor .lock
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        if libc.inotify_add_watch(self.fd, os.fsencode(spool.parent), self._IN_MODIFY) < 0:
            errno = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(errno, f"inotify_add_watch {spool.parent} failed")

    def _spool_written(self) -> bool:
        """Read the pending events: was one of them a write to the spool or its WAL?"""
        data, offset, names = os.read(self.fd, 65536), 0, set()
        while offset < len(data):
            _wd, _mask, _cookie, size = self._HEADER.unpack_from(data, offset)
            start = offset + self._HEADER.size
            names.add(data[start:start + size].rstrip(b"\0").decode())
            offset = start + size
        return not names.isdisjoint(self.names)

    def wait_for(self, predicate: Callable[[], T], timeout: float, what: str) -> T:
        """``predicate()``'s first true value, read now and after each write to the spool; fails at the deadline."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.fd, selectors.EVENT_READ)
            while not (value := predicate()):
                while True:  # until the spool itself was written (events on other files do not count)
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not selector.select(remaining):
                        raise _timed_out(timeout, what)
                    if self._spool_written():
                        break
        return value

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> SpoolWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PtyScanner(PtyPort):
    """A serial scanner the tests write to: the bench's ``PtyPort`` (a pseudo-terminal behind a stable symlink,
    unplugged and plugged as udev does) with lines sent and unread input dropped."""

    def send(self, line: str | bytes, end: bytes = b"\r\n") -> None:
        data = line.encode() if isinstance(line, str) else line
        os.write(self.master, data + end)

    def discard_unread(self) -> None:
        """Drop what was sent and not yet read (a killed reader's leftovers), as a scanner unplugged and back would."""
        termios.tcflush(self.slave, termios.TCIFLUSH)

    def close(self) -> None:
        self.unplug()


def write_config(path: Path, *, database_url: str, scanner_link: Path | None, station: str = "counter",
                 mode: str = "sell", daemon: str = "", scanner: str = "") -> Path:
    """A station.toml with one station, (optionally) one serial scanner on ``scanner_link`` (with the
    ``scanner`` settings too), and its spool as ``spool.db`` beside the file (the tests' databases are
    shared by a module's tests)."""
    scanners = ""
    if scanner_link is not None:
        scanners = (f'[[stations.scanners]]\nkind = "serial"\npath = "{scanner_link}"\n'
                    f"baudrate = 9600\nidle_gap_ms = 0\n{scanner}")
    path.write_text(
        f'[database]\nurl = "{database_url}"\n\n[web]\nhost = "127.0.0.1"\nport = 0\n\n'
        f'[daemon]\nspool = "{path.parent / "spool.db"}"\n{daemon}\n'
        f'[[stations]]\nid = "{station}"\nmode = "{mode}"\n{scanners}',
        encoding="utf-8",
    )
    return path


class DaemonProcess:
    """``station run`` (or another command: ``serve``) in a subprocess; its output lines collected as they come.

    One thread reads both pipes through a selector and puts each complete line
    on a queue (``None`` once both have ended), so ``expect`` blocks on the
    queue until the line it wants arrives.
    """

    def __init__(self, config: Path, cwd: Path, *, env: dict[str, str] | None = None,
                 command: tuple[str, ...] = ("run",)) -> None:
        base = {k: v for k, v in os.environ.items() if k not in ("STATION_DATABASE_URL", "STATION_CONFIG")}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BOOT, "--config", str(config), *command],
            cwd=cwd, env={**base, **(env or {}), "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: list[str] = []
        self._ended = False
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="daemon-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        partial: dict[int, bytes] = {}
        with selectors.DefaultSelector() as selector:
            for stream in (self.proc.stdout, self.proc.stderr):
                selector.register(stream, selectors.EVENT_READ)
                partial[stream.fileno()] = b""
            while selector.get_map():
                for key, _ in selector.select():
                    chunk = os.read(key.fd, 65536)
                    if not chunk:  # this pipe ended: the process closed it, or is gone
                        selector.unregister(key.fileobj)
                        if partial[key.fd]:
                            self._queue.put(partial[key.fd].decode(errors="replace"))
                        continue
                    *complete, partial[key.fd] = (partial[key.fd] + chunk).split(b"\n")
                    for line in complete:
                        self._queue.put(line.decode(errors="replace"))
        self._queue.put(None)

    def _next(self, timeout: float | None) -> str | None:
        """The next line (kept in ``lines``), None once the output has ended; queue.Empty at the timeout."""
        if self._ended:
            return None
        line = self._queue.get(timeout=timeout) if timeout is None or timeout > 0 else self._queue.get_nowait()
        if line is None:
            self._ended = True
        else:
            self.lines.append(line)
        return line

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match:
        """The first output line matching ``pattern``, seen already or to come; fails at the deadline or at exit."""
        regex = re.compile(pattern)
        for line in self.lines:
            if match := regex.search(line):
                return match
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._next(max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no output line matching {pattern!r} in {timeout} s:\n" + self.output) from None
            if line is None:
                raise AssertionError(f"daemon exited ({self.proc.wait()}) before {pattern!r}:\n" + self.output)
            if match := regex.search(line):
                return match

    def expect_count(self, pattern: str, count: int, timeout: float = 20.0) -> list[str]:
        """Wait until ``count`` output lines in all match ``pattern``; return them."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while len(found := [line for line in self.lines if regex.search(line)]) < count:
            try:
                line = self._next(max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{len(found)} of {count} lines matching {pattern!r} in {timeout} s:\n"
                                     + self.output) from None
            if line is None:
                raise AssertionError(f"daemon exited ({self.proc.wait()}) before {count} {pattern!r}:\n" + self.output)
        return found

    @property
    def output(self) -> str:
        """Every line so far."""
        try:
            while self._next(0) is not None:
                pass
        except queue.Empty:
            pass
        return "\n".join(self.lines)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._drain()

    def terminate(self, timeout: float | None = None) -> int:
        """SIGTERM; the exit status, or AssertionError if still running after ``timeout`` seconds (a hang guard:
        how soon it exits is measured by tests/test_daemon_shutdown.py, never asserted as a time)."""
        timeout = STOP_WAIT if timeout is None else timeout
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
        self._reader.join(timeout=5)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._drain()
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()


class FlakyProxy:
    """A TCP proxy on 127.0.0.1 that the test can take down (dropping and refusing connections) and bring back.

    One thread runs a selector over the listening socket, both ends of every
    proxied connection and a wake-up socket; ``down``, ``up`` and ``close``
    are orders that thread carries out, and each returns once it is done.
    """

    @classmethod
    def before(cls, database_url: str) -> tuple[FlakyProxy, str]:
        """A proxy in front of the PostgreSQL server of ``database_url``, and the URL that goes through it."""
        url = make_url(database_url)
        proxy = cls((url.host or "127.0.0.1", url.port or 5432))
        return proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._wake, self._waker = socket.socketpair()
        self._orders: queue.SimpleQueue[tuple[str, threading.Event]] = queue.SimpleQueue()
        self._peers: dict[socket.socket, socket.socket] = {}
        self._refusing = False
        self._refusals = threading.Condition()
        self.refused = 0
        self._thread = threading.Thread(target=self._run, name="flaky-proxy", daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Drop every open connection, and refuse new ones until ``up``."""
        self._order("down")

    def up(self) -> None:
        self._order("up")

    def wait_refused(self, timeout: float) -> None:
        """Until a connection has been refused: the client tried again while the proxy was down."""
        with self._refusals:
            if not self._refusals.wait_for(lambda: self.refused > 0, timeout):
                raise _timed_out(timeout, "a connection to be refused")

    def close(self) -> None:
        if self._thread.is_alive():
            self._order("close")
        self._thread.join(timeout=5)
        for sock in (self.listener, self._wake, self._waker):
            sock.close()

    def _order(self, what: str) -> None:
        done = threading.Event()
        self._orders.put((what, done))
        self._waker.send(b"!")
        if not done.wait(timeout=10):
            raise AssertionError(f"the proxy did not carry out {what!r}")

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ, "accept")
        selector.register(self._wake, selectors.EVENT_READ, "order")
        running = True
        try:
            while running:
                for key, _ in selector.select():
                    if key.data == "order":
                        running = self._carry_out_orders(selector)
                    elif key.data == "accept":
                        self._accept(selector)
                    else:
                        self._forward(selector, key.fileobj)
        finally:
            self._drop_all(selector)
            selector.close()

    def _carry_out_orders(self, selector: selectors.BaseSelector) -> bool:
        self._wake.recv(4096)
        running = True
        while True:
            try:
                what, done = self._orders.get_nowait()
            except queue.Empty:
                return running
            if what in ("down", "close"):
                self._refusing = True
                self._drop_all(selector)
            if what == "up":
                self._refusing = False
            running = running and what != "close"
            done.set()

    def _accept(self, selector: selectors.BaseSelector) -> None:
        client, _ = self.listener.accept()
        if self._refusing:
            with self._refusals:
                self.refused += 1
                self._refusals.notify_all()
            _reset(client)
            return
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _reset(client)
            return
        for sock, peer in ((client, server), (server, client)):
            sock.settimeout(None)
            self._peers[sock] = peer
            selector.register(sock, selectors.EVENT_READ, "data")

    def _forward(self, selector: selectors.BaseSelector, sock: socket.socket) -> None:
        peer = self._peers.get(sock)
        if peer is None:  # dropped earlier in this round of events
            return
        try:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            peer.sendall(data)
        except OSError:
            self._drop(selector, sock)

    def _drop(self, selector: selectors.BaseSelector, sock: socket.socket) -> None:
        peer = self._peers.pop(sock)
        del self._peers[peer]
        for end in (sock, peer):
            selector.unregister(end)
        _close((sock, peer))

    def _drop_all(self, selector: selectors.BaseSelector) -> None:
        while self._peers:
            self._drop(selector, next(iter(self._peers)))


def _reset(sock: socket.socket) -> None:
    """Close with a reset, as a host going away looks to the client."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _close(pair: Iterable[socket.socket]) -> None:
    for sock in pair:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        _reset(sock)


@contextlib.contextmanager
def proxied_postgres(tmp_path: Path) -> Iterator[tuple[Database, str, FlakyProxy]]:
    """A fresh PostgreSQL schema and a proxy in front of the server: the database, the URL through the proxy, and
    the proxy (to take down and bring back)."""
    db = create_database("postgresql", tmp_path)
    proxy, proxied = FlakyProxy.before(db.url)
    try:
        yield db, proxied, proxy
    finally:
        proxy.close()
        db.close()
