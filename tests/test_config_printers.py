"""``[[printers]]`` and a station's ``print_on_receive`` / ``printer`` in the configuration (SPEC 5 Printing).

The entries are checked by the drivers' own rules (drivers.printers.PrinterConfig.from_mapping) and their keys
by the configuration's: an unknown key is refused with the nearest known one, like every table's; a station's
printer key that names no printer stops the station at start.
"""
from __future__ import annotations

import pytest

from station.config import from_dict
from station.domain.errors import ConfigError

ZEBRA = {"id": "zebra-1", "kind": "zpl", "address": "tcp://192.0.2.10:9100", "label": "50x25", "dpi": 203}


def test_printers_are_read_as_typed_sections():
    """Guards the typed section: every key as the pages show it, the kind's options checked (an int timeout read
    as seconds), and the drivers' own config beside them; a station's CMD:PRINT printer falls back on receipts'."""
    config = from_dict({
        "stations": [{"id": "goods-in", "mode": "receive", "print_on_receive": "zebra-1"},
                     {"id": "till", "mode": "sell", "printer": "ql"},
                     {"id": "desk", "mode": "return"}],
        "printers": [{**ZEBRA, "timeout": 5, "status_query": False},
                     {"id": "ql", "kind": "brother_ql", "address": "/dev/usb/lp1", "label": "62x29",
                      "model": "QL-820NWB", "tape": "62"},
                     {"id": "office", "kind": "cups", "address": "Zebra_ZD421", "server": "/run/cups/cups.sock"}],
    })
    zebra = config.printer("zebra-1")
    assert (zebra.kind, zebra.address, zebra.label, zebra.dpi) == ("zpl", "tcp://192.0.2.10:9100", "50x25", 203)
    assert dict(zebra.options) == {"timeout": 5.0, "status_query": False}
    assert zebra.driver.geometry.width_dots == 399 and zebra.driver.timeout == 5.0
    assert config.printer("ql").dpi == 300  # the kind's default
    assert config.printer("nope") is None
    stations = {s.id: s for s in config.stations}
    assert stations["goods-in"].label_printer == "zebra-1"
    assert (stations["till"].print_on_receive, stations["till"].label_printer) == (None, "ql")
    assert stations["desk"].label_printer is None
    assert from_dict({}).printers == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"printers": [{**ZEBRA, "lable": "50x25"}]}, "unknown key 'lable': did you mean 'label'?",
                     id="misspelt_key"),
        pytest.param({"printers": [{**ZEBRA, "tape": "62"}]}, "unknown key 'tape'", id="another_kinds_option"),
        pytest.param({"printer": [ZEBRA]}, "unknown key 'printer': did you mean 'printers'?", id="section_name"),
        pytest.param({"printers": [{**ZEBRA, "kind": "zebra"}]}, "kind 'zebra' is not one this station can print to",
                     id="unknown_kind"),
        pytest.param({"printers": [{**ZEBRA, "address": "192.0.2.10:9100"}]}, "neither tcp://HOST:PORT nor a device",
                     id="bad_address"),
        pytest.param({"printers": [{**ZEBRA, "label": "50 by 25"}]}, "is not a size", id="bad_label"),
        pytest.param({"printers": [{**ZEBRA, "dpi": 72}]}, "dpi 72 is not a printer resolution", id="bad_dpi"),
        pytest.param({"printers": [{**ZEBRA, "timeout": "soon"}]}, "timeout = 'soon' is not valid", id="bad_option"),
        pytest.param({"printers": [{**ZEBRA, "id": "zebra one"}]}, "id must be 1-64 letters", id="bad_id"),
        pytest.param({"printers": [ZEBRA, ZEBRA]}, "two [[printers]] share one id", id="duplicate_id"),
        pytest.param({"stations": [{"id": "goods-in", "print_on_receive": "zebra-2"}], "printers": [ZEBRA]},
                     "station goods-in: print_on_receive = 'zebra-2' names no printer: did you mean 'zebra-1'?",
                     id="print_on_receive_names_no_printer"),
        pytest.param({"stations": [{"id": "goods-in", "print_on_receive": "zebra-1"}]},
                     "print_on_receive = 'zebra-1' names no printer: add it as a [[printers]] entry",
                     id="no_printers_at_all"),
        pytest.param({"stations": [{"id": "till", "printer": "office"}], "printers": [ZEBRA]},
                     "station till: printer = 'office' names no printer (printers: zebra-1)", id="printer_key"),
        pytest.param({"stations": [{"id": "goods-in", "print_on_recieve": "zebra-1"}], "printers": [ZEBRA]},
                     "unknown key 'print_on_recieve': did you mean 'print_on_receive'?", id="misspelt_station_key"),
    ],
)
def test_printer_mistakes_are_refused_with_a_sentence(data, message):
    """Guards against a station running on a printer entry it cannot use: the first mistake, named."""
    with pytest.raises(ConfigError) as refused:
        from_dict(data)
    assert message in refused.value.message
