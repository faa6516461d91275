"""[[printers]] entries: every mistake refused with a stable code and a sentence naming the printer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import drivers.printers
from drivers.printers import PrinterConfig, PrinterConfigError, make_printer
from drivers.printers.transport import Address, parse_address

GOOD = {"id": "zebra-1", "kind": "zpl", "address": "tcp://192.0.2.10:9100", "label": "50x25", "dpi": 203}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        pytest.param({"id": ""}, "printer_id_missing", id="no_id"),
        pytest.param({"kind": "epson"}, "unknown_printer_kind", id="unknown_kind"),
        pytest.param({"kind": None}, "unknown_printer_kind", id="no_kind"),
        pytest.param({"address": "192.0.2.10:9100"}, "bad_printer_address", id="no_scheme"),
        pytest.param({"address": "http://192.0.2.10"}, "bad_printer_address", id="http"),
        pytest.param({"address": "tcp://"}, "bad_printer_address", id="no_host"),
        pytest.param({"address": "tcp://host:99999"}, "bad_printer_address", id="port_out_of_range"),
        pytest.param({"address": "tcp://host:9100/queue"}, "bad_printer_address", id="path_on_tcp"),
        pytest.param({"address": "dev/usb/lp0"}, "bad_printer_address", id="relative_path"),
        pytest.param({"address": ""}, "bad_printer_address", id="empty_address"),
        pytest.param({"kind": "cups", "address": "my queue"}, "bad_printer_address", id="cups_queue_space"),
        pytest.param({"kind": "cups", "address": "a/b"}, "bad_printer_address", id="cups_queue_slash"),
        pytest.param({"label": "50"}, "bad_label_size", id="label_one_number"),
        pytest.param({"label": "0x25"}, "bad_label_size", id="label_zero"),
        pytest.param({"label": 50}, "bad_label_size", id="label_not_text"),
        pytest.param({"dpi": 72}, "bad_dpi", id="dpi_too_low"),
        pytest.param({"dpi": "203"}, "bad_dpi", id="dpi_text"),
        pytest.param({"dpi": True}, "bad_dpi", id="dpi_bool"),
        pytest.param({"tape": "62"}, "bad_printer_option", id="option_of_other_kind"),
        pytest.param({"timeout": -1}, "bad_printer_option", id="negative_timeout"),
        pytest.param({"status_query": "yes"}, "bad_printer_option", id="status_query_text"),
    ],
)
def test_config_refusals(changes, code):
    """Guards station start-up: a printer that cannot work is refused when read, with its code and id."""
    with pytest.raises(PrinterConfigError) as refused:
        PrinterConfig.from_mapping({**GOOD, **changes})
    error = refused.value
    assert error.code == code and not error.retryable
    assert error.message[0].isupper() and error.message.endswith(".")
    assert code == "printer_id_missing" or "'zebra-1'" in error.message


@pytest.mark.parametrize("kind", ["brother_ql", "cups"])
def test_raster_kinds_need_a_renderer(kind):
    """Guards the device layer's independence: raster printers draw with the renderer the station hands in."""
    config = {**GOOD, "kind": kind, "address": "label" if kind == "cups" else GOOD["address"], "dpi": 300}
    if kind == "brother_ql":
        config.update(model="QL-820NWB", tape="62", label="62x29")
    with pytest.raises(PrinterConfigError) as refused:
        make_printer(config)
    assert refused.value.code == "renderer_required"


def test_cups_server_must_be_host_port_or_socket():
    """Guards the cups `server` option: host, host:port or a socket path."""
    config = {**GOOD, "kind": "cups", "address": "label", "server": "cups.local:ipp"}
    with pytest.raises(PrinterConfigError) as refused:
        make_printer(config, render=lambda *args: None)
    assert refused.value.code == "bad_printer_option"


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("tcp://192.0.2.10", Address(host="192.0.2.10", port=9100)),
        ("tcp://printer.local:6101", Address(host="printer.local", port=6101)),
        ("tcp://[::1]:9100", Address(host="::1", port=9100)),
        ("/dev/usb/lp0", Address(path="/dev/usb/lp0")),
        ("file:///dev/usb/lp1", Address(path="/dev/usb/lp1")),
    ],
)
def test_addresses(text, address):
    """Guards the address forms the spec names: tcp://host:9100 (port optional) and device files."""
    assert parse_address(text) == address


def test_defaults_and_label_forms():
    """Guards the defaults: 50x25 mm, 203 dpi for ZPL, 300 for Brother and CUPS; '57 x 32mm' reads too."""
    config = PrinterConfig.from_mapping({"id": "z", "kind": "zpl", "address": "/dev/usb/lp0"})
    assert (config.geometry.width_mm, config.geometry.height_mm, config.geometry.dpi) == (50, 25, 203)
    assert (config.geometry.width_dots, config.geometry.height_dots) == (399, 199)
    other = PrinterConfig.from_mapping({"id": "c", "kind": "cups", "address": "label", "label": "57 x 32mm"})
    assert (other.geometry.width_mm, other.geometry.height_mm, other.geometry.dpi) == (57, 32, 300)
    assert (config.label, config.dpi) == ("50x25", 203)
    assert config.timeout == 10.0 and PrinterConfig.from_mapping({**GOOD, "timeout": 3}).timeout == 3.0


def test_device_layer_imports_nothing_of_the_station():
    """Guards the layering: drivers/printers imports neither station nor web, so the drivers stand alone."""
    offenders = []
    for path in Path(drivers.printers.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in ("station", "web")]
    assert offenders == []
