"""What this process must do itself for an emulated device to come and go (see ``emulation``).

``Testbed.uevent()`` looks the device up with libudev, which in this process
(not under the preload) sees the real /sys and finds nothing; and this
umockdev's ``remove_device()`` leaves a child device's node and its bus and
class links behind. So uevents are built here from the testbed's own sysfs
(systemd's device-monitor format, as umockdev's uevent_sender.c builds them)
and sent to the listeners' sockets, and the leftovers are swept.
"""
from __future__ import annotations

import os
import socket
import struct
from contextlib import contextmanager
from pathlib import Path


def uevent_message(root: str, syspath: str, action: str) -> bytes:
    """The uevent a libudev monitor receives for ``syspath``, built from the testbed's own sysfs."""
    props = uevent_props(root, syspath)
    body = f"ACTION={action}\0DEVPATH={syspath[4:]}\0SUBSYSTEM={props['SUBSYSTEM']}\0SEQNUM={next(_SEQNUM)}\0"
    data = (body + "".join(f"{key}={value}\0" for key, value in props.items())).encode()
    header = b"libudev\0" + struct.pack(">I", 0xFEEDCAFE) + struct.pack("=III", 40, 40, len(data))
    header += struct.pack(">II", _murmur2(props["SUBSYSTEM"]), _murmur2(props["DEVTYPE"]) if "DEVTYPE" in props else 0)
    return header + bytes(8) + data  # no tag bloom filter, as umockdev sends none


def uevent_props(root: str, syspath: str) -> dict[str, str]:
    lines = Path(root + syspath, "uevent").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def send_uevent(root: str, message: bytes) -> None:
    """Send a uevent to every program under the preload that listens (its monitor's socket in the testbed)."""
    for listener in Path(root).glob("event[0-9]*"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(message, str(listener))
            except ConnectionRefusedError:  # that monitor was closed
                listener.unlink(missing_ok=True)


_SEQNUM = iter(range(1, 1 << 62))


def _murmur2(text: str) -> int:
    """systemd's string_hash32 (MurmurHash2), which libudev's monitor filters compare."""
    data, m = text.encode(), 0x5BD1E995
    h = len(data)
    for i in range(0, len(data) - len(data) % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little") * m & 0xFFFFFFFF
        k = (k ^ (k >> 24)) * m & 0xFFFFFFFF
        h = (h * m & 0xFFFFFFFF) ^ k
    rest = data[len(data) - len(data) % 4:]
    for i in reversed(range(len(rest))):
        h ^= rest[i] << (8 * i)
    if rest:
        h = h * m & 0xFFFFFFFF
    h = (h ^ (h >> 13)) * m & 0xFFFFFFFF
    return h ^ (h >> 15)


def devices_under(root: str, syspath: str) -> list[str]:
    """``syspath`` and every device below it (a directory with a ``uevent`` file; links not followed)."""
    found = []
    for directory, _, files in os.walk(root + syspath):
        if "uevent" in files:
            found.append(directory[len(root):])
    return found


def sweep_dangling_links(sys_dir: str) -> None:
    for top in ("bus", "class", "dev"):
        for directory, _, names in os.walk(f"{sys_dir}/{top}"):
            for name in names:
                path = os.path.join(directory, name)
                if os.path.islink(path) and not os.path.exists(path):
                    os.unlink(path)


@contextmanager
def quiet_stderr():
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
