"""What can go wrong when printing a label, as one exception root with stable codes.

Every error carries ``code`` (a stable identifier the API, the queue and the
logs can rely on), a sentence an operator understands, and two facts a print
queue needs to decide what to do next:

``retryable``
    Trying the same job again later can succeed (the printer is off, out of
    paper, unreachable).  False for refusals: a serial that cannot fit, a
    configuration that cannot work; retrying those only repeats the refusal.
``possibly_printed``
    The printer may already have printed the label.  Only
    ``DeliveryUncertain`` sets it: the whole job had left this machine when the
    connection failed, and raw port 9100 gives no acknowledgement that would
    tell a print from a loss.  A queue that retries it accepts a possible
    second copy of the label (see ``drivers.printers.transport``).
"""

from __future__ import annotations

from drivers.errors import DriverError


class PrinterError(DriverError):
    """Root of every error raised by the printer drivers on purpose."""

    retryable = False
    possibly_printed = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class PrinterConfigError(PrinterError):
    """A ``[[printers]]`` entry that cannot work: unknown kind, bad address, label or option."""


class LabelRefused(PrinterError):
    """This label cannot be printed on this printer: nothing was sent, and retrying will not help."""


class PrinterNotReady(PrinterError):
    """The printer is off, unreachable or answered a problem (paper out, paused); nothing was printed."""

    retryable = True


class JobNotDelivered(PrinterError):
    """The connection failed before the printer had the whole job, so it printed nothing of it."""

    retryable = True


class DeliveryUncertain(PrinterError):
    """The whole job was sent but the printer never confirmed it: it may or may not have printed."""

    retryable = True
    possibly_printed = True
