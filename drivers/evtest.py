"""Read event captures back into events, and decode them into scans.

A user diagnosing a scanner sends what ``evtest`` printed, or what a
``print(categorize(event))`` loop printed. Formats understood (one event a
line; anything else, such as evtest's device header, is skipped):

- evtest::

    Event: time 1700000000.123456, type 1 (EV_KEY), code 2 (KEY_1), value 1
    Event: time 1700000000.123456, -------------- SYN_REPORT ------------
    Event: time 1700000000.123456, >>>>>>>>>>>>>> SYN_DROPPED <<<<<<<<<<<<

  (older evtest prints SYN_DROPPED between dashes; MSC_SCAN values in hex);
- python-evdev's ``python -m evdev.evtest``: ``time 1700000000.123456 type 1
  (EV_KEY), code 2    (KEY_1), value 1`` and ``time ... ---- SYN_REPORT ----``;
- python-evdev's ``categorize()`` and plain event printouts::

    key event at 1700000000.123456, 2 (KEY_1), down        (up, hold)
    synchronization event at 1700000000.123456, SYN_REPORT
    event at 1700000000.123456, code 00, type 00, val 00
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from evdev.events import InputEvent

from .keydecoder import DEFAULT_TERMINATORS, KeyDecoder
from .keymap_us import EV_KEY, EV_MSC, EV_SYN, SYN_NAMES

_TIME = r"(?P<sec>\d+)\.(?P<frac>\d+)"
# "Event: time T, " (evtest) or "time T " (python -m evdev.evtest).
_EVTEST_PREFIX = rf"(?P<evtest>Event: )?time {_TIME},?\s+"
_EVTEST_EVENT = re.compile(
    _EVTEST_PREFIX
    + r"type (?P<type>\d+) \([^)]*\), code (?P<code>\d+)\s+\(.*\), value (?P<value>-?[0-9a-fA-F]+)$"
)
# The name between runs of -, +, >/< or ! (evtest's and python-evdev's markers).
_EVTEST_SYN = re.compile(_EVTEST_PREFIX + r"[-+>!]+ (?P<name>SYN_\w+) [-+<!]+$")
_KEY_EVENT = re.compile(rf"key event at {_TIME}, (?P<code>\d+) \(.*\), (?P<state>up|down|hold)$")
_SYN_EVENT = re.compile(rf"synchronization event at {_TIME}, (?P<name>SYN_\w+)$")
_PLAIN_EVENT = re.compile(
    rf"event at {_TIME}, code (?P<code>\d+), type (?P<type>\d+), val (?P<value>-?\d+)$"
)
_KEY_STATES = {"up": 0, "down": 1, "hold": 2}
_MSC_HEX_CODES = (3, 4)  # MSC_RAW and MSC_SCAN: evtest (the C one) prints them "%02x"


def parse_capture(lines: Iterable[str]) -> Iterator[InputEvent]:
    """Yield the events in an evtest or categorize() printout, in order."""
    for line in lines:
        event = _parse_line(line.strip())
        if event is not None:
            yield event


def decode_capture(
    text: str,
    layout: str = "us",
    idle_gap: float | None = 0.05,
    *,
    terminators: frozenset[str] = DEFAULT_TERMINATORS,
    lost_terminator: float | None = 1.0,
) -> list[str]:
    """Return the scans a capture holds, a final one without terminator included.

    Decoded as a reader would: scans end at the terminators, and pauses (from
    the events' own times) end one only as SPEC 4 says: ``idle_gap`` without
    terminators, ``lost_terminator`` with them.
    """
    return decode_events(parse_capture(text.splitlines()), layout, idle_gap, terminators=terminators,
                         lost_terminator=lost_terminator)


def decode_events(
    events: Iterable[InputEvent],
    layout: str = "us",
    idle_gap: float | None = 0.05,
    *,
    terminators: frozenset[str] = DEFAULT_TERMINATORS,
    lost_terminator: float | None = 1.0,
) -> list[str]:
    """``decode_capture`` of events already parsed (a caller that also looks at the events themselves)."""
    decoder = KeyDecoder(layout=layout, terminators=terminators, idle_gap=idle_gap,
                         lost_terminator=lost_terminator)
    scans: list[str] = []
    for event in events:
        scans += decoder.feed(event)
    return scans + decoder.flush()


def _parse_line(line: str) -> InputEvent | None:
    if match := _EVTEST_EVENT.search(line):
        type_, code = int(match["type"]), int(match["code"])
        hex_value = match["evtest"] and type_ == EV_MSC and code in _MSC_HEX_CODES
        try:
            value = int(match["value"], 16 if hex_value else 10)
        except ValueError:  # "value 1f" where a decimal belongs: not a line we trust
            return None
        return _event(match, type_, code, value)
    match = _EVTEST_SYN.search(line) or _SYN_EVENT.search(line)
    if match and match["name"] in SYN_NAMES:
        return _event(match, EV_SYN, SYN_NAMES[match["name"]], 0)
    if match := _KEY_EVENT.search(line):
        return _event(match, EV_KEY, int(match["code"]), _KEY_STATES[match["state"]])
    if match := _PLAIN_EVENT.search(line):
        return _event(match, int(match["type"]), int(match["code"]), int(match["value"]))
    return None


def _event(match: re.Match[str], type_: int, code: int, value: int) -> InputEvent:
    usec = int(match["frac"].ljust(6, "0")[:6])
    return InputEvent(int(match["sec"]), usec, type_, code, value)
