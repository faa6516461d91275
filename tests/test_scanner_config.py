"""A scanner's configuration: which pause ends its scans (SPEC 4), and the settings refused at start-up."""
from __future__ import annotations

import pytest

from station.config import from_dict
from station.daemon.supervisor import Supervisor
from station.domain.errors import ConfigError


def _scanner(**keys):
    config = from_dict({"stations": [{"id": "till", "scanners": [{"path": "/dev/barcode/x", **keys}]}]})
    return config.stations[0].scanners[0]


@pytest.mark.parametrize(
    ("keys", "end_gap"),
    [
        pytest.param({}, 1.0, id="evdev_default_terminators_one_second"),
        pytest.param({"kind": "serial"}, 1.0, id="serial_default_one_second"),
        pytest.param({"lost_terminator_ms": 2500}, 2.5, id="lost_terminator_configured"),
        pytest.param({"lost_terminator_ms": 0}, None, id="lost_terminator_off"),
        pytest.param({"terminators": []}, 0.05, id="no_terminator_idle_gap_default"),
        pytest.param({"terminators": [], "idle_gap_ms": 120}, 0.12, id="no_terminator_idle_gap_configured"),
        pytest.param({"kind": "serial", "terminators": []}, 0.05, id="serial_without_suffix"),
        pytest.param({"idle_gap_ms": 30}, 1.0, id="idle_gap_ignored_with_terminators"),
    ],
)
def test_the_pause_that_ends_a_scan(keys: dict, end_gap: float | None) -> None:
    """Guards SPEC 4: a pause ends a scan by idle_gap_ms only without terminators; with them only a long one
    (lost_terminator_ms, 1 s unless set) does, so a slow scanner or a person typing is never cut in pieces."""
    assert _scanner(**keys).end_gap == end_gap


def test_the_readers_get_those_pauses() -> None:
    """Guards the wiring: the decoder of an evdev slot and the framer of a serial slot end scans as configured."""
    config = from_dict({"stations": [{"id": "till", "scanners": [
        {"path": "/dev/barcode/kbd"}, {"path": "/dev/barcode/tty", "kind": "serial"},
        {"path": "/dev/barcode/nosuffix", "terminators": [], "idle_gap_ms": 40}]}]})
    supervisor = Supervisor(config.stations, lambda *a: None, lambda *a: None, hotplug=False)
    kbd, tty, nosuffix = (supervisor._reader(slot, slot.scanner.path, object()) for slot in supervisor.slots)
    assert (kbd.decoder.end_gap, tty.idle_gap, nosuffix.decoder.end_gap) == (1.0, 1.0, 0.04)


def test_a_scanner_without_terminators_needs_an_idle_gap() -> None:
    """Guards a configuration whose scans could never end."""
    with pytest.raises(ConfigError, match="needs idle_gap_ms"):
        _scanner(terminators=[], idle_gap_ms=0)
