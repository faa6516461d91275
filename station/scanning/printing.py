"""Labels a scan queues: CMD:PRINT (the station's last serial) and print_on_receive (every serial a receipt posts).

Both only write ``print_job`` rows in the scan's own transaction and ring the
print queue's bell (station.storage.print_bell); nothing on the scan path
talks to a printer, so a printer that is off, out of paper or slow never
slows or fails a scan. A refused scan rolls its rows back with the rest.

Which serial CMD:PRINT prints: the station's latest scan that named a serial
(``names_serial``, decided as the scan is logged) and was either accepted (a
serial added to a document, a new one on a receipt among them) or, though
refused, named a serial the database knows: one with a record, one standing
on an open document (a unit scanned again on the receipt still open, or on
another station's), or a GS1 code's AI 21. So the unit scanned last is the
label printed, whatever the scan was refused for. Scans that named nothing
(commands, product barcodes), texts refused as invalid and unknown barcodes
that are no serial anywhere are passed over. Which printer: the station's
``printer``, else its ``print_on_receive``; with neither it is refused with
``unknown_printer``.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select, true

from station.domain import print_queue
from station.domain.errors import Refusal
from station.domain.models import PrinterStatus, ScanLog
from station.domain.rules import Lookups
from station.storage import print_bell

from .context import ScanContext
from station.scan_core.reading import Kind, Reading

LOG = ScanLog.__table__
PS = PrinterStatus.__table__
# Built once; one probe of ix_scan_log_station_serial (scans that named a serial), newest first. The
# predicate is the index's own (names_serial = 1 on SQLite, which matches partial indexes word for word).
_LAST_SERIAL = (select(LOG.c.serial_text)
                .where(LOG.c.station == bindparam("station"), LOG.c.names_serial == true())
                .order_by(LOG.c.id.desc()).limit(1))
_PRINTER_STATE = select(PS.c.state, PS.c.detail).where(PS.c.printer == bindparam("printer"))


def names_serial(reading: Reading | None, serial: str | None, accepted: bool, lookups: Lookups) -> bool:
    """Whether a scan named a serial CMD:PRINT may print (the module's doc), from what the scan looked up.

    ``serial`` is the text the scan log keeps for it (None: it named none, or one too long to be a serial);
    ``lookups`` are the scan's own, so a refused scan's serial is already known to them: no extra statement.
    """
    if reading is None or serial is None:
        return False
    if accepted or reading.kind in (Kind.known_serial, Kind.gs1):
        return True
    facts = lookups.serial(serial)
    return facts.exists or facts.open_document_id is not None


def last_serial(ctx: ScanContext) -> str | None:
    """The serial of the station's latest scan that named one (see the module's doc), or None."""
    return ctx.session.execute(_LAST_SERIAL, {"station": ctx.station.id}).scalar()


def print_last_serial(ctx: ScanContext) -> str:
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


def print_receipt(ctx: ScanContext, document_id: int) -> int:
    """A posted receipt at a station with ``print_on_receive``: one label per serial it brought in, one statement."""
    printer = ctx.station.print_on_receive
    if printer is None:
        return 0
    queued = print_queue.queue_document(ctx.session, document_id, printer, station=ctx.station.id)
    if queued:
        print_bell.ring(ctx.session)
    return queued


def printer_note(ctx: ScanContext, printer: str | None) -> str | None:
    """"Printer zebra-1: paper out; the labels wait for it." when the daemon last saw it unable to print."""
    if printer is None:
        return None
    seen = ctx.session.execute(_PRINTER_STATE, {"printer": printer}).first()
    if seen is None or seen.state == "ready":
        return None
    return f"Printer {printer}: {seen.detail or seen.state}; the labels wait for it."
