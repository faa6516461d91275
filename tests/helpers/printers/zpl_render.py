"""Read a ZPL label back: its commands, and its ``^BC`` field drawn as bars, the way a Zebra would.

This is the test's own reading of the ZPL II Programming Guide, written apart
from the driver: ``^FD`` data of a mode-N Code 128 is read with the Guide's
invocation codes (``>:``/``>;`` start B/C, ``>5``/``>6`` switch, ``>0`` is
``>``, ``><`` is ``^``, ``>=`` is ``~``), the symbol values get their check
symbol and python-barcode's table of Code 128 bar patterns, and every module
becomes ``^BY`` dots.  zxing-cpp then reads the image.  (No maintained
pure-Python ZPL renderer exists: zpl-core 0.1.0 says of itself "a layout
renderer, not a ZPL emulator" and hands ``^FD`` text to python-barcode as is.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from barcode.charsets.code128 import CODES, STOP
from PIL import Image, ImageDraw

INVOCATIONS = {"<": 62, "0": 30, "=": 94, "1": 95, "2": 96, "3": 97, "4": 98, "5": 99, "6": 100, "7": 101, "8": 102}
STARTS = {":": ("B", 104), ";": ("C", 105), "9": ("A", 103)}
_COMMAND = re.compile(r"\^([A-Z][A-Z0-9@])")


@dataclass
class Label:
    commands: list[tuple[str, str]]

    def all(self, name: str) -> list[str]:
        return [args for command, args in self.commands if command == name]

    def one(self, name: str) -> str:
        [args] = self.all(name)
        return args


def parse(zpl: str) -> Label:
    """The ^-commands of one format, in order, with their argument text (^FD data taken whole up to ^FS)."""
    assert zpl.startswith("^XA") and zpl.endswith("^XZ"), zpl
    commands, position = [], 0
    while (match := _COMMAND.search(zpl, position)) is not None:
        name, start = match[1], match.end()
        if name in ("FD", "FX"):
            end = zpl.index("^FS", start)
        else:
            end = zpl.find("^", start) if "^" in zpl[start:] else len(zpl)
        commands.append((name, zpl[start:end]))
        position = end
    return Label(commands)


def code128_values(data: str) -> list[int]:
    """Symbol values (start first, no check) that a mode-N ``^BC`` makes of `data`."""
    subset, values, i = "B", [104], 0
    if data[:1] == ">" and data[1:2] in STARTS:
        subset, start = STARTS[data[1]]
        values, i = [start], 2
    while i < len(data):
        if data[i] == ">":
            value = INVOCATIONS[data[i + 1]]
            i += 2
            assert value not in ((98, 100, 101) if subset == "B" else (101,)), "SHIFT, FNC4, CODE A: unused"
            if (subset, value) in (("B", 99), ("C", 100)):
                subset = "C" if value == 99 else "B"
            values.append(value)
        elif subset == "C":
            assert data[i : i + 2].isdigit(), data[i:]
            values.append(int(data[i : i + 2]))
            i += 2
        else:
            assert " " <= data[i] <= "~" and data[i] not in "^~", repr(data[i])
            values.append(ord(data[i]) - 32)
            i += 1
    return values


def bars(data: str) -> str:
    """The symbol's modules as '1' (bar) and '0' (space), quiet zones excluded."""
    values = code128_values(data)
    check = (values[0] + sum(position * value for position, value in enumerate(values[1:], 1))) % 103
    return "".join(CODES[value] for value in values + [check]) + STOP + "11"  # the stop's final 2-module bar


def draw(label: Label, quiet_modules: int = 10) -> Image.Image:
    """The ^BC field of `label` as an image: ^BY dots a module, ^BC height, with quiet zones."""
    module = int(label.one("BY").split(",")[0])
    height = int(label.one("BC").split(",")[1])
    modules = bars(label.one("FD"))
    image = Image.new("L", ((len(modules) + 2 * quiet_modules) * module, height + 20), 255)
    painter = ImageDraw.Draw(image)
    for index, bit in enumerate(modules):
        if bit == "1":
            left = (quiet_modules + index) * module
            painter.rectangle([(left, 10), (left + module - 1, 10 + height - 1)], fill=0)
    return image
