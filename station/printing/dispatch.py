"""The daemon's print queue (SPEC 5 Printing): one worker per configured printer, woken by the print bell.

Jobs are queued by scans, postings and ``station labels serials --print`` in
their own transactions (station.printing.queue); this sends them. Each
``[[printers]]`` entry becomes its driver here (``drivers.printers``, raster
kinds drawing with the station's own renderer,
``station.printing.labels.label_image``) and a ``PrinterWorker`` thread,
which reads each label's barcode by the printer's ``symbology``
(``station.printing.label_symbols``);
one ``print_bell.Listener`` wakes them all when labels are queued, by this
process or any other. A printer whose driver cannot be made (an extra not
installed, an unknown Brother model) stops ``station run`` at start with its
sentence: a configuration mistake is found then, not at the first label.
"""
from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from drivers.printers import LabelPrinter, PrinterConfigError, Symbol, make_printer
from station.config import Config, LabelPrinterConfig
from station.domain.errors import ConfigError

from . import bell as print_bell
from .label_symbols import label_symbols
from .labels import label_image
from .worker import BACKOFF, PrinterWorker

log = logging.getLogger(__name__)


def driver_for(printer: LabelPrinterConfig) -> LabelPrinter:
    """The driver of one ``[[printers]]`` entry; ``PrinterConfigError`` when it cannot work here."""
    return make_printer(printer.driver, render=label_image)


def drivers_for(config: Config) -> dict[str, LabelPrinter]:
    """Every configured printer's driver; ConfigError with the first one's sentence that cannot be made."""
    try:
        return {printer.id: driver_for(printer) for printer in config.printers}
    except PrinterConfigError as exc:
        raise ConfigError(exc.message) from None


def symbol_reader(config: Config, printer: str) -> Callable[[Session, str], Symbol | None]:
    """What a printer's worker asks of each label: its barcode, by the printer's ``symbology``."""
    entry = config.printer(printer)
    symbology = entry.symbology if entry is not None else "code128"
    return lambda session, serial: label_symbols(session, symbology, [serial], config)[serial]


def owner_of(config: Config) -> str:
    """Who claims jobs: this machine and its spool (one daemon per spool, so one per name)."""
    return f"{socket.gethostname()}:{config.spool_path}"[:200]


class PrintQueue:
    """The workers of every configured printer and the bell that wakes them."""

    def __init__(self, config: Config, engine: Engine, Session: sessionmaker[Session], *,
                 changed: Callable[[], None] = lambda: None, backoff: tuple[float, float] = BACKOFF,
                 drivers: Mapping[str, LabelPrinter] | None = None) -> None:
        self.Session = Session
        drivers = drivers_for(config) if drivers is None else drivers
        owner = owner_of(config)
        self.workers = {printer: PrinterWorker(driver, Session, owner, backoff=backoff, changed=changed,
                                               symbol_for=symbol_reader(config, printer))
                        for printer, driver in drivers.items()}
        self.bell = print_bell.Listener(engine, self.wake) if self.workers else None

    def start(self) -> None:
        for worker in self.workers.values():
            worker.start()
        if self.bell is not None:
            self.bell.start()

    def wake(self) -> None:
        """Labels were queued: every worker looks at its printer's queue."""
        for worker in self.workers.values():
            worker.wake()

    def stop(self, timeout: float = 1.0) -> bool:
        """End the workers (one mid-send finishes that label, or is left behind); True when all ended in time."""
        deadline = time.monotonic() + timeout
        for worker in self.workers.values():
            worker.stop()
        if self.bell is not None:
            self.bell.stop(max(0.0, deadline - time.monotonic()))
        for worker in self.workers.values():
            if worker.is_alive():
                worker.join(max(0.0, deadline - time.monotonic()))
        busy = [name for name, worker in self.workers.items() if worker.is_alive()]
        if busy:
            log.warning("printer %s still sending at exit: that label is sent again at the next start and may"
                        " print twice", ", ".join(busy))
        return not busy
