"""CUPS driver against a real, private cupsd: the PNG that reaches the queue's device scans as the serial."""

from __future__ import annotations

import itertools
import os

import pytest
import zxingcpp
from helpers.printers.private_cupsd import PrivateCupsd, unavailable
from PIL import Image

from drivers.printers import LabelRefused, PrinterNotReady, PrintJob, Symbol, make_printer
from drivers.printers.cups_queue import job_name
from station.printing.labels import label_image

try:
    import cups
except ImportError:  # the 'cups' extra is not installed: the fixture says so
    cups = None

WAIT = 30.0  # cupsd on a busy 2-core machine; every wait is on an event, bounded by this
COMPLETED = 9  # IPP job-state completed
_QUEUES = itertools.count(1)


@pytest.fixture(scope="module")
def cupsd():
    reason = "pycups is not installed (pip install '.[cups]')" if cups is None else unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CUPS is required in CI: {reason}")
        pytest.skip(reason)
    daemon = PrivateCupsd().start(timeout=WAIT)
    yield daemon
    daemon.stop()


@pytest.fixture
def queue_name(cupsd):
    """A fresh queue on the private cupsd, with its completed jobs pushed to ``cupsd.events``."""
    name = f"label-{next(_QUEUES)}"
    connection = cups.Connection(host=cupsd.socket)
    cupsd.add_queue(connection, name)
    cupsd.subscribe(connection, name)
    return name


def cups_printer(cupsd, queue: str, label: str = "50x25", dpi: int = 203, server: str | None = None):
    config = {"id": "cups-1", "kind": "cups", "address": queue, "label": label, "dpi": dpi,
              "server": server or cupsd.socket}
    return make_printer(config, render=label_image)


def scan(path) -> list[str]:
    with Image.open(path) as image:
        return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code128)]


def jobs_named(cupsd, queue: str, name: str) -> list[int]:
    """The jobs of `queue` whose document is `name`.png, in any state (the job name is private to its owner)."""
    jobs = cups.Connection(host=cupsd.socket).getJobs(
        which_jobs="all", requested_attributes=["job-id", "document-name-supplied", "job-printer-uri"])
    return [job_id for job_id, attributes in jobs.items()
            if attributes.get("document-name-supplied") == f"{name}.png"
            and attributes.get("job-printer-uri", "").endswith(f"/printers/{queue}")]


@pytest.mark.parametrize(
    ("serial", "label", "dpi"),
    [
        pytest.param("SN/2024//7", "50x25", 203, id="50x25_at_203"),
        pytest.param("<b>&'\"~^", "57x32", 300, id="markup_57x32_at_300"),
    ],
)
def test_png_reaches_the_queue_and_scans(cupsd, queue_name, serial, label, dpi):
    """Guards the CUPS path: cupsd takes the job, completes it, and its device gets a PNG that scans as the serial."""
    printer = cups_printer(cupsd, queue_name, label, dpi)
    job = PrintJob("job-1", serial)
    printer.send(job)
    cups_id = printer.submitted(job)
    assert cups_id is not None and jobs_named(cupsd, queue_name, job_name(job)) == [cups_id]
    assert cupsd.wait_for(cups_id, timeout=WAIT) == COMPLETED
    output = cupsd.outputs[queue_name]
    with Image.open(output) as image:
        assert image.size == (printer.config.geometry.width_dots, printer.config.geometry.height_dots)
    assert scan(output) == [serial]


@pytest.mark.parametrize(
    ("symbol", "aim", "label", "dpi"),
    [
        pytest.param(Symbol("datamatrix", elements=(("01", "09506000134352"), ("21", "SN/7"))), "]d2", "50x25", 203,
                     id="gs1_datamatrix_50x25_at_203"),
        pytest.param(Symbol("qr", "https://id.gs1.org/01/09506000134352/21/SN%2F7"), "]Q1", "38x25", 300,
                     id="digital_link_qr_38x25_at_300"),
    ],
)
def test_2d_png_reaches_the_queue_and_reads_back(cupsd, queue_name, symbol, aim, label, dpi):
    """Guards 2D labels through CUPS: the PNG at the queue's device is the label's size and reads back as exactly
    what the symbol holds."""
    printer = cups_printer(cupsd, queue_name, label, dpi)
    job = PrintJob("job-2d", "SN/7", symbol)
    printer.send(job)
    assert cupsd.wait_for(printer.submitted(job), timeout=WAIT) == COMPLETED
    with Image.open(cupsd.outputs[queue_name]) as image:
        assert image.size == (printer.config.geometry.width_dots, printer.config.geometry.height_dots)
        found = zxingcpp.read_barcodes(image, formats=(zxingcpp.BarcodeFormat.DataMatrix,
                                                       zxingcpp.BarcodeFormat.QRCode),
                                       text_mode=zxingcpp.TextMode.Plain)
    assert [(r.symbology_identifier, r.text) for r in found] == [(aim, symbol.data)]


def test_retried_job_is_not_submitted_twice(cupsd, queue_name):
    """Guards exactly once through CUPS: a job sent again (its first answer lost) finds itself and adds nothing."""
    printer = cups_printer(cupsd, queue_name)
    job = PrintJob("job-2", "SN-TWICE")
    printer.send(job)
    printer.send(job)
    [cups_id] = jobs_named(cupsd, queue_name, job_name(job))
    assert cupsd.wait_for(cups_id, timeout=WAIT) == COMPLETED
    assert scan(cupsd.outputs[queue_name]) == ["SN-TWICE"]
    printer.send(PrintJob("job-3", "SN-TWICE"))  # another job of the same serial is a new label
    assert len(jobs_named(cupsd, queue_name, "station-job-3")) == 1


def test_queue_states(cupsd, queue_name):
    """Guards `station printers` and refusals for CUPS: ready, stopped, rejecting, missing, unreachable."""
    connection = cups.Connection(host=cupsd.socket)
    printer = cups_printer(cupsd, queue_name)
    assert str(printer.status()) == "ready"
    connection.disablePrinter(queue_name, reason="out of labels")
    assert str(printer.status()) == "error: out of labels"
    connection.enablePrinter(queue_name)
    connection.rejectJobs(queue_name)
    assert str(printer.status()) == "error: the queue is not accepting jobs"
    with pytest.raises(PrinterNotReady) as rejecting:
        printer.send(PrintJob("j", "SN-1"))
    assert rejecting.value.code == "cups_queue_rejecting" and rejecting.value.retryable
    connection.acceptJobs(queue_name)
    missing = cups_printer(cupsd, "no-such-queue")
    assert missing.status().state == "error"
    with pytest.raises(PrinterNotReady) as not_found:
        missing.send(PrintJob("j", "SN-1"))
    assert not_found.value.code == "cups_queue_missing"
    gone = cups_printer(cupsd, queue_name, server=str(cupsd.root / "absent.sock"))
    assert gone.status().state == "offline"
    with pytest.raises(PrinterNotReady) as unreachable:
        gone.send(PrintJob("j", "SN-1"))
    assert unreachable.value.code == "printer_unreachable" and unreachable.value.retryable


def test_serial_that_cannot_fit_never_reaches_cups(cupsd, queue_name):
    """Guards refusals: a serial too long for the label is refused before CUPS sees a job."""
    with pytest.raises(LabelRefused) as refused:
        cups_printer(cupsd, queue_name).send(PrintJob("job-4", "SN-2024-ACME-WIDGET-X"))
    assert refused.value.code == "serial_does_not_fit"
    assert jobs_named(cupsd, queue_name, "station-job-4") == []
