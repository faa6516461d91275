"""2D labels through the station, on SQLite and PostgreSQL: sheets from the command line, and the daemon's queue.

Every label is read back by zxing-cpp and the text a scanner would send (its
symbology identifier, then the data) is scanned at a station: a serial's
label, in every symbology, scans back as that serial. The daemon's labels go
to a Zebra stand-in on loopback and are read from their ZPL (``^BX``/``^BQ``).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from click.testing import CliRunner
from helpers.printers.queue import WAIT, nothing_more, queues_started, take, wait_rows
from helpers.printers.standin_zebra import ZebraStandIn
from PIL import Image
from sqlalchemy import select

from station.cli.main import cli
from station.config import from_dict
from station.domain import catalogue
from station.domain.models import SerialNumber
from station.scanning.service import ScanService

GTIN = "09506000134352"
FORMATS = (zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.QRCode)


@pytest.fixture
def zebra() -> Iterator[ZebraStandIn]:
    with ZebraStandIn() as standin:
        yield standin


@pytest.fixture
def products(db):
    with db.Session.begin() as s:
        catalogue.create_product(s, "WID-1", "Widget X", barcodes=["WID-INTERNAL", GTIN])
        catalogue.create_product(s, "PLAIN", "Plain thing", barcodes=["PLAIN-1"])
        catalogue.create_party(s, "supplier", "ACME", "Acme Ltd")


def write_config(tmp_path: Path, db, printer: str = "") -> Path:
    path = tmp_path / "station.toml"
    path.write_text(f'[database]\nurl = "{db.url}"\n\n[[stations]]\nid = "goods-in"\nmode = "receive"\n'
                    f'\n[traceability]\ndigital_link_base = "https://resolver.example.com/dl"\n' + printer,
                    encoding="utf-8")
    return path


def station(path: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(path), *args])


def scanned(path: Path) -> str:
    """What a scanner sends for the one barcode of a PNG: its symbology identifier, then its data."""
    with Image.open(path) as image:
        [found] = zxingcpp.read_barcodes(image.convert("L"), formats=FORMATS, text_mode=zxingcpp.TextMode.Plain)
    return found.symbology_identifier + found.text


@pytest.mark.parametrize(("product", "symbology", "label"), [
    pytest.param("WID-1", "datamatrix", "]d201" + GTIN + "21WID-1-000001", id="gs1_datamatrix"),
    pytest.param("WID-1", "qr", "]Q1https://resolver.example.com/dl/01/" + GTIN + "/21/WID-1-000001",
                 id="digital_link_qr"),
    pytest.param("WID-1", "code128", "]C0WID-1-000001", id="code128"),
    pytest.param("PLAIN", "datamatrix", "]d1PLAIN-000001", id="no_gtin_datamatrix_holds_the_serial"),
    pytest.param("PLAIN", "qr", "]Q1PLAIN-000001", id="no_gtin_qr_holds_the_serial"),
])
def test_a_sheet_in_each_symbology_scans_back_as_its_serial(db, tmp_path, products, product, symbology, label):
    """Guards `station labels serials --symbology`: each label holds what SPEC 5 says (the element string, the
    Digital Link on the configured base, the serial), and scanned at a receiving station it is that serial."""
    out = tmp_path / "labels"
    result = station(write_config(tmp_path, db), "labels", "serials", "--product", product, "--count", "2",
                     "--symbology", symbology, "--out", str(out))
    assert result.exit_code == 0, result.output
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 2
    texts = sorted(scanned(png) for png in pngs)
    assert texts[0] == label
    service = ScanService(from_dict({"stations": [{"id": "goods-in", "mode": "receive"}]}))
    with db.Session.begin() as s:
        assert service.process(s, "goods-in", "SUP:ACME").accepted
    for text, serial in zip(texts, [f"{product}-000001", f"{product}-000002"], strict=True):
        with db.Session.begin() as s:
            answer = service.process(s, "goods-in", text)
        assert answer.accepted, answer
        assert answer.message.endswith(f"serial {serial}.")


def test_print_with_another_symbology_than_the_printers_is_refused(db, tmp_path, zebra, products):
    """Guards --symbology with --print: the queue draws in the printer's symbology, so another is refused with a
    sentence saying how, and nothing is reserved."""
    printer = f'\n[[printers]]\nid = "zebra-1"\nkind = "zpl"\naddress = "{zebra.address}"\nsymbology = "qr"\n'
    result = station(write_config(tmp_path, db, printer), "labels", "serials", "--product", "WID-1", "--count", "1",
                     "--print", "zebra-1", "--symbology", "datamatrix")
    assert result.exit_code == 1
    assert ("Printer zebra-1 prints qr labels (the symbology of its [[printers]] entry): leave out --symbology, or "
            'set symbology = "datamatrix" in that entry.') in result.stderr
    with db.Session() as s:
        assert s.scalars(select(SerialNumber)).all() == []


@pytest.fixture
def printing(db, zebra):
    """The daemon's print queue for a Zebra stand-in of the given symbology (stopped afterwards)."""
    with queues_started(db) as start_queue:

        def start(symbology: str, **station):
            config = from_dict({
                "database": {"url": db.url},
                "stations": [{"id": "goods-in", "mode": "receive", **station}],
                "printers": [{"id": "zebra-1", "kind": "zpl", "address": zebra.address, "label": "50x25",
                              "timeout": WAIT, "symbology": symbology}],
            })
            start_queue(config)
            return config

        yield start


def test_the_daemon_prints_a_receipt_in_gs1_datamatrix(db, zebra, products, printing):
    """Guards print_on_receive with symbology = "datamatrix": each serial a receipt brings in comes out as the
    printer's own GS1 DataMatrix of (01)GTIN(21)serial, and scanning that label finds the serial."""
    config = printing("datamatrix", print_on_receive="zebra-1")
    service = ScanService(config)
    serials = ["SN/1", "SN_2", "SN-3"]
    for text in ["SUP:ACME", GTIN, *serials, "CMD:FINISH"]:
        with db.Session.begin() as s:
            assert service.process(s, "goods-in", text).accepted
    printed = take(zebra, 3)
    assert [(label.aim, label.serial) for label in printed] == [("]d2", f"01{GTIN}21{serial}") for serial in serials]
    wait_rows(db.Session, db, lambda found: [r.state for r in found] == ["printed"] * 3, "the labels printed")
    service = ScanService(from_dict({"stations": [{"id": "till", "mode": "sell"}]}))
    with db.Session.begin() as s:
        answer = service.process(s, "till", printed[0].aim + printed[0].serial)
    assert answer.accepted and answer.message.endswith("serial SN/1.")
    assert nothing_more(zebra)


def test_cmd_print_of_a_unit_not_yet_posted_prints_its_digital_link(db, zebra, products, printing):
    """Guards the GTIN of a unit still on an open receipt (no record yet): CMD:PRINT's QR label carries its
    Digital Link all the same, read from the document line's product; the unit was scanned by its own Digital
    Link on another resolver, and the label names it on GS1's (the configured base)."""
    config = printing("qr", printer="zebra-1")
    service = ScanService(config)
    for text in ["SUP:ACME", f"]Q1https://brand.example.com/01/{GTIN}/21/NEW%2F1", "CMD:PRINT"]:
        with db.Session.begin() as s:
            assert service.process(s, "goods-in", text).accepted, text
    [label] = take(zebra, 1)
    assert (label.aim, label.serial) == ("]Q1", f"https://id.gs1.org/01/{GTIN}/21/NEW%2F1")
    wait_rows(db.Session, db, lambda found: [r.state for r in found] == ["printed"], "the label printed")
