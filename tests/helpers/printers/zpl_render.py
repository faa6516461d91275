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


# -- 2D fields: ^BX (DataMatrix) and ^BQ (QR code) -------------------------------------------------------------
#
# Read with the Programming Guide's rules, apart from the driver: ^FH<indicator> makes <indicator>XX the byte
# XX, done before anything else; ^BX quality 200 data then reads its escape character g (the 7th parameter):
# g1 is FNC1 (first: GS1 mode; later: a separator, which a scanner sends as GS) and gg is g itself; ^BQ data
# is "<error correction><input mode>," then the data. The symbol is then made by zxing-cpp, standing in for
# the printer's own encoder, at ^BX's module height or ^BQ's magnification, at the field's ^FO.

GS = "\x1d"


@dataclass(frozen=True)
class MatrixField:
    kind: str  # "datamatrix" or "qr"
    module: int  # dots a module
    x: int
    y: int
    params: list[str]  # the command's parameters, as written
    data: str  # what a scanner reads: element strings with GS, or the text
    gs1: bool  # FNC1 first (GS1 DataMatrix)
    raw: str  # the ^FD text as written


def field_hex(raw: str, indicator: str) -> str:
    """^FD text after ^FH: each <indicator><two hex digits> the byte it names."""
    out, i = [], 0
    while i < len(raw):
        if raw[i] == indicator:
            out.append(chr(int(raw[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def datamatrix_data(data: str, escape: str) -> tuple[bool, str]:
    """(GS1 mode, what a scanner reads) of ^BX quality 200 field data with escape character ``escape``."""
    out, i, gs1 = [], 0, False
    while i < len(data):
        if data[i] != escape:
            out.append(data[i])
            i += 1
            continue
        code = data[i + 1]
        assert code in ("1", escape), f"an escape sequence the station never writes: {data[i:i + 2]!r}"
        if code == escape:
            out.append(escape)
        elif i == 0:
            gs1 = True
        else:
            out.append(GS)
        i += 2
    return gs1, "".join(out)


def matrix_field(label: Label) -> MatrixField:
    """The one ^BX or ^BQ field of a label, read."""
    names = [name for name, _ in label.commands]
    [kind] = [name for name in names if name in ("BX", "BQ")]
    at = names.index(kind)
    x, y = (int(v) for v in label.commands[at - 1][1].split(",")) if names[at - 1] == "FO" else (None, None)
    params = label.commands[at][1].split(",")
    assert names[at + 1] == "FH" and names[at + 2] == "FD", names[at:at + 3]
    raw = label.commands[at + 2][1]
    text = field_hex(raw, label.commands[at + 1][1] or "_")
    if kind == "BX":
        assert params[2] == "200", params
        gs1, data = datamatrix_data(text, params[6] if len(params) > 6 and params[6] else "~")
        return MatrixField("datamatrix", int(params[1]), x, y, params, data, gs1, raw)
    switches, _, data = text.partition(",")
    assert switches == params[3] + "A", (switches, params)  # error correction as ^BQ's, automatic input
    return MatrixField("qr", int(params[2]), x, y, params, data, False, raw)


def draw_matrix(label: Label) -> tuple[Image.Image, MatrixField]:
    """The label's 2D field drawn on the whole label (^PW x ^LL dots), and the field read."""
    import zxingcpp
    from biip import ParseConfig
    from biip.gs1_messages import GS1Message

    field = matrix_field(label)
    if field.kind == "qr":
        symbol = zxingcpp.create_barcode(field.data, zxingcpp.BarcodeFormat.QRCode, ecLevel=label_ec(label))
    elif field.gs1:
        message = GS1Message.parse(field.data, config=ParseConfig(separator_chars=[GS]))
        content = "".join(f"[{e.ai.ai}]{e.value}" for e in message.element_strings)
        symbol = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.DataMatrix, gs1=True, forceSquare=True)
    else:
        symbol = zxingcpp.create_barcode(field.data, zxingcpp.BarcodeFormat.DataMatrix, forceSquare=True)
    drawn = Image.fromarray(symbol.to_image(scale=field.module, add_quiet_zones=False)).convert("L")
    canvas = Image.new("L", (int(label.one("PW")), int(label.one("LL"))), 255)
    canvas.paste(drawn, (field.x, field.y))
    return canvas, field


def label_ec(label: Label) -> str:
    return label.one("BQ").split(",")[3]
