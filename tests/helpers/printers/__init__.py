"""Stand-in printers on loopback (a Zebra on 9100, a Brother QL), a private cupsd, a ZPL reader, and a retrying
sender."""

from __future__ import annotations

from collections.abc import Callable

from drivers.printers import LabelPrinter, PrinterError, PrintJob


def deliver(
    printer: LabelPrinter, job: PrintJob, attempts: int, before_retry: Callable[[int], None] = lambda n: None
) -> list[PrinterError]:
    """Send `job` as a print queue would: retry what is retryable, at most `attempts` times.

    Returns the errors of the failed attempts; raises the last one when every attempt failed.
    No waiting between attempts: the stand-ins change behaviour per connection,
    and `before_retry(n)` lets a test bring a printer back.
    """
    errors: list[PrinterError] = []
    for attempt in range(1, attempts + 1):
        try:
            printer.send(job)
            return errors
        except PrinterError as exc:
            if not exc.retryable or attempt == attempts:
                raise
            errors.append(exc)
            before_retry(attempt)
    raise AssertionError("unreachable")
