"""The real ``station run`` reading an emulated USB scanner under umockdev: python-evdev opens the node,
takes EVIOCGRAB, reads real ``struct input_event`` records; scans reach the database whole and in order.

What the daemon asked of the device (open, EVIOCSCLOCKID, EVIOCGRAB, ungrab, close) is recorded by the
testbed's ioctl handler, and the tests wait on those records, on the daemon's log lines and on nothing else.
"""
from __future__ import annotations

import time

import pytest
from helpers.umockdev import EmulatedDaemon, require_umockdev, scan_log, scanner_block, write_station_config

from station.bench.emulation import wait_for

BY_ID = "/dev/input/by-id/usb-05f3_0007-event-kbd"
YEAR = 365 * 86400


@pytest.fixture(autouse=True)
def _umockdev():
    require_umockdev()


@pytest.fixture
def station(testbed, tmp_path):  # noqa: F811
    """An emulated scanner, and ``station run`` reading it by its by-id path; stopped (SIGTERM) afterwards."""
    scanner = testbed.keyboard()
    daemon = EmulatedDaemon(write_station_config(tmp_path, {"counter": [scanner_block(path=BY_ID)]}),
                            tmp_path, testbed)
    daemon.expect_state("connected")
    yield scanner, daemon
    daemon.close()


def test_scans_typed_at_scanner_speed_reach_the_database_whole_and_in_order(station, tmp_path):
    """Guards issue 13's first finding: a key every 2 ms gave fifteen one- and two-character scans, not two."""
    scanner, daemon = station
    texts = ["CMD:SELL", "SN-UMOCK-1", "SN-UMOCK-2", "CMD:CANCEL"]
    for text in texts:
        scanner.type(text + "\n", step=0.002)
    daemon.expect_scans(len(texts))
    assert [raw for _, raw, _ in scan_log(tmp_path)] == texts
    assert scan_log(tmp_path)[0] == ("counter", "CMD:SELL", "mode")


def test_grab_is_taken_while_reading_and_released_on_sigterm(station):
    """Guards the exclusive grab: taken (after asking for monotonic event times), held while reading, and let
    go on SIGTERM before the process ends, so the keyboard types into the console again."""
    scanner, daemon = station
    calls = scanner.ioctls
    assert wait_for(calls.changed, lambda: "grab" in calls.calls, 5, "EVIOCGRAB")
    scanner.type("SN-GRAB\n")
    daemon.expect_scans(1)
    assert calls.calls[-2:] == ["clock 1", "grab"], calls.calls  # nothing else since: still held
    assert daemon.terminate() == 0  # the ungrab's ioctl was answered before the process went on
    assert calls.calls[-3:] == ["clock 1", "grab", "ungrab"], calls.calls
    assert "grab refused" not in calls.calls
    assert f"station counter scanner {BY_ID}: stopped" in daemon.output


@pytest.mark.parametrize(
    "offsets",
    [
        pytest.param((-20 * YEAR, -20 * YEAR), id="twenty_years_behind"),
        pytest.param((30 * YEAR, 30 * YEAR), id="thirty_years_ahead"),
        pytest.param((5 * YEAR, -5 * YEAR), id="clock_stepped_back_between_scans"),
        pytest.param((-10 * YEAR, 10 * YEAR), id="clock_stepped_forward_between_scans"),
    ],
)
def test_event_times_years_off_the_wall_clock_change_nothing(station, tmp_path, offsets):
    """Guards the root cause of issue 13: a scan's end is decided from gaps between events and a monotonic
    clock, never by comparing event times with time.time()."""
    scanner, daemon = station
    for text, offset in zip(["CMD:SELL", "SN-YEARS-OFF"], offsets, strict=True):
        scanner.type(text + "\n", start=time.time() + offset)
    daemon.expect_scans(2)
    assert [raw for _, raw, _ in scan_log(tmp_path)] == ["CMD:SELL", "SN-YEARS-OFF"], daemon.output


def test_a_2000_character_code_read_in_one_burst_is_one_scan(station, tmp_path):
    """Guards a long 2D code that waited in the kernel (typed long ago, by its event times) and is read in one
    burst: one scan, whole (then refused as over-long, with all of it in the scan log)."""
    scanner, daemon = station
    code = "".join(chr(48 + n % 43) for n in range(2000))  # 0-9, :;<=>?@ and A-Z
    scanner.type(code + "\n", start=time.time() - 3600, pace=False)
    scanner.type("SN-AFTER\n")
    daemon.expect_scans(2)
    assert [raw for _, raw, _ in scan_log(tmp_path)] == [code, "SN-AFTER"]
