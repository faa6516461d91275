"""The daemon in-process on real pseudo-terminals and a real database: devices coming and going,
the spool's restart path, and scans that can never succeed.
"""
from __future__ import annotations

import logging
import time

import pytest
from helpers.daemon import PtyScanner, device_state, wait_committed, wait_live, write_config
from sqlalchemy import func, select

from station import config as config_mod
from station.daemon.daemon import Daemon
from station.daemon.spool import Spool
from station.domain.errors import ConfigError
from station.domain.models import Customer, DeviceStatus, Document, ScanLog
from station.live.status import LiveStatus
from station.scanning.service import ScanService


def logged(db) -> list[tuple[str, bool, str | None]]:
    with db.Session() as session:
        return [tuple(r) for r in session.execute(
            select(ScanLog.raw, ScanLog.accepted, ScanLog.code).order_by(ScanLog.id))]


@pytest.fixture
def rig(db, tmp_path):
    """A pty scanner (unplugged), a config naming it, and a way to start a daemon that is stopped afterwards."""
    scanner = PtyScanner(tmp_path / "scanner", plugged=False)
    path = write_config(tmp_path / "station.toml", database_url=db.url, scanner_link=scanner.link)
    started: list[Daemon] = []

    def start(**kwargs) -> Daemon:
        daemon = Daemon(config_mod.load(path), db.engine, LiveStatus(), **kwargs)
        started.append(daemon)
        daemon.start()
        return daemon

    yield scanner, start, tmp_path / "spool.db"
    for daemon in started:
        assert daemon.stop(2.0)
    scanner.close()


def test_missing_scanner_is_shown_and_read_once_plugged(db, rig):
    """Guards against a daemon that gives up on (or hides) a scanner not plugged in at start."""
    scanner, start, _ = rig
    daemon = start()
    device = str(scanner.link)
    wait_live(daemon.live, lambda: device_state(daemon.live, device) == "missing", 5, "the scanner shown missing")
    wait_committed(daemon.processor.Session, lambda: _row_state(db, device) == "missing", 10,
                   "DeviceStatus to say missing")

    scanner.plug()
    wait_live(daemon.live, lambda: device_state(daemon.live, device) == "connected", 5, "the scanner connected")
    scanner.send("KILL-PLUG-1")
    wait_live(daemon.live, lambda: len(logged(db)) == 1, 10, "the scan processed")
    assert logged(db) == [("KILL-PLUG-1", False, "unknown_barcode")]
    wait_committed(daemon.processor.Session, lambda: _row_state(db, device) == "connected", 10,
                   "DeviceStatus to say connected")


def test_unplug_and_replug_is_read_again_within_two_seconds(db, rig):
    """Guards against a reader that dies with its device, or needs a restart to see it again (SPEC 6: 2 s)."""
    scanner, start, _ = rig
    scanner.plug()
    daemon = start()
    device = str(scanner.link)
    wait_live(daemon.live, lambda: device_state(daemon.live, device) == "connected", 5, "the scanner connected")
    scanner.send("KILL-BEFORE")
    wait_live(daemon.live, lambda: len(logged(db)) == 1, 10, "the first scan processed")

    scanner.unplug()
    wait_live(daemon.live, lambda: device_state(daemon.live, device) == "unplugged", 5, "the unplug noticed")
    scanner.plug()
    plugged_at = time.monotonic()
    wait_live(daemon.live, lambda: device_state(daemon.live, device) == "connected", 5, "the replug noticed")
    assert time.monotonic() - plugged_at < 2.0
    scanner.send("KILL-AFTER")
    wait_live(daemon.live, lambda: len(logged(db)) == 2, 10, "the scan after the replug processed")
    assert [raw for raw, _, _ in logged(db)] == ["KILL-BEFORE", "KILL-AFTER"]


def test_scan_committed_before_a_crash_is_not_processed_again(db, rig):
    """Guards against the crash window between the main-database commit and marking the scan done in the spool."""
    scanner, start, spool_file = rig
    config = config_mod.load(scanner.link.parent / "station.toml")
    with db.Session.begin() as session:
        session.add(Customer(code="K1", name="Customer 1"))
    with Spool(spool_file) as spool:
        landed = spool.append("counter", "scanner", b"CUS:K1")
        spool.append("counter", "scanner", b"KILL-NEXT")
        # The process that was killed had got this far: committed in the database, still pending in the spool.
        with db.Session.begin() as session:
            ScanService(config).process(session, "counter", landed.raw, device="scanner", key=spool.key(landed.seq))
    daemon = start()
    wait_live(daemon.live, lambda: len(logged(db)) == 2, 10, "the pending scans processed")
    # The processor tells the live status after each scan it marks done, and when the held counts fall.
    wait_live(daemon.live, lambda: not daemon.spool.held(), 10, "the spool emptied")
    assert logged(db) == [("CUS:K1", True, None), ("KILL-NEXT", False, "unknown_barcode")]
    assert daemon.spool.get(landed.seq).outcome == "replayed accepted"
    with db.Session() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 1  # one sale opened, not two


def test_scan_that_can_never_succeed_does_not_block_the_rest(db, rig):
    """Guards against one bad spooled row (its station since removed from the config) holding every later scan."""
    scanner, start, spool_file = rig
    with Spool(spool_file) as spool:
        gone = spool.append("removed-station", "scanner", b"KILL-GONE").seq
        spool.append("counter", "scanner", b"KILL-KEPT")
    daemon = start()
    wait_live(daemon.live, lambda: len(logged(db)) == 1, 10, "the later scan processed")
    wait_live(daemon.live, lambda: not daemon.spool.held(), 10, "the spool emptied")
    assert logged(db) == [("KILL-KEPT", False, "unknown_barcode")]
    failed = daemon.spool.get(gone)
    assert failed.state == "failed" and "removed-station" in failed.outcome


def test_one_log_line_per_scan(db, rig, caplog):
    """Guards against scans that leave no trace in the journal: one line each with station, device and outcome."""
    scanner, start, _ = rig
    scanner.plug()
    caplog.set_level(logging.INFO)
    daemon = start()
    wait_live(daemon.live, lambda: device_state(daemon.live, str(scanner.link)) == "connected", 5, "connected")
    scanner.send("CMD:SELL")
    scanner.send("KILL-LOG")
    wait_live(daemon.live, lambda: len(logged(db)) == 2, 10, "both scans processed")
    lines = [r.getMessage() for r in caplog.records if "outcome=" in r.getMessage()]
    assert len(lines) == 2
    assert all(f"station=counter device={scanner.link}" in line for line in lines)
    assert "outcome=accepted" in lines[0] and "outcome=refused code=unknown_barcode" in lines[1]
    # The text scanned (escaped) and the sentence shown, so the journal alone tells what happened.
    assert ("text=CMD:SELL message='Mode: selling.'" in lines[0]
            or "text=CMD:SELL message='Mode: selling already.'" in lines[0])
    assert "text=KILL-LOG message='Unknown barcode KILL-LOG" in lines[1]


def test_bad_scanner_setting_is_a_start_up_error(db, tmp_path):
    """Guards against a misconfigured scanner that starts anyway and then silently never reads."""
    path = tmp_path / "station.toml"
    write_config(path, database_url=db.url, scanner_link=None)
    path.write_text(path.read_text() + '[[stations.scanners]]\npath = "/dev/input/by-id/x"\nterminators = ["nope"]\n')
    with pytest.raises(ConfigError, match="KEY_NOPE"):
        Daemon(config_mod.load(path), db.engine)


def _row_state(db, device: str) -> str | None:
    with db.Session() as session:
        return session.scalar(select(DeviceStatus.state).where(DeviceStatus.device == device))



def test_scanner_matched_by_name_and_absent_is_shown_missing(db, tmp_path):
    """Guards against a scanner configured by name (resolved through discovery) vanishing from the screen when
    no such device exists, and against opening some other device instead."""
    path = tmp_path / "station.toml"
    write_config(path, database_url=db.url, scanner_link=None)
    path.write_text(path.read_text() + '[[stations.scanners]]\nkind = "evdev"\nname = "No Such Scanner*"\n')
    daemon = Daemon(config_mod.load(path), db.engine, LiveStatus())
    daemon.start()
    try:
        wait_live(daemon.live, lambda: device_state(daemon.live, "No Such Scanner*") == "missing", 5, "missing")
        assert all(not slot.readers for slot in daemon.supervisor.slots)
    finally:
        assert daemon.stop(2.0)


def test_unwritable_spool_is_a_start_up_error(db, tmp_path):
    """Guards against a daemon that starts without anywhere durable to put its scans."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    path = write_config(tmp_path / "station.toml", database_url=db.url, scanner_link=None)
    path.write_text(path.read_text().replace(str(tmp_path / "spool.db"), str(blocker / "spool.db")))
    with pytest.raises(ConfigError, match="cannot open the scan spool"):
        Daemon(config_mod.load(path), db.engine)


def test_second_daemon_on_one_spool_is_refused(db, rig):
    """Guards against two daemons (a service and a manual run) sharing one spool and fighting for its scanners."""
    scanner, start, _ = rig
    start()
    with pytest.raises(ConfigError, match="another station daemon"):
        Daemon(config_mod.load(scanner.link.parent / "station.toml"), db.engine)
