"""The station's configuration: a TOML file, else built-in defaults.

Lookup order (SPEC 5): ``station --config FILE``, else ``$STATION_CONFIG``,
else ``./station.toml``, else defaults (SQLite ``./station.db``, web on
127.0.0.1:8700, one station ``default`` in sell mode).
``$STATION_DATABASE_URL`` overrides the database in every case.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

MODES = ("receive", "sell", "return")
DEFAULT_DOCUMENT_PATTERN = r"^PO-\d+$"
DEFAULT_URL = "sqlite:///station.db"


@dataclass(frozen=True)
class ScannerConfig:
    """One scanner of a station: which device, and how its bytes become scans."""

    kind: str = "evdev"  # evdev | serial
    path: str | None = None  # stable path: /dev/input/by-id/..., /dev/barcode/...
    vendor_product: str | None = None  # "0c2e:0b61"
    name: str | None = None
    layout: str = "us"
    terminators: tuple[str, ...] = ("KEY_ENTER", "KEY_KPENTER", "KEY_TAB")  # () for a scanner without suffix
    idle_gap_ms: int | None = 50  # the pause that ends a scan of a scanner without terminators
    lost_terminator_ms: int | None = 1000  # with terminators: the pause that ends a scan whose Enter was lost
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1

    @property
    def label(self) -> str:
        return self.path or self.vendor_product or self.name or self.kind

    @property
    def end_gap(self) -> float | None:
        """Seconds of pause that end a scan (SPEC 4): idle_gap_ms without terminators, else lost_terminator_ms."""
        ms = self.lost_terminator_ms if self.terminators else self.idle_gap_ms
        return ms / 1000 if ms else None


@dataclass(frozen=True)
class StationConfig:
    id: str
    mode: str = "sell"
    scanners: tuple[ScannerConfig, ...] = ()
    # Receiving a serial not on the purchase order's supplier list (ASN).
    unexpected_serials: str = "refuse"  # refuse | warn


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_URL
    web_host: str = "127.0.0.1"
    web_port: int = 8700
    stations: tuple[StationConfig, ...] = (StationConfig("default", "sell"),)
    document_pattern: str = DEFAULT_DOCUMENT_PATTERN
    # A printable stand-in some scanners send for the GS1 separator 0x1D.
    gs_substitute: str | None = None
    walk_in_customer: str = "WALKIN"
    source: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def station(self, station_id: str) -> StationConfig | None:
        return next((s for s in self.stations if s.id == station_id), None)

    @property
    def document_re(self) -> re.Pattern[str]:
        return re.compile(self.document_pattern)

    @property
    def data_dir(self) -> Path:
        """Where local files (spool, session secret) live.

        ``$STATE_DIRECTORY`` when systemd gives one (the unit's config folder is
        read-only under ProtectSystem=strict), else beside the SQLite file, else
        the working directory.
        """
        state_dir = os.environ.get("STATE_DIRECTORY")
        if state_dir:
            return Path(state_dir.split(":")[0])
        if self.database_url.startswith("sqlite:///") and self.database_url != "sqlite:///:memory:":
            return Path(self.database_url[len("sqlite:///"):]).resolve().parent
        return Path.cwd()


def _scanner(raw: dict[str, Any], where: str) -> ScannerConfig:
    kind = raw.get("kind", "serial" if "baudrate" in raw else "evdev")
    if kind not in ("evdev", "serial"):
        raise ConfigError(f"{where}: kind must be 'evdev' or 'serial', not {kind!r}")
    if not any(raw.get(k) for k in ("path", "vendor_product", "name")):
        raise ConfigError(f"{where}: give the scanner's path, vendor_product or name")
    terminators = raw.get("terminators", ["enter", "kpenter", "tab"])
    idle = raw.get("idle_gap_ms", 50)
    lost = raw.get("lost_terminator_ms", 1000)
    if not terminators and idle in (None, 0, False):
        raise ConfigError(f"{where}: a scanner without terminators needs idle_gap_ms (the pause that ends "
                          "its scans), 50 for most")
    return ScannerConfig(
        kind=kind,
        path=raw.get("path"),
        vendor_product=raw.get("vendor_product"),
        name=raw.get("name"),
        layout=raw.get("layout", "us"),
        terminators=tuple(t if t.startswith("KEY_") else "KEY_" + t.upper() for t in terminators),
        idle_gap_ms=None if idle in (None, 0, False) else int(idle),
        lost_terminator_ms=None if lost in (None, 0, False) else int(lost),
        baudrate=int(raw.get("baudrate", 9600)),
        bytesize=int(raw.get("bytesize", 8)),
        parity=str(raw.get("parity", "N")).upper()[:1],
        stopbits=int(raw.get("stopbits", 1)),
    )


def _station(raw: dict[str, Any], index: int) -> StationConfig:
    where = f"[[stations]] #{index + 1}"
    sid = raw.get("id")
    if not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", sid):
        raise ConfigError(f"{where}: id must be 1-64 letters, digits, '-', '_' or '.'")
    mode = raw.get("mode", "sell")
    if mode not in MODES:
        raise ConfigError(f"station {sid}: mode must be one of {', '.join(MODES)}, not {mode!r}")
    policy = raw.get("unexpected_serials", "refuse")
    if policy not in ("refuse", "warn"):
        raise ConfigError(f"station {sid}: unexpected_serials must be 'refuse' or 'warn'")
    scanners = tuple(
        _scanner(s, f"station {sid} scanner #{i + 1}") for i, s in enumerate(raw.get("scanners", []))
    )
    return StationConfig(id=sid, mode=mode, scanners=scanners, unexpected_serials=policy)


def from_dict(data: dict[str, Any], source: Path | None = None) -> Config:
    db = data.get("database", {})
    web = data.get("web", {})
    scanning = data.get("scanning", {})
    stations = tuple(_station(s, i) for i, s in enumerate(data.get("stations", [])))
    if not stations:
        stations = (StationConfig("default", "sell"),)
    ids = [s.id for s in stations]
    if len(set(ids)) != len(ids):
        raise ConfigError("two [[stations]] share one id")
    pattern = scanning.get("document_pattern", DEFAULT_DOCUMENT_PATTERN)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"[scanning] document_pattern is not a regular expression: {exc}") from None
    url = os.environ.get("STATION_DATABASE_URL") or db.get("url", DEFAULT_URL)
    if source is not None and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        # A relative SQLite path in a config file is relative to that file.
        rel = url[len("sqlite:///"):]
        if rel != ":memory:" and "STATION_DATABASE_URL" not in os.environ:
            url = "sqlite:///" + str((source.parent / rel).resolve())
    return Config(
        database_url=url,
        web_host=str(web.get("host", "127.0.0.1")),
        web_port=int(web.get("port", 8700)),
        stations=stations,
        document_pattern=pattern,
        gs_substitute=scanning.get("gs_substitute"),
        walk_in_customer=scanning.get("walk_in_customer", "WALKIN"),
        source=source,
        extra=data,
    )


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the configuration in SPEC 5's lookup order."""
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
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    return from_dict(data, source=p)
