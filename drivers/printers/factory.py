"""Build the driver a ``[[printers]]`` entry names.

Driver modules are imported only for the kinds in use, so a station with
only Zebras needs neither pycups nor brother_ql installed.  Raster kinds
(brother_ql, cups) need a ``Renderer``: the station passes its label
renderer, the device layer has none of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers.printers.base import LabelPrinter, Renderer
from drivers.printers.config import PrinterConfig
from drivers.printers.errors import PrinterConfigError


def make_printer(config: PrinterConfig | Mapping[str, Any], render: Renderer | None = None) -> LabelPrinter:
    """The driver for `config` (a ``PrinterConfig`` or the TOML table); ``PrinterConfigError`` if it cannot work."""
    if not isinstance(config, PrinterConfig):
        config = PrinterConfig.from_mapping(config)
    if config.kind == "zpl":
        from drivers.printers.zpl import ZplPrinter

        return ZplPrinter(config)
    if render is None:
        raise PrinterConfigError(
            "renderer_required", f"Printer {config.id!r}: a {config.kind} printer needs a label renderer."
        )
    if config.kind == "brother_ql":
        from drivers.printers.brother import BrotherQlPrinter

        return BrotherQlPrinter(config, render)
    from drivers.printers.cups_queue import CupsPrinter

    return CupsPrinter(config, render)
