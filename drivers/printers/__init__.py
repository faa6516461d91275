"""Label printers: the device layer that puts a serial's label on paper.

- ``base``: the ``LabelPrinter`` interface, ``PrintJob``, ``PrinterState``
  and the ``Renderer`` a raster printer draws with.
- ``config``: a ``[[printers]]`` entry, checked, and its ``LabelGeometry``;
  ``factory.make_printer``.
- ``errors``: ``PrinterError`` and its subclasses, each with a stable code,
  ``retryable`` and ``possibly_printed``.
- ``zpl`` (Zebra ZPL II), ``brother`` (Brother QL raster, via brother_ql),
  ``cups_queue`` (a CUPS queue, via pycups); ``transport`` (TCP 9100 and
  device files), ``code128`` (symbol packing, ZPL field data) and ``symbols``
  (a label's ``Symbol``: Code 128, DataMatrix or QR code, the 2D ones' grid
  from zxing-cpp) under them.

Nothing here imports the station or the web app: the station hands its
renderer in.  Driver modules are imported only by ``make_printer``.
"""

from drivers.printers.base import LabelPrinter, PrinterState, PrintJob, Renderer
from drivers.printers.config import LabelGeometry, PrinterConfig
from drivers.printers.errors import (
    DeliveryUncertain,
    JobNotDelivered,
    LabelRefused,
    PrinterConfigError,
    PrinterError,
    PrinterNotReady,
)
from drivers.printers.factory import make_printer
from drivers.printers.symbols import SYMBOLOGIES, Symbol

__all__ = [
    "DeliveryUncertain",
    "JobNotDelivered",
    "LabelGeometry",
    "LabelPrinter",
    "LabelRefused",
    "PrintJob",
    "PrinterConfig",
    "PrinterConfigError",
    "PrinterError",
    "PrinterNotReady",
    "PrinterState",
    "Renderer",
    "SYMBOLOGIES",
    "Symbol",
    "make_printer",
]
