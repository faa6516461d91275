"""Which input and serial devices exist, and which ones a station configured.

Listing never reads or grabs a device and needs no root: names and USB ids
come from evdev (from sysfs when a node may not be opened) and from
pyserial's port list. Matching is pure: a configured ``DeviceMatch`` against
a ``DeviceInfo``. A device that matches no configured entry is never
grabbed, so the keyboard next to the scanner keeps working.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Literal

from serial.tools import list_ports

try:  # Linux only; matching works without it
    import evdev
except ImportError:  # pragma: no cover - not on Linux
    evdev = None

logger = logging.getLogger(__name__)

#: USB vendor ids of barcode scanner makers (add others here).
SCANNER_VENDORS: dict[str, str] = {
    "0c2e": "Honeywell (Metrologic)",
    "0536": "Hand Held Products (Honeywell)",
    "05e0": "Zebra (Symbol)",
    "05f9": "Datalogic (PSC)",
    "1eab": "Newland",
}
_SCANNER_WORDS = ("barcode", "scanner")
_VENDOR_PRODUCT = re.compile(r"[0-9A-Fa-f*?]{1,4}:[0-9A-Fa-f*?]{1,4}")
INPUT_LINK_DIRS = ("/dev/input/by-id", "/dev/input/by-path", "/dev/barcode")
SERIAL_LINK_DIRS = ("/dev/serial/by-id", "/dev/serial/by-path", "/dev/barcode")

#: Held while a device path is probed (listed, its links resolved, opened to learn what it is): one probe at a
#: time. Probes are rare (a start, a replug) and short, so nothing waits noticeably; and umockdev's preload
#: (0.17), under which the daemon's tests run, is not thread-safe here: its lstat() of an emulated /dev link
#: reads a path buffer shared by every thread after letting go of its lock, and aborts the process when a
#: second thread's probe has rewritten it meanwhile (a replug's listing beside a reader's reopen).
PROBING = threading.RLock()


@dataclass(frozen=True)
class DeviceInfo:
    """One device node as found, with the symlinks that lead to it."""

    path: str
    kind: Literal["input", "serial"]
    name: str
    vendor: str | None = None  # "0c2e": four lower-case hex digits
    product: str | None = None
    stable_paths: tuple[str, ...] = ()
    looks_like_scanner: bool = False

    @property
    def vendor_product(self) -> str | None:
        """The USB ids as "0c2e:0b61", or None when they are unknown."""
        if self.vendor is None or self.product is None:
            return None
        return f"{self.vendor}:{self.product}"


@dataclass(frozen=True)
class DeviceMatch:
    """A configured device: every given criterion must hold (globs allowed)."""

    path: str | None = None
    vendor_product: str | None = None  # "0c2e:0b61" or "0c2e:*"
    name: str | None = None  # exact name, or a glob: "Honeywell*"

    def __post_init__(self) -> None:
        if self.path is None and self.vendor_product is None and self.name is None:
            raise ValueError("a device match needs a path, a vendor:product or a name")
        if self.vendor_product is not None:
            if not _VENDOR_PRODUCT.fullmatch(self.vendor_product):
                raise ValueError(
                    f"vendor:product must look like '0c2e:0b61', not {self.vendor_product!r}"
                )
            object.__setattr__(self, "vendor_product", self.vendor_product.lower())

    def matches(self, info: DeviceInfo) -> bool:
        """True when ``info`` is the device this entry means."""
        if self.path is not None and not _same_device(self.path, info):
            return False
        if self.vendor_product is not None and not (
            info.vendor_product is not None
            and fnmatchcase(info.vendor_product, self.vendor_product)
        ):
            return False
        return self.name is None or fnmatchcase(info.name, self.name)


def matching_devices(
    devices: Iterable[DeviceInfo], matches: Iterable[DeviceMatch]
) -> list[DeviceInfo]:
    """The devices some entry in ``matches`` configures; only these may be grabbed."""
    matches = tuple(matches)
    return [info for info in devices if any(match.matches(info) for match in matches)]


def looks_like_scanner(info: DeviceInfo) -> bool:
    """A guess for ``station devices``: a scanner maker's id, or the word in its name."""
    name = info.name.lower()
    return info.vendor in SCANNER_VENDORS or any(word in name for word in _SCANNER_WORDS)


def stable_paths(path: str, link_dirs: Iterable[str]) -> tuple[str, ...]:
    """The symlinks in ``link_dirs`` that resolve to the node ``path``."""
    with PROBING:
        return _links_to(path, link_dirs)


def _links_to(path: str, link_dirs: Iterable[str]) -> tuple[str, ...]:
    target = os.path.realpath(path)
    found = []
    for directory in link_dirs:
        try:
            entries = sorted(Path(directory).iterdir())
        except OSError:  # no such directory: no scanner of that kind yet
            continue
        found += [
            str(link)
            for link in entries
            if link.is_symlink() and os.path.realpath(link) == target
        ]
    return tuple(found)


def list_input_devices(
    root: str = "/dev/input", link_dirs: Iterable[str] = INPUT_LINK_DIRS
) -> list[DeviceInfo]:
    """Every evdev node under ``root``; unreadable ones are named from sysfs."""
    if evdev is None:  # pragma: no cover - not on Linux
        return []
    link_dirs = tuple(link_dirs)
    devices = []
    with PROBING:
        for path in sorted(evdev.list_devices(root)):
            name, vendor, product = _input_identity(path)
            info = DeviceInfo(path, "input", name, vendor, product, stable_paths(path, link_dirs))
            devices.append(_with_guess(info))
    return devices


def list_serial_ports(link_dirs: Iterable[str] = SERIAL_LINK_DIRS) -> list[DeviceInfo]:
    """Every serial port pyserial finds, with its /dev/serial/by-id links."""
    link_dirs = tuple(link_dirs)
    devices = []
    with PROBING:
        ports = sorted(list_ports.comports(), key=lambda port: port.device)
    for port in ports:
        description = port.description if port.description != "n/a" else ""
        info = DeviceInfo(
            port.device,
            "serial",
            port.product or description or port.name,
            _hex4(port.vid),
            _hex4(port.pid),
            stable_paths(port.device, link_dirs),
        )
        devices.append(_with_guess(info))
    return devices


def list_devices() -> list[DeviceInfo]:
    """Input devices, then serial ports."""
    return list_input_devices() + list_serial_ports()


def _same_device(path: str, info: DeviceInfo) -> bool:
    if path == info.path or path in info.stable_paths:
        return True
    with PROBING:
        return os.path.realpath(path) == os.path.realpath(info.path)


def _input_identity(path: str) -> tuple[str, str | None, str | None]:
    try:
        device = evdev.InputDevice(path)
    except OSError as exc:  # EACCES without the "input"/"barcode" group
        logger.debug("cannot open %s (%s): reading sysfs", path, exc)
        return _sysfs_identity(path)
    try:
        return device.name, _hex4(device.info.vendor), _hex4(device.info.product)
    finally:
        device.close()


def _sysfs_identity(path: str) -> tuple[str, str | None, str | None]:
    base = Path("/sys/class/input") / Path(path).name / "device"
    values = []
    for part in ("name", "id/vendor", "id/product"):
        try:
            values.append((base / part).read_text().strip())
        except OSError:
            values.append(None)
    name, vendor, product = values
    return name or "", vendor, product


def _hex4(value: int | None) -> str | None:
    return None if value is None else f"{value:04x}"


def _with_guess(info: DeviceInfo) -> DeviceInfo:
    return replace(info, looks_like_scanner=looks_like_scanner(info))
