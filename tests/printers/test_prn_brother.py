"""Brother QL driver against a QL stand-in on loopback: the raster it receives reads back as exactly the serial."""

from __future__ import annotations

import queue

import pytest
import zxingcpp
from helpers.printers import deliver
from helpers.printers.standin_brother import BrotherStandIn, Fault, read_pages

from drivers.printers import (
    DeliveryUncertain,
    LabelRefused,
    PrinterConfigError,
    PrinterNotReady,
    PrintJob,
    Symbol,
    make_printer,
)
from station.printing.labels import label_image

WAIT = 5.0


@pytest.fixture
def brother():
    standin = BrotherStandIn().start()
    yield standin
    standin.stop()


def ql(address: str, tape: str = "62", label: str = "62x29", model: str = "QL-820NWB", **options):
    config = {"id": "ql-1", "kind": "brother_ql", "address": address, "label": label, "model": model,
              "tape": tape, "timeout": WAIT, **options}
    return make_printer(config, render=label_image)


def scan(image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code128)]


@pytest.mark.parametrize(
    ("tape", "label", "serial", "rows"),
    [
        pytest.param("62", "62x29", "SN-2024-0001", 342, id="endless_62_cut_at_29"),
        pytest.param("62", "40x62", "SN/7", 472, id="endless_62_turned"),
        pytest.param("29x90", "90x29", "SN-2024-ACME-WIDGET-77", 991, id="die_cut_29x90_turned"),
        pytest.param("62x29", "62x29", ">^~_<b>", 271, id="die_cut_62x29"),
    ],
)
def test_raster_reaches_printer_and_scans(brother, tape, label, serial, rows):
    """Guards the raster path: the printer's rows, read back by brother_ql's reader, scan as exactly the serial."""
    printer = ql(brother.address, tape, label)
    printer.send(PrintJob("job-1", serial))
    page = brother.printed.get(timeout=WAIT)
    assert page.size == (720, rows)  # 90 bytes a row on the QL-8xx head; one row a dot along the feed
    assert scan(page) == [serial]
    assert brother.printed.empty() and brother.discarded == []


def read_2d(image) -> list[tuple[str, str]]:
    """(symbology identifier, text as a scanner sends it, GS included) of each DataMatrix or QR code read."""
    return [(r.symbology_identifier, r.text) for r in zxingcpp.read_barcodes(
        image, formats=(zxingcpp.BarcodeFormat.DataMatrix, zxingcpp.BarcodeFormat.QRCode),
        text_mode=zxingcpp.TextMode.Plain)]


@pytest.mark.parametrize(
    ("tape", "label", "symbol", "aim"),
    [
        pytest.param("62", "62x29", Symbol("datamatrix", elements=(("01", "09506000134352"), ("21", "SN/1"))),
                     "]d2", id="gs1_datamatrix_endless_62"),
        pytest.param("62", "40x62", Symbol("qr", "https://id.gs1.org/01/09506000134352/21/SN%2F1"), "]Q1",
                     id="digital_link_qr_turned"),
        pytest.param("29x90", "90x29", Symbol("datamatrix", "SN-2024-ACME-WIDGET-77"), "]d1",
                     id="plain_datamatrix_die_cut"),
    ],
)
def test_2d_raster_reaches_printer_and_reads_back(brother, tape, label, symbol, aim):
    """Guards the raster path of 2D labels: the rows brother_ql's own reader turns back into a page read as
    exactly what the symbol holds (the element string with its GS1 identifier, the URI, the serial)."""
    ql(brother.address, tape, label).send(PrintJob("job-2d", "SN/1", symbol))
    page = brother.printed.get(timeout=WAIT)
    assert read_2d(page) == [(aim, symbol.data)]
    assert brother.printed.empty() and brother.discarded == []


def test_status_and_readiness(brother):
    """Guards `station printers` and the check before a job: no media is an error and gets no label."""
    printer = ql(brother.address)
    assert str(printer.status()) == "ready"
    brother.no_media = True
    assert str(printer.status()) == "error: No media when printing"
    with pytest.raises(PrinterNotReady) as not_ready:
        printer.send(PrintJob("j", "SN-1"))
    assert not_ready.value.code == "paper_out" and not_ready.value.retryable
    assert brother.printed.empty()
    brother.faults[brother.connections + 1] = Fault(silent=True)
    assert ql(brother.address, timeout=0.5).status().state == "offline"
    brother.stop()
    assert ql(brother.address).status().state == "offline"
    brother.start(brother.port)


def test_printer_dropping_mid_job_prints_the_label_once(brother):
    """Guards exactly once for Brother: cut off inside the raster, it prints nothing; the retry prints it once."""
    brother.faults[1] = Fault(drop_after=2000)  # the status request, then part of the raster rows
    errors = deliver(ql(brother.address), PrintJob("job-2", "SN-ONCE"), attempts=3)
    assert [type(error) for error in errors] == [DeliveryUncertain]
    assert len(brother.discarded) == 1
    assert scan(brother.printed.get(timeout=WAIT)) == ["SN-ONCE"]
    with pytest.raises(queue.Empty):
        brother.printed.get_nowait()


def test_printed_but_unconfirmed_is_possibly_printed(brother):
    """Guards the honest answer when the printer printed and vanished before confirming."""
    brother.faults[1] = Fault(drop_after_print=True)
    printer = ql(brother.address)
    with pytest.raises(DeliveryUncertain) as uncertain:
        printer.send(PrintJob("job-3", "SN-MAYBE"))
    assert uncertain.value.possibly_printed
    assert scan(brother.printed.get(timeout=WAIT)) == ["SN-MAYBE"]


def test_error_while_printing_is_retried_and_prints_once(brother):
    """Guards an error answered after the job (a cutter jam): reported retryable, and the retry prints once."""
    brother.jam_on_print = True
    errors = deliver(ql(brother.address), PrintJob("job-4", "SN-JAM"), attempts=3)
    assert [(type(error), error.code) for error in errors] == [(PrinterNotReady, "printer_error")]
    assert "Tape cutter jam" in errors[0].message
    assert scan(brother.printed.get(timeout=WAIT)) == ["SN-JAM"] and brother.printed.empty()


def test_usb_device_file_gets_the_raster(tmp_path):
    """Guards /dev/usb/lp0-style addresses: the file holds one page that reads back as the serial."""
    device = tmp_path / "lp0"
    device.touch()
    ql(str(device)).send(PrintJob("j", "SN-USB-1"))
    [page] = read_pages(device.read_bytes())
    assert scan(page) == ["SN-USB-1"]


def test_serial_that_cannot_fit_is_refused(brother):
    """Guards against unreadable labels: the renderer's refusal becomes a stable code, nothing is sent."""
    with pytest.raises(LabelRefused) as refused:
        ql(brother.address).send(PrintJob("j", "SN-2024-ACME-WIDGET-X-00"))
    assert refused.value.code == "serial_does_not_fit" and "SN-2024-ACME-WIDGET-X-00" in refused.value.message
    assert brother.connections == 0


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        pytest.param({"model": "QL-9999"}, "unknown_brother_model", id="unknown_model"),
        pytest.param({"tape": "63"}, "unknown_brother_tape", id="unknown_tape"),
        pytest.param({"label": "50x25"}, "label_tape_mismatch", id="label_not_on_tape"),
        pytest.param({"tape": "29x90", "label": "62x29"}, "label_tape_mismatch", id="die_cut_other_size"),
        pytest.param({"tape": "102", "label": "102x50"}, "label_tape_mismatch", id="tape_for_other_models"),
        pytest.param({"dpi": 203}, "bad_dpi", id="not_300_dpi"),
        pytest.param({"label": "62x2"}, "bad_label_size", id="shorter_than_the_printer_cuts"),
        pytest.param({"address": "usb://0x04f9:0x209b"}, "bad_printer_address", id="pyusb_address"),
    ],
)
def test_config_refusals(changes, code):
    """Guards `[[printers]]` checking for Brother: each mistake has its code and names the printer."""
    config = {"id": "ql-1", "kind": "brother_ql", "address": "tcp://127.0.0.1:9100", "label": "62x29",
              "model": "QL-820NWB", "tape": "62", **changes}
    with pytest.raises(PrinterConfigError) as refused:
        make_printer(config, render=label_image)
    assert refused.value.code == code and "'ql-1'" in refused.value.message
