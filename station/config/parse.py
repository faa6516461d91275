"""Reading the TOML configuration into typed sections, refusing what is misspelled or of the wrong type.

Every table names the keys it knows. A key that is not one of them is
refused with its name and the nearest known one (``[databse]``: did you mean
``database``?), so a typo never leaves the station running on defaults; a
value of the wrong type is refused with the key and what it should be.
"""
from __future__ import annotations

import base64
import binascii
import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drivers.printers.config import OPTIONS as PRINTER_OPTIONS
from drivers.printers.config import PrinterConfig as DriverPrinterConfig
from drivers.printers.errors import PrinterConfigError
from station.domain.errors import ConfigError
from station.domain.vocabulary import EventType, Mode
from station.domain.wording import plural

from .model import (
    DEFAULT_DOCUMENT_PATTERN,
    DEFAULT_TERMINATORS,
    DEFAULT_URL,
    Config,
    DaemonConfig,
    DatabaseConfig,
    LabelPrinterConfig,
    ScannerConfig,
    ScanningConfig,
    ServiceConfig,
    StationConfig,
    WebConfig,
    WebhookConfig,
)

SECTIONS = ("database", "web", "scanning", "daemon", "service", "stations", "webhooks", "printers")
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


class Table:
    """One TOML table and the keys it may hold; typed getters that name the key in every refusal."""

    def __init__(self, raw: Any, where: str, known: tuple[str, ...]):
        if not isinstance(raw, dict):
            raise ConfigError(f"{where} must be a table of settings, not {_shown(raw)}")
        for key in raw:
            if key not in known:
                near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                hint = f": did you mean {near[0]!r}?" if near else f" (known: {', '.join(known)})"
                raise ConfigError(f"{where}: unknown key {key!r}{hint}")
        self.raw = raw
        self.where = where

    def has(self, key: str) -> bool:
        return key in self.raw

    def text(self, key: str, default: str | None) -> str | None:
        value = self.raw.get(key, default)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{self.where}: {key} must be a text in quotes, not {_shown(value)}")
        return value

    def whole(self, key: str, default: int, *, lo: int, hi: int) -> int:
        value = self.raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{self.where}: {key} must be a whole number, not {_shown(value)}")
        if not lo <= value <= hi:
            raise ConfigError(f"{self.where}: {key} must be from {lo} to {hi}, not {value}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where}: {key} must be true or false, not {_shown(value)}")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.raw.get(key, default)
        if value not in choices:
            raise ConfigError(f"{self.where}: {key} must be one of {', '.join(choices)}, not {_shown(value)}")
        return value

    def texts(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.raw.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self.where}: {key} must be a list of texts, such as [\"enter\"]")
        return tuple(value)

    def tables(self, key: str) -> list[Any]:
        value = self.raw.get(key, [])
        if not isinstance(value, list):
            raise ConfigError(f"{self.where}: {key} must be a list of tables ([[{key}]])")
        return value


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, (str, int, float, bool)) else type(value).__name__


def _scanner(raw: Any, where: str) -> ScannerConfig:
    t = Table(raw, where, ("kind", "path", "vendor_product", "name", "layout", "terminators", "idle_gap_ms",
                           "lost_terminator_ms", "baudrate", "bytesize", "parity", "stopbits"))
    kind = t.choice("kind", "serial" if t.has("baudrate") else "evdev", ("evdev", "serial"))
    path, vendor_product, name = t.text("path", None), t.text("vendor_product", None), t.text("name", None)
    if not (path or vendor_product or name):
        raise ConfigError(f"{where}: give the scanner's path, vendor_product or name")
    if vendor_product is not None and not re.fullmatch(r"[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}", vendor_product):
        raise ConfigError(f"{where}: vendor_product is four hex digits, a colon and four more, as lsusb shows "
                          f"(\"0c2e:0b61\"), not {vendor_product!r}")
    terminators = t.texts("terminators", ("enter", "kpenter", "tab"))
    idle = t.whole("idle_gap_ms", 50, lo=0, hi=60_000)
    lost = t.whole("lost_terminator_ms", 1000, lo=0, hi=600_000)
    if not terminators and not idle:
        raise ConfigError(f"{where}: a scanner without terminators needs idle_gap_ms (the pause that ends "
                          "its scans), 50 for most")
    return ScannerConfig(
        kind=kind,
        path=path,
        vendor_product=vendor_product,
        name=name,
        layout=t.text("layout", "us") or "us",
        terminators=tuple(x if x.startswith("KEY_") else "KEY_" + x.upper() for x in terminators)
        if t.has("terminators") else DEFAULT_TERMINATORS,
        idle_gap_ms=idle or None,
        lost_terminator_ms=lost or None,
        baudrate=t.whole("baudrate", 9600, lo=50, hi=4_000_000),
        bytesize=t.whole("bytesize", 8, lo=5, hi=8),
        parity=_parity(t),
        stopbits=t.whole("stopbits", 1, lo=1, hi=2),
    )


PARITIES = {"none": "N", "even": "E", "odd": "O", "mark": "M", "space": "S"}


def _parity(t: Table) -> str:
    """``parity``: N, E, O, M or S, or the word (none, even...), in any case."""
    value = t.text("parity", "N") or "N"
    letter = PARITIES.get(value.lower(), value.upper())
    if letter not in PARITIES.values():
        raise ConfigError(f"{t.where}: parity must be one of none, even, odd, mark, space, not {value!r}")
    return letter


def _station(raw: Any, index: int) -> StationConfig:
    where = f"[[stations]] #{index + 1}"
    t = Table(raw, where, ("id", "mode", "scanners", "unexpected_serials", "require_operator", "operator_idle_minutes",
                           "print_on_receive", "printer"))
    sid = t.text("id", None)
    if sid is None or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", sid):
        raise ConfigError(f"{where}: id must be 1-64 letters, digits, '-', '_' or '.'")
    where = f"station {sid}"
    mode = Mode(t.choice("mode", Mode.sell, tuple(Mode)))
    policy = t.choice("unexpected_serials", "refuse", ("refuse", "warn"))
    scanners = tuple(_scanner(s, f"{where} scanner #{i + 1}") for i, s in enumerate(t.tables("scanners")))
    idle = t.whole("operator_idle_minutes", 0, lo=1, hi=7 * 24 * 60) if t.has("operator_idle_minutes") else None
    return StationConfig(id=sid, mode=mode, scanners=scanners, unexpected_serials=policy,
                         require_operator=t.flag("require_operator", False), operator_idle_minutes=idle,
                         print_on_receive=t.text("print_on_receive", None), printer=t.text("printer", None))


def _webhook(raw: Any, index: int) -> WebhookConfig:
    """One ``[[webhooks]]``: an http(s) URL, a Standard Webhooks secret, the event types it takes (default: all)."""
    where = f"[[webhooks]] #{index + 1}"
    t = Table(raw, where, ("url", "secret", "events"))
    url = t.text("url", None)
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise ConfigError(f"{where}: url must be an http:// or https:// address (at most 2000 characters), "
                          f"not {_shown(url) if url is not None else 'missing'}")
    secret = t.text("secret", None)
    if secret is None or not secret.startswith("whsec_"):
        raise ConfigError(f"{where}: secret must be \"whsec_\" and the base64 of a key of 24 to 64 random bytes, "
                          "such as one made by: python3 -c 'import base64, secrets; "
                          "print(\"whsec_\" + base64.b64encode(secrets.token_bytes(32)).decode())'")
    try:
        key = base64.b64decode(secret[len("whsec_"):], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where}: secret after \"whsec_\" is not base64") from None
    if not 24 <= len(key) <= 64:
        raise ConfigError(f"{where}: secret's key is {plural(len(key), 'byte')}; a Standard Webhooks key is 24 to 64 bytes")
    known = tuple(e.value for e in EventType)
    events = t.texts("events", known)
    for name in events:
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f": did you mean {near[0]!r}?" if near else f" (known: {', '.join(known)})"
            raise ConfigError(f"{where}: unknown event type {name!r}{hint}")
    if not events:
        raise ConfigError(f"{where}: events is empty: name the event types to deliver, or leave it out for all")
    return WebhookConfig(url=url, secret=secret, events=tuple(dict.fromkeys(events)))


PRINTER_KEYS = ("id", "kind", "address", "label", "dpi")


def _printer(raw: Any, index: int) -> LabelPrinterConfig:
    """One [[printers]] entry: its keys named here (the kind's options added), its values checked by the drivers."""
    where = f"[[printers]] #{index + 1}"
    kind = raw.get("kind") if isinstance(raw, dict) else None
    options = PRINTER_OPTIONS.get(kind) if isinstance(kind, str) else None
    if options is None:  # an unknown kind: the drivers say so below, once misspelt keys are ruled out
        options = {key: None for kinds in PRINTER_OPTIONS.values() for key in kinds}
    t = Table(raw, where, PRINTER_KEYS + tuple(options))
    pid = t.text("id", None)
    if pid is None or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", pid):
        raise ConfigError(f"{where}: id must be 1-64 letters, digits, '-', '_' or '.'")
    try:
        return LabelPrinterConfig.of(DriverPrinterConfig.from_mapping(raw))
    except PrinterConfigError as exc:
        raise ConfigError(exc.message) from None


def _printers(top: Table, stations: tuple[StationConfig, ...]) -> tuple[LabelPrinterConfig, ...]:
    """Every [[printers]] entry, and every station's printer keys naming one of them."""
    printers = tuple(_printer(p, i) for i, p in enumerate(top.tables("printers")))
    ids = [p.id for p in printers]
    if len(set(ids)) != len(ids):
        raise ConfigError("two [[printers]] share one id")
    for station in stations:
        for key in ("print_on_receive", "printer"):
            named = getattr(station, key)
            if named is not None and named not in ids:
                near = difflib.get_close_matches(named, ids, n=1, cutoff=0.6)
                hint = (f": did you mean {near[0]!r}?" if near else
                        f" (printers: {', '.join(ids)})" if ids else ": add it as a [[printers]] entry")
                raise ConfigError(f"station {station.id}: {key} = {named!r} names no printer{hint}")
    return printers


def _database_url(t: Table, source: Path | None) -> str:
    url = os.environ.get("STATION_DATABASE_URL") or t.text("url", DEFAULT_URL) or DEFAULT_URL
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in DATABASE_SCHEMES:
        raise ConfigError(f"database url {url.split('://')[0]}://... is not supported: use sqlite:///FILE "
                          "or postgresql+psycopg://HOST/DB")
    if source is not None and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        # A relative SQLite path in a config file is relative to that file.
        rel = url[len("sqlite:///"):]
        if rel != ":memory:" and "STATION_DATABASE_URL" not in os.environ:
            url = "sqlite:///" + str((source.parent / rel).resolve())
    return url


def _web(t: Table) -> WebConfig:
    zone = t.text("timezone", None)
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"[web] timezone {zone!r} is not a time zone: use a name such as \"Europe/Berlin\"") from None
    return WebConfig(host=t.text("host", "127.0.0.1") or "127.0.0.1", port=t.whole("port", 8700, lo=0, hi=65535),
                     threads=t.whole("threads", 64, lo=1, hi=1024), timezone=zone,
                     max_streams=t.whole("max_streams", 500, lo=1, hi=100_000),
                     max_streams_per_client=t.whole("max_streams_per_client", 10, lo=1, hi=100_000))


def _scanning(t: Table) -> ScanningConfig:
    pattern = t.text("document_pattern", DEFAULT_DOCUMENT_PATTERN) or DEFAULT_DOCUMENT_PATTERN
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"[scanning] document_pattern is not a regular expression: {exc}") from None
    return ScanningConfig(document_pattern=pattern, gs_substitute=t.text("gs_substitute", None) or None,
                          walk_in_customer=t.text("walk_in_customer", "WALKIN") or "WALKIN")


def _daemon(t: Table, source: Path | None) -> DaemonConfig:
    spool = t.text("spool", None)
    path = None
    if spool is not None:
        path = Path(spool).expanduser()
        if not path.is_absolute() and source is not None:
            path = source.resolve().parent / path
    return DaemonConfig(spool=path, keep_done=t.whole("keep_done", 1000, lo=0, hi=10_000_000))


def _service(t: Table) -> ServiceConfig:
    return ServiceConfig(overdue_days=t.whole("overdue_days", ServiceConfig.overdue_days, lo=1, hi=3650))


def from_dict(data: dict[str, Any], source: Path | None = None) -> Config:
    """A Config from parsed TOML; ConfigError names the first key that is wrong."""
    top = Table(data, "the configuration", SECTIONS)
    stations = tuple(_station(s, i) for i, s in enumerate(top.tables("stations")))
    ids = [s.id for s in stations]
    if len(set(ids)) != len(ids):
        raise ConfigError("two [[stations]] share one id")
    webhooks = tuple(_webhook(w, i) for i, w in enumerate(top.tables("webhooks")))
    urls = [w.url for w in webhooks]
    if len(set(urls)) != len(urls):
        raise ConfigError("two [[webhooks]] share one url: give one webhook all the event types it takes")
    return Config(
        database=DatabaseConfig(_database_url(Table(data.get("database", {}), "[database]", ("url",)), source)),
        web=_web(Table(data.get("web", {}), "[web]", ("host", "port", "threads", "timezone", "max_streams",
                                                        "max_streams_per_client"))),
        scanning=_scanning(Table(data.get("scanning", {}), "[scanning]",
                                 ("document_pattern", "gs_substitute", "walk_in_customer"))),
        daemon=_daemon(Table(data.get("daemon", {}), "[daemon]", ("spool", "keep_done")), source),
        service=_service(Table(data.get("service", {}), "[service]", ("overdue_days",))),
        stations=stations or Config().stations,
        source=source,
        webhooks=webhooks,
        printers=_printers(top, stations),
    )


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
