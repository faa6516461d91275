"""SerialScanner on real pseudo-terminals: framing, bad bytes, vanishing ports."""

from __future__ import annotations

import os
import queue
import select
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from helpers.readers import started_readers

from drivers.framing import Unfinished
from drivers.reader import BUSY, CONNECTED, MISSING, STOPPED, UNPLUGGED
from drivers.serial_reader import READ_SIZE, SerialScanner

WAIT = 2.0  # the spec's replug target; every wait below is bounded by it


class Pty:
    """A pseudo-terminal pair; the reader opens ``path``, the test writes to the master."""

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no CR->LF translation before pyserial configures it
        self.path = os.ttyname(self._slave)

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def write_waiting(self, data: bytes) -> None:
        """Write, then wait until the bytes wait in the port: the kernel hands a pty's input to the reader's side
        from a work queue, so a reader opened at once may find nothing waiting yet on a loaded machine."""
        self.write(data)
        readable, _, _ = select.select([self._slave], [], [], WAIT)
        assert readable, "the bytes never reached the port"

    def hang_up(self) -> None:
        """The USB adapter is pulled: reads on the port now fail."""
        for fd in (self.master, self._slave):
            if fd >= 0:
                os.close(fd)
        self.master = self._slave = -1


@pytest.fixture
def make_pty() -> Iterator:
    ptys: list[Pty] = []

    def make() -> Pty:
        ptys.append(Pty())
        return ptys[-1]

    yield make
    for pty in ptys:
        pty.hang_up()


class Recorder:
    """Collects on_line and on_status calls in queues the test waits on."""

    def __init__(self) -> None:
        self.lines: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.statuses: queue.Queue[tuple[str, str]] = queue.Queue()

    def on_line(self, device_id: str, lines: list[bytes]) -> None:
        assert lines, "a read delivers the lines it completed, never none"
        for line in lines:
            self.lines.put((device_id, line))

    def on_status(self, device_id: str, status: str) -> None:
        self.statuses.put((device_id, status))

    def line(self) -> bytes:
        device_id, line = self.lines.get(timeout=WAIT)
        assert device_id == "bench-1"
        return line

    def expect_status(self, status: str) -> None:
        assert self.statuses.get(timeout=WAIT) == ("bench-1", status)


@pytest.fixture
def start() -> Iterator:
    with started_readers() as started:

        def start(port: str, recorder: Recorder, **kwargs) -> SerialScanner:
            kwargs.setdefault("on_status", recorder.on_status)
            return started(SerialScanner("bench-1", port, recorder.on_line, **kwargs))

        yield start


@pytest.mark.parametrize(
    "terminator",
    [pytest.param(b"\r", id="CR"), pytest.param(b"\n", id="LF"), pytest.param(b"\r\n", id="CRLF")],
)
def test_split_at_every_byte_boundary_through_a_pty(make_pty, start, terminator: bytes) -> None:
    """Guards the real read loop: a scan cut between two writes arrives whole, once."""
    pty, rec = make_pty(), Recorder()
    start(pty.path, rec)
    rec.expect_status(CONNECTED)
    stream = b"SN-0001" + terminator + b"SN-0002" + terminator
    first_end = len(b"SN-0001" + terminator[:1])
    for cut in range(1, len(stream)):
        received = []
        pty.write(stream[:cut])
        if cut >= first_end:
            # The first line is complete: wait for it, so that the rest (the LF
            # of a CRLF, say) surely comes in a read of its own.
            received.append(rec.line())
        pty.write(stream[cut:] + b"END\r")  # END: nothing more is pending
        while len(received) < 3:
            received.append(rec.line())
        assert received == [b"SN-0001", b"SN-0002", b"END"], cut
    assert rec.lines.empty()


def test_what_waits_in_the_port_before_it_is_opened_is_read_not_discarded(make_pty, start) -> None:
    """Guards issue 10 defect 6: pyserial's open() empties the input buffer; scans sent while the daemon was
    down (the port held open by another, as across a restart) must be read, in order, none lost."""
    pty, rec = make_pty(), Recorder()
    pty.write(b"WAITED-1\r\nWAITED-2\r\nHALF")
    start(pty.path, rec)
    rec.expect_status(CONNECTED)
    pty.write(b"-DONE\r\n")
    assert [rec.line(), rec.line(), rec.line()] == [b"WAITED-1", b"WAITED-2", b"HALF-DONE"]


def test_the_public_reset_input_buffer_still_empties_an_open_port(make_pty) -> None:
    """Guards the KeepingSerial override: only open() keeps the buffer; an explicit reset still works."""
    from drivers.serial_reader import KeepingSerial

    pty = make_pty()
    pty.write(b"STALE\r\n")
    with KeepingSerial(pty.path, timeout=0.5) as port:
        assert port.read_until(b"\n") == b"STALE\r\n"
        pty.write(b"DROPPED\r\n")
        assert select.select([port.fileno()], [], [], WAIT)[0]  # it has reached the port
        port.reset_input_buffer()
        pty.write(b"AFTER\r\n")
        assert port.read_until(b"\n") == b"AFTER\r\n"


def test_invalid_utf8_arrives_as_bytes(make_pty, start) -> None:
    """Guards `invalid_scan`: bad bytes reach the station untouched, the reader lives on."""
    pty, rec = make_pty(), Recorder()
    start(pty.path, rec)
    rec.expect_status(CONNECTED)
    pty.write(b"\xff\xfeSN\x80\r\nOK\r\n")
    assert [rec.line(), rec.line()] == [b"\xff\xfeSN\x80", b"OK"]


def test_idle_gap_frames_a_scanner_without_suffix(make_pty, start) -> None:
    """Guards scanners set without a suffix: the line is ended by silence."""
    pty, rec = make_pty(), Recorder()
    start(pty.path, rec, idle_gap=0.05)
    rec.expect_status(CONNECTED)
    pty.write(b"NOSUFFIX")
    assert rec.line() == b"NOSUFFIX"


def test_a_failing_callback_does_not_stop_the_reader(make_pty, start) -> None:
    """Guards against one bad scan (a bug downstream) ending a scanner's reader."""
    pty, rec = make_pty(), Recorder()
    calls = []

    failed = threading.Event()

    def on_line(device_id: str, lines: list[bytes]) -> None:
        calls.append(lines)
        if b"BOOM" in lines:
            failed.set()
            raise RuntimeError("downstream bug")
        rec.on_line(device_id, lines)

    reader = SerialScanner("bench-1", pty.path, on_line, on_status=rec.on_status)
    reader.start()
    try:
        rec.expect_status(CONNECTED)
        pty.write(b"BOOM\r")
        assert failed.wait(WAIT)
        pty.write(b"AFTER\r")
        assert rec.line() == b"AFTER"
    finally:
        reader.stop()


@pytest.mark.parametrize(
    "vanish",
    [
        pytest.param("hang_up", id="adapter_pulled"),
        pytest.param("unlink", id="symlink_removed_then_adapter_pulled"),
    ],
)
def test_port_vanishes_and_comes_back_under_the_same_symlink(
    make_pty, start, tmp_path: Path, vanish: str
) -> None:
    """Guards replug: the port behind /dev/serial/by-id/... is read again within 2 s."""
    link = tmp_path / "usb-Honeywell_1900-if00"
    first = make_pty()
    link.symlink_to(first.path)
    rec = Recorder()
    start(str(link), rec)  # default reconnect_interval: the real-life timing
    rec.expect_status(CONNECTED)
    first.write(b"BEFORE\r\n")
    assert rec.line() == b"BEFORE"

    if vanish == "unlink":
        link.unlink()
    first.hang_up()
    rec.expect_status(UNPLUGGED)

    second = make_pty()
    replugged_at = time.monotonic()
    tmp_link = tmp_path / "new-link"
    tmp_link.symlink_to(second.path)
    tmp_link.replace(link)  # atomically, as udev does
    rec.expect_status(CONNECTED)
    assert time.monotonic() - replugged_at < 2.0
    second.write(b"AFTER\r\n")
    assert rec.line() == b"AFTER"


def test_a_port_missing_at_start_is_waited_for(make_pty, start, tmp_path: Path) -> None:
    """Guards start-up with the scanner unplugged: reported missing, read once it appears."""
    link = tmp_path / "scanner"
    rec = Recorder()
    start(str(link), rec, reconnect_interval=0.05)
    rec.expect_status(MISSING)
    pty = make_pty()
    link.symlink_to(pty.path)
    rec.expect_status(CONNECTED)
    pty.write(b"LATE\r")
    assert rec.line() == b"LATE"


def test_port_is_exclusive_and_stop_releases_it_promptly(make_pty, start) -> None:
    """Guards the exclusive open and stop(): a second reader waits, and gets it after stop."""
    pty = make_pty()
    first_rec, second_rec = Recorder(), Recorder()
    first = start(pty.path, first_rec)
    first_rec.expect_status(CONNECTED)
    start(pty.path, second_rec, reconnect_interval=0.05)
    second_rec.expect_status(BUSY)  # "Could not exclusively lock port": another program holds it

    stopping_at = time.monotonic()
    first.stop()
    assert time.monotonic() - stopping_at < 1.0
    assert not first.is_alive()
    assert first.status == STOPPED
    second_rec.expect_status(CONNECTED)
    pty.write(b"SECOND\r")
    assert second_rec.line() == b"SECOND"


def test_stop_event_shared_by_the_daemon_ends_the_reader(make_pty) -> None:
    """Guards SIGTERM handling: setting the shared stop event alone ends every reader."""
    pty, rec, stop_event = make_pty(), Recorder(), threading.Event()
    reader = SerialScanner(
        "bench-1", pty.path, rec.on_line, on_status=rec.on_status, stop_event=stop_event
    )
    reader.start()
    rec.expect_status(CONNECTED)
    stop_event.set()
    reader.join(1.0)
    assert not reader.is_alive()
    rec.expect_status(STOPPED)
    with serial.Serial(pty.path, exclusive=True):  # closed, so free again
        pass


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"parity": "X"}, id="bad_parity"),
        pytest.param({"bytesize": 9}, id="bad_bytesize"),
        pytest.param({"baudrate": -1}, id="bad_baudrate"),
        pytest.param({"idle_gap": 0}, id="bad_idle_gap"),
    ],
)
def test_bad_settings_fail_at_construction(kwargs: dict) -> None:
    """Guards configuration errors: they surface at start-up, not as a reader retrying forever."""
    with pytest.raises(ValueError):
        SerialScanner("bench-1", "/dev/ttyUSB9", lambda *_: None, **kwargs)


NOTHING_LEFT = Unfinished()


class Journal:
    """What the daemon's spool is to a reader, kept in memory: the unfinished line it resumes, and every call in
    order (``reading``, then the ``taken`` lines and state); ``failures`` hand-overs are refused first."""

    def __init__(self, left: Unfinished = NOTHING_LEFT, failures: int = 0) -> None:
        self.left = left
        self.failures = failures
        self.calls: list[tuple] = []
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.taken_states: queue.Queue[Unfinished] = queue.Queue()
        self.resumed = 0

    def resume(self) -> Unfinished:
        self.resumed += 1
        return self.left

    def reading(self) -> None:
        self.calls.append(("reading",))

    def taken(self, lines: list[bytes], unfinished: Unfinished) -> None:
        if lines and self.failures:
            self.failures -= 1
            self.calls.append(("refused", tuple(lines)))
            raise OSError(28, "No space left on device")
        self.calls.append(("taken", tuple(lines), unfinished))
        self.taken_states.put(unfinished)
        for line in lines:
            self.lines.put(line)

    def line(self) -> bytes:
        return self.lines.get(timeout=WAIT)


@pytest.fixture
def start_journal() -> Iterator:
    with started_readers() as started:

        def start_journal(port: str, journal: Journal, **kwargs) -> SerialScanner:
            rec = Recorder()
            reader = started(SerialScanner("bench-1", port, journal, on_status=rec.on_status, **kwargs))
            rec.expect_status(CONNECTED)
            return reader

        yield start_journal


def test_no_read_is_taken_before_the_last_one_is_kept_and_none_exceeds_read_size(make_pty, start_journal) -> None:
    """Guards issue 20: a reader that took all that waited (a whole terminal buffer) lost it all to a kill. Each
    read is now announced, at most READ_SIZE bytes, and handed over before the next is taken."""
    pty, journal = make_pty(), Journal()
    sent = [f"SN-{n:06d}".encode() for n in range(200)]
    pty.write(b"".join(line + b"\r\n" for line in sent))
    start_journal(pty.path, journal)
    assert [journal.line() for _ in sent] == sent
    reads = list(journal.calls[1:])  # after the resumed state's hand-over
    if len(reads) % 2:  # the reader announced its next read already, which nothing has answered yet
        assert reads.pop()[0] == "reading"
    assert [call[0] for call in reads[::2]] == ["reading"] * (len(reads) // 2)
    assert [call[0] for call in reads[1::2]] == ["taken"] * (len(reads) // 2)
    assert len(reads) // 2 >= len(sent) * len(b"SN-000000\r\n") // READ_SIZE
    # Where in the stream each hand-over leaves the reader (one byte over when a CR's LF is still unread).
    done, positions = 0, [0]
    for _, lines, unfinished in reads[1::2]:
        done += sum(len(line) + 2 for line in lines)
        positions.append(done + len(unfinished.head))
    assert max(b - a for a, b in zip(positions, positions[1:], strict=False)) <= READ_SIZE + 1


@pytest.mark.parametrize(
    ("left", "waiting", "expected"),
    [
        pytest.param(Unfinished(b"HEAD-"), b"TAIL\r\nNEXT\r\n", [b"HEAD-TAIL", b"NEXT"], id="head_joins_its_rest"),
        pytest.param(Unfinished(cut=True), b"REST\r\nNEXT\r\n", [b"NEXT"], id="lost_read_rest_dropped"),
        pytest.param(Unfinished(cut=True), b"\nNEXT\r\n", [b"NEXT"], id="lost_read_ended_at_a_cr"),
        pytest.param(Unfinished(), b"WAITED\r\n", [b"WAITED"], id="nothing_unfinished"),
    ],
)
def test_the_next_reader_resumes_the_kept_line_with_what_waits_in_the_port(
    make_pty, start_journal, left: Unfinished, waiting: bytes, expected: list[bytes]
) -> None:
    """Guards issue 20: the head of a line kept before a kill is joined by its rest, which waited in the port
    (before: the head went with the killed reader and the rest became a scan, "serial 81"); after a read lost
    with the killed reader, the rest of the line it cut is dropped, never a scan."""
    pty, journal = make_pty(), Journal(left)
    pty.write_waiting(waiting)
    start_journal(pty.path, journal)
    assert [journal.line() for _ in expected] == expected
    pty.write(b"END\r\n")
    assert journal.line() == b"END"


@pytest.mark.parametrize("left", [pytest.param(Unfinished(b"OLD-"), id="head"), pytest.param(Unfinished(cut=True),
                                                                                              id="cut")])
def test_a_kept_line_whose_rest_is_not_in_the_port_is_dropped(make_pty, start_journal, left: Unfinished) -> None:
    """Guards a port whose buffer went with its last holder (a USB port the daemon alone held): nothing waits
    when it is opened, so the kept head is dropped, and kept as dropped, not glued to the next scan."""
    pty, journal = make_pty(), Journal(left)
    start_journal(pty.path, journal)
    assert journal.taken_states.get(timeout=WAIT) == Unfinished()
    pty.write(b"NEW\r\n")
    assert journal.line() == b"NEW"


def test_a_port_that_came_back_never_resumes_the_old_ports_line(make_pty, start_journal, tmp_path: Path) -> None:
    """Guards replug: a line begun on a port that was then pulled has no rest in the new port."""
    link = tmp_path / "scanner"
    first = make_pty()
    link.symlink_to(first.path)
    journal = Journal(Unfinished(b"HEAD-"))
    first.write_waiting(b"TAIL\r\n")
    start_journal(str(link), journal, reconnect_interval=0.05)
    assert journal.line() == b"HEAD-TAIL"
    first.write(b"PART")
    while journal.taken_states.get(timeout=WAIT) != Unfinished(b"PART"):
        pass
    first.hang_up()
    second = make_pty()
    second.write(b"NEW\r\n")
    link.unlink()
    link.symlink_to(second.path)
    assert journal.line() == b"NEW"
    assert journal.resumed == 1


def test_a_read_the_journal_cannot_keep_is_held_and_nothing_more_is_read(make_pty, start_journal) -> None:
    """Guards a spool that refuses a commit (disk full): the reader keeps the one read in hand and tries again,
    reading nothing meanwhile; every line arrives once, in order (before: logged as lost, reading went on)."""
    pty, journal = make_pty(), Journal(failures=3)
    start_journal(pty.path, journal, reconnect_interval=0.02)
    pty.write(b"ONE\r\nTWO\r\n")
    assert [journal.line(), journal.line()] == [b"ONE", b"TWO"]
    kinds = [call[0] for call in journal.calls[1:]]
    first_refusal = kinds.index("refused")
    assert kinds[first_refusal:first_refusal + 4] == ["refused", "refused", "refused", "taken"]
    assert kinds[first_refusal - 1] == "reading"
