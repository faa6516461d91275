"""Readers report their end: the states /devices shows (busy, unplugged, stopped) reach the DeviceStatus rows,
the last one before the daemon exits, so another process's /devices is never left showing a state that is over.
"""
from __future__ import annotations

import pytest
import serial
from helpers.daemon import DaemonProcess, PtyScanner, device_state, wait_live, write_config
from sqlalchemy import select

from station import config as config_mod
from station.daemon.daemon import Daemon
from station.domain.models import DeviceStatus
from station.live.status import LiveStatus


def _row_state(db, device: str) -> str | None:
    with db.Session() as session:
        return session.scalar(select(DeviceStatus.state).where(DeviceStatus.device == device))


@pytest.fixture
def scanner(tmp_path):
    scanner = PtyScanner(tmp_path / "scanner")
    yield scanner
    scanner.close()


def test_stopping_the_daemon_leaves_the_row_stopped(db, tmp_path, scanner):
    """Guards a stale "connected" row after a clean stop: the final state is written before stop() returns."""
    config = config_mod.load(write_config(tmp_path / "station.toml", database_url=db.url,
                                          scanner_link=scanner.link))
    daemon = Daemon(config, db.engine, LiveStatus())
    daemon.start()
    device = str(scanner.link)
    try:
        wait_live(daemon.live, lambda: device_state(daemon.live, device) == "connected", 5, "connected")
    finally:
        assert daemon.stop(2.0)
    assert device_state(daemon.live, device) == "stopped"
    assert _row_state(db, device) == "stopped"  # no wait: it was written before stop() returned


def test_a_port_another_program_holds_is_busy_not_missing(db, tmp_path, scanner):
    """Guards EBUSY read as "missing": a port locked by another program is there, and busy; it is read once freed."""
    config = config_mod.load(write_config(tmp_path / "station.toml", database_url=db.url,
                                          scanner_link=scanner.link))
    other = serial.Serial(str(scanner.link), exclusive=True)  # ModemManager, a terminal, a second daemon
    daemon = Daemon(config, db.engine, LiveStatus(), reconnect_interval=0.05)
    daemon.start()
    device = str(scanner.link)
    try:
        wait_live(daemon.live, lambda: device_state(daemon.live, device) == "busy", 5, "the scanner shown busy")
        other.close()
        wait_live(daemon.live, lambda: device_state(daemon.live, device) == "connected", 5, "connected once freed")
    finally:
        other.close()
        assert daemon.stop(2.0)
    assert _row_state(db, device) == "stopped"


def test_sigterm_leaves_the_row_stopped(db, tmp_path, scanner):
    """Guards the real `station run`: SIGTERM ends it with every scanner's row saying "stopped"."""
    config = write_config(tmp_path / "station.toml", database_url=db.url, scanner_link=scanner.link)
    daemon = DaemonProcess(config, tmp_path)
    try:
        daemon.expect(r"station counter scanner .*: connected")
        assert daemon.terminate() == 0
    finally:
        daemon.close()
    assert f"station counter scanner {scanner.link}: stopped" in daemon.output
    assert _row_state(db, str(scanner.link)) == "stopped"
