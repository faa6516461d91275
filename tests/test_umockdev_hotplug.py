"""Unplug and replug under umockdev, with the real ``station run``: a remove uevent (and the node gone) makes the
scanner "unplugged" on /devices; an add uevent brings it back and it is read again, with no restart; a scanner
gone for good ends "stopped" when the daemon does. Only that it happens is asserted, never how fast: the
figures are ``station bench --hotplug``'s (measured here once, for its shape).
"""
from __future__ import annotations

import re
import urllib.request

import pytest
from helpers.umockdev import EmulatedDaemon, require_umockdev, scan_log, scanner_block, write_station_config
from sqlalchemy import create_engine, select

from station.bench.emulation import wait_for
from station.bench.replugs import measure
from station.domain.models import DeviceStatus


@pytest.fixture(autouse=True)
def _umockdev():
    require_umockdev()


@pytest.mark.parametrize(
    "match",
    [pytest.param("by_id_path", id="fixed_by_id_path"), pytest.param("vendor_product", id="by_vendor_product")],
)
def test_unplugged_scanner_is_shown_unplugged_and_read_again_after_the_add(testbed, tmp_path, match):  # noqa: F811
    """Guards SPEC 6's replug: the reader reports the loss (not "missing": it was there), /devices shows it, and
    the add uevent (a new node, as the kernel gives) has it grabbed and read again without a restart."""
    scanner = testbed.keyboard()
    keys = {"path": scanner.stable_path} if match == "by_id_path" else {"vendor_product": "05f3:0007"}
    daemon = EmulatedDaemon(write_station_config(tmp_path, {"counter": [scanner_block(**keys)]}), tmp_path, testbed)
    try:
        daemon.expect_state("connected")
        scanner.type("SN-BEFORE\n")
        daemon.expect_scans(1)

        first_node = scanner.node
        scanner.unplug()
        daemon.expect_state("unplugged")
        page = _page(daemon.url + "devices")
        assert '<span class="state">unplugged</span>' in page, page[page.find('<table'):]

        scanner.plug()
        assert scanner.node != first_node
        calls = scanner.ioctls
        wait_for(calls.changed, lambda: "grab" in calls.calls, 20, "the new node grabbed")
        daemon.expect_state("connected", count=2)
        scanner.type("SN-AFTER\n")
        daemon.expect_scans(2)
        assert '<span class="state">connected</span>' in _page(daemon.url + "devices")

        scanner.unplug()  # and gone for good
        daemon.expect_state("unplugged", count=2)
        assert daemon.terminate() == 0
    finally:
        daemon.close()
    assert [raw for _, raw, _ in scan_log(tmp_path)] == ["SN-BEFORE", "SN-AFTER"]
    assert re.search(r"^INFO station.daemon.supervisor: station counter scanner .*: stopped$", daemon.output, re.M)
    assert _row_state(tmp_path) == "stopped"  # the last word reached the table before the daemon exited


def test_bench_hotplug_reports_both_kinds_of_scanner():
    """Guards `station bench --hotplug`: it replugs an emulated evdev scanner and a serial one on a
    pseudo-terminal and reports p50 and max for each (the figures themselves are the machine's)."""
    result = measure(replugs=2)["hotplug"]
    evdev, serial = result["evdev_umockdev"], result["serial_pty"]
    for figures in (evdev["add_to_grab_ms"], evdev["add_to_first_scan_ms"], serial["link_to_open_ms"],
                    serial["link_to_first_scan_ms"]):
        assert set(figures) == {"p50", "max"} and 0 < figures["p50"] <= figures["max"]
    assert evdev["replugs"] == serial["replugs"] == 2 and result["target_ms"] == 2000


def _page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def _row_state(tmp_path) -> str | None:
    engine = create_engine(f"sqlite:///{tmp_path / 'station.db'}")
    try:
        with engine.connect() as conn:
            return conn.scalar(select(DeviceStatus.state))
    finally:
        engine.dispose()
