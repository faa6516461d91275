"""What a serial's label carries, by the symbology its printer (or sheet) prints (SPEC 5 Traceability).

- ``code128``: the serial (``None`` here: the drivers' default).
- ``datamatrix``: a GS1 DataMatrix of (01)GTIN(21)serial when the serial's
  product has a GTIN and AI 21 can carry the serial, else the serial alone.
- ``qr``: the serial's GS1 Digital Link URI under the same condition, else
  the serial alone: the station's own ``<base_uri>/serial/...`` is a URL its
  scanners refuse (SPEC 4: any URL but a Digital Link is ``unknown_barcode``),
  so a label would not scan back at the station that printed it.

Every one of them scans back at the station as that serial: the element
string and the Digital Link by SPEC 4's GS1 rule, the serial as itself.
"""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from drivers.printers.symbols import Symbol
from station.config import Config
from station.traceability import uris
from station.traceability.gtins import serial_gtins


def label_symbol(symbology: str, serial: str, gtin: str | None, config: Config) -> Symbol | None:
    """The barcode of ``serial``'s label in ``symbology``; None is the Code 128 of the serial."""
    if symbology == "code128":
        return None
    elements = uris.gs1_form(gtin, serial)
    if elements is None:
        return Symbol(symbology, serial)
    if symbology == "datamatrix":
        return Symbol("datamatrix", elements=elements)
    return Symbol("qr", uris.serial_uri(config, serial, gtin))


def label_symbols(session: Session, symbology: str, serials: Collection[str],
                  config: Config) -> dict[str, Symbol | None]:
    """Each serial's label barcode; for a 2D symbology its product's GTIN is read (a few statements a batch)."""
    if symbology == "code128":
        return dict.fromkeys(serials)
    gtins = serial_gtins(session, serials)
    return {serial: label_symbol(symbology, serial, gtins[serial], config) for serial in serials}
