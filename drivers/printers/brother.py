"""Brother QL label printers: raster over TCP 9100 or a USB device file, through brother_ql.

The library (the maintained fork ``brother_ql_next``, GPL-3.0-only, imported
as ``brother_ql``; pklaus's original has had no release since 2019) knows
each model and tape and turns an image into the printer's raster language;
the station's own renderer (Code 128, or a DataMatrix or QR code) draws the
image at exactly the tape's printable dots (300 dpi), so no step resizes the
bars or modules.
The transport is ours (``transport``): the library's network backend reads
nothing back, and we want the printer's answers.

Tapes: ``tape`` is the library's name of the media ("62" endless, "29x90"
die-cut).  ``label`` is the label as it is read, width x height in mm: on
endless tape one side is the tape's width and the other the cut length; on
die-cut labels it must be the label's own size, either way round.  The image
is drawn the way the label is read and turned to the tape's feed if needed.

Status is the 32-byte answer to ``ESC i S``: asked before the job (a printer
with no media or its cover open gets nothing) and again after it, on the same
connection, as the proof that the printer has read the whole job.  A
"printing completed" notification, where the printer sends one, is proof too.
"""

from __future__ import annotations

import logging

from drivers.printers.base import READY, LabelPrinter, PrinterState, PrintJob, Renderer, check_serial, raw_status
from drivers.printers.config import PrinterConfig
from drivers.printers.errors import LabelRefused, PrinterConfigError, PrinterNotReady
from drivers.printers.transport import Link, parse_address

try:
    from brother_ql.conversion import convert
    from brother_ql.labels import FormFactor, LabelsManager
    from brother_ql.models import ModelsManager
    from brother_ql.raster import BrotherQLRaster
    from brother_ql.reader import chunker, interpret_response
except ImportError as exc:  # the optional extra is not installed
    raise PrinterConfigError(
        "driver_unavailable",
        "Brother QL printers need the 'brother' extra: pip install 'barcode-station[brother]'.",
    ) from exc

log = logging.getLogger(__name__)

DPI = 300
STATUS_REQUEST = b"\x1biS"
HEADER = b"\x80\x20\x42"
FRAME = 32
TOLERANCE_MM = 1.5
_CODES = {"No media when printing": "paper_out", "End of media (die-cut size only)": "paper_out",
          "Media cannot be fed (also when the media end is detected)": "paper_out",
          "Cover opened while printing (Except QL-500)": "head_open", "Printer turned off": "printer_off"}


def frame_ends(buffer: bytes) -> list[int]:
    """Where each complete 32-byte status frame in `buffer` ends, in order."""
    ends, start = [], buffer.find(HEADER)
    while start >= 0 and start + FRAME <= len(buffer):
        ends.append(start + FRAME)
        start = buffer.find(HEADER, start + FRAME)
    return ends


def frames(buffer: bytes) -> list[bytes]:
    """The complete status frames in `buffer`, in order."""
    return [buffer[end - FRAME : end] for end in frame_ends(buffer)]


def read_frame(frame: bytes) -> dict:
    try:
        return interpret_response(frame)
    except (NameError, ValueError) as exc:  # the library signals a malformed frame with NameError
        return {"status_type": "unreadable", "errors": [f"unreadable status {frame[:8].hex()} ({exc})"]}


class BrotherQlPrinter(LabelPrinter):
    """A Brother QL at ``tcp://host:9100`` or a device path, for one model and tape."""

    def __init__(self, config: PrinterConfig, render: Renderer) -> None:
        super().__init__(config)
        where = f"Printer {config.id!r}"
        self.address = parse_address(config.address, where)
        self.render = render
        self.asks_status = self.address.path is None and config.options.get("status_query", True)
        self.model = _known(ModelsManager(), "model", config.options.get("model"), where)
        self.tape = _known(LabelsManager(), "tape", config.options.get("tape"), where)
        if self.tape.restricted_to_models and self.model.identifier not in self.tape.restricted_to_models:
            raise PrinterConfigError(
                "label_tape_mismatch", f"{where}: a {self.model.identifier} cannot print on {self.tape.name} labels."
            )
        if config.geometry.dpi != DPI:
            raise PrinterConfigError("bad_dpi",
                                     f"{where}: Brother QL printers print at {DPI} dpi, not {config.geometry.dpi}.")
        self.image_size, self.rotate = self._layout(where)

    def _layout(self, where: str) -> tuple[tuple[int, int], int]:
        """Image size in dots as the label is read, and the turn (0 or 90) that fits it to the feed."""
        g, tape = self.config.geometry, self.tape
        across, along = tape.dots_printable
        width_mm = tape.tape_size[0]
        if tape.form_factor == FormFactor.ENDLESS:
            if abs(g.width_mm - width_mm) <= TOLERANCE_MM:
                size, turn = (across, g.height_dots), 0
            elif abs(g.height_mm - width_mm) <= TOLERANCE_MM:
                size, turn = (g.width_dots, across), 90
            else:
                size = None
            low, high = self.model.min_max_length_dots
            if size is not None and not low <= size[1 - turn // 90] <= high:
                raise PrinterConfigError("bad_label_size", f"{where}: a {g.width_mm:g}x{g.height_mm:g} mm label is"
                                         f" outside what a {self.model.identifier} can cut from endless tape.")
        elif all(abs(a - b) <= TOLERANCE_MM for a, b in zip((g.width_mm, g.height_mm), tape.tape_size, strict=True)):
            size, turn = (across, along), 0
        elif all(abs(a - b) <= TOLERANCE_MM for a, b in zip((g.height_mm, g.width_mm), tape.tape_size, strict=True)):
            size, turn = (along, across), 90
        else:
            size = None
        if size is None:
            raise PrinterConfigError(
                "label_tape_mismatch",
                f"{where}: label {g.width_mm:g}x{g.height_mm:g} mm does not match the {tape.name} tape.",
            )
        return size, turn

    def prepare(self, job: PrintJob) -> bytes:
        """The raster instructions of one label (the renderer's image, turned to the feed, cut after)."""
        check_serial(job.serial)
        width, height = self.image_size
        try:
            image = self.render(job.serial, width, height, DPI, symbol=job.symbol)
        except ValueError as exc:
            raise LabelRefused(
                "serial_does_not_fit",
                f"Serial {job.serial!r} cannot be printed on printer {self.id!r} ({self.tape.name}): {exc}",
            ) from exc
        if image.size != (width, height):
            raise ValueError(f"renderer drew {image.size} dots, {width}x{height} were asked for")
        raster = BrotherQLRaster(self.model.identifier)
        raster.exception_on_warning = True
        return convert(raster, [image], self.tape.identifier, rotate=self.rotate or "auto",
                       cut=True, compress=self.model.compression, dither=False)

    def send(self, job: PrintJob) -> None:
        instructions = self.prepare(job)
        requests = sum(1 for op in chunker(instructions) if op == STATUS_REQUEST) + 1
        with Link.open(self.address, self.config.timeout) as link:
            answer = link.deliver(instructions,
                                  (STATUS_REQUEST, lambda buffer: _job_answer(buffer, requests))
                                  if self.asks_status else None, self._require_ready, "no status answer")
        if answer is None:
            return
        errors = next((state["errors"] for state in map(read_frame, frames(answer)) if state["errors"]), None)
        if errors:
            raise PrinterNotReady(_CODES.get(errors[0], "printer_error"),
                                  f"Printer {self.id!r} failed to print the label: {'; '.join(errors)}.")
        log.info("printer %s has job %s (%s)", self.id, job.job_id, job.serial)

    def _status_request(self) -> bytes:
        # Clear a half-received command (invalidate), reset, then ask: what brother_ql's status() sends.
        return b"\x00" * self.model.num_invalidate_bytes + b"\x1b@" + STATUS_REQUEST

    def _ask_status(self, link: Link) -> dict | None:
        answer = link.ask(self._status_request(), _status_frame_end)
        return None if answer is None else read_frame(frames(answer)[-1])

    def _require_ready(self, link: Link) -> None:
        answer = link.ask_ready(self.id, self._status_request(), _status_frame_end,
                                "a printer that cannot answer needs status_query = false")
        state = read_frame(frames(answer)[-1])
        if state["errors"]:
            raise PrinterNotReady(_CODES.get(state["errors"][0], "printer_error"),
                                  f"Printer {self.id!r} cannot print: {'; '.join(state['errors'])}.")

    def status(self) -> PrinterState:
        return raw_status(self.address, self.config.timeout, self._ask_status if self.asks_status else None,
                          lambda state: PrinterState("error", "; ".join(state["errors"])) if state["errors"] else READY,
                          "no status answer")


def _known(manager, what: str, name, where: str):
    """brother_ql's ``what`` (model or tape) called ``name``; ``unknown_brother_<what>`` naming the known ones."""
    try:
        return manager[name]
    except KeyError:
        known = ", ".join(manager.identifiers())
        raise PrinterConfigError(f"unknown_brother_{what}",
                                 f"{where}: {what} {name!r} is not one of {known}.") from None


def _frames_end(buffer: bytes, count: int) -> int | None:
    """Where the `count`-th complete status frame ends, or None before it has arrived."""
    ends = frame_ends(buffer)
    return ends[count - 1] if len(ends) >= count else None


def _status_frame_end(buffer: bytes) -> int | None:
    """Where the answer to one status request ends, or None before it has arrived."""
    return _frames_end(buffer, 1)


def _job_answer(buffer: bytes, requests: int) -> int | None:
    """Enough answers after a job: all our status requests answered, or printed, or an error."""
    replies = 0
    for end in frame_ends(buffer):
        state = read_frame(buffer[end - FRAME : end])
        replies += state["status_type"] == "Reply to status request"
        if state["errors"] or state["status_type"] == "Printing completed" or replies >= requests:
            return end
    return None
