"""The station's configuration as typed sections: what every part of the station reads, and nothing else.

``station.config.parse`` builds these from the TOML file and refuses what
it does not know; everything below is already checked when it exists.
"""
from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from drivers.printers.config import PrinterConfig as DriverPrinterConfig
from station.domain.vocabulary import Mode

DEFAULT_DOCUMENT_PATTERN = r"^PO-\d+$"
DEFAULT_URL = "sqlite:///station.db"
DEFAULT_TERMINATORS = ("KEY_ENTER", "KEY_KPENTER", "KEY_TAB")


@dataclass(frozen=True)
class ScannerConfig:
    """One scanner of a station: which device, and how its bytes become scans."""

    kind: str = "evdev"  # evdev | serial
    path: str | None = None  # stable path: /dev/input/by-id/..., /dev/barcode/...
    vendor_product: str | None = None  # "0c2e:0b61"
    name: str | None = None
    layout: str = "us"
    terminators: tuple[str, ...] = DEFAULT_TERMINATORS  # () for a scanner without a suffix
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
    mode: Mode = Mode.sell
    scanners: tuple[ScannerConfig, ...] = ()
    # Receiving a serial not on the purchase order's supplier list (ASN).
    unexpected_serials: str = "refuse"  # refuse | warn
    require_operator: bool = False  # True: nothing but USR: until an operator signs in
    operator_idle_minutes: int | None = None  # the operator is signed out after this long without a scan
    # A [[printers]] id: a label for each serial a receipt posted at this station brings in.
    print_on_receive: str | None = None
    # A [[printers]] id for CMD:PRINT; None: the print_on_receive printer.
    printer: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", Mode(self.mode))  # StationConfig("till", "sell") reads as Mode.sell

    @property
    def device_ids(self) -> tuple[str, ...]:
        """A name per scanner, unique within its station: its path, vendor:product or name (``#2`` when repeated).

        The daemon names its readers so and the pages find them by it.
        """
        ids: list[str] = []
        for scanner in self.scanners:
            base, n = scanner.label, 1
            while (name := base if n == 1 else f"{base}#{n}") in ids:
                n += 1
            ids.append(name)
        return tuple(ids)

    @property
    def label_printer(self) -> str | None:
        """The printer CMD:PRINT prints to: ``printer``, else ``print_on_receive``, else none (``unknown_printer``)."""
        return self.printer if self.printer is not None else self.print_on_receive


@dataclass(frozen=True)
class LabelPrinterConfig:
    """One ``[[printers]]`` entry (SPEC 5 Printing), checked by the drivers' own rules when it was read.

    ``driver`` is the same entry as ``drivers.printers`` takes it
    (``make_printer(driver, render=...)``); the fields beside it are what the
    pages and ``station printers`` show.
    """

    id: str
    kind: str  # zpl | brother_ql | cups
    address: str  # tcp://host:9100, /dev/usb/lp0, or a CUPS queue name
    label: str  # "50x25": width x height in mm
    dpi: int
    options: Mapping[str, Any]  # the kind's own: timeout, status_query, model, tape, server
    driver: DriverPrinterConfig

    @classmethod
    def of(cls, driver: DriverPrinterConfig) -> LabelPrinterConfig:
        return cls(driver.id, driver.kind, driver.address, driver.label, driver.dpi,
                   MappingProxyType(dict(driver.options)), driver)


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = DEFAULT_URL


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8700
    threads: int = 64  # request threads of the server (live event streams hold none)
    max_streams: int = 500  # live event streams open at once, in all
    max_streams_per_client: int = 10  # from one client address (the station's own screen is not capped)
    timezone: str | None = None  # pages show times in this zone; None: the system's

    @property
    def zone(self) -> ZoneInfo | None:
        """The configured zone, or None for the system's local time."""
        return ZoneInfo(self.timezone) if self.timezone else None


@dataclass(frozen=True)
class ScanningConfig:
    document_pattern: str = DEFAULT_DOCUMENT_PATTERN
    # A printable stand-in some scanners send for the GS1 separator 0x1D.
    gs_substitute: str | None = None
    walk_in_customer: str = "WALKIN"

    @cached_property
    def document_re(self) -> re.Pattern[str]:
        return re.compile(self.document_pattern)


@dataclass(frozen=True)
class ServiceConfig:
    """``[service]``: the service desk (SPEC 3b)."""

    overdue_days: int = 14  # a unit in service longer than this is listed on the overview


@dataclass(frozen=True)
class DaemonConfig:
    spool: Path | None = None  # None: spool.db in the data directory
    keep_done: int = 1000  # finished scans the spool keeps for /devices


@dataclass(frozen=True)
class WebhookConfig:
    """One ``[[webhooks]]``: where ``station run`` delivers the events of these types, and the key that signs them."""

    url: str
    secret: str  # "whsec_" + the base64 of the key (Standard Webhooks)
    events: tuple[str, ...]  # event types (station.domain.vocabulary.EventType values)

    @property
    def key(self) -> bytes:
        """The signing key: the secret's base64 part, decoded."""
        return base64.b64decode(self.secret.removeprefix("whsec_"), validate=True)


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    web: WebConfig = field(default_factory=WebConfig)
    scanning: ScanningConfig = field(default_factory=ScanningConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    stations: tuple[StationConfig, ...] = (StationConfig("default", Mode.sell),)
    source: Path | None = None  # the file it was read from
    webhooks: tuple[WebhookConfig, ...] = ()
    printers: tuple[LabelPrinterConfig, ...] = ()

    def station(self, station_id: str) -> StationConfig | None:
        return next((s for s in self.stations if s.id == station_id), None)

    def printer(self, printer_id: str) -> LabelPrinterConfig | None:
        return next((p for p in self.printers if p.id == printer_id), None)

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
        url = self.database.url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            return Path(url[len("sqlite:///"):]).resolve().parent
        return Path.cwd()

    @property
    def spool_path(self) -> Path:
        """``[daemon] spool``, else ``spool.db`` in the data directory."""
        return self.daemon.spool if self.daemon.spool is not None else self.data_dir / "spool.db"
