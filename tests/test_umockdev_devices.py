"""Finding the emulated scanner, and only it, under umockdev: ``station devices`` and the daemon's discovery by
vendor:product and by name leave an emulated plain keyboard alone; and scanners of non-US layouts (through
xkbcommon) decode a GS1 code with its GS.
"""
from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

import pytest
from helpers.daemon import BOOT
from helpers.umockdev import EmulatedDaemon, require_umockdev, scan_log, scanner_block, write_station_config

from drivers.keymap_us import KEY
from drivers.layouts import XkbLayout
from station.scanning.results import escape_raw

GS = "\x1d"
SHIFT, ALTGR, CTRL = KEY["KEY_LEFTSHIFT"], KEY["KEY_RIGHTALT"], KEY["KEY_LEFTCTRL"]


@pytest.fixture(autouse=True)
def _umockdev():
    require_umockdev()


def test_station_devices_lists_both_and_names_the_station_only_the_scanner_feeds(testbed, tmp_path):  # noqa: F811
    """Guards `station devices` on real python-evdev: the scanner found by vendor:product feeds its station, the
    plain keyboard is listed as never grabbed, and neither is grabbed by listing."""
    scanner, keyboard = testbed.keyboard(), testbed.keyboard("plain-keyboard")
    config = write_station_config(tmp_path, {"counter": [scanner_block(vendor_product="05f3:0007")],
                                             "till": [scanner_block(name="HID 05f3:0007")]})
    result = subprocess.run([sys.executable, "-c", BOOT, "--config", str(config), "devices"], capture_output=True,
                            text=True, timeout=60, env={**_env(), **testbed.env})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"input  05f3:0007  -        {scanner.node}  'HID 05f3:0007'  -> counter, till" in lines, result.stdout
    assert f"input  046d:c31c  -        {keyboard.node}  'Logitech USB Keyboard'  -> (not used: never grabbed)" \
        in lines, result.stdout
    assert not any(line.startswith("missing:") for line in lines), result.stdout
    assert "grab" not in scanner.ioctls.calls and "grab" not in keyboard.ioctls.calls


@pytest.mark.parametrize(
    "match",
    [pytest.param({"vendor_product": "05f3:0007"}, id="by_vendor_product"),
     pytest.param({"name": "HID 05f3*"}, id="by_name_glob")],
)
def test_discovery_reads_the_scanner_and_never_grabs_the_plain_keyboard(testbed, tmp_path, match):  # noqa: F811
    """Guards discovery through the real evdev and pyudev path: the matched scanner is grabbed and read, the
    keyboard beside it (another vendor and name) is at most opened to be identified, never grabbed or read."""
    keyboard, scanner = testbed.keyboard("plain-keyboard"), testbed.keyboard()
    daemon = EmulatedDaemon(write_station_config(tmp_path, {"counter": [scanner_block(**match)]}), tmp_path, testbed)
    try:
        daemon.expect_state("connected")
        scanner.type("SN-FOUND\n")
        keyboard.type("typed on the desk keyboard\n")
        daemon.expect_scans(1)
        assert daemon.terminate() == 0
    finally:
        daemon.close()
    assert [raw for _, raw, _ in scan_log(tmp_path)] == ["SN-FOUND"]
    assert scanner.ioctls.calls[-2:] == ["grab", "ungrab"], scanner.ioctls.calls
    assert not {"grab", "clock 1"} & set(keyboard.ioctls.calls), keyboard.ioctls.calls


def test_a_scanner_another_program_holds_is_busy_then_read_once_released(testbed, tmp_path):  # noqa: F811
    """Guards EBUSY read as "missing": another program's grab makes the scanner "busy" (on /devices too); once
    that program lets go, the daemon grabs and reads it."""
    scanner = testbed.keyboard()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import evdev, sys; d = evdev.InputDevice(sys.argv[1]); d.grab(); print('held', "
                               "flush=True); sys.stdin.read()", scanner.node],
        env={**_env(), **testbed.env}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        daemon = EmulatedDaemon(write_station_config(tmp_path, {"counter": [scanner_block(path=scanner.node)]}),
                                tmp_path, testbed)
        try:
            daemon.expect_state("busy")
            assert "busy" in _page(daemon.url + "devices")
            holder.stdin.close()  # the other program ends: the kernel drops its grab with its file
            holder.wait(timeout=10)
            daemon.expect_state("connected")
            scanner.type("SN-FREED\n")
            daemon.expect_scans(1)
        finally:
            daemon.close()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert "grab refused" in scanner.ioctls.calls
    assert [raw for _, raw, _ in scan_log(tmp_path)] == ["SN-FREED"]


LAYOUTS = ["us", "de", "fr", "be", "cz", "gb"]
GS1 = "]C10109501101020917" + "10LOT7" + GS + "21SNUMOCK9"


def test_layouts_decode_a_gs1_code_with_its_gs(testbed, tmp_path):  # noqa: F811
    """Guards keyboard-wedge scanners set to other layouts (xkbcommon): each types the GS1 code as that layout
    types it (AltGr for ']' in de and fr, Shift for digits in fr and be...), and Ctrl+] as GS, as scanners send
    it whatever the layout; each station reads the same GS1 element string."""
    scanners = {layout: testbed.keyboard() for layout in LAYOUTS}
    stations = {f"till-{layout}": [scanner_block(path=scanners[layout].node, layout=layout)] for layout in LAYOUTS}
    daemon = EmulatedDaemon(write_station_config(tmp_path, stations), tmp_path, testbed)
    try:
        daemon.expect_state("connected", count=len(LAYOUTS))
        for layout, scanner in scanners.items():
            scanner.strokes(layout_strokes(layout, GS1) + layout_strokes(layout, "\r"))
        for layout in LAYOUTS:
            daemon.expect_scans(1, station=f"till-{layout}")
    finally:
        daemon.close()
    assert sorted(scan_log(tmp_path)) == [(f"till-{layout}", escape_raw(GS1), "gs1") for layout in sorted(LAYOUTS)]


def layout_strokes(layout: str, text: str) -> list[tuple[int, int]]:
    """The key strokes that type ``text`` on ``layout`` (found through xkbcommon); GS is Ctrl+]."""
    table = _typing_table(layout)
    strokes: list[tuple[int, int]] = []
    for char in text:
        if char == GS:
            mods, code = (CTRL,), KEY["KEY_RIGHTBRACE"]
        elif char == "\r":
            mods, code = (), KEY["KEY_ENTER"]
        else:
            mods, code = table[char]
        strokes += [(m, 1) for m in mods] + [(code, 1), (code, 0)] + [(m, 0) for m in reversed(mods)]
    return strokes


def _typing_table(layout: str) -> dict[str, tuple[tuple[int, ...], int]]:
    """Each character the layout's main keys type, with the fewest modifiers (keypad left out)."""
    xkb = XkbLayout(layout)
    table: dict[str, tuple[tuple[int, ...], int]] = {}
    for mods in [(), (SHIFT,), (ALTGR,), (SHIFT, ALTGR)]:
        for code in range(KEY["KEY_1"], KEY["KEY_SLASH"] + 1):
            for mod in mods:
                xkb.key(mod, True)
            text = xkb.key(code, True)
            xkb.key(code, False)
            for mod in reversed(mods):
                xkb.key(mod, False)
            if len(text) == 1 and text.isprintable():
                table.setdefault(text, (mods, code))
    return table


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("STATION_CONFIG", "STATION_DATABASE_URL")}


def _page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_typing_table_knows_the_layouts_ways():
    """Guards the helper itself: ']' needs AltGr on de and fr, digits need Shift on fr, and all of GS1 types."""
    assert _typing_table("de")["]"] == ((ALTGR,), KEY["KEY_9"])
    assert _typing_table("fr")["1"] == ((SHIFT,), KEY["KEY_1"])
    for layout in LAYOUTS:
        assert layout_strokes(layout, GS1)
