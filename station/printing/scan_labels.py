"""Labels a scan queues: CMD:PRINT (the station's last serial) and print_on_receive (every serial a receipt posts).

Both only write ``print_job`` rows in the scan's own transaction and ring the
print queue's bell (station.printing.bell); nothing on the scan path
talks to a printer, so a printer that is off, out of paper or slow never
slows or fails a scan. A refused scan rolls its rows back with the rest.

Which serial CMD:PRINT prints: the station's latest scan that named a serial
(``names_serial``, decided as the scan is logged: station.scanning.scan_log) and was either accepted (a
serial added to a document, a new one on a receipt among them) or, though
refused, named a serial the database knows: one with a record, one standing
on an open document (a unit scanned again on the receipt still open, or on
another station's), or a GS1 code's AI 21. So the unit scanned last is the
label printed, whatever the scan was refused for. Scans that named nothing
(commands, product barcodes), texts refused as invalid and unknown barcodes
that are no serial anywhere are passed over. Which printer: the station's
``printer``, else its ``print_on_receive``; with neither it is refused with
``unknown_printer``.

The scan service calls these with its scan's context; all they read of it is
the session and the station (``AtStation``), so this room knows nothing of
the scan service.
"""
from __future__ import annotations

from typing import Protocol

from sqlalchemy import bindparam, select, true
from sqlalchemy.orm import Session

from station.config import StationConfig
from station.domain.errors import Refusal
from station.domain.models import PrinterStatus, ScanLog

from . import bell as print_bell
from . import queue as print_queue

LOG = ScanLog.__table__
PS = PrinterStatus.__table__
# Built once; one probe of ix_scan_log_station_serial (scans that named a serial), newest first. The
# predicate is the index's own (names_serial = 1 on SQLite, which matches partial indexes word for word).
_LAST_SERIAL = (select(LOG.c.serial_text)
                .where(LOG.c.station == bindparam("station"), LOG.c.names_serial == true())
                .order_by(LOG.c.id.desc()).limit(1))
_PRINTER_STATE = select(PS.c.state, PS.c.detail).where(PS.c.printer == bindparam("printer"))


class AtStation(Protocol):
    """What a scan hands in (its ScanContext): the scan's session and its station's configuration."""

    session: Session
    station: StationConfig


def last_serial(ctx: AtStation) -> str | None:
    """The serial of the station's latest scan that named one (see the module's doc), or None."""
    return ctx.session.execute(_LAST_SERIAL, {"station": ctx.station.id}).scalar()


def print_last_serial(ctx: AtStation) -> str:
    """Queue the label of the station's last serial; "SN-3 on printer zebra-1". Refusal when it cannot be."""
    printer = ctx.station.label_printer
    if printer is None:
        raise Refusal("unknown_printer", f"Station {ctx.station.id} has no label printer to print to: a supervisor"
                                         " names one in its [[stations]] entry (printer = \"...\" or"
                                         " print_on_receive), then scan CMD:PRINT again.")
    serial = last_serial(ctx)
    if serial is None:
        raise Refusal("nothing_to_print", "No serial has been scanned at this station yet: scan the serial whose"
                                          " label you want, then CMD:PRINT.")
    print_queue.queue_labels(ctx.session, printer, [serial], station=ctx.station.id)
    print_bell.ring(ctx.session)
    return f"{serial} on printer {printer}"


def print_receipt(ctx: AtStation, document_id: int) -> int:
    """A posted receipt at a station with ``print_on_receive``: one label per serial it brought in, one statement."""
    printer = ctx.station.print_on_receive
    if printer is None:
        return 0
    queued = print_queue.queue_document(ctx.session, document_id, printer, station=ctx.station.id)
    if queued:
        print_bell.ring(ctx.session)
    return queued


def printer_note(ctx: AtStation, printer: str | None) -> str | None:
    """"Printer zebra-1: paper out; the labels wait for it." when the daemon last saw it unable to print."""
    if printer is None:
        return None
    seen = ctx.session.execute(_PRINTER_STATE, {"printer": printer}).first()
    if seen is None or seen.state == "ready":
        return None
    return f"Printer {printer}: {seen.detail or seen.state}; the labels wait for it."
