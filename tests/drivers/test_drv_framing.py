"""LineFramer: serial bytes to lines, whatever the reads' boundaries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.framing import LineFramer

TERMINATORS = [
    pytest.param(b"\r", id="CR"),
    pytest.param(b"\n", id="LF"),
    pytest.param(b"\r\n", id="CRLF"),
]
LINE = st.binary(min_size=1).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")).filter(bool)


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


@settings(deadline=None)  # no flaky time limit on a loaded CI machine
@given(
    lines=st.lists(LINE),
    terminators=st.lists(st.sampled_from([b"\r", b"\n", b"\r\n"]), min_size=1),
    cuts=st.lists(st.integers(min_value=0, max_value=2_000)),
)
def test_any_lines_any_terminators_any_cuts(
    lines: list[bytes], terminators: list[bytes], cuts: list[int]
) -> None:
    """Guards the framer as a whole: arbitrary bytes, mixed terminators, arbitrary reads."""
    stream = b"".join(line + terminators[i % len(terminators)] for i, line in enumerate(lines))
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    chunks = [stream[a:b] for a, b in zip(points, points[1:])]
    assert feed_chunks(LineFramer(max_length=10_000), chunks) == lines


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


@pytest.mark.parametrize(
    "kwargs",
    [pytest.param({"idle_gap": 0}, id="zero_idle_gap"), pytest.param({"max_length": 0}, id="zero")],
)
def test_nonsense_settings_are_refused(kwargs: dict) -> None:
    """Guards configuration mistakes that would frame every byte, or nothing."""
    with pytest.raises(ValueError):
        LineFramer(**kwargs)
