"""EvdevScanner on a fake device that replays a recorded capture through a pipe."""

from __future__ import annotations

import errno
import os
import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from evdev import InputEvent, ecodes
from helpers.readers import started_readers

from drivers.evdev_reader import EvdevScanner
from drivers.evtest import parse_capture
from drivers.keydecoder import KeyDecoder
from drivers.keymap_us import us_key_strokes
from drivers.reader import BUSY, CONNECTED, MISSING, STOPPED, UNPLUGGED

WAIT = 2.0
DATA = Path(__file__).parent / "data"
SESSION = (DATA / "replug_session.txt").read_text().split("# --- unplugged here")


def packets(events: list[InputEvent]) -> list[list[InputEvent]]:
    """Group events as the kernel delivers them: up to and including each SYN_REPORT."""
    out, current = [], []
    for event in events:
        current.append(event)
        if event.type == ecodes.EV_SYN and event.code == ecodes.SYN_REPORT:
            out.append(current)
            current = []
    return out + ([current] if current else [])


def typed(text: str) -> list[InputEvent]:
    return [InputEvent(0, 0, ecodes.EV_KEY, code, value) for code, value in us_key_strokes(text)]


def typed_at(text: str, start: float, step: float = 0.002) -> list[InputEvent]:
    """Key events as the kernel reports them, stamped from ``start`` one ``step`` apart, each with its SYN_REPORT."""
    events = []
    for n, (code, value) in enumerate(us_key_strokes(text)):
        at = start + n * step
        sec, usec = int(at), round((at % 1) * 1_000_000) % 1_000_000
        events += [InputEvent(sec, usec, ecodes.EV_KEY, code, value),
                   InputEvent(sec, usec, ecodes.EV_SYN, ecodes.SYN_REPORT, 0)]
    return events


#: What reading an unplugged device raises.
NO_DEVICE = OSError(errno.ENODEV, "No such device")


class FakeInputDevice:
    """Stands in for evdev.InputDevice: a real non-blocking pipe fd for select(), one packet per read().

    Events are stamped with the time they are read, as the kernel stamps them
    when they happen. A read with nothing waiting raises BlockingIOError, as
    evdev's non-blocking fd does. When the packets run out it raises
    ``unplug_error`` (as a read on an unplugged device does), or, with None,
    stays quiet and open.
    """

    def __init__(
        self,
        events: list[InputEvent],
        unplug_error: OSError | None = NO_DEVICE,
        grab_error: OSError | None = None,
        restamp: bool = True,
    ) -> None:
        self._packets = packets(events)
        self._restamp = restamp
        self._unplug_error = unplug_error
        self._grab_error = grab_error
        self.calls: list[str] = []
        self.fd, self._write_end = os.pipe()
        os.set_blocking(self.fd, False)
        wakeups = len(self._packets) + (1 if unplug_error else 0)
        os.write(self._write_end, b"x" * wakeups)

    def grab(self) -> None:
        if self._grab_error is not None:
            self.calls.append("grab refused")
            raise self._grab_error
        self.calls.append("grab")

    def ungrab(self) -> None:
        self.calls.append("ungrab")
        if self._packets == [] and self._unplug_error is not None:
            raise OSError(errno.ENODEV, "No such device")  # gone: ungrab fails too

    def read(self) -> Iterator[InputEvent]:
        os.read(self.fd, 1)  # BlockingIOError when nothing waits
        if not self._packets:
            raise self._unplug_error
        now = time.time()
        sec, usec = int(now), int((now % 1) * 1_000_000)
        for event in self._packets.pop(0):
            if self._restamp:
                event = InputEvent(sec, usec, event.type, event.code, event.value)
            yield event

    def close(self) -> None:
        self.calls.append("close")
        for fd in (self.fd, self._write_end):
            os.close(fd)

    def balanced(self) -> bool:
        grabs, ungrabs = self.calls.count("grab"), self.calls.count("ungrab")
        return grabs == ungrabs and self.calls[-1:] == ["close"]


class Plugs:
    """open_device replacement: each call takes the next device or raises the next error."""

    def __init__(self, *outcomes: FakeInputDevice | OSError) -> None:
        self._outcomes = list(outcomes)
        self.opened: list[str] = []

    def __call__(self, path: str) -> FakeInputDevice:
        self.opened.append(path)
        if not self._outcomes:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        outcome = self._outcomes.pop(0)
        if isinstance(outcome, OSError):
            raise outcome
        return outcome


class Recorder:
    def __init__(self) -> None:
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.statuses: queue.Queue[str] = queue.Queue()

    def on_line(self, device_id: str, lines: list[bytes]) -> None:
        assert device_id == "counter-1" and lines
        for line in lines:
            self.lines.put(line)

    def on_status(self, device_id: str, status: str) -> None:
        self.statuses.put(status)

    def take(self, n: int) -> list[bytes]:
        return [self.lines.get(timeout=WAIT) for _ in range(n)]


@pytest.fixture
def run() -> Iterator[Callable[..., EvdevScanner]]:
    with started_readers() as start:

        def run(open_device: Callable, rec: Recorder, decoder: KeyDecoder | None = None, **kw):
            return start(EvdevScanner(
                "counter-1",
                "/dev/input/by-id/usb-Honeywell-event-kbd",
                decoder or KeyDecoder(),
                rec.on_line,
                on_status=rec.on_status,
                reconnect_interval=kw.pop("reconnect_interval", 0.02),
                open_device=open_device,
                **kw,
            ))

        yield run


def test_recorded_scans_are_read_and_a_replugged_device_is_read_again(run) -> None:
    """Guards the whole life of a scanner: read, unplugged (ENODEV), back, read again."""
    first = FakeInputDevice(list(parse_capture(SESSION[0].splitlines())))
    second = FakeInputDevice(list(parse_capture(SESSION[1].splitlines())), unplug_error=None)
    plugs = Plugs(first, FileNotFoundError(errno.ENOENT, "not yet"), second)
    rec = Recorder()
    reader = run(plugs, rec)
    assert rec.take(3) == [b"SN-A1", b"SN-A2", b"SN-B1"]
    assert [rec.statuses.get(timeout=WAIT) for _ in range(3)] == [CONNECTED, UNPLUGGED, CONNECTED]
    reader.stop()
    assert first.calls == ["grab", "ungrab", "close"]
    assert second.calls == ["grab", "ungrab", "close"]
    assert set(plugs.opened) == {"/dev/input/by-id/usb-Honeywell-event-kbd"}


@pytest.mark.parametrize(
    ("trouble", "reported"),
    [
        pytest.param(lambda: FakeInputDevice(typed("X")), UNPLUGGED, id="device_unplugged"),
        pytest.param(
            lambda: FakeInputDevice(typed("X"), unplug_error=OSError(errno.EIO, "I/O error")),
            UNPLUGGED,
            id="io_error",
        ),
        pytest.param(
            lambda: PermissionError(errno.EACCES, "Permission denied"), MISSING, id="not_ready_at_open"
        ),
        pytest.param(
            lambda: FakeInputDevice([], grab_error=OSError(errno.EBUSY, "Device or resource busy")),
            BUSY,
            id="grabbed_by_another_program",
        ),
    ],
)
def test_trouble_closes_that_device_and_the_reader_retries(run, trouble, reported: str) -> None:
    """Guards each way a device goes wrong: closed cleanly, reported as what it is, read once back."""
    bad = trouble()
    good = FakeInputDevice(typed("OK") + typed("\t"), unplug_error=None)
    rec = Recorder()
    reader = run(Plugs(bad, good), rec)
    assert rec.take(1)[-1] == b"OK"
    reader.stop()
    for device in (bad, good):
        if isinstance(device, FakeInputDevice):
            assert device.balanced(), device.calls
    statuses = []
    while not rec.statuses.empty():
        statuses.append(rec.statuses.get())
    assert reported in statuses and statuses[-2:] == [CONNECTED, STOPPED]
    assert reader.status == STOPPED


def test_a_device_missing_at_start_is_waited_for_with_the_real_open(tmp_path: Path) -> None:
    """Guards the default open_device (evdev.InputDevice): a missing node is 'missing', no crash."""
    rec = Recorder()
    path = str(tmp_path / "event99")
    reader = EvdevScanner("counter-1", path, KeyDecoder(), rec.on_line, on_status=rec.on_status)
    reader.start()
    try:
        assert rec.statuses.get(timeout=WAIT) == MISSING
    finally:
        reader.stop()
    assert not reader.is_alive()


def test_a_failing_callback_does_not_stop_the_reader() -> None:
    """Guards against one bad scan downstream ending a scanner's reader."""
    rec = Recorder()

    def on_line(device_id: str, lines: list[bytes]) -> None:
        if b"BOOM" in lines:
            raise RuntimeError("downstream bug")
        rec.on_line(device_id, lines)

    # The callback fails on the first device's read; the reader goes on to read the replugged one.
    first = FakeInputDevice(typed("BOOM\t"))
    second = FakeInputDevice(typed("AFTER\t"), unplug_error=None)
    reader = EvdevScanner("counter-1", "/dev/x", KeyDecoder(), on_line, open_device=Plugs(first, second),
                          reconnect_interval=0.01)
    reader.start()
    try:
        assert rec.take(1) == [b"AFTER"]
    finally:
        reader.stop()
    assert first.balanced() and second.balanced()


def test_without_grab_nothing_is_grabbed(run) -> None:
    """Guards grab=False (shared devices): no EVIOCGRAB, and no ungrab either."""
    device = FakeInputDevice(typed("free\t"), unplug_error=None)
    rec = Recorder()
    reader = run(Plugs(device), rec, grab=False)
    assert rec.take(1) == [b"free"]
    reader.stop()
    assert device.calls == ["close"]


def test_idle_gap_ends_a_scan_without_suffix(run) -> None:
    """Guards the poll in the read loop: a suffix-less scan arrives once the device is quiet."""
    device = FakeInputDevice(typed("NOSUFFIX"), unplug_error=None)
    rec = Recorder()
    run(Plugs(device), rec, decoder=KeyDecoder(terminators=frozenset(), idle_gap=0.05))
    assert rec.take(1) == [b"NOSUFFIX"]


def test_scans_are_utf8_encoded(run) -> None:
    """Guards the bytes contract: non-ASCII text (here an Alt code, 'é') is sent as UTF-8."""
    alt, kp = ecodes.KEY_LEFTALT, [ecodes.KEY_KP0, ecodes.KEY_KP2, ecodes.KEY_KP3, ecodes.KEY_KP3]
    strokes = [(alt, 1)] + [(k, v) for k in kp for v in (1, 0)] + [(alt, 0), (ecodes.KEY_ENTER, 1)]
    events = [InputEvent(0, 0, ecodes.EV_KEY, code, value) for code, value in strokes]
    device = FakeInputDevice(events, unplug_error=None)
    rec = Recorder()
    run(Plugs(device), rec)
    assert rec.take(1) == ["é".encode()]


@pytest.mark.parametrize(
    "start",
    [pytest.param(time.time() - 3 * 86400, id="typed_three_days_ago"),
     pytest.param(time.time() + 20 * 365 * 86400, id="stamped_twenty_years_ahead"),
     pytest.param(42.0, id="stamped_by_the_monotonic_clock")],
)
def test_a_2000_character_burst_waiting_in_the_kernel_is_one_scan(run, start: float) -> None:
    """Guards issue 13: a long 2D code already waiting when the reader gets to it, whatever its event times, is one
    scan (the old reader compared event times with time.time() between reads, and cut it into pieces)."""
    code = "".join(chr(33 + n % 94) for n in range(2000))
    events = typed_at(code + "\n", start) + typed_at("NEXT\n", start + 30)
    device = FakeInputDevice(events, unplug_error=None, restamp=False)
    rec = Recorder()
    run(Plugs(device), rec, decoder=KeyDecoder(terminators=frozenset({"KEY_ENTER"}), idle_gap=0.05))
    assert rec.take(2) == [code.encode(), b"NEXT"]
    assert rec.lines.empty()


def test_without_suffix_the_pause_is_measured_from_the_last_read(run) -> None:
    """Guards a suffix-less scanner whose keys are stamped years ago: the scan ends after the reader saw the
    device drained and quiet, in one piece."""
    device = FakeInputDevice(typed_at("OLDSTAMPS", 1e6), unplug_error=None, restamp=False)
    rec = Recorder()
    run(Plugs(device), rec, decoder=KeyDecoder(terminators=frozenset(), idle_gap=0.05))
    assert rec.take(1) == [b"OLDSTAMPS"]


def test_stop_is_prompt_and_ungrabs(run) -> None:
    """Guards SIGTERM: stop() returns within a second, the device ungrabbed and closed."""
    device = FakeInputDevice([], unplug_error=None)
    rec = Recorder()
    reader = run(Plugs(device), rec)
    assert rec.statuses.get(timeout=WAIT) == CONNECTED
    started = time.monotonic()
    reader.stop()
    assert time.monotonic() - started < 1.0
    assert not reader.is_alive()
    assert device.calls == ["grab", "ungrab", "close"]
    assert rec.statuses.get(timeout=WAIT) == STOPPED  # the reader's last word, after it let go
