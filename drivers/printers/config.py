"""A ``[[printers]]`` entry of the station's TOML, checked once when it is read.

    [[printers]]
    id = "zebra-1"
    kind = "zpl"                        # zpl | brother_ql | cups
    address = "tcp://192.0.2.10:9100"   # or /dev/usb/lp0; a CUPS queue name for cups
    label = "50x25"                     # mm, width x height as the label is read
    dpi = 203
    # kind-specific: model = "QL-820NWB", tape = "62" (brother_ql);
    # server = "/run/cups/cups.sock" (cups); timeout = 10 (seconds; zpl, brother_ql);
    # status_query = false (zpl, brother_ql: the printer does not answer status requests)

Every mistake is a ``PrinterConfigError`` with a stable code, found here rather
than at the first print job.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drivers.printers.errors import PrinterConfigError
from drivers.printers.transport import parse_address

KINDS = ("zpl", "brother_ql", "cups")
DEFAULT_DPI = {"zpl": 203, "brother_ql": 300, "cups": 300}
OPTIONS = {
    "zpl": {"timeout": float, "status_query": bool},
    "brother_ql": {"timeout": float, "status_query": bool, "model": str, "tape": str},
    "cups": {"server": str},  # no timeout: pycups offers none
}
_LABEL = re.compile(r"\s*(\d+(?:\.\d+)?)\s*[xX×]\s*(\d+(?:\.\d+)?)\s*(?:mm)?\s*")
# CUPS queue names: printable, and none of space, tab, / \ # ' " (lpadmin's rule).
_CUPS_QUEUE = re.compile(r"[!$-&(-.0-\[\]-~]{1,127}")
MM_PER_INCH = 25.4


@dataclass(frozen=True)
class LabelGeometry:
    """A label's printable size in mm and the printer's resolution in dots per inch."""

    width_mm: float
    height_mm: float
    dpi: int

    @property
    def width_dots(self) -> int:
        return math.floor(self.width_mm * self.dpi / MM_PER_INCH + 1e-9)

    @property
    def height_dots(self) -> int:
        return math.floor(self.height_mm * self.dpi / MM_PER_INCH + 1e-9)

    def dots(self, mm: float) -> int:
        """`mm` in whole dots, rounded up (for margins and minimum widths)."""
        return math.ceil(mm * self.dpi / MM_PER_INCH - 1e-9)


@dataclass(frozen=True)
class PrinterConfig:
    """One configured printer; build it with ``PrinterConfig.from_mapping`` to have it checked."""

    id: str
    kind: str
    address: str
    geometry: LabelGeometry
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The label size as configured, e.g. "50x25" (mm, width x height)."""
        return f"{self.geometry.width_mm:g}x{self.geometry.height_mm:g}"

    @property
    def dpi(self) -> int:
        return self.geometry.dpi

    @property
    def timeout(self) -> float:
        return float(self.options.get("timeout", 10.0))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> PrinterConfig:
        """Read one ``[[printers]]`` table; ``PrinterConfigError`` names the first thing wrong."""
        printer_id = raw.get("id")
        if not isinstance(printer_id, str) or not printer_id.strip():
            raise PrinterConfigError("printer_id_missing", "A [[printers]] entry has no id.")
        where = f"Printer {printer_id!r}"
        kind = raw.get("kind")
        if kind not in KINDS:
            raise PrinterConfigError(
                "unknown_printer_kind",
                f"{where}: kind {kind!r} is not one this station can print to; use one of {', '.join(KINDS)}.",
            )
        address = raw.get("address")
        if not isinstance(address, str) or not address:
            raise PrinterConfigError("bad_printer_address", f"{where}: the address is missing.")
        if kind == "cups":
            if not _CUPS_QUEUE.fullmatch(address):
                raise PrinterConfigError(
                    "bad_printer_address",
                    f"{where}: {address!r} is not a CUPS queue name (no spaces, /, \\, #, quotes).",
                )
        else:
            parse_address(address, where)
        geometry = LabelGeometry(*parse_label(raw.get("label", "50x25"), where), _dpi(raw, kind, where))
        options = {key: value for key, value in raw.items() if key not in ("id", "kind", "address", "label", "dpi")}
        for key, value in options.items():
            wanted = OPTIONS[kind].get(key)
            if wanted is None:
                raise PrinterConfigError(
                    "bad_printer_option",
                    f"{where}: {key!r} is not an option of a {kind} printer"
                    f" (options: {', '.join(sorted(OPTIONS[kind]))}).",
                )
            if wanted is float and isinstance(value, int) and not isinstance(value, bool):
                value = options[key] = float(value)
            if not isinstance(value, wanted) or (wanted is float and not 0 < value <= 300):
                raise PrinterConfigError("bad_printer_option", f"{where}: {key} = {value!r} is not valid.")
        return cls(printer_id, kind, address, geometry, options)


def parse_label(spec: Any, where: str = "The printer") -> tuple[float, float]:
    """Read "50x25" (also "50 x 25mm") as width and height in mm."""
    match = _LABEL.fullmatch(spec) if isinstance(spec, str) else None
    if match is None or not all(0 < float(value) <= 500 for value in match.groups()):
        raise PrinterConfigError(
            "bad_label_size", f"{where}: label {spec!r} is not a size; write WIDTHxHEIGHT in mm, e.g. 50x25."
        )
    return float(match[1]), float(match[2])


def _dpi(raw: Mapping[str, Any], kind: str, where: str) -> int:
    dpi = raw.get("dpi", DEFAULT_DPI[kind])
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 100 <= dpi <= 1200:
        raise PrinterConfigError(
            "bad_dpi", f"{where}: dpi {dpi!r} is not a printer resolution (203, 300 or 600, say)."
        )
    return dpi
