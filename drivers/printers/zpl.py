"""Zebra and compatible printers: ZPL II over raw TCP 9100 or a device file.

The barcode is the printer's own Code 128 (``^BC``, mode N with explicit
subsets, see ``code128``) with the serial printed under it as the
interpretation line.  The module width (``^BY``, whole dots) is the widest
that fits the label with the code's quiet zones, at most 0.33 mm and never
under 0.19 mm (``MIN_MODULE_MM``: thinner bars smear on thermal heads); a
serial that would need thinner bars is refused before anything is sent.

A 2D label is the printer's own DataMatrix (``^BX``, ECC 200) or QR code
(``^BQ``, model 2, level M), the serial in text under it: its module the widest
whole number of dots with which the square symbol and its quiet zones fit, at
least 0.25 mm (``MIN_MATRIX_MM``: two dots of a 203 dpi head) and at most
0.5 mm.  The ZPL II Programming Guide's rules for the field data: ``^BX``'s
escape character is set to ``_`` (its default differs by firmware: ``_`` or
``~``), so FNC1 is ``_1`` and an ``_`` of the data ``__``; ``^BQ``'s data starts
with its error correction level and automatic input (``MA,``); and every field
is written under ``^FH\\`` with ``^``, ``~`` and ``\\`` as hex escapes, so no
character of a serial or URI starts a ZPL command.

Status is the ``~HS`` host status answer: three STX...ETX strings whose
flags say paper out, paused, head open, ribbon out.  ``send`` asks it before
the label (nothing is sent to a printer that cannot print) and again after it,
on the same connection: that second answer is the printer's proof that it has
read the whole label (see ``transport`` for what that proves and what not).
"""

from __future__ import annotations

import logging
import re

from drivers.printers import code128, symbols
from drivers.printers.base import READY, LabelPrinter, PrinterState, PrintJob, check_serial, raw_status
from drivers.printers.config import PrinterConfig
from drivers.printers.errors import LabelRefused, PrinterNotReady
from drivers.printers.symbols import Symbol
from drivers.printers.transport import Link, parse_address

log = logging.getLogger(__name__)

MIN_MODULE_MM = 0.19
MAX_MODULE_MM = 0.33
MAX_MODULE_DOTS = 10  # ^BY accepts 1-10
EDGE_MM = 1.0  # left blank at each edge: label stock drifts by about this much
TEXT_MM = 2.5  # height of the interpretation line
GAP_MM = 1.0  # between bars and text
MIN_BAR_MM = 5.0
MAX_BAR_MM = 25.0
MIN_MATRIX_MM = 0.25
MAX_MATRIX_MM = 0.5
MAX_QR_DOTS = 10  # ^BQ's magnification: 1-10
HOST_STATUS = b"~HS"
HEX = "\\"  # the ^FH indicator: \5E is ^, \7E is ~, \5C is \ itself
_HEX_ESCAPES = {"^": HEX + "5E", "~": HEX + "7E", HEX: HEX + "5C"}
_JOB_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")

# (string, field) of each ~HS flag that stops printing, with its code and what it means.
_PROBLEMS = (
    (0, 1, "paper_out", "paper out: load labels"),
    (0, 2, "printer_paused", "paused: press PAUSE on the printer to resume"),
    (1, 2, "head_open", "print head open: close it"),
    (1, 3, "ribbon_out", "ribbon out: load a ribbon"),
    (0, 5, "printer_busy", "receive buffer full"),
    (0, 9, "printer_error", "RAM corrupt"),
    (0, 10, "printer_error", "head under temperature"),
    (0, 11, "printer_error", "head over temperature"),
)


def zpl_hex(text: str) -> str:
    """Field data under ``^FH\\``: ``^``, ``~`` and ``\\`` as hex escapes, everything else as it is."""
    return "".join(_HEX_ESCAPES.get(char, char) for char in text)


def datamatrix_field_data(symbol: Symbol) -> str:
    """``^BX`` ECC 200 data with ``_`` as its escape: GS1 mode is FNC1 (``_1``) first, and ends each
    variable-length value that is not the last; an ``_`` of the data is ``__``."""
    if not symbol.gs1:
        return symbol.text.replace("_", "__")
    return "_1" + symbol.data.replace("_", "__").replace(symbols.GS, "_1")


def host_status_length(buffer: bytes) -> int | None:
    """Length of a complete ~HS answer (three STX...ETX strings) at the start of `buffer`."""
    end = 0
    for _ in range(3):
        end = buffer.find(b"\x03", end)
        if end < 0:
            return None
        end += 1
    return end + 2 if buffer[end : end + 2] == b"\r\n" else end


def parse_host_status(answer: bytes) -> list[tuple[str, str]]:
    """The problems a ~HS answer reports, as (code, description); empty when ready to print."""
    strings = [part.split(b"\x03")[0].decode("ascii", "replace").split(",") for part in answer.split(b"\x02")[1:]]
    if len(strings) < 2:
        return [("printer_error", f"unreadable status answer {answer[:60]!r}")]
    return [
        (code, text)
        for string, index, code, text in _PROBLEMS
        if index < len(strings[string]) and strings[string][index].strip() == "1"
    ]


class ZplPrinter(LabelPrinter):
    """A ZPL II printer at ``tcp://host:port`` or a device path."""

    def __init__(self, config: PrinterConfig) -> None:
        super().__init__(config)
        self.address = parse_address(config.address, f"Printer {config.id!r}")
        self.asks_status = self.address.path is None and config.options.get("status_query", True)

    def prepare(self, job: PrintJob) -> bytes:
        """The ZPL of one label: size, the barcode's field, the serial under it, the job id as a comment."""
        check_serial(job.serial)
        g = self.config.geometry
        edge, text, gap = g.dots(EDGE_MM), g.dots(TEXT_MM), g.dots(GAP_MM)
        job_id = _JOB_ID_UNSAFE.sub("_", job.job_id)
        head = f"^XA^FXstation job {job_id}^FS^PW{g.width_dots}^LL{g.height_dots}^LH0,0^CF0,{text}"
        if job.barcode.two_d:
            return (head + self._matrix_fields(job.serial, job.barcode) + "^XZ").encode("ascii")
        bar = min(g.dots(MAX_BAR_MM), g.height_dots - 2 * edge - text - gap)
        if bar < g.dots(MIN_BAR_MM):
            raise LabelRefused(
                "label_too_low",
                f"Printer {self.id!r}: {g.width_mm:g}x{g.height_mm:g} mm labels are too low for a"
                f" barcode of {MIN_BAR_MM:g} mm with its text; use taller labels.",
            )
        module = self.module_dots(job.serial)
        left = (g.width_dots - code128.modules(job.serial, quiet_zones=False) * module) // 2
        zpl = head + f"^FO{left},{edge}^BY{module}^BCN,{bar},Y,N,N,N^FD{code128.zpl_field_data(job.serial)}^FS^XZ"
        return zpl.encode("ascii")

    def matrix_module_dots(self, serial: str, symbol: Symbol) -> int:
        """The widest whole-dot module with which the 2D symbol and its text fit; ``LabelRefused`` when none does."""
        g = self.config.geometry
        edge, text, gap = g.dots(EDGE_MM), g.dots(TEXT_MM), g.dots(GAP_MM)
        try:
            side = symbols.zpl_side(symbol)
        except ValueError as exc:
            raise LabelRefused("serial_does_not_fit", f"Serial {serial!r} cannot be printed on printer"
                                                      f" {self.id!r}: {exc}.") from exc
        smallest = g.dots(MIN_MATRIX_MM)
        widest = max(smallest, int(MAX_MATRIX_MM * g.dpi / 25.4))
        if symbol.symbology == "qr":
            widest = min(widest, MAX_QR_DOTS)
        room = min(g.width_dots - 2 * edge, g.height_dots - 2 * edge - gap - text)
        module = min(widest, room // side)
        if module < smallest:
            need = side * smallest * 25.4 / g.dpi
            raise LabelRefused(
                "serial_does_not_fit",
                f"Serial {serial!r} does not fit on printer {self.id!r}: its {symbol.symbology} needs a square of"
                f" {need:.1f} mm ({side} modules of at least {smallest * 25.4 / g.dpi:.2f} mm, quiet zones"
                f" included) with its text under it, and the label is {g.width_mm:g}x{g.height_mm:g} mm;"
                " use larger labels.",
            )
        return module

    def _matrix_fields(self, serial: str, symbol: Symbol) -> str:
        """The ^BX or ^BQ field, centred at the top with its quiet zones, and the serial centred under it."""
        g = self.config.geometry
        edge, text, gap = g.dots(EDGE_MM), g.dots(TEXT_MM), g.dots(GAP_MM)
        module = self.matrix_module_dots(serial, symbol)
        side = symbols.zpl_side(symbol)
        quiet = symbols.QUIET_ZONE[symbol.symbology]
        left = (g.width_dots - (side - 2 * quiet) * module) // 2
        top = edge + quiet * module
        if symbol.symbology == "qr":
            field = f"^BQN,2,{module},{symbols.QR_EC_LEVEL}^FH{HEX}^FD{symbols.QR_EC_LEVEL}A,{zpl_hex(symbol.text)}"
        else:
            field = f"^BXN,{module},200,,,,_^FH{HEX}^FD{zpl_hex(datamatrix_field_data(symbol))}"
        line = edge + side * module + gap
        return (f"^FO{left},{top}{field}^FS"
                f"^FO{edge},{line}^A0N,{text},{text}^FB{g.width_dots - 2 * edge},1,0,C^FH{HEX}^FD{zpl_hex(serial)}^FS")

    def module_dots(self, serial: str) -> int:
        """The widest whole-dot module with which `serial` fits; ``LabelRefused`` when none does."""
        g = self.config.geometry
        smallest = g.dots(MIN_MODULE_MM)
        widest = min(MAX_MODULE_DOTS, max(smallest, int(MAX_MODULE_MM * g.dpi / 25.4)))
        modules = code128.modules(serial)
        module = min(widest, (g.width_dots - 2 * g.dots(EDGE_MM)) // modules)
        if module < smallest:
            need = modules * smallest * 25.4 / g.dpi + 2 * EDGE_MM
            raise LabelRefused(
                "serial_does_not_fit",
                f"Serial {serial!r} does not fit on printer {self.id!r}: its barcode needs {need:.1f} mm"
                f" ({modules} modules of at least {smallest * 25.4 / g.dpi:.2f} mm, quiet zones and margins"
                f" included) and the label is {g.width_mm:g} mm wide; use wider labels.",
            )
        return module

    def send(self, job: PrintJob) -> None:
        label = self.prepare(job)
        with Link.open(self.address, self.config.timeout) as link:
            answer = link.deliver(label, (HOST_STATUS, host_status_length) if self.asks_status else None,
                                  self._require_ready, "no answer to ~HS")
        if answer is None:
            return
        log.info("printer %s has job %s (%s)", self.id, job.job_id, job.serial)

    def _require_ready(self, link: Link) -> None:
        answer = link.ask_ready(self.id, HOST_STATUS, host_status_length,
                                "a ZPL printer that cannot answer ~HS needs status_query = false")
        problems = parse_host_status(answer)
        if problems:
            code, _ = problems[0]
            raise PrinterNotReady(code, f"Printer {self.id!r} cannot print: {'; '.join(t for _, t in problems)}.")

    def status(self) -> PrinterState:
        return raw_status(self.address, self.config.timeout, _ask_host_status if self.asks_status else None,
                          _host_state, "no answer to ~HS")


def _ask_host_status(link: Link) -> bytes | None:
    return link.ask(HOST_STATUS, host_status_length)


def _host_state(answer: bytes) -> PrinterState:
    problems = parse_host_status(answer)
    return PrinterState("error", "; ".join(text for _, text in problems)) if problems else READY
