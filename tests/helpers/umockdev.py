"""Helpers the umockdev tests share (no tests here): the skip-or-fail rule, a testbed of emulated keyboards,
and the real ``station run`` started under umockdev's preload against it.

Where umockdev cannot run (no PyGObject, no preload library) these tests skip with the reason, except with
``CI=true``, where that is a failure: the same rule as PostgreSQL's in conftest.py.
"""
from __future__ import annotations

import http.client
import json
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, select

from helpers.daemon import DaemonProcess
from station.bench import emulation
from station.domain.models import ScanLog

_PROBLEM: list[str | None] = []


def require_umockdev() -> None:
    """Skip (or, in CI, fail) when umockdev cannot emulate devices on this machine."""
    if not _PROBLEM:
        _PROBLEM.append(emulation.problem())
    problem = _PROBLEM[0]
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"umockdev is required in CI and cannot run: {problem}")
        pytest.skip(f"umockdev cannot run here: {problem}")


def new_testbed() -> emulation.Testbed:
    """A fresh umockdev testbed (no devices yet); skips, or fails in CI, where umockdev cannot run."""
    require_umockdev()
    return emulation.Testbed()


def scanner_block(**keys) -> str:
    """A [[stations.scanners]] table of an evdev scanner."""
    body = "".join(f"{key} = {value!r}\n".replace("'", '"') for key, value in keys.items())
    return f'[[stations.scanners]]\nkind = "evdev"\n{body}'


def write_station_config(tmp_path: Path, stations: dict[str, list[str]], mode: str = "sell") -> Path:
    """A station.toml on a SQLite file in ``tmp_path``: one [[stations]] per key, with those scanner blocks."""
    tables = "".join(f'[[stations]]\nid = "{sid}"\nmode = "{mode}"\n' + "".join(scanners)
                     for sid, scanners in stations.items())
    path = tmp_path / "station.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "station.db"}"\n\n[web]\nhost = "127.0.0.1"\n'
                    f'port = 0\n\n[daemon]\nspool = "{tmp_path / "spool.db"}"\n\n{tables}', encoding="utf-8")
    return path


class EmulatedDaemon(DaemonProcess):
    """``station run`` under umockdev's preload: it sees the testbed's devices, and only them."""

    def __init__(self, config: Path, cwd: Path, bed: emulation.Testbed) -> None:
        super().__init__(config, cwd, env=bed.env)
        self.url = self.expect(r"Station running: (http://\S+)").group(1)

    def expect_scans(self, count: int, station: str = "counter", timeout: float = 20.0) -> None:
        """Wait until ``count`` scans of ``station`` are committed, on its screen's live events (SSE)."""
        with ScreenEvents(self.url, station) as screen:
            screen.wait(lambda view: len(view["recent_scans"]) >= count, timeout, f"{count} scans of {station}")

    def expect_state(self, state: str, count: int = 1, timeout: float = 20.0) -> None:
        """Wait until a scanner has been reported ``state`` ``count`` times in all."""
        self.expect_count(rf"station \S+ scanner .*: {state}$", count, timeout)


class ScreenEvents:
    """A station screen's server-sent events (``GET /api/stations/<id>/events``): its view after each change."""

    def __init__(self, url: str, station: str) -> None:
        parts = urlsplit(url)
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
        self._conn.request("GET", f"/api/stations/{station}/events")
        self._response = self._conn.getresponse()
        assert self._response.status == 200, self._response.status

    def wait(self, predicate, timeout: float, what: str) -> dict:
        """The first view (the one now, then one per change) for which ``predicate`` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            view = self._next_view()
            if view is not None and predicate(view):
                return view
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def _next_view(self) -> dict | None:
        data = None
        while (line := self._response.fp.readline().decode()) not in ("\n", ""):
            if line.startswith("data: "):
                data = json.loads(line[6:])
        return data if data is not None and "recent_scans" in data else None

    def __enter__(self) -> ScreenEvents:
        return self

    def __exit__(self, *exc) -> None:
        self._conn.close()


def scan_log(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    """(station, raw, read_as) of every scan the daemon logged, oldest first."""
    engine = create_engine(f"sqlite:///{tmp_path / 'station.db'}")
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(
                select(ScanLog.station, ScanLog.raw, ScanLog.read_as).order_by(ScanLog.id))]
    finally:
        engine.dispose()
