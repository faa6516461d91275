"""LineFramer: serial bytes to lines, whatever the reads' boundaries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.framing import LineFramer, Unfinished

TERMINATORS = [
    pytest.param(b"\r", id="CR"),
    pytest.param(b"\n", id="LF"),
    pytest.param(b"\r\n", id="CRLF"),
]
LINE = st.binary(min_size=1).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")).filter(bool)
#: The terminators the lines end with, in turn (any mix of the three).
TERMINATOR_MIXES = st.lists(st.sampled_from([b"\r", b"\n", b"\r\n"]), min_size=1)
#: Where the reads cut the stream (each taken modulo its length).
CUTS = st.lists(st.integers(min_value=0, max_value=2_000))


def feed_chunks(framer: LineFramer, chunks: list[bytes]) -> list[bytes]:
    lines: list[bytes] = []
    for chunk in chunks:
        lines += framer.feed(chunk)
    return lines


@pytest.mark.parametrize("terminator", TERMINATORS)
def test_split_at_every_byte_boundary(terminator: bytes) -> None:
    """Guards reads that cut a scan, or a CRLF, anywhere: the lines are always the same."""
    stream = b"SN-0001" + terminator + b"]C1010950110" + terminator
    expected = [b"SN-0001", b"]C1010950110"]
    for cut in range(len(stream) + 1):
        assert feed_chunks(LineFramer(), [stream[:cut], stream[cut:]]) == expected, cut
    assert feed_chunks(LineFramer(), [bytes([b]) for b in stream]) == expected


def test_cr_ending_one_read_and_lf_starting_the_next_is_one_terminator() -> None:
    """Guards against an empty line (or a lost one) between CR and a late LF."""
    framer = LineFramer()
    assert framer.feed(b"A\r") == [b"A"]
    assert framer.feed(b"\nB\r") == [b"B"]
    assert framer.feed(b"\n") == []
    assert framer.feed(b"C\n") == [b"C"]


def _stream(lines: list[bytes], terminators: list[bytes]) -> tuple[bytes, list[tuple[int, int]]]:
    """The bytes of ``lines`` with their terminators, and each line's span up to its first terminator byte (a line
    is complete once that byte is read)."""
    stream, spans = b"", []
    for i, line in enumerate(lines):
        spans.append((len(stream), len(stream) + len(line) + 1))
        stream += line + terminators[i % len(terminators)]
    return stream, spans


def _chunks(stream: bytes, cuts: list[int]) -> list[tuple[int, int]]:
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    return list(zip(points, points[1:], strict=False))


@settings(deadline=None)  # no flaky time limit on a loaded CI machine
@given(
    lines=st.lists(LINE),
    terminators=TERMINATOR_MIXES,
    cuts=CUTS,
)
def test_any_lines_any_terminators_any_cuts(
    lines: list[bytes], terminators: list[bytes], cuts: list[int]
) -> None:
    """Guards the framer as a whole: arbitrary bytes, mixed terminators, arbitrary reads."""
    stream, _ = _stream(lines, terminators)
    assert feed_chunks(LineFramer(max_length=10_000), [stream[a:b] for a, b in _chunks(stream, cuts)]) == lines


def test_empty_lines_are_dropped() -> None:
    """Guards against blank scans from doubled suffixes (CR CR, LF LF, CRLF CRLF)."""
    assert LineFramer().feed(b"\r\n\r\nA\n\n\r\rB\r\n") == [b"A", b"B"]


def test_invalid_utf8_is_passed_on_as_bytes() -> None:
    """Guards `invalid_scan`: the station must see the bytes, not a decoding crash here."""
    assert LineFramer().feed(b"\xff\xfeSN\x80\r\n") == [b"\xff\xfeSN\x80"]


def test_overlong_line_is_passed_on_in_pieces(caplog: pytest.LogCaptureFixture) -> None:
    """Guards memory: a scanner that never sends a terminator cannot grow the buffer."""
    framer = LineFramer(max_length=4096)
    pieces = framer.feed(b"x" * 10_000)
    assert pieces == [b"x" * 4096, b"x" * 4096]
    assert framer.feed(b"y\r") == [b"x" * 1808 + b"y"]
    assert "longer than 4096" in caplog.text


def test_idle_gap_completes_a_line_without_suffix() -> None:
    """Guards scanners set without a suffix: silence, once the port is drained, ends the scan."""
    framer = LineFramer(idle_gap=0.05)
    assert framer.feed(b"NOSUF") == []
    assert framer.feed(b"FIX") == []
    assert framer.pause_limit == 0.05
    assert framer.pause(0.02) == []
    assert framer.pause(0.06) == [b"NOSUFFIX"]
    assert framer.pause_limit is None
    assert framer.pause(1.0) == []


def test_bytes_read_after_a_held_up_reader_join_the_line_in_progress() -> None:
    """Guards the reader held up with the rest of a line waiting in the kernel: no pause was seen, no split."""
    framer = LineFramer(idle_gap=0.05)
    framer.feed(b"FIRST")
    assert framer.feed(b"-HALF") == []  # however long after: the framer reads no clock
    assert framer.pause(0.06) == [b"FIRST-HALF"]


def test_without_idle_gap_a_pause_never_completes() -> None:
    """Guards suffix-configured scanners with no lost-terminator limit: a slow line is not cut in two."""
    framer = LineFramer()
    framer.feed(b"SLOW")
    assert framer.pause(3600.0) == []
    assert framer.feed(b"LINE\r\n") == [b"SLOWLINE"]


#: Lines read in cuts, and the read at which a reader is killed (taken modulo the number of reads).
KILLED_READS = given(lines=st.lists(LINE, min_size=1), terminators=TERMINATOR_MIXES, cuts=CUTS,
                     kill=st.integers(min_value=0))


@settings(deadline=None)
@KILLED_READS
def test_a_line_cut_by_a_kill_is_joined_by_the_next_framer(
    lines: list[bytes], terminators: list[bytes], cuts: list[int], kill: int
) -> None:
    """Guards issue 20: a reader killed after its read was kept leaves a line's head; the next reader, resuming the
    kept ``unfinished``, joins it to its rest: every line once, whole, in order, wherever the kill fell."""
    stream, _ = _stream(lines, terminators)
    chunks = _chunks(stream, cuts)
    kill %= len(chunks) + 1
    before, after = LineFramer(max_length=10_000), LineFramer(max_length=10_000)
    out = feed_chunks(before, [stream[a:b] for a, b in chunks[:kill]])
    after.resume(before.unfinished)
    out += feed_chunks(after, [stream[a:b] for a, b in chunks[kill:]])
    assert out == lines


@settings(deadline=None)
@KILLED_READS
def test_a_read_lost_by_a_kill_costs_the_lines_it_touched_and_no_fragment(
    lines: list[bytes], terminators: list[bytes], cuts: list[int], kill: int
) -> None:
    """Guards issue 20: a read taken and not kept when the reader was killed is gone; the next reader (resuming
    ``cut``) drops the rest of the line it cut. Out come exactly the other lines, whole and in order: none glued
    to a lost head, no tail as a line of its own; lost are the lines the read touched, and the line right after
    it when it ended exactly where that line began (its rest cannot be told from a line's)."""
    stream, spans = _stream(lines, terminators)
    chunks = _chunks(stream, cuts)
    lost = kill % len(chunks)
    a, b = chunks[lost]
    before, after = LineFramer(max_length=10_000), LineFramer(max_length=10_000)
    out = feed_chunks(before, [stream[x:y] for x, y in chunks[:lost]])
    after.resume(Unfinished(cut=True))  # what the spool says of a port whose read was in flight
    out += feed_chunks(after, [stream[x:y] for x, y in chunks[lost + 1:]])
    out += after.flush()
    kept = [line for line, (start, done) in zip(lines, spans, strict=True)
            if not (start < b and a < done) and start != b]
    assert out == kept


def test_the_unfinished_state_is_the_head_or_the_cut_rest() -> None:
    """Guards what a reader hands over to be kept: the head of the line in progress, nothing once it ends, and
    the cut state until the rest of a cut line has gone by (a kill then must not make the rest a line)."""
    framer = LineFramer()
    framer.feed(b"A\rHE")
    assert framer.unfinished == Unfinished(b"HE")
    framer.feed(b"AD\r")
    assert framer.unfinished == Unfinished()
    framer.resume(Unfinished(cut=True))
    assert framer.feed(b"RE") == [] and framer.unfinished == Unfinished(cut=True)
    assert framer.feed(b"ST\r\nNEXT\r\n") == [b"NEXT"]
    assert framer.unfinished == Unfinished()
    with pytest.raises(ValueError):
        framer.resume(Unfinished(b"HEAD", cut=True))


def test_a_pause_ends_a_cut_lines_rest_for_a_scanner_without_suffix(caplog: pytest.LogCaptureFixture) -> None:
    """Guards scanners ended by a pause: the rest of a cut line is dropped up to the pause, not up to a terminator
    that never comes (which would drop the next scan too)."""
    framer = LineFramer(idle_gap=0.05)
    framer.resume(Unfinished(cut=True))
    assert framer.pause_limit == 0.05
    assert framer.feed(b"REST") == []
    assert framer.pause(0.06) == []
    assert "dropped 4 byte(s)" in caplog.text
    assert framer.feed(b"NEXT") == []
    assert framer.pause(0.06) == [b"NEXT"]


@pytest.mark.parametrize(
    "kwargs",
    [pytest.param({"idle_gap": 0}, id="zero_idle_gap"), pytest.param({"max_length": 0}, id="zero")],
)
def test_nonsense_settings_are_refused(kwargs: dict) -> None:
    """Guards configuration mistakes that would frame every byte, or nothing."""
    with pytest.raises(ValueError):
        LineFramer(**kwargs)
