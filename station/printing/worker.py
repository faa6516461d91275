"""One printer's sender: its queued labels, oldest first, each once as far as the printer lets us know.

Theory of operation. The worker is a thread of its own (a printer that
answers nothing for ten seconds holds only itself up) with its own short
sessions. It waits on an Event that the print bell sets when labels are
queued, and otherwise only for the retry that is due next; it never polls.
For each label it

1. claims the printer's oldest pending job (``print_queue.claim``: committed
   before anything is sent, so a kill mid-send is seen afterwards), and, in
   the same transaction, reads what its label carries (``symbol_for``: a 2D
   label needs the serial's GTIN);
2. sends it (``LabelPrinter.send``; nothing else here talks to the printer);
3. records the outcome: printed only once ``send`` returned; a refused label
   (``LabelRefused``: a serial too long for the label) failed with its
   sentence, and the jobs behind it go on; anything retryable (off,
   unreachable, out of paper, an error answered) stays pending and is tried
   again after a pause that grows from 1 s to a minute, the jobs behind it
   waiting, so labels come out in order. ``DeliveryUncertain`` (the printer
   had the whole label but never confirmed it) is retried too, and the job is
   marked ``possibly_printed``: its label may come out twice.

An outcome that cannot be recorded (the database is away) is kept here and
recorded first when it is back; the label is never sent again for it. The
printer's state (ready, offline, paper out...) is written when it changes,
for /devices and the screens, and told to ``changed`` (the live status).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from drivers.printers import LabelPrinter, LabelRefused, PrinterError, PrinterNotReady, PrintJob, Symbol
from station.storage.retry import is_retryable, is_unreachable, run_in_transaction

from . import queue as print_queue
from .queue import Busy, Job

log = logging.getLogger(__name__)

BACKOFF = (1.0, 60.0)  # seconds: the first pause after a failed attempt, and the longest
# What a failed send says of the printer, in a few words for the screen; the rest are "error".
SHORT = {
    "printer_unreachable": "not reachable", "printer_not_answering": "not answering", "printer_off": "off",
    "job_interrupted": "went away mid-label", "delivery_uncertain": "did not confirm the last label",
    "paper_out": "paper out", "printer_paused": "paused", "head_open": "print head open",
    "ribbon_out": "ribbon out", "printer_busy": "busy", "cups_queue_rejecting": "the CUPS queue rejects jobs",
    "cups_queue_missing": "no such CUPS queue",
}
OFFLINE = {"printer_unreachable", "printer_not_answering", "printer_off", "job_interrupted", "delivery_uncertain"}


@dataclass(frozen=True)
class Seen:
    """The printer's state as recorded: ``ready``, ``offline`` or ``error``, a few words, the whole sentence."""

    state: str
    detail: str = ""
    message: str | None = None


READY = Seen("ready")


def first_line(exc: BaseException) -> str:
    """The first line of an error's text, or its type's name when it has none."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def seen_after(error: PrinterError) -> Seen:
    """What a failed send says of the printer."""
    state = "offline" if error.code in OFFLINE else "error"
    return Seen(state, SHORT.get(error.code, error.code.replace("_", " ")), error.message)


class PrinterWorker(threading.Thread):
    """Sends one printer's labels; ``wake()`` when labels were queued, ``stop()`` to end."""

    def __init__(self, driver: LabelPrinter, Session: sessionmaker[Session], owner: str, *,
                 backoff: tuple[float, float] = BACKOFF, changed: Callable[[], None] = lambda: None,
                 symbol_for: Callable[[Session, str], Symbol | None] = lambda session, serial: None) -> None:
        super().__init__(name=f"printer-{driver.id}", daemon=True)
        self.driver = driver
        self.symbol_for = symbol_for  # a serial's label barcode (None: its Code 128)
        self.printer = driver.id
        self.Session = Session
        self.owner = owner
        self.backoff = backoff
        self.changed = changed
        # Longer than any send can take (each of its steps times out), so a live claim is never taken over.
        self.lease = timedelta(seconds=max(120.0, 8 * driver.config.timeout))
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._delay = backoff[0]
        self._retry_at = 0.0  # monotonic: no attempt before this
        self._unrecorded: tuple[Job, PrinterError | None] | None = None
        self._seen: Seen | None = None

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        self._look()
        while not self._stopping.is_set():
            self._wake.clear()  # before reading the queue: a ring from now on is not lost
            try:
                timeout = self._step()
            except Exception as exc:  # the database away, or a bug: log, pause, go on
                timeout = self._trouble(exc)
            if timeout is None or timeout > 0:
                self._wake.wait(timeout)
        log.debug("printer %s: worker stopped", self.printer)

    def _step(self) -> float | None:
        """One label, or the seconds to wait before the next can be tried (None: until woken)."""
        if self._unrecorded is not None:
            self._record(*self._unrecorded)
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            return wait
        claimed, symbol = run_in_transaction(self.Session, self._claim)
        if claimed is None:
            return None
        if isinstance(claimed, Busy):
            log.info("printer %s: its next label is %s's until %s", self.printer, claimed.owner, claimed.until)
            return max(1.0, (claimed.until - datetime.now(UTC)).total_seconds())
        error = self._send(claimed, symbol)
        self._unrecorded = (claimed, error)
        pause = 0.0
        if error is not None and error.retryable:
            pause, self._delay = self._delay, min(self._delay * 2, self.backoff[1])
            self._retry_at = time.monotonic() + pause
        else:
            self._delay = self.backoff[0]
        self._record(claimed, error)
        return pause

    def _claim(self, session: Session) -> tuple[Job | Busy | None, Symbol | None]:
        """The next job, claimed, and the barcode its label carries."""
        claimed = print_queue.claim(session, self.printer, self.owner, lease=self.lease)
        return claimed, self.symbol_for(session, claimed.serial) if isinstance(claimed, Job) else None

    def _send(self, job: Job, symbol: Symbol | None) -> PrinterError | None:
        try:
            self.driver.send(PrintJob(job.job_id, job.serial, symbol))
        except PrinterError as exc:
            return exc
        except Exception as exc:  # a driver's bug: retried like a printer error, and shown
            log.exception("printer %s: sending job %s failed unexpectedly", self.printer, job.job_id)
            return PrinterNotReady("printer_error", f"Printer {self.printer!r} failed to take the label: {exc!r}.")
        return None

    def _record(self, job: Job, error: PrinterError | None) -> None:
        """The attempt's outcome, and the printer's state when it changed, in one transaction."""
        if error is None:
            seen = READY
        elif isinstance(error, LabelRefused) or not error.retryable:
            seen = self._seen  # the printer was not at fault
        else:
            seen = seen_after(error)

        def write(session: Session) -> bool:
            if error is None:
                ours = print_queue.mark_printed(session, job, self.owner)
            elif isinstance(error, LabelRefused) or not error.retryable:
                ours = print_queue.mark_failed(session, job, self.owner, error.code, error.message)
            else:
                ours = print_queue.mark_retry(session, job, self.owner, error.code, error.message,
                                              possibly_printed=error.possibly_printed)
            if seen is not None and seen != self._seen:
                print_queue.record_status(session, self.printer, seen.state, seen.detail, seen.message)
            return ours

        ours = run_in_transaction(self.Session, write)
        self._unrecorded = None
        self._seen = seen
        if not ours:
            log.warning("printer %s: job %s was taken over by another daemon meanwhile", self.printer, job.job_id)
        elif error is None:
            log.info("printer %s printed %s (job %s%s)", self.printer, job.serial, job.job_id,
                     ", possibly twice" if job.possibly_printed else "")
        else:
            log.warning("printer %s: job %s (%s) %s: %s", self.printer, job.job_id, job.serial,
                        "will be retried" if error.retryable else "failed", error.message)
        self.changed()

    def _look(self) -> None:
        """At start: ask the printer how it is (``status()``), so the pages show it before the first label."""
        try:
            state = self.driver.status()
        except Exception:  # status() promises not to raise; a driver's bug must not end the worker
            log.exception("printer %s: status check failed", self.printer)
            return
        seen = READY if state.state == "ready" else (
            Seen("offline", "offline", state.detail or None) if state.state == "offline"
            else Seen(state.state, state.detail, state.detail))
        try:
            run_in_transaction(self.Session, lambda session: print_queue.record_status(
                session, self.printer, seen.state, seen.detail, seen.message))
        except Exception as exc:
            log.warning("printer %s: could not record its state (%s)", self.printer, first_line(exc))
            return
        self._seen = seen
        log.info("printer %s (%s %s): %s", self.printer, self.driver.config.kind, self.driver.config.address, state)
        self.changed()

    def _trouble(self, exc: Exception) -> float:
        pause, self._delay = self._delay, min(self._delay * 2, self.backoff[1])
        if is_unreachable(exc) or is_retryable(exc):
            log.warning("printer %s: the print queue cannot be reached (%s); trying again in %.3g s",
                        self.printer, first_line(exc), pause)
        else:
            log.exception("printer %s: the print queue failed; trying again in %.3g s", self.printer, pause)
        return pause
