"""Device matching (pure) and listing (must not crash on a machine without devices)."""

from __future__ import annotations

import dataclasses
import errno
from dataclasses import replace
from pathlib import Path

import pytest

from drivers import discovery
from drivers.discovery import (
    DeviceInfo,
    DeviceMatch,
    list_devices,
    list_input_devices,
    list_serial_ports,
    looks_like_scanner,
    matching_devices,
    stable_paths,
)

SCANNER = DeviceInfo(
    path="/dev/input/event7",
    kind="input",
    name="Honeywell Imaging & Mobility 1900",
    vendor="0c2e",
    product="0b61",
    stable_paths=(
        "/dev/input/by-id/usb-Honeywell_Imaging___Mobility_1900-event-kbd",
        "/dev/input/by-path/pci-0000:00:14.0-usb-0:2:1.0-event-kbd",
        "/dev/barcode/goods-in",
    ),
)
KEYBOARD = DeviceInfo(
    path="/dev/input/event3",
    kind="input",
    name="Logitech USB Keyboard",
    vendor="046d",
    product="c31c",
    stable_paths=("/dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd",),
)
SERIAL_SCANNER = DeviceInfo(
    path="/dev/ttyACM0",
    kind="serial",
    name="Datalogic QuickScan",
    vendor="05f9",
    product="4204",
    stable_paths=("/dev/serial/by-id/usb-Datalogic_QuickScan-if00",),
)


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        pytest.param(DeviceMatch(path="/dev/input/event7"), [SCANNER], id="node_path"),
        pytest.param(DeviceMatch(path=SCANNER.stable_paths[0]), [SCANNER], id="by_id"),
        pytest.param(DeviceMatch(path=SCANNER.stable_paths[1]), [SCANNER], id="by_path"),
        pytest.param(DeviceMatch(path="/dev/barcode/goods-in"), [SCANNER], id="udev_symlink"),
        pytest.param(DeviceMatch(vendor_product="0C2E:0B61"), [SCANNER], id="vendor_product_case"),
        pytest.param(DeviceMatch(vendor_product="05f9:*"), [SERIAL_SCANNER], id="any_product"),
        pytest.param(DeviceMatch(name=SCANNER.name), [SCANNER], id="exact_name"),
        pytest.param(DeviceMatch(name="Datalogic*"), [SERIAL_SCANNER], id="name_glob"),
        pytest.param(DeviceMatch(name="honeywell*"), [], id="name_is_case_sensitive"),
        pytest.param(
            DeviceMatch(vendor_product="0c2e:0b61", name="Other*"), [], id="all_criteria_must_hold"
        ),
        pytest.param(DeviceMatch(path="/dev/input/event70"), [], id="no_prefix_match"),
    ],
)
def test_device_match(match: DeviceMatch, expected: list[DeviceInfo]) -> None:
    """Guards each way of configuring a scanner, and that nothing else is picked up."""
    assert matching_devices([KEYBOARD, SCANNER, SERIAL_SCANNER], [match]) == expected


def test_unconfigured_keyboard_is_never_selected() -> None:
    """Guards the rule that a real keyboard keeps working: only configured devices are grabbed."""
    matches = [DeviceMatch(vendor_product="0c2e:*"), DeviceMatch(path="/dev/ttyACM0")]
    assert KEYBOARD not in matching_devices([KEYBOARD, SCANNER, SERIAL_SCANNER], matches)
    assert matching_devices([KEYBOARD], []) == []


def test_path_match_resolves_symlinks(tmp_path: Path) -> None:
    """Guards a configured symlink that udev created after the device was listed."""
    node = tmp_path / "event7"
    node.touch()
    link = tmp_path / "scanner"
    link.symlink_to(node)
    info = replace(SCANNER, path=str(node), stable_paths=())
    assert DeviceMatch(path=str(link)).matches(info)
    assert not DeviceMatch(path=str(tmp_path / "other")).matches(info)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="no_criteria"),
        pytest.param({"vendor_product": "0c2e0b61"}, id="no_colon"),
        pytest.param({"vendor_product": "honeywell:1900"}, id="not_hex"),
    ],
)
def test_device_match_refuses_bad_configuration(kwargs: dict) -> None:
    """Guards against a match that would match everything, or nothing by a typo."""
    with pytest.raises(ValueError):
        DeviceMatch(**kwargs)


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        pytest.param(SCANNER, True, id="honeywell_vendor"),
        pytest.param(SERIAL_SCANNER, True, id="datalogic_vendor"),
        pytest.param(replace(KEYBOARD, vendor="05e0"), True, id="zebra_symbol_vendor"),
        pytest.param(replace(KEYBOARD, name="USB Barcode Reader"), True, id="name_says_barcode"),
        pytest.param(replace(KEYBOARD, name="2D SCANNER"), True, id="name_says_scanner"),
        pytest.param(KEYBOARD, False, id="keyboard"),
        pytest.param(replace(KEYBOARD, vendor="1a86", name="USB Serial"), False, id="ch340"),
        pytest.param(DeviceInfo("/dev/ttyS0", "serial", "ttyS0"), False, id="no_ids"),
    ],
)
def test_looks_like_scanner(info: DeviceInfo, expected: bool) -> None:
    """Guards the `station devices` hint: scanner makers and names, not keyboards or adapters."""
    assert looks_like_scanner(info) is expected


def test_device_info_is_frozen() -> None:
    """Guards against a listing being changed behind the matcher's back."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        SCANNER.name = "x"  # type: ignore[misc]
    assert SCANNER.vendor_product == "0c2e:0b61"
    assert DeviceInfo("/dev/ttyS0", "serial", "ttyS0").vendor_product is None


def test_stable_paths_finds_the_links_to_a_node(tmp_path: Path) -> None:
    """Guards by-id/by-path/udev symlink discovery, including a missing directory."""
    node, other = tmp_path / "event7", tmp_path / "event3"
    node.touch()
    other.touch()
    by_id, barcode = tmp_path / "by-id", tmp_path / "barcode"
    by_id.mkdir()
    barcode.mkdir()
    (by_id / "usb-Honeywell-event-kbd").symlink_to(node)
    (by_id / "usb-Logitech-event-kbd").symlink_to(other)
    (barcode / "goods-in").symlink_to("../event7")  # relative, as udev makes them
    (barcode / "dangling").symlink_to(tmp_path / "gone")
    found = stable_paths(str(node), [str(by_id), str(tmp_path / "by-path"), str(barcode)])
    assert found == (str(by_id / "usb-Honeywell-event-kbd"), str(barcode / "goods-in"))


def test_listing_works_without_any_device(tmp_path: Path) -> None:
    """Guards `station devices` on a machine with no /dev/input (containers, CI)."""
    assert list_input_devices(root=str(tmp_path / "no-input")) == []
    assert list_input_devices(root=str(tmp_path)) == []
    ports = list_serial_ports()
    assert all(isinstance(p, DeviceInfo) and p.kind == "serial" for p in ports)
    devices = list_devices()
    assert [d for d in devices if d.kind == "serial"] == ports


def test_unreadable_input_node_is_listed_not_fatal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Guards listing without the 'input' group: a PermissionError names the device from sysfs."""

    def refuse(path: str):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(discovery.evdev, "list_devices", lambda root: [f"{root}/event42"])
    monkeypatch.setattr(discovery.evdev, "InputDevice", refuse)
    (info,) = list_input_devices(root=str(tmp_path), link_dirs=[])
    assert (info.path, info.kind, info.name) == (f"{tmp_path}/event42", "input", "")
