"""What the print queue's tests share: labels read back from the Zebra stand-in, the queue's rows, and waits.

A label is read back the way a scanner would read it: its ``^BC`` field (or
its ``^BX`` / ``^BQ`` 2D field) drawn by the ZPL reader (``zpl_render``) and
decoded by zxing-cpp, so "printed SN-1" means "a label that scans as SN-1
came out". Waits block on the
stand-in's queue of printed labels or on the daemon's commits, never sleep.
"""
from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import zxingcpp
from sqlalchemy import select

from helpers.daemon import wait_committed
from helpers.printers import zpl_render
from station.config import Config
from station.domain.models import PrinterStatus, PrintJob
from station.printing.dispatch import PrintQueue

WAIT = 10.0  # every wait's deadline, never its pace
FAST = (0.02, 0.1)  # retry pauses for the tests: the same growth, shorter


@dataclass(frozen=True)
class Printed:
    serial: str  # what the label's barcode scans as (a 2D code's text as a scanner sends it, GS included)
    job: str  # the ^FX comment's job id
    aim: str = "]C0"  # the symbology identifier a scanner would put before it: ]C0, ]d1, ]d2, ]Q1


def read_back(zpl: str) -> Printed:
    """One label as it came out: its barcode decoded, and the station job it says it is."""
    label = zpl_render.parse(zpl)
    if any(name in ("BX", "BQ") for name, _ in label.commands):
        image, _ = zpl_render.draw_matrix(label)
        formats = (zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.QRCode)
    else:
        image, formats = zpl_render.draw(label), zxingcpp.BarcodeFormat.Code128
    found = zxingcpp.read_barcodes(image, formats=formats, text_mode=zxingcpp.TextMode.Plain)
    assert len(found) == 1, f"{len(found)} barcodes on the label {zpl!r}"
    comment = label.one("FX")
    assert comment.startswith("station job "), comment
    return Printed(found[0].text, comment.removeprefix("station job "), found[0].symbology_identifier)


def take(standin, count: int, timeout: float = WAIT) -> list[Printed]:
    """The next ``count`` labels the stand-in printed, in order, read back."""
    return [read_back(standin.printed.get(timeout=timeout)) for _ in range(count)]


def nothing_more(standin) -> bool:
    """True when the stand-in printed nothing beyond what was taken."""
    try:
        extra = standin.printed.get_nowait()
    except queue.Empty:
        return True
    raise AssertionError(f"an extra label came out: {read_back(extra)}")


@dataclass(frozen=True)
class Row:
    id: int
    serial: str
    state: str
    possibly_printed: bool
    attempts: int
    error_code: str | None
    error: str | None


def rows(db) -> list[Row]:
    with db.Session() as s:
        return [Row(r.id, r.serial, r.state.value, r.possibly_printed, r.attempts, r.error_code, r.error)
                for r in s.execute(select(PrintJob).order_by(PrintJob.id)).scalars()]


def job_names(db) -> dict[str, str]:
    """Each job's name on the printer (id-token), by serial."""
    with db.Session() as s:
        return {r.serial: f"{r.id}-{r.token}" for r in s.execute(select(PrintJob)).scalars()}


def status(db, printer: str) -> tuple[str, str] | None:
    with db.Session() as s:
        row = s.get(PrinterStatus, printer)
        return None if row is None else (row.state, row.detail)


def wait_rows(Session, db, predicate: Callable[[list[Row]], object], what: str, timeout: float = WAIT):
    """The queue's rows once they satisfy ``predicate``, looked at again at each commit of the daemon's sessions."""

    def satisfied() -> list[Row] | None:
        found = rows(db)
        return found if predicate(found) else None

    return wait_committed(Session, satisfied, timeout, what)


def wait_status(Session, db, printer: str, predicate: Callable[[tuple[str, str] | None], object], what: str,
                timeout: float = WAIT):
    return wait_committed(Session, lambda: predicate(status(db, printer)), timeout, what)


@contextmanager
def queues_started(db) -> Iterator[Callable[[Config], PrintQueue]]:
    """A function that starts a print queue over a configuration on the test's database and returns it once the
    queue has looked at printer zebra-1; every queue it started is stopped on the way out."""
    started: list[PrintQueue] = []

    def start(config: Config) -> PrintQueue:
        queue = PrintQueue(config, db.engine, db.Session, backoff=FAST)
        started.append(queue)
        queue.start()
        wait_status(db.Session, db, "zebra-1", lambda seen: seen is not None, "the printer looked at")
        return queue

    try:
        yield start
    finally:
        for queue in started:
            assert queue.stop(WAIT)
