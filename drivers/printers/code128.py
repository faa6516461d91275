"""How a serial is packed into Code 128 symbols, and the same packing written as ZPL ``^FD`` data.

Theory of operation: printable ASCII goes in subset B, one symbol a character;
a run of digits goes in subset C, two digits a symbol, where that saves
symbols after paying for the switch in and out (a run of 4 at either end of
the text, 6 in its middle, 2 when the text is nothing else).  Knowing the
exact symbols gives the exact width of the printed code, so the ZPL driver can
choose a module width that fits and refuse a serial that does not, instead of
leaving that to the printer's automatic mode (``^BC...,A``) and hoping.

ZPL's ``^BC`` in its default mode N reads ``>`` as the start of an
invocation code (ZPL II Programming Guide, "Code 128 Invocation Characters"):
``>:`` and ``>;`` start subsets B and C, ``>5`` and ``>6`` switch to C and B,
and the three characters that cannot be written plainly are ``>0`` (``>``),
``><`` (``^``, which would start a ZPL command) and ``>=`` (``~``, which would
start a control command).  So the field data holds no ``^`` or ``~`` at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

START = {"B": 104, "C": 105}
SWITCH = {"B": 100, "C": 99}
STOP_MODULES = 13  # the stop pattern is 13 modules wide, every other symbol 11
QUIET_ZONE_MODULES = 10
ZPL_START = {"B": ">:", "C": ">;"}
ZPL_SWITCH = {"B": ">6", "C": ">5"}
ZPL_ESCAPES = {">": ">0", "^": "><", "~": ">="}
_RUNS = re.compile(r"\d+|\D+")


@dataclass(frozen=True)
class Segment:
    """Consecutive characters in one subset: ``B`` (one a symbol) or ``C`` (digit pairs)."""

    subset: str
    text: str

    @property
    def symbols(self) -> int:
        return len(self.text) // 2 if self.subset == "C" else len(self.text)


def segments(text: str) -> list[Segment]:
    """The subsets `text` is packed in, in order; `text` must be printable ASCII and not empty."""
    runs = _RUNS.findall(text)
    out: list[Segment] = []
    for index, run in enumerate(runs):
        first, last = index == 0, index == len(runs) - 1
        if not run.isdigit() or not _worth_c(len(run), first, last):
            _append(out, "B", run)
            continue
        odd = run[:1] if len(run) % 2 and not first else ""
        tail = run[-1:] if len(run) % 2 and first else ""
        _append(out, "B", odd)
        _append(out, "C", run[len(odd) : len(run) - len(tail)])
        _append(out, "B", tail)
    return out


def _worth_c(length: int, first: bool, last: bool) -> bool:
    """Whether subset C takes fewer symbols than B for a digit run here (ties stay in B)."""
    switches = (0 if first else 1) + (0 if last else 1)
    if first and last and length % 2:
        switches = 1  # start in C, switch to B for the last digit
    return length // 2 + length % 2 + switches < length


def _append(out: list[Segment], subset: str, text: str) -> None:
    if not text:
        return
    if out and out[-1].subset == subset:
        out[-1] = Segment(subset, out[-1].text + text)
    else:
        out.append(Segment(subset, text))


def symbol_count(text: str) -> int:
    """Symbols of the whole code: start, data, subset switches, check symbol (not the stop)."""
    parts = segments(text)
    return 1 + sum(part.symbols for part in parts) + (len(parts) - 1) + 1


def modules(text: str, quiet_zones: bool = True) -> int:
    """Width of the printed code in modules, with its two quiet zones unless told otherwise."""
    return 11 * symbol_count(text) + STOP_MODULES + (2 * QUIET_ZONE_MODULES if quiet_zones else 0)


def zpl_field_data(text: str) -> str:
    """`text` as ``^BC`` mode N field data: explicit start and switches, ``>``, ``^``, ``~`` escaped."""
    out = []
    for index, part in enumerate(segments(text)):
        out.append((ZPL_START if index == 0 else ZPL_SWITCH)[part.subset])
        out.append(part.text if part.subset == "C" else "".join(ZPL_ESCAPES.get(c, c) for c in part.text))
    return "".join(out)
