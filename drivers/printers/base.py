"""The one interface every label printer driver implements, and the values it trades in.

Theory of operation: a print queue (outside this package) holds ``PrintJob``s
and hands each to ``LabelPrinter.send``.  ``send`` returns only once the job
is the printer's (or the CUPS scheduler's) to print; otherwise it raises a
``PrinterError`` whose ``retryable`` says whether to try again later.
``prepare`` checks and builds a label without any I/O, so a queue can refuse a
serial that cannot fit when the job is made, not after a retry loop.
``status`` asks the printer whether it answers, for ``station printers``.

Drivers draw nothing themselves except what the printer draws (ZPL's own
Code 128, DataMatrix and QR code): raster printers get their image from a
``Renderer`` passed in by the caller, so the device layer imports nothing from
the station. A job names its barcode (a ``Symbol``: Code 128 of the serial
unless it says otherwise) and the serial printed as text beside it.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from drivers.printers.config import PrinterConfig
from drivers.printers.errors import LabelRefused, PrinterNotReady
from drivers.printers.symbols import Symbol, code128
from drivers.printers.transport import Address, Link

if TYPE_CHECKING:
    from PIL import Image


class Renderer(Protocol):
    """``render(text, width_dots, height_dots, dpi, symbol=None)``: a greyscale image of exactly that many dots,
    ``symbol`` on it (None: the Code 128 of ``text``) with ``text`` under it; ValueError when it cannot fit."""

    def __call__(self, text: str, width_dots: int, height_dots: int, dpi: int, *,
                 symbol: Symbol | None = None) -> Image.Image: ...


@dataclass(frozen=True)
class PrintJob:
    """One label to print: the serial, the barcode it carries, and an id that names this job everywhere.

    The id travels with the job into the printer's stream (a ZPL comment, the
    CUPS job name) so that a retried job can be recognised as the same one.
    ``symbol`` is the label's barcode; None is the Code 128 of the serial.
    """

    job_id: str
    serial: str
    symbol: Symbol | None = None

    @property
    def barcode(self) -> Symbol:
        return self.symbol if self.symbol is not None else code128(self.serial)


@dataclass(frozen=True)
class PrinterState:
    """What a printer answered: ``ready``, ``offline`` or ``error`` with the printer's reason."""

    state: str
    detail: str = ""

    def __str__(self) -> str:
        return f"error: {self.detail}" if self.state == "error" else self.state


READY = PrinterState("ready")


def offline(detail: str = "") -> PrinterState:
    return PrinterState("offline", detail)


def check_serial(serial: str) -> None:
    """Refuse what no label prints: empty text, or anything but printable ASCII (Code 128 and the text line)."""
    if not serial:
        raise LabelRefused("serial_empty", "There is no serial to print.")
    for position, char in enumerate(serial):
        if not " " <= char <= "~":
            raise LabelRefused(
                "serial_not_ascii",
                f"Serial {serial!r} cannot be printed as a barcode: character {char!r} at position"
                f" {position + 1} is not printable ASCII (Code 128 holds only A-Z, a-z, 0-9,"
                " space and ASCII punctuation).",
            )


class LabelPrinter(abc.ABC):
    """A configured label printer: build a job (no I/O), send it, ask how the printer is."""

    def __init__(self, config: PrinterConfig) -> None:
        self.config = config

    @property
    def id(self) -> str:
        return self.config.id

    @abc.abstractmethod
    def prepare(self, job: PrintJob) -> Any:
        """What ``send`` would hand the printer for `job`; ``LabelRefused`` if it cannot print."""

    @abc.abstractmethod
    def send(self, job: PrintJob) -> None:
        """Hand `job` to the printer; raises a ``PrinterError`` (see ``retryable``) when that failed."""

    @abc.abstractmethod
    def status(self) -> PrinterState:
        """Ask the printer how it is; never raises for a printer that is off or unreachable."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.config.id!r} {self.config.address!r}>"


T = TypeVar("T")


def raw_status(address: Address, timeout: float, ask: Callable[[Link], T | None] | None,
               judge: Callable[[T], PrinterState], silence: str) -> PrinterState:
    """How a raw printer is: offline when no link opens (or it drops), else ready when there is nothing to
    ``ask``, else its answer as ``judge`` reads it; offline, saying ``silence``, when it does not answer."""
    try:
        with Link.open(address, timeout) as link:
            if ask is None:
                return READY
            answer = ask(link)
    except PrinterNotReady as exc:
        return offline(exc.message)
    except OSError as exc:
        return offline(f"connection lost: {exc}")
    if answer is None:
        return offline(f"{silence} within {timeout:g} s")
    return judge(answer)
