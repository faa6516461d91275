"""Reading the TOML configuration by its declaration, refusing what is misspelled or of the wrong type.

Every table is read by the keys its section declares (``station.config.model``):
a key it does not declare is refused with its name and the nearest declared
one (``[databse]``: did you mean ``database``?), so a typo never leaves the
station running on defaults; a value of the wrong type, out of its range or
not one of its words is refused with the key and what it takes. A key left
out takes its declared default; an empty text counts as left out. Then each
key's own check runs, and each section's ``settle`` for what spans its keys.
``[[printers]]`` entries are read by the drivers' rules (their keys are the
drivers' too), after the same refusal of unknown keys.
"""
from __future__ import annotations

import dataclasses
import enum
import os
import tomllib
from pathlib import Path
from typing import Any

from drivers.printers.config import OPTIONS as PRINTER_OPTIONS
from drivers.printers.config import PrinterConfig as DriverPrinterConfig
from drivers.printers.errors import PrinterConfigError
from station.domain.errors import ConfigError

from . import checks
from .checks import nearest, shown
from .declare import REQUIRED, Key, Place, keys
from .model import Config, LabelPrinterConfig

TOP = "the configuration"


def from_dict(data: dict[str, Any], source: Path | None = None) -> Config:
    """A Config from parsed TOML; ConfigError names the first key that is wrong."""
    return dataclasses.replace(read(Config, data, Place(TOP, source)), source=source)


def read(section: type, raw: Any, place: Place) -> Any:
    """One table as its section: every declared key read or defaulted, checked, then the section settled."""
    if section is LabelPrinterConfig:
        return _printer(raw, place)
    table = _table(raw, place.where, [k.name for k in keys(section)])
    values: dict[str, Any] = {}
    where = place.where
    for k in keys(section):
        values[k.name] = _key(k, table, Place(where, place.source))
        if k.name == "id" and hasattr(section, "named"):
            where = section.named.format(values["id"])  # "station goods-in" from here on
    if hasattr(section, "settle"):
        section.settle(values, table.keys(), where)
    return section(**values)


def _table(raw: Any, where: str, known: list[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table of settings, not {shown(raw)}")
    for name in raw:
        if name not in known:
            raise ConfigError(f"{where}: unknown key {name!r}{nearest(name, known)}")
    return raw


def _key(k: Key, table: dict[str, Any], place: Place) -> Any:
    """One key's value: read (or defaulted), then its own check."""
    value = _value(k, table[k.name], place) if k.name in table else _left_out(k, place)
    return k.about.check(value, place) if k.about.check is not None else value


def _left_out(k: Key, place: Place) -> Any:
    """The default of a key the file leaves out; a section is read as empty, so its own defaults and checks apply."""
    if k.section is not None:
        return _value(k, [] if k.many else {}, place)
    if k.default is REQUIRED:
        if k.about.check is None:
            raise ConfigError(f"{place.where}: {k.name} is missing")
        return None  # the key's check says what it takes
    return k.default


def _value(k: Key, raw: Any, place: Place) -> Any:
    if k.section is not None and k.many:
        if not isinstance(raw, list):
            raise ConfigError(f"{place.where}: {k.name} must be a list of tables ([[{k.name}]])")
        entries = tuple(read(k.section, entry, Place(_entry_where(k.name, i, place.where), place.source))
                        for i, entry in enumerate(raw))
        return entries or k.default  # a list left out or empty is its default
    if k.section is not None:
        return read(k.section, raw, Place(f"[{k.name}]", place.source))
    if k.many:
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            raise ConfigError(f"{place.where}: {k.name} must be a list of texts, such as [\"enter\"]")
        return tuple(raw)
    return _single(k, raw, place)


def _entry_where(name: str, index: int, where: str) -> str:
    """``[[stations]] #1`` at the top; ``station a scanner #2`` inside a named entry."""
    return f"[[{name}]] #{index + 1}" if where == TOP else f"{where} {name.removesuffix('s')} #{index + 1}"


def _single(k: Key, value: Any, place: Place) -> Any:
    where, name = place.where, k.name
    if k.base is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {name} must be true or false, not {shown(value)}")
        return value
    if k.base is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{where}: {name} must be a whole number, not {shown(value)}")
        if not k.about.lo <= value <= k.about.hi:
            raise ConfigError(f"{where}: {name} must be from {k.about.lo} to {k.about.hi}, not {value}")
        return value
    if k.choices is not None:
        if value not in k.choices:
            raise ConfigError(f"{where}: {name} must be one of {', '.join(k.choices)}, not {shown(value)}")
        return k.base(value) if isinstance(k.base, type) and issubclass(k.base, enum.Enum) else value
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {name} must be a text in quotes, not {shown(value)}")
    if value == "" and k.default is not REQUIRED:
        return k.default
    if k.base is Path:
        path = Path(value).expanduser()
        return place.source.resolve().parent / path if place.source is not None else path
    return value


def _printer(raw: Any, place: Place) -> LabelPrinterConfig:
    """One [[printers]] entry: its keys (the kind's options added) refused by name, its values by the drivers.

    The keys declared without a default are the drivers' (they read them, and
    default label and dpi); one declared with a default is the station's own,
    read like any other key and kept from the drivers.
    """
    kind = raw.get("kind") if isinstance(raw, dict) else None
    options = PRINTER_OPTIONS.get(kind) if isinstance(kind, str) else None
    if options is None:  # an unknown kind: the drivers say so below, once misspelt keys are ruled out
        options = {name: None for kinds in PRINTER_OPTIONS.values() for name in kinds}
    table = _table(raw, place.where, [k.name for k in keys(LabelPrinterConfig)] + list(options))
    checks.identifier(table.get("id"), place)
    own = {k.name: _key(k, table, place) for k in keys(LabelPrinterConfig) if k.default is not REQUIRED}
    try:
        driver = DriverPrinterConfig.from_mapping({name: v for name, v in table.items() if name not in own})
    except PrinterConfigError as exc:
        raise ConfigError(exc.message) from None
    return LabelPrinterConfig.of(driver, **own)


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the configuration in SPEC 5's lookup order: FILE, $STATION_CONFIG, ./station.toml, defaults."""
    candidate = path or os.environ.get("STATION_CONFIG")
    if candidate is None and Path("station.toml").is_file():
        candidate = "station.toml"
    if candidate is None:
        return from_dict({})
    p = Path(candidate)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the configuration file {p}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    return from_dict(data, source=p)
