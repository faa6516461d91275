"""The diagnosing commands: station decode-evtest and station devices."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from station.cli.main import cli

DATA = Path(__file__).parent / "drivers" / "data"


def test_decode_evtest_prints_one_scan_a_line():
    """An evtest capture decodes into its scans, including a last one with no Enter."""
    result = CliRunner().invoke(cli, ["decode-evtest", str(DATA / "evtest_honeywell_us.txt")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["ABC-123", "Widget 7/b", "TAIL9"]


def test_decode_evtest_with_a_german_layout():
    """--layout de reads a German-layout capture (y/z swapped, AltGr+Q = @)."""
    result = CliRunner().invoke(cli, ["decode-evtest", str(DATA / "python_evtest_de.txt"), "--layout", "de"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ['Zy-@#1/"', "SN/7"]


def test_decode_evtest_skips_lines_that_are_not_events(tmp_path):
    """Lines that are neither evtest nor categorize() output are skipped, not fatal."""
    capture = tmp_path / "mixed.txt"
    capture.write_text(
        "Input driver version is 1.0.1\n"
        "some noise\n"
        "key event at 1700000000.000100, 30 (KEY_A), down\n"
        "key event at 1700000000.000200, 30 (KEY_A), up\n"
        "Event: time 1700000000.000300, type 1 (EV_KEY), code 48 (KEY_B), value 1\n"
        "Event: time 1700000000.000400, type 1 (EV_KEY), code 48 (KEY_B), value 0\n"
        "Event: time 1700000000.000500, type 1 (EV_KEY), code 28 (KEY_ENTER), value 1\n"
    )
    result = CliRunner().invoke(cli, ["decode-evtest", str(capture)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["ab"]


def test_devices_names_missing_configured_scanners(tmp_path):
    """A configured scanner that is not plugged in is listed as missing, and the command still succeeds."""
    config = tmp_path / "station.toml"
    config.write_text(
        '[database]\nurl = "sqlite:///%s"\n[[stations]]\nid = "till"\nmode = "sell"\n'
        '[[stations.scanners]]\npath = "/dev/barcode/not-plugged-in"\n' % (tmp_path / "s.db")
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "devices"])
    assert result.exit_code == 0, result.output
    assert "missing: station till expects evdev scanner /dev/barcode/not-plugged-in" in result.output


def test_decode_evtest_of_slow_human_typing_is_one_scan_per_enter():
    """Issue 13: a person typing on a keypad (100-300 ms between keys) gave one scan per key; now one per Enter."""
    result = CliRunner().invoke(cli, ["decode-evtest", str(DATA / "evtest_keypad_human_slow.txt")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["123456789", "4711", "0815"]


def test_decode_evtest_without_terminators_ends_scans_by_the_idle_gap():
    """--terminators '' decodes as a scanner set without a suffix: each pause over --idle-gap-ms ends a scan."""
    capture = str(DATA / "evtest_keypad_human_slow.txt")
    result = CliRunner().invoke(cli, ["decode-evtest", capture, "--terminators", "", "--idle-gap-ms", "1000"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["123456789", "4711", "0815"]
    bad = CliRunner().invoke(cli, ["decode-evtest", capture, "--terminators", "entr"])
    assert bad.exit_code == 2 and "KEY_ENTR" in bad.output


def _capture(tmp_path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("make", [
    pytest.param(lambda tmp: Path("/etc/passwd"), id="not_a_capture"),
    pytest.param(lambda tmp: _capture(tmp, "empty.txt", ""), id="empty_file"),
    pytest.param(lambda tmp: _capture(tmp, "header.txt", "Input driver version is 1.0.1\n"
                                      "Input device name: \"Honeywell 1900\"\nTesting ... (interrupt to exit)\n"),
                 id="header_only"),
])
def test_decode_evtest_of_a_file_without_key_events_says_so(tmp_path, make):
    """Issue 20: `station decode-evtest /etc/passwd` exited 0 and printed nothing, as if the scanner had sent
    nothing; a file without key events is one sentence naming it, exit 1."""
    path = make(tmp_path)
    result = CliRunner().invoke(cli, ["decode-evtest", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: No key events were found in {path}: an evtest capture holds lines")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("events, words", [
    pytest.param(["key event at 1700000000.000100, 42 (KEY_LEFTSHIFT), down"], "holds 1 key event but",
                 id="one_key_event"),
    pytest.param(["key event at 1700000000.000100, 42 (KEY_LEFTSHIFT), down",
                  "key event at 1700000000.000200, 42 (KEY_LEFTSHIFT), up"], "holds 2 key events but",
                 id="two_key_events"),
])
def test_decode_evtest_of_keys_that_type_nothing_says_so(tmp_path, events, words):
    """Guards a silent exit 0 for a capture whose keys (a Shift alone) type no characters: there is no scan."""
    path = _capture(tmp_path, "shift.txt", "\n".join(events) + "\n")
    result = CliRunner().invoke(cli, ["decode-evtest", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == f"Error: {path} {words} no characters, so no scan.\n"
