"""A CUPS queue: the label as a PNG image, submitted with pycups.

Anything CUPS can drive becomes a label printer: the queue's own driver turns
the PNG into the printer's language.  The image is drawn by the station's
renderer at the configured label size and dpi and submitted with
``media=Custom.WxHmm``, ``ppi=<dpi>`` and ``print-scaling=none`` so that a
driver that honours them prints it dot for dot.

Exactly once: once CUPS has answered Print-Job with a job id, the job is the
scheduler's, spooled on its disk and retried by CUPS itself; ``send``
returns.  The one gap is an answer lost after CUPS created the job: ``send``
then raises ``DeliveryUncertain``, and the retry first looks for a job of this
queue whose document is named after the station's job id (CUPS keeps its
job history) and submits nothing when it finds one that was not cancelled
or aborted.  The document name, not the job name, is the key: CUPS's default
policy hides ``job-name`` from a client it has not authenticated.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

from drivers.printers.base import READY, LabelPrinter, PrinterState, PrintJob, Renderer, check_serial, offline
from drivers.printers.config import PrinterConfig
from drivers.printers.errors import DeliveryUncertain, LabelRefused, PrinterConfigError, PrinterNotReady

try:
    import cups
except ImportError as exc:  # the optional extra is not installed
    raise PrinterConfigError(
        "driver_unavailable",
        "CUPS printers need the 'cups' extra: pip install 'barcode-station[cups]'"
        " (Debian: apt install libcups2-dev first).",
    ) from exc

log = logging.getLogger(__name__)

JOB_GONE = (7, 8)  # job-state canceled, aborted: a job that will not print
PRINTER_STOPPED = 5
_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")


def job_name(job: PrintJob) -> str:
    """The CUPS job name that identifies this station job (and finds it again on a retry)."""
    return f"station-{_UNSAFE.sub('_', job.job_id)}"


class CupsPrinter(LabelPrinter):
    """A CUPS queue, on the default server or on ``server`` (host, host:port or a socket path)."""

    def __init__(self, config: PrinterConfig, render: Renderer) -> None:
        super().__init__(config)
        self.queue = config.address
        self.render = render
        server = config.options.get("server", "")
        host, _, port = server.rpartition(":") if not server.startswith("/") and ":" in server else (server, "", "")
        if port and not port.isdigit():
            raise PrinterConfigError("bad_printer_option",
                                     f"Printer {config.id!r}: server {server!r} is not host:port.")
        self.server = (host or None, int(port) if port else None)
        self.where = server or "the default CUPS server"

    def _connect(self) -> cups.Connection:
        host, port = self.server
        kwargs = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
        try:
            return cups.Connection(**kwargs)
        except (RuntimeError, cups.IPPError) as exc:
            raise PrinterNotReady("printer_unreachable", f"CUPS at {self.where} cannot be reached: {exc}.") from exc

    def prepare(self, job: PrintJob):
        """The label image, exactly the label's size in dots."""
        check_serial(job.serial)
        g = self.config.geometry
        try:
            image = self.render(job.serial, g.width_dots, g.height_dots, g.dpi, symbol=job.symbol)
        except ValueError as exc:
            raise LabelRefused(
                "serial_does_not_fit",
                f"Serial {job.serial!r} cannot be printed on printer {self.id!r}"
                f" ({g.width_mm:g}x{g.height_mm:g} mm at {g.dpi} dpi): {exc}",
            ) from exc
        return image

    def send(self, job: PrintJob) -> None:
        image = self.prepare(job)
        g = self.config.geometry
        connection = self._connect()
        if not self._queue(connection).get("printer-is-accepting-jobs", True):
            raise PrinterNotReady("cups_queue_rejecting", f"CUPS queue {self.queue!r} is not accepting jobs.")
        if self._submitted(connection, job) is not None:
            log.info("printer %s: job %s is already in CUPS; not submitted again", self.id, job.job_id)
            return
        options = {"media": f"Custom.{g.width_mm:g}x{g.height_mm:g}mm", "ppi": str(g.dpi), "print-scaling": "none"}
        with tempfile.TemporaryDirectory(prefix="station-label-") as folder:
            path = Path(folder) / f"{job_name(job)}.png"  # becomes document-name-supplied
            image.save(path, format="PNG", dpi=(g.dpi, g.dpi))
            try:
                cups_id = connection.printFile(self.queue, str(path), job_name(job), options)
            except (cups.IPPError, RuntimeError) as exc:
                raise DeliveryUncertain(
                    "delivery_uncertain",
                    f"CUPS queue {self.queue!r} did not take the label cleanly ({exc.args[-1]}); it may be queued,"
                    " and sending it again will find it there.",
                ) from exc
        log.info("printer %s: job %s is CUPS job %s (%s)", self.id, job.job_id, cups_id, job.serial)

    def _queue(self, connection: cups.Connection) -> dict:
        """The queue's state attributes; ``PrinterNotReady`` when CUPS has no such queue."""
        try:
            return connection.getPrinterAttributes(
                self.queue,
                requested_attributes=["printer-state", "printer-state-reasons", "printer-is-accepting-jobs",
                                      "printer-state-message"])
        except cups.IPPError as exc:
            if exc.args[0] == cups.IPP_NOT_FOUND:
                raise PrinterNotReady("cups_queue_missing",
                                      f"CUPS at {self.where} has no queue {self.queue!r}.") from exc
            raise PrinterNotReady("printer_error", f"CUPS queue {self.queue!r}: {exc.args[-1]}.") from exc

    def _submitted(self, connection: cups.Connection, job: PrintJob) -> int | None:
        """The CUPS job id of `job` on this queue, if CUPS already has it and will print it."""
        try:
            jobs = connection.getJobs(which_jobs="all", my_jobs=False,
                                      requested_attributes=["job-id", "document-name-supplied", "job-printer-uri",
                                                            "job-state"])
        except cups.IPPError as exc:
            raise PrinterNotReady("printer_unreachable", f"CUPS at {self.where} did not list its jobs: {exc}.") from exc
        document = f"{job_name(job)}.png"
        for cups_id, attributes in jobs.items():
            if (attributes.get("document-name-supplied") == document
                    and attributes.get("job-printer-uri", "").endswith(f"/printers/{self.queue}")
                    and attributes.get("job-state") not in JOB_GONE):
                return cups_id
        return None

    def submitted(self, job: PrintJob) -> int | None:
        """The CUPS job id CUPS holds for `job`, or None; for the queue's reports and the tests."""
        return self._submitted(self._connect(), job)

    def status(self) -> PrinterState:
        try:
            attributes = self._queue(self._connect())
        except PrinterNotReady as exc:
            return offline(exc.message) if exc.code == "printer_unreachable" else PrinterState("error", exc.message)
        reasons = [r for r in attributes.get("printer-state-reasons", []) if r != "none"]
        if "offline-report" in reasons:
            return offline(attributes.get("printer-state-message") or "the printer does not answer CUPS")
        if not attributes.get("printer-is-accepting-jobs", True):
            return PrinterState("error", "the queue is not accepting jobs")
        if attributes.get("printer-state") == PRINTER_STOPPED or any(r.endswith("-error") for r in reasons):
            return PrinterState("error", attributes.get("printer-state-message") or ", ".join(reasons) or "stopped")
        return READY
