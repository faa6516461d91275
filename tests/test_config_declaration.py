"""The configuration's declaration (station/config/model.py): every key said once, and reading follows it.

The refusals below are generated from the declaration, so a key added later is
tested for each kind of wrong value without a line here.
"""
from __future__ import annotations

import base64
import dataclasses
import enum
from pathlib import Path
from typing import Any

import pytest

from station.config import Config, LabelPrinterConfig, ScannerConfig, StationConfig, WebhookConfig, from_dict
from station.config.declare import REQUIRED, Key, keys
from station.domain.errors import ConfigError

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
HOOK = {"url": "https://erp.example/hooks/station", "secret": SECRET}


def _sections(section: type = Config, path: str = "") -> list[tuple[str, type]]:
    """Every section under ``section`` with its dotted path: ("web", WebConfig), ("stations.scanners", ...)."""
    found = []
    for k in keys(section):
        if k.section is not None:
            found.append((path + k.name, k.section))
            found.extend(_sections(k.section, path + k.name + "."))
    return found


# How each section is reached from a minimal configuration, and how its refusals name it. [[printers]] are
# read by the drivers' rules (tests/test_config_printers.py), so they are not generated here.
ENTRIES: dict[str, tuple[Any, str]] = {
    "database": (lambda kv: {"database": kv}, "[database]"),
    "web": (lambda kv: {"web": kv}, "[web]"),
    "scanning": (lambda kv: {"scanning": kv}, "[scanning]"),
    "daemon": (lambda kv: {"daemon": kv}, "[daemon]"),
    "service": (lambda kv: {"service": kv}, "[service]"),
    "stations": (lambda kv: {"stations": [{"id": "a", **kv}]}, "station a"),
    "stations.scanners": (lambda kv: {"stations": [{"id": "a", "scanners": [{"path": "/dev/x", **kv}]}]},
                          "station a scanner #1"),
    "webhooks": (lambda kv: {"webhooks": [{**HOOK, **kv}]}, "[[webhooks]] #1"),
    "traceability": (lambda kv: {"traceability": kv}, "[traceability]"),
}


def _wrong_values(k: Key) -> list[tuple[str, Any, str]]:
    """(id, a value of the wrong kind, what the refusal says of it) for one declared key."""
    if k.base is bool:
        return [("not_a_flag", "yes", f"{k.name} must be true or false, not 'yes'")]
    if k.base is int:
        lo, hi = k.about.lo, k.about.hi
        return [("text", "eighty", f"{k.name} must be a whole number, not 'eighty'"),
                ("below", lo - 1, f"{k.name} must be from {lo} to {hi}, not {lo - 1}"),
                ("above", hi + 1, f"{k.name} must be from {lo} to {hi}, not {hi + 1}")]
    if k.choices is not None:
        return [("not_a_choice", "nonsense", f"{k.name} must be one of {', '.join(k.choices)}, not 'nonsense'")]
    if k.many:
        return [("not_a_list", "enter", f"{k.name} must be a list of texts")]
    return [("number", 5, f"{k.name} must be a text in quotes, not 5")]


def _refusal_cases() -> list[Any]:
    cases = []
    for path, section in _sections():
        if path not in ENTRIES:
            continue
        build, where = ENTRIES[path]
        for k in keys(section):
            if k.section is not None:
                continue
            said = "[[stations]] #1" if (path, k.name) == ("stations", "id") else where  # named once its id is read
            for kind, value, says in _wrong_values(k):
                cases.append(pytest.param(build({k.name: value}), f"{said}: {says}", id=f"{path}.{k.name}-{kind}"))
            misspelt = k.name + k.name[-1]
            cases.append(pytest.param(build({misspelt: 1}), f"unknown key {misspelt!r}: did you mean {k.name!r}?",
                                      id=f"{path}.{k.name}-misspelt"))
    return cases


def test_every_section_is_reachable_in_these_tests():
    """Guards the generated refusals: a section added to the declaration must be added to ENTRIES (or be
    [[printers]], which the drivers read), or its keys would go untested."""
    assert {path for path, _ in _sections()} - set(ENTRIES) == {"printers"}


@pytest.mark.parametrize("section", [pytest.param(s, id=path) for path, s in _sections()])
def test_every_key_is_declared_in_full(section):
    """Guards a key declared by halves: each has a meaning, a type reading knows, a default (or is required),
    a range when it is a whole number, and a value the README's example can show."""
    for k in keys(section):
        assert k.doc, f"{section.__name__}.{k.name} says nothing of what it means"
        if k.section is not None:
            continue
        known = k.base in (str, int, bool, Path) or k.choices is not None
        assert known, f"{section.__name__}.{k.name}: reading knows no type {k.base!r}"
        if k.base is int and section is not LabelPrinterConfig:  # the drivers bound a printer's dpi
            assert k.about.lo is not None and k.about.hi is not None, f"{k.name} has no range"
            assert k.default in (None, REQUIRED) or k.about.lo <= k.default <= k.about.hi, f"{k.name}'s default"
        if k.default in (None, REQUIRED):
            assert k.about.example is not None, f"{section.__name__}.{k.name} has no value to show in the README"


@pytest.mark.parametrize(("data", "says"), _refusal_cases())
def test_each_kind_of_wrong_value_is_refused_by_name(data, says, monkeypatch):
    """Guards every declared key against a value of the wrong type, out of its range, not one of its words, or
    a misspelt name slipping through to a default: each refused with the table, the key and what it takes."""
    monkeypatch.delenv("STATION_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError) as refused:
        from_dict(data)
    assert says in refused.value.message


@pytest.mark.parametrize(("data", "read", "declared"), [
    pytest.param({}, lambda c: c, Config(), id="config"),
    pytest.param({"stations": [{"id": "a"}]}, lambda c: c.stations[0], StationConfig("a"), id="station"),
    pytest.param({"stations": [{"id": "a", "scanners": [{"path": "/dev/x"}]}]}, lambda c: c.stations[0].scanners[0],
                 ScannerConfig(path="/dev/x"), id="scanner"),
    pytest.param({"webhooks": [HOOK]}, lambda c: c.webhooks[0], WebhookConfig(**HOOK), id="webhook"),
])
def test_a_key_left_out_reads_as_its_declared_default(data, read, declared, monkeypatch):
    """Guards the defaults being said twice: what reading gives for keys left out is the dataclass's own
    default, the one declaration (the file's words turned into the readers' as the section does it)."""
    monkeypatch.delenv("STATION_DATABASE_URL", raising=False)
    assert read(from_dict(data)) == declared


@pytest.mark.parametrize("path", [p for p in ENTRIES if p != "database"])
def test_an_empty_text_counts_as_left_out(path, monkeypatch):
    """Guards the README's rule: ``host = ""`` runs on the default, as the key left out does, for every text key
    that has a default (a required one, such as an id, is refused instead)."""
    monkeypatch.delenv("STATION_DATABASE_URL", raising=False)
    build, _ = ENTRIES[path]
    section = dict(_sections())[path]
    texts = [k for k in keys(section)
             if k.base in (str, Path) and not k.many and k.default is not REQUIRED and k.choices is None]
    for k in texts:
        if (path, k.name) == ("stations.scanners", "path"):
            continue  # the minimal scanner is chosen by its path: left out, it is refused (test_config.py)
        blank, left_out = from_dict(build({k.name: ""})), from_dict(build({}))
        assert blank == left_out, k.name


def test_the_sections_keep_the_attributes_the_station_reads():
    """Guards the callers: the typed sections are the declaration, with the same attribute names as before."""
    assert [f.name for f in dataclasses.fields(ScannerConfig)] == [
        "kind", "path", "vendor_product", "name", "layout", "terminators", "lost_terminator_ms", "idle_gap_ms",
        "baudrate", "bytesize", "parity", "stopbits"]
    scanner = ScannerConfig(path="/dev/x", terminators=("enter", "KEY_TAB"), parity="even")
    assert (scanner.terminators, scanner.parity) == (("KEY_ENTER", "KEY_TAB"), "E")
    assert isinstance(StationConfig("a", "receive").mode, enum.Enum)
