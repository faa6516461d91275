"""Parsing evtest and python-evdev printouts, and decoding recorded captures."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from evdev import InputEvent, ecodes, util
from evdev.evtest import print_event

from drivers.evtest import decode_capture, parse_capture
from drivers.keydecoder import GS

DATA = Path(__file__).parent / "data"


def fields(event: InputEvent) -> tuple[int, int, int, int, int]:
    return (event.sec, event.usec, event.type, event.code, event.value)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            "Event: time 1700000000.123456, type 1 (EV_KEY), code 2 (KEY_1), value 1",
            (1700000000, 123456, 1, 2, 1),
            id="evtest_key",
        ),
        pytest.param(
            "Event: time 1700000000.123456, -------------- SYN_REPORT ------------",
            (1700000000, 123456, 0, 0, 0),
            id="evtest_syn_report",
        ),
        pytest.param(
            "Event: time 1700000000.000001, >>>>>>>>>>>>>> SYN_DROPPED <<<<<<<<<<<<",
            (1700000000, 1, 0, 3, 0),
            id="evtest_syn_dropped",
        ),
        pytest.param(
            "Event: time 1700000000.000001, -------------- SYN_DROPPED ------------",
            (1700000000, 1, 0, 3, 0),
            id="older_evtest_syn_dropped",
        ),
        pytest.param(
            "Event: time 1700000000.5, type 4 (EV_MSC), code 4 (MSC_SCAN), value 7001e",
            (1700000000, 500000, 4, 4, 0x7001E),
            id="evtest_msc_scan_in_hex",
        ),
        pytest.param(
            "Event: time 1700000000.123456, type 0 (EV_SYN), code 0 (SYN_REPORT), value 0",
            (1700000000, 123456, 0, 0, 0),
            id="evtest_syn_as_typed_event",
        ),
        pytest.param(
            "key event at 1700000000.123456, 2 (KEY_1), hold",
            (1700000000, 123456, 1, 2, 2),
            id="categorize_hold",
        ),
        pytest.param(
            "key event at 1700000000.123456, 113 (['KEY_MIN_INTERESTING', 'KEY_MUTE']), up",
            (1700000000, 123456, 1, 113, 0),
            id="categorize_key_with_two_names",
        ),
        pytest.param(
            "synchronization event at 1700000000.123456, SYN_DROPPED",
            (1700000000, 123456, 0, 3, 0),
            id="categorize_sync",
        ),
        pytest.param(
            "synchronization event at 1700000000.123456, code 00, type 00, val 00",
            (1700000000, 123456, 0, 0, 0),
            id="sync_printed_as_plain_event",
        ),
        pytest.param(
            "/dev/input/event3 event at 1700000000.000010, code 04, type 04, val 458782",
            (1700000000, 10, 4, 4, 458782),
            id="plain_event_with_a_prefix",
        ),
    ],
)
def test_parse_one_line_of_each_format(line: str, expected: tuple[int, ...]) -> None:
    """Guards each printout format a user may send us (evtest, categorize, plain)."""
    (event,) = parse_capture([line])
    assert fields(event) == expected


@pytest.mark.parametrize(
    "line",
    [
        pytest.param('Input device name: "Honeywell Imaging & Mobility 1900"', id="evtest_header"),
        pytest.param("    Event code 28 (KEY_ENTER)", id="evtest_capabilities"),
        pytest.param("Testing ... (interrupt to exit)", id="evtest_banner"),
        pytest.param("relative axis event at 1700000000.000000, REL_X", id="no_value_printed"),
        pytest.param("", id="blank"),
        pytest.param("key event at yesterday, 2 (KEY_1), down", id="garbled"),
        pytest.param(
            "Event: time 1700000000.1, type 1 (EV_KEY), code 2 (KEY_1), value 1f", id="hex_key_value"
        ),
    ],
)
def test_lines_that_are_not_events_are_skipped(line: str) -> None:
    """Guards against a header or a stray line aborting or corrupting a decode."""
    assert list(parse_capture([line])) == []


def make_events() -> list[InputEvent]:
    codes = [(ecodes.EV_KEY, ecodes.KEY_A, v) for v in (0, 1, 2)]
    codes += [(ecodes.EV_SYN, code, 0) for code in (ecodes.SYN_REPORT, ecodes.SYN_DROPPED)]
    codes += [(ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70004), (ecodes.EV_KEY, ecodes.KEY_KPENTER, 1)]
    return [InputEvent(1700000000 + i, 1000 * i + 7, *code) for i, code in enumerate(codes)]


@pytest.mark.parametrize(
    "printer",
    [
        pytest.param(lambda event: str(util.categorize(event)), id="categorize"),
        pytest.param(str, id="plain_str"),
    ],
)
def test_round_trip_through_python_evdevs_own_printouts(printer) -> None:
    """Guards the formats against python-evdev itself: what it prints, we read back."""
    events = make_events()
    parsed = list(parse_capture(printer(event) for event in events))
    assert [fields(e) for e in parsed] == [fields(e) for e in events]


def test_round_trip_through_python_evdevs_evtest() -> None:
    """Guards `python -m evdev.evtest` output, whose times are floats of any length."""
    events = make_events()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for event in events:
            print_event(event)
    parsed = list(parse_capture(printed.getvalue().splitlines()))
    # That tool prints MSC_SCAN in decimal, unlike the C evtest.
    assert [fields(e) for e in parsed] == [fields(e) for e in events]


@pytest.mark.parametrize(
    ("capture", "layout", "options", "expected"),
    [
        pytest.param(
            "evtest_honeywell_us.txt", "us", {}, ["ABC-123", "Widget 7/b", "TAIL9"],
            id="evtest_with_dropped_scan_and_unterminated_tail",
        ),
        pytest.param(
            "categorize_us.txt", "us", {"lost_terminator": 0.5}, ["PO-1042", "sn 77", "NEXT"],
            id="categorize_with_repeats_and_lost_enter_after_a_long_pause",
        ),
        pytest.param(
            "categorize_us.txt", "us", {}, ["PO-1042", "sn 77NEXT"],
            id="pause_shorter_than_the_lost_terminator_limit_merges",
        ),
        pytest.param(
            "categorize_us.txt", "us", {"lost_terminator": None}, ["PO-1042", "sn 77NEXT"],
            id="lost_enter_without_a_pause_limit_merges",
        ),
        pytest.param("python_evtest_de.txt", "de", {}, ['Zy-@#1/"', "SN/7"], id="german_scanner"),
        pytest.param(
            "evtest_keypad_human_slow.txt", "us", {}, ["123456789", "4711", "0815"],
            id="human_typing_on_a_keypad_one_scan_per_enter",
        ),
    ],
)
def test_decode_recorded_captures(capture: str, layout: str, options: dict, expected: list[str]) -> None:
    """Guards `station decode-evtest` end to end on recorded captures, pauses ending scans only as SPEC 4 says."""
    text = (DATA / capture).read_text()
    assert decode_capture(text, layout=layout, **options) == expected


def test_decode_capture_reads_gs_from_ctrl_bracket() -> None:
    """Guards GS1 diagnosis: a Ctrl+] in a capture comes out as 0x1D."""
    lines = []
    for i, (code, value) in enumerate(
        [(30, 1), (30, 0), (29, 1), (27, 1), (27, 0), (29, 0), (48, 1), (48, 0)]
    ):
        line = f"Event: time 1700000000.{i:06d}, type 1 (EV_KEY), code {code} (?), value {value}"
        lines.append(line)
    assert decode_capture("\n".join(lines)) == [f"a{GS}b"]
