"""Keyboard-wedge scanners emulated under umockdev, for the tests and ``station bench --hotplug``.

umockdev's preload library (``LD_PRELOAD=libumockdev-preload.so.0`` with
``UMOCKDEV_DIR`` naming a testbed) lets an unchanged program see emulated
sysfs, udev data and device nodes: the real python-evdev opens
``/dev/input/eventN``, asks its name and capabilities and takes EVIOCGRAB;
pyudev's monitor receives the add and remove uevents the testbed sends. The
testbed lives in *this* process (``UMockdev.Testbed`` through PyGObject);
the program under test runs as a child with the preload.

Each node's ioctls and reads are answered here by ``_Ioctls`` (a
``UMockdev.IoctlBase``): the evdev answers come from a recorded ``.ioctl``
file, EVIOCGRAB is recorded and refused with EBUSY while another client
holds the grab (as the kernel does), and reads hand out whole
``struct input_event`` records (the node is a pseudo-terminal, a byte
stream; evdev never returns part of an event), or ENODEV once unplugged.
Uevents are sent from here (``emulation_sysfs``): the testbed's own would
look the device up in this process's real /sys.

Nothing here imports gi until a testbed is made, so importing it is free.
"""
from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from .emulation_sysfs import (
    devices_under,
    quiet_stderr,
    send_uevent,
    sweep_dangling_links,
    uevent_message,
    uevent_props,
)

PRELOAD = "libumockdev-preload.so.0"
DEVICE_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "umockdev"
EVENT = struct.Struct("llHHi")  # struct input_event on 64-bit Linux: timeval, type, code, value
EV_SYN, EV_KEY, SYN_REPORT = 0, 1, 0


def problem() -> str | None:
    """None when umockdev can emulate devices here, else why not (for a skip or a failure)."""
    try:
        import gi

        gi.require_version("UMockdev", "1.0")
        from gi.repository import UMockdev  # noqa: F401
    except (ImportError, ValueError) as exc:
        return f"umockdev's Python bindings are not importable ({exc}): make install-test installs them"
    with tempfile.TemporaryDirectory() as root:
        probe = subprocess.run([sys.executable, "-c", "pass"], capture_output=True, text=True, timeout=30,
                               env={**os.environ, "LD_PRELOAD": PRELOAD, "UMOCKDEV_DIR": root})
    if probe.returncode != 0 or "cannot be preloaded" in probe.stderr:
        return f"umockdev's preload library {PRELOAD} cannot be loaded: {probe.stderr.strip()[:200]}"
    return None


@dataclass(frozen=True)
class Identity:
    """What a USB keyboard says it is: its ids (EVIOCGID, sysfs, udev) and its name (EVIOCGNAME)."""

    vendor: str  # "05f3"
    product: str  # "0007"
    name: str


def parse_ioctls(text: str) -> dict[str, list[tuple[int, bytes]]]:
    """A recorded ``.ioctl`` file: "EVIOCGBIT(1) 96 FEFF..." -> {"EVIOCGBIT(1)": [(96, b"...")]}."""
    answers: dict[str, list[tuple[int, bytes]]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith("EVIOC"):
            answers.setdefault(parts[0], []).append((int(parts[1]), bytes.fromhex(parts[2])))
    return answers


def with_identity(answers: dict[str, list[tuple[int, bytes]]], identity: Identity):
    """The same answers for a device with other ids and another name (how plain-keyboard.ioctl was made)."""
    bus, _, _, version = struct.unpack("<HHHH", answers["EVIOCGID"][0][1])
    ids = struct.pack("<HHHH", bus, int(identity.vendor, 16), int(identity.product, 16), version)
    name = identity.name.encode() + b"\0"
    return {**answers, "EVIOCGID": [(0, ids)], "EVIOCGNAME(0)": [(len(name), name.ljust(256, b"\0"))]}


def description(template: str, *, event: int, port: int, identity: Identity | None = None,
                old: Identity = Identity("05f3", "0007", "HID 05f3:0007")) -> str:
    """The template's keyboard (its event node, input and USB devices) renumbered, and with other ids if given
    (how plain-keyboard.umockdev was made from usb-keyboard.umockdev).

    Only the four paragraphs that belong to the keyboard are kept: its hub and the
    PCI controller above it are left as plain directories, so that several keyboards,
    and one plugged again, can share them.
    """
    text = "\n\n".join(template.strip().split("\n\n")[:4]) + "\n"
    text = re.sub(r"\binput5\b", f"input{event}", text).replace("event5", f"event{event}")
    text = text.replace("13:69", f"13:{64 + event}").replace("MINOR=69", f"MINOR={64 + event}")
    text = text.replace("1.5.4.2", f"1.5.4.{port}").replace("1_5_4_2", f"1_5_4_{port}")
    text = text.replace("001/009", f"001/{port + 7:03d}").replace("DEVNUM=009", f"DEVNUM={port + 7:03d}")
    text = text.replace("devnum=9\\n", f"devnum={port + 7}\\n").replace("189:8", f"189:{port + 6}")
    if identity is not None:
        text = "\n".join(line if line.startswith(("H:", "N: bus/")) else _reidentify(line, old, identity)
                         for line in text.split("\n"))
        text = re.sub(r"E: ID_(VENDOR|MODEL)_FROM_DATABASE=.*\n", "", text)
    return text


def _reidentify(line: str, old: Identity, new: Identity) -> str:
    """One line of a description with the other ids and name (hex dumps are left alone)."""
    line = line.replace(old.name, new.name)
    line = line.replace(f"v{old.vendor.upper()}p{old.product.upper()}", f"v{new.vendor.upper()}p{new.product.upper()}")
    short = f"{int(old.vendor, 16):x}/{int(old.product, 16):x}/"
    line = line.replace(short, f"{int(new.vendor, 16):x}/{int(new.product, 16):x}/")
    for before, after in ((old.vendor, new.vendor), (old.product, new.product)):
        line = re.sub(rf"(?<![0-9A-Fa-f]){before}(?![0-9A-Fa-f])", after, line)
        line = re.sub(rf"(?<![0-9A-Fa-f]){before.upper()}(?![0-9A-Fa-f])", after.upper(), line)
    return line


def stamp(at: float, type_: int, code: int, value: int) -> bytes:
    """One ``struct input_event`` stamped ``at`` (seconds on whatever clock the test chooses)."""
    sec = int(at // 1)
    return EVENT.pack(sec, int(round((at - sec) * 1_000_000)) % 1_000_000, type_, code, value)


class Testbed:
    """A umockdev testbed of emulated keyboards, and the environment a child needs to see it."""

    def __init__(self) -> None:
        import gi

        gi.require_version("UMockdev", "1.0")
        from gi.repository import UMockdev

        self._umockdev = UMockdev
        self.testbed = UMockdev.Testbed.new()
        self.root = self.testbed.get_root_dir()
        self._events = iter(range(5, 64))
        self._ports = iter(range(2, 10))  # USB ports 1-1.5.4.2 to .9: eight keyboards at once

    @property
    def env(self) -> dict[str, str]:
        """Variables for a child process that must see the emulated devices."""
        return {"LD_PRELOAD": PRELOAD, "UMOCKDEV_DIR": self.root}

    def keyboard(self, device: str = "usb-keyboard") -> Keyboard:
        """Plug in a new emulated USB keyboard described by ``DEVICE_DIR/<device>.umockdev`` and ``.ioctl``."""
        template = (DEVICE_DIR / f"{device}.umockdev").read_text()
        answers = parse_ioctls((DEVICE_DIR / f"{device}.ioctl").read_text())
        keyboard = Keyboard(self, template, answers, next(self._ports))
        keyboard.plug()
        return keyboard

    def _handler(self, answers):
        return _handler_class(self._umockdev)(answers)


class Keyboard:
    """One emulated keyboard: type on it, unplug it, plug it back in (under a new event number)."""

    def __init__(self, bed: Testbed, template: str, answers, port: int) -> None:
        self.bed, self.template, self.answers, self.port = bed, template, answers, port
        self.node = self.syspath = ""
        self.ioctls = None  # this node's _Ioctls: what the program under test asked of it
        self._fd = -1
        self._links: list[str] = []

    @property
    def stable_path(self) -> str:
        """Its /dev/input/by-id link (the same across replugs), as a station is configured; else its node."""
        return next(("/dev/" + link for link in self._links if "/by-id/" in link), self.node)

    def plug(self) -> None:
        """Add the device (a fresh node, as the kernel makes on a replug) and send its add uevents."""
        event = next(self.bed._events)
        text = description(self.template, event=event, port=self.port)
        self.node = f"/dev/input/event{event}"
        self.ioctls = self.bed._handler(self.answers)
        self.bed.testbed.attach_ioctl(self.node, self.ioctls)  # before the node exists: no open goes unanswered
        # Two identical keyboards share a by-id name: as with udev, the one plugged first keeps the link.
        links = [line[3:] for line in text.splitlines() if line.startswith("S: ")]
        self._links = [link for link in links if not os.path.lexists(f"{self.bed.root}/dev/{link}")]
        text = "".join(line for line in text.splitlines(keepends=True)
                       if not line.startswith("S: ") or line[3:].rstrip("\n") in self._links)
        self.bed.testbed.add_from_string(text)
        self._fd = self.bed.testbed.get_dev_fd(self.node)
        # This umockdev answers the ioctls of a node opened through a link only if the handler listens on
        # the link's own path too, and stats it as a device only with its major:minor under dev/.node.
        majmin = re.search(r"^A: dev=(\S+)$", text, re.MULTILINE).group(1)
        for link in self._links:
            self.bed.testbed.attach_ioctl("/dev/" + link, self.ioctls)
            os.symlink(majmin, f"{self.bed.root}/dev/.node/{link.replace('/', '_')}")
        paths = [line[3:] for line in text.splitlines() if line.startswith("P: ")]
        self.syspath = "/sys" + paths[-1]  # the USB device: unplugging it removes the rest
        for path in reversed(paths):  # parents first, as the kernel announces them
            send_uevent(self.bed.root, uevent_message(self.bed.root, "/sys" + path, "add"))

    def unplug(self) -> None:
        """Pull it out: reads fail with ENODEV, the node and its links go, remove uevents are sent."""
        self.ioctls.unplugged()
        for link in self._links:  # udev removes the by-id and by-path links
            self.bed.testbed.detach_ioctl("/dev/" + link)
            for path in (f"{self.bed.root}/dev/{link}", f"{self.bed.root}/dev/.node/{link.replace('/', '_')}"):
                with suppress(FileNotFoundError):
                    os.unlink(path)
        devices = sorted(devices_under(self.bed.root, self.syspath), reverse=True)  # children first
        removes = [uevent_message(self.bed.root, path, "remove") for path in devices]
        for path in devices:  # the nodes (this umockdev's remove_device() leaves a child's node behind)
            name = uevent_props(self.bed.root, path).get("DEVNAME")
            if name:
                for node in (f"{self.bed.root}/dev/{name}", f"{self.bed.root}/dev/.node/{name.replace('/', '_')}"):
                    with suppress(FileNotFoundError):
                        os.unlink(node)
        with quiet_stderr():  # its own remove uevent looks the device up in the real /sys, and says so
            self.bed.testbed.remove_device(self.syspath)  # the node is gone before anyone hears of it
        sweep_dangling_links(self.bed.root + "/sys")  # the children's bus, class and dev links it leaves
        for message in removes:
            send_uevent(self.bed.root, message)
        with suppress(OSError):
            os.write(self._fd, b"\0")  # wakes a reader in select(), which then reads ENODEV

    def strokes(self, strokes: Iterable[tuple[int, int]], *, step: float = 0.002, start: float | None = None,
                pace: bool = True) -> float:
        """Type key strokes, each an EV_KEY and its SYN_REPORT, ``step`` seconds apart in their event times.

        ``start`` is the first event's time (default: now, on the clock the reader asked
        for with EVIOCSCLOCKID). With ``pace`` the keys are written ``step`` apart in real
        time too, as the scanner sends them (a deliberate pace, not a wait); without it
        they are written in one burst, as if the reader had been held up. Returns the
        time after the last stroke, to go on from.
        """
        at = self.ioctls.now() if start is None else start
        burst = bytearray()
        for code, value in strokes:
            packet = stamp(at, EV_KEY, code, value) + stamp(at, EV_SYN, SYN_REPORT, 0)
            at += step
            if pace:
                os.write(self._fd, packet)
                time.sleep(step)
            else:
                burst += packet
        view = memoryview(burst)
        while view:  # blocks (the GIL released) while the reader catches up
            view = view[os.write(self._fd, view[:1 << 16]):]
        return at

    def type(self, text: str, **options) -> float:
        """Type ``text`` on a US layout ("\\n" is Enter)."""
        from drivers.keymap_us import us_key_strokes

        return self.strokes(us_key_strokes(text), **options)


_CLASSES: dict[str, type] = {}


def _handler_class(umockdev) -> type:
    """The ``UMockdev.IoctlBase`` subclass, made once gi is imported."""
    if "ioctls" not in _CLASSES:
        from .emulation_ioctls import make_ioctls_class

        _CLASSES["ioctls"] = make_ioctls_class(umockdev.IoctlBase)
    return _CLASSES["ioctls"]


def wait_for(condition: threading.Condition, predicate: Callable[[], object], timeout: float, what: str):
    """Block on ``condition`` (notified at each change) until ``predicate()`` holds; fail with ``what``."""
    with condition:
        if not condition.wait_for(predicate, timeout):
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        return predicate()
