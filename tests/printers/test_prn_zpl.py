"""ZPL II driver against a Zebra stand-in on loopback: what reaches the printer scans as exactly the serial."""

from __future__ import annotations

import queue
import string

import pytest
import zxingcpp
from helpers.printers import deliver, zpl_render
from helpers.printers.standin_zebra import Fault
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.printers import (
    DeliveryUncertain,
    JobNotDelivered,
    LabelRefused,
    PrinterNotReady,
    PrintJob,
    make_printer,
)
from drivers.printers.code128 import modules as code128_modules

WAIT = 5.0  # every wait on a stand-in is bounded by this


def zpl_printer(address: str, label: str = "50x25", dpi: int = 203, **options):
    return make_printer({"id": "zebra-1", "kind": "zpl", "address": address, "label": label, "dpi": dpi,
                         "timeout": WAIT, **options})


def scan(zpl: str) -> list[str]:
    """What zxing-cpp reads in the ^BC field of one received label."""
    image = zpl_render.draw(zpl_render.parse(zpl))
    return [result.text for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code128)]


def printed_text(zpl: str) -> str:
    """The characters the ^FD data encodes, read with the Programming Guide's rules."""
    values = zpl_render.code128_values(zpl_render.parse(zpl).one("FD"))
    subset, out = {104: "B", 105: "C"}[values[0]], []
    for value in values[1:]:
        if (subset, value) in (("B", 99), ("C", 100)):
            subset = "C" if value == 99 else "B"
        else:
            out.append(f"{value:02d}" if subset == "C" else chr(value + 32))
    return "".join(out)


@pytest.mark.parametrize(
    ("serial", "label", "dpi"),
    [
        pytest.param("SN/2024//7", "50x25", 203, id="slashes"),
        pytest.param("A B", "50x25", 203, id="space"),
        pytest.param(">^~_>0><", "50x25", 203, id="zpl_specials"),
        pytest.param("^XZ^FS~HS", "50x25", 203, id="zpl_commands_in_serial"),
        pytest.param("1234567890", "50x25", 203, id="digits_subset_c"),
        pytest.param("12345", "50x25", 203, id="odd_digits"),
        pytest.param("SN123456X", "50x25", 203, id="digits_in_middle"),
        pytest.param("<b>&'\"", "50x25", 300, id="markup_300dpi"),
        pytest.param("SN-2024-ACME-WIDGET-X-LOT-B07Q", "100x50", 203, id="thirty_at_100x50"),
        pytest.param("sn-lower-7", "50x25", 600, id="600dpi"),
    ],
)
def test_label_reaches_printer_and_scans(zebra, serial, label, dpi):
    """Guards the ZPL path end to end: size, field, module width, and bars that read as exactly the serial."""
    printer = zpl_printer(zebra.address, label, dpi)
    printer.send(PrintJob("job-7", serial))
    zpl = zebra.printed.get(timeout=WAIT)
    parsed = zpl_render.parse(zpl)
    geometry = printer.config.geometry
    assert parsed.one("PW") == str(geometry.width_dots) and parsed.one("LL") == str(geometry.height_dots)
    assert parsed.one("BC").split(",")[2:] == ["Y", "N", "N", "N"]  # text under the bars, mode N
    assert parsed.one("FX") == "station job job-7"
    module = int(parsed.one("BY"))
    assert module * 25.4 / dpi >= 0.19 and module == printer.module_dots(serial)
    left = int(parsed.one("FO").split(",")[0])
    width = len(zpl_render.bars(parsed.one("FD"))) * module
    assert left >= 10 * module and left + width + 10 * module <= geometry.width_dots  # quiet zones on the label
    assert printed_text(zpl) == serial
    assert scan(zpl) == [serial]
    assert zebra.printed.empty() and zebra.discarded == []


@given(st.text(alphabet=string.printable[:95], min_size=1, max_size=12))
@settings(max_examples=150, deadline=None)
def test_any_printable_serial_that_fits_scans(serial):
    """Guards subset packing and escaping for every printable ASCII serial of 50x25 mm's 12 characters."""
    zpl = zpl_printer("/dev/null").prepare(PrintJob("j", serial)).decode("ascii")
    assert printed_text(zpl) == serial
    assert scan(zpl) == [serial]
    # As narrow as zxing-cpp's own encoder packs it, quiet zones included (python-barcode, the oracle before, drops
    # a character of "99" and so cannot be one: hypothesis found it).
    theirs = zxingcpp.create_barcode(serial, zxingcpp.BarcodeFormat.Code128).to_image()
    assert code128_modules(serial) <= theirs.shape[1]


@pytest.mark.parametrize(
    ("serial", "label", "code"),
    [
        pytest.param("ABCDEFGHIJKLM", "50x25", "serial_does_not_fit", id="thirteen_at_50x25"),
        pytest.param("S" * 64, "100x50", "serial_does_not_fit", id="sixty_four_at_100x50"),
        pytest.param("Ü-1", "50x25", "serial_not_ascii", id="not_ascii"),
        pytest.param("SN\x1d1", "50x25", "serial_not_ascii", id="control_character"),
        pytest.param("", "50x25", "serial_empty", id="empty"),
        pytest.param("SN-1", "50x10", "label_too_low", id="label_too_low"),
    ],
)
def test_refused_label_sends_nothing(zebra, serial, label, code):
    """Guards against unreadable labels: a clear refusal with a stable code, and no connection made."""
    with pytest.raises(LabelRefused) as refused:
        zpl_printer(zebra.address, label).send(PrintJob("j", serial))
    assert refused.value.code == code and not refused.value.retryable
    message = refused.value.message
    assert message[0].isupper() and message.endswith(".")  # a sentence for the operator
    assert (repr(serial) in message) if serial and code != "label_too_low" else True
    assert zebra.connections == 0


def test_twelve_characters_is_the_limit_at_50x25_203dpi():
    """Guards the documented capacity: 12 characters (24 digits) at 0.25 mm modules on 50 mm stock."""
    printer = zpl_printer("/dev/null")
    for text in ("A" * 12, "7" * 24):
        assert printer.module_dots(text) == 2
    for text in ("A" * 13, "7" * 26):
        with pytest.raises(LabelRefused):
            printer.module_dots(text)


@pytest.mark.parametrize(
    ("flag", "code", "detail"),
    [
        pytest.param("paper_out", "paper_out", "paper out: load labels", id="paper_out"),
        pytest.param("paused", "printer_paused", "paused: press PAUSE on the printer to resume", id="paused"),
        pytest.param("head_open", "head_open", "print head open: close it", id="head_open"),
    ],
)
def test_printer_problem_is_reported_and_nothing_printed(zebra, flag, code, detail):
    """Guards ~HS parsing: a printer that cannot print gets no label, the queue is told to retry."""
    setattr(zebra.flags, flag, True)
    printer = zpl_printer(zebra.address)
    assert str(printer.status()) == f"error: {detail}"
    with pytest.raises(PrinterNotReady) as not_ready:
        printer.send(PrintJob("j", "SN-1"))
    assert not_ready.value.code == code and not_ready.value.retryable
    assert zebra.printed.empty()
    setattr(zebra.flags, flag, False)
    printer.send(PrintJob("j", "SN-1"))
    assert scan(zebra.printed.get(timeout=WAIT)) == ["SN-1"]


def test_status_ready_offline_and_silent(zebra):
    """Guards `station printers`: an answering printer is ready, a silent or absent one offline."""
    assert str(zpl_printer(zebra.address).status()) == "ready"
    zebra.faults[2] = Fault(silent=True)
    silent = zpl_printer(zebra.address, timeout=0.5).status()
    assert silent.state == "offline" and "~HS" in silent.detail
    zebra.stop()
    gone = zpl_printer(zebra.address).status()
    assert gone.state == "offline" and "cannot be reached" in gone.detail
    zebra.start(zebra.port)


def test_printer_without_status_prints_on_orderly_close(zebra):
    """Guards status_query = false: a compatible that ignores ~HS still gets its label, confirmed by its close."""
    zebra.faults[1] = Fault(silent=True)
    zpl_printer(zebra.address, status_query=False).send(PrintJob("j", "SN-9"))
    assert scan(zebra.printed.get(timeout=WAIT)) == ["SN-9"]


def test_printer_dropping_mid_job_prints_the_label_once(zebra):
    """Guards exactly once: the printer goes away half-way through the label, comes back, prints it once."""
    zebra.faults[1] = Fault(drop_after=3 + 60)  # the status request, then 60 bytes of the label
    errors = deliver(zpl_printer(zebra.address), PrintJob("job-1", "SN-ONCE"), attempts=3)
    assert [type(error) for error in errors] == [DeliveryUncertain]
    assert len(zebra.discarded) == 1 and "^XZ" not in zebra.discarded[0]
    assert scan(zebra.printed.get(timeout=WAIT)) == ["SN-ONCE"]
    with pytest.raises(queue.Empty):
        zebra.printed.get_nowait()


def test_printer_switched_off_and_back_prints_the_label_once(zebra):
    """Guards retrying while a printer is off: refused connections send nothing, the label prints once after."""
    zebra.stop()
    errors = deliver(zpl_printer(zebra.address), PrintJob("job-2", "SN-BACK"), attempts=3,
                     before_retry=lambda attempt: zebra.start(zebra.port) if attempt == 2 else None)
    assert [error.code for error in errors] == ["printer_unreachable", "printer_unreachable"]
    assert scan(zebra.printed.get(timeout=WAIT)) == ["SN-BACK"]
    assert zebra.printed.empty() and zebra.connections == 1


def test_unconfirmed_label_is_reported_as_possibly_printed(zebra):
    """Guards the limit of raw 9100: a printer that printed but never answered is 'possibly printed', not 'failed'."""
    zebra.faults[1] = Fault(drop_after_print=True)
    printer = zpl_printer(zebra.address)
    with pytest.raises(DeliveryUncertain) as uncertain:
        printer.send(PrintJob("job-3", "SN-MAYBE"))
    assert uncertain.value.retryable and uncertain.value.possibly_printed
    assert scan(zebra.printed.get(timeout=WAIT)) == ["SN-MAYBE"]


def test_device_file_gets_the_label(tmp_path):
    """Guards /dev/usb/lp0-style addresses: the whole label is written to the device, and nothing else."""
    device = tmp_path / "lp0"
    device.touch()
    printer = zpl_printer(str(device))
    assert str(printer.status()) == "ready"
    printer.send(PrintJob("j", "SN-USB"))
    zpl = device.read_text()
    assert zpl.count("^XA") == 1 and scan(zpl) == ["SN-USB"]


def test_device_failures():
    """Guards device files: an absent device is offline and retryable, a failing write is 'not delivered'."""
    absent = zpl_printer("/dev/usb/lp-absent")
    assert absent.status().state == "offline"
    with pytest.raises(PrinterNotReady) as unreachable:
        absent.send(PrintJob("j", "SN-1"))
    assert unreachable.value.code == "printer_unreachable" and unreachable.value.retryable
    with pytest.raises(JobNotDelivered) as interrupted:
        zpl_printer("/dev/full").send(PrintJob("j", "SN-1"))  # every write fails: ENOSPC
    assert interrupted.value.code == "job_interrupted" and not interrupted.value.possibly_printed


def test_batch_with_a_drop_prints_every_label_once_in_order(zebra):
    """Guards a receipt's labels: the printer drops during the third of five, each still prints once, in order."""
    zebra.faults[3] = Fault(drop_after=3 + 40)
    printer = zpl_printer(zebra.address)
    serials = [f"SN-{n}" for n in range(1, 6)]
    retried = [error for serial in serials for error in deliver(printer, PrintJob(serial, serial), attempts=3)]
    assert [error.code for error in retried] == ["delivery_uncertain"]
    assert [scan(zebra.printed.get(timeout=WAIT))[0] for _ in serials] == serials
    assert zebra.printed.empty() and len(zebra.discarded) == 1


def test_a_serial_of_two_nines_packs_and_scans():
    """Guards the example hypothesis found: "99", one Code C pair, printed, read back, as narrow as zxing-cpp's."""
    zpl = zpl_printer("/dev/null").prepare(PrintJob("j", "99")).decode("ascii")
    assert printed_text(zpl) == "99" and scan(zpl) == ["99"]
    assert code128_modules("99") == zxingcpp.create_barcode("99", zxingcpp.BarcodeFormat.Code128).to_image().shape[1]
