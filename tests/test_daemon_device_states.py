"""Readers report their end: the states /devices shows (busy, unplugged, stopped) reach the DeviceStatus rows,
the last one before the daemon exits, so another process's /devices is never left showing a state that is over.
"""
from __future__ import annotations

import time

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


def test_the_scanners_states_wait_for_a_pause_after_a_scan(tmp_path):
    """Guards the screens' fetch of a scan just done against the processor's upkeep (the scanners' states written
    with a commit of their own, the spool pruned) beside it: due, the upkeep waits until QUIET after the scan, or runs
    at once when nothing was scanned lately or it is a whole flush interval late."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from station.daemon.processor import PRUNE_EVERY, QUIET, Processor
    from station.daemon.spool import Spool
    from station.scanning.service import ScanService

    engine = create_engine(f"sqlite:///{tmp_path / 'unused.db'}")
    with Spool(tmp_path / "spool.db") as spool:
        processor = Processor(spool, sessionmaker(engine), ScanService(config_mod.from_dict({})), LiveStatus(),
                              device_flush_interval=1.0)
        assert processor._upkeep_held_back() == 0  # nothing due
        processor.device_changed("default", "scanner")
        assert processor._upkeep_held_back() == 0  # due, and no scan done lately
        processor._next_device_flush = time.monotonic()
        processor._last_done = time.monotonic()
        assert 0 < processor._upkeep_held_back() <= QUIET  # due right after a scan: held back
        processor._next_device_flush -= processor.device_flush_interval
        assert processor._upkeep_held_back() == 0  # a whole interval late: now
        processor._devices_dirty = False
        processor._finished_since_prune = PRUNE_EVERY
        assert 0 < processor._upkeep_held_back() <= QUIET  # a prune due right after a scan: held back too
        processor._finished_since_prune = 2 * PRUNE_EVERY
        assert processor._upkeep_held_back() == 0
    engine.dispose()
