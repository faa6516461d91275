"""The station's configuration, every key declared once: its section, name, type, default and meaning.

Each section is a frozen dataclass and each key one ``key(...)`` field of
it (``station.config.declare``), so what every part of the station reads
(``config.web.port``) is the declaration itself. ``station.config.parse``
reads the TOML file by these fields and refuses what they do not declare;
``station.config.docs`` writes the README's example from them. A check that
spans keys of one entry (a scanner needs a path, a vendor_product or a name)
is that section's ``settle``; one that spans entries is ``Config.settle``.
Everything below is already checked when it exists.
"""
from __future__ import annotations

import base64
import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from drivers.printers.config import DEFAULT_DPI, KINDS
from drivers.printers.config import PrinterConfig as DriverPrinterConfig
from station.domain.errors import ConfigError
from station.domain.vocabulary import MAIN_SITE, EventType, Mode

from . import checks
from .checks import PARITIES, nearest
from .declare import REQUIRED, key


@dataclass(frozen=True)
class ScannerConfig:
    """One scanner of a station: which device, and how its bytes become scans."""

    kind: Literal["evdev", "serial"] = key(
        "evdev", "a USB keyboard wedge, or a serial or USB-CDC scanner (default: serial when baudrate is set, "
        "else evdev)")
    path: str | None = key(None, "its stable path: /dev/input/by-id/..., by-path, or a /dev/barcode/... link "
                           "from udev/", example="/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd")
    vendor_product: str | None = key(None, "or its USB ids, as lsusb shows them (every one given must match)",
                                     check=checks.usb_ids, example="0c2e:0b61", commented=True)
    name: str | None = key(None, "or its name, a glob allowed", example="Honeywell*", commented=True)
    layout: str = key("us", "any xkb layout with the 'layouts' extra")
    terminators: tuple[str, ...] = key(("enter", "kpenter", "tab"), "the keys that end a scan; [] for a "
                                       "scanner set without a suffix")
    lost_terminator_ms: int = key(1000, "with terminators: a pause this long ends a scan whose Enter was lost "
                                  "(0: never)", lo=0, hi=600_000)
    idle_gap_ms: int = key(50, "without terminators: the pause that ends each scan", lo=0, hi=60_000)
    baudrate: int = key(9600, "serial: its speed", lo=50, hi=4_000_000, commented=True)
    bytesize: int = key(8, "serial: data bits", lo=5, hi=8, commented=True)
    parity: str = key("none", f"serial: {', '.join(PARITIES)} (or N, E, O, M, S)", check=checks.parity,
                      commented=True)
    stopbits: int = key(1, "serial: stop bits", lo=1, hi=2, commented=True)

    def __post_init__(self) -> None:
        # The file's words, as the readers take them: "enter" -> KEY_ENTER, "even" -> E.
        keys = tuple(x if x.startswith("KEY_") else "KEY_" + x.upper() for x in self.terminators)
        object.__setattr__(self, "terminators", keys)
        object.__setattr__(self, "parity", PARITIES.get(self.parity.lower(), self.parity.upper()))

    @classmethod
    def settle(cls, values: dict[str, Any], given: Collection[str], where: str) -> None:
        if "kind" not in given and "baudrate" in given:
            values["kind"] = "serial"
        if not (values["path"] or values["vendor_product"] or values["name"]):
            raise ConfigError(f"{where}: give the scanner's path, vendor_product or name")
        if not values["terminators"] and not values["idle_gap_ms"]:
            raise ConfigError(f"{where}: a scanner without terminators needs idle_gap_ms (the pause that ends "
                              "its scans), 50 for most")

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
    """One ``[[stations]]``: a place that scans, what its scans do, and its scanners."""

    named: ClassVar[str] = "station {}"  # how refusals name an entry once its id is read

    id: str = key(REQUIRED, "1-64 letters, digits, - _ .: its name in URLs, pages and the API",
                  check=checks.identifier, example="goods-in")
    mode: Mode = key(Mode.sell, "what a product or serial scan opens", example=Mode.receive)
    location: str = key(MAIN_SITE, "the code of the location where it stands (its site is the station's site)",
                        check=checks.location_code)
    require_operator: bool = key(False, "nothing but an operator's badge (USR:...) until someone signs in",
                                 example=True)
    operator_idle_minutes: int | None = key(None, "signed out after this long without a scan (optional)",
                                            lo=1, hi=7 * 24 * 60, example=30)
    print_on_receive: str | None = key(None, "a [[printers]] id: a label for each serial a posted receipt "
                                       "brings in (optional)", example="zebra-1")
    printer: str | None = key(None, "a [[printers]] id: where CMD:PRINT prints (optional; default: "
                              "print_on_receive)", example="zebra-1")
    unexpected_serials: Literal["refuse", "warn"] = key("refuse", "a serial not on the supplier's list (ASN)")
    scanners: tuple[ScannerConfig, ...] = key((), "a scanner of the station above; as many as it has")

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
    """One ``[[printers]]`` entry (SPEC 5 Printing), read and checked by the drivers' own rules.

    Its keys and their defaults are the drivers' (``drivers.printers.config``:
    these five, and each kind's ``OPTIONS``); the declarations below only say
    what each means. A key of the station's own (one the drivers do not
    read) is declared here with a default, after ``dpi``. ``driver`` is the same entry as ``drivers.printers``
    takes it (``make_printer(driver, render=...)``); the fields beside it are
    what the pages and ``station printers`` show.
    """

    id: str = key(REQUIRED, "1-64 letters, digits, - _ .; one printer across every box of the database",
                  check=checks.identifier, example="zebra-1")
    kind: str = key(REQUIRED, " | ".join(KINDS), example="zpl")
    address: str = key(REQUIRED, "tcp://host[:port] or a device such as /dev/usb/lp0; a CUPS queue name for cups",
                       example="tcp://192.0.2.10:9100")
    label: str = key(REQUIRED, "mm, width x height as the label is read", example="50x25")
    dpi: int = key(REQUIRED, "default " + ", ".join(
        f"{dpi} for {' and '.join(k for k in KINDS if DEFAULT_DPI[k] == dpi)}" for dpi in dict.fromkeys(
            DEFAULT_DPI.values())), example=203)
    symbology: Literal["code128", "datamatrix", "qr"] = key(
        "code128", "what a label carries: the serial; a GS1 DataMatrix of (01)GTIN(21)serial; a QR code of "
        "its Digital Link URI (both: the serial itself without a GTIN; see Traceability)",
        example="datamatrix")
    options: Mapping[str, Any] = field(kw_only=True)  # the kind's own: timeout, status_query, model, tape, server
    driver: DriverPrinterConfig = field(kw_only=True)

    @classmethod
    def of(cls, driver: DriverPrinterConfig, **own: Any) -> LabelPrinterConfig:
        """The entry the drivers read, and the station's own keys of it (symbology) beside."""
        return cls(driver.id, driver.kind, driver.address, driver.label, driver.dpi,
                   options=MappingProxyType(dict(driver.options)), driver=driver, **own)


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = key("sqlite:///station.db", "or postgresql+psycopg://host/db; a relative SQLite file is beside "
                   "this file; $STATION_DATABASE_URL overrides it", check=checks.database_url)


@dataclass(frozen=True)
class WebConfig:
    host: str = key("127.0.0.1", "the address it listens on; any other than loopback requires a login "
                    "(see Security)")
    port: int = key(8700, "its port", lo=0, hi=65535)
    threads: int = key(64, "request threads behind the event loop (live screens hold none)", lo=1, hi=1024)
    timezone: str | None = key(None, "page times in this zone (default: the system's); the API keeps UTC",
                               check=checks.time_zone, example="Europe/Berlin")
    max_streams: int = key(500, "live screens (event streams) open at once, in all", lo=1, hi=100_000)
    max_streams_per_client: int = key(10, "from one machine other than the station's own screen",
                                      lo=1, hi=100_000)

    @property
    def zone(self) -> ZoneInfo | None:
        """The configured zone, or None for the system's local time."""
        return ZoneInfo(self.timezone) if self.timezone else None


@dataclass(frozen=True)
class ScanningConfig:
    document_pattern: str = key(r"^PO-\d+$", "purchase order references (a regular expression)",
                                check=checks.pattern)
    gs_substitute: str | None = key(None, "a printable stand-in a scanner sends for the GS1 separator "
                                    "(optional)", example="|")
    walk_in_customer: str = key("WALKIN", "the customer of a sale that scans no CUS:")

    @cached_property
    def document_re(self) -> re.Pattern[str]:
        return re.compile(self.document_pattern)


@dataclass(frozen=True)
class ServiceConfig:
    """``[service]``: the service desk (SPEC 3b)."""

    overdue_days: int = key(14, "a unit at the service desk longer than this is listed on the overview",
                            lo=1, hi=3650)


@dataclass(frozen=True)
class DaemonConfig:
    spool: Path | None = key(None, "the durable spool of scans read (default: spool.db in the data directory)",
                             example=Path("spool.db"))
    keep_done: int = key(1000, "processed scans it keeps for /devices", lo=0, hi=10_000_000)


@dataclass(frozen=True)
class WebhookConfig:
    """One ``[[webhooks]]``: where ``station run`` delivers the events of these types, and the key that signs them."""

    url: str = key(REQUIRED, "http:// or https://", check=checks.webhook_url,
                   example="https://erp.example/hooks/station")
    secret: str = key(REQUIRED, "\"whsec_\" + the base64 of a 24-64 byte key; signs every delivery",
                      check=checks.webhook_secret, example="whsec_...")
    events: tuple[str, ...] = key(tuple(e.value for e in EventType), f"of {', '.join(EventType)} (default: all; "
                                  "epcis: document.posted)", check=checks.event_types,
                                  example=(EventType.document_posted.value,))
    format: Literal["json", "epcis"] = key("json", "each event as GET /api/events gives it, or (epcis) each "
                                           "posted document's movements as one EPCIS 2.0 document (see "
                                           "Traceability)", example="epcis", commented=True)

    @classmethod
    def settle(cls, values: dict[str, Any], given: Collection[str], where: str) -> None:
        """An epcis webhook takes the posted documents: its events are document.posted, and only that."""
        if values["format"] != "epcis":
            return
        posted = (EventType.document_posted.value,)
        if "events" in given and tuple(values["events"]) != posted:
            raise ConfigError(f"{where}: a webhook of format \"epcis\" takes document.posted events only: "
                              "leave events out, or give [\"document.posted\"]")
        values["events"] = posted

    @property
    def key(self) -> bytes:
        """The signing key: the secret's base64 part, decoded."""
        return base64.b64decode(self.secret.removeprefix("whsec_"), validate=True)


@dataclass(frozen=True)
class TraceabilityConfig:
    """``[traceability]``: the URIs a serial and a location are known by (SPEC 5 Traceability)."""

    digital_link_base: str = key("https://id.gs1.org", "a serial of a product with a GTIN is "
                                 "<this>/01/<GTIN-14>/21/<serial>: GS1's resolver, or your own (a path allowed)",
                                 check=checks.uri_base("digital_link_base"))
    base_uri: str | None = key(None, "any other serial is <this>/serial/<serial>, a location <this>/location/<code> "
                               "(default: http://<web host>:<port>)", check=checks.uri_base("base_uri"),
                               example="https://station.example.com")


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = key(DatabaseConfig, "SQLite or PostgreSQL")
    web: WebConfig = key(WebConfig, "the pages and the HTTP API")
    scanning: ScanningConfig = key(ScanningConfig, "how a scan is read")
    daemon: DaemonConfig = key(DaemonConfig, "station run's scanner daemon")
    service: ServiceConfig = key(ServiceConfig, "the service desk")
    stations: tuple[StationConfig, ...] = key((StationConfig("default", Mode.sell),),
                                              "one for each place that scans (none: one, \"default\", selling)")
    webhooks: tuple[WebhookConfig, ...] = key((), "station run POSTs each event of these types here "
                                              "(see Integration)")
    printers: tuple[LabelPrinterConfig, ...] = key((), "label printers; each kind's own keys: see Printing")
    traceability: TraceabilityConfig = key(TraceabilityConfig, "a serial's and a location's URIs (GS1 Digital "
                                           "Link, EPCIS)")
    source: Path | None = None  # the file it was read from

    @classmethod
    def settle(cls, values: dict[str, Any], given: Collection[str], where: str) -> None:
        """What spans entries: ids and urls each once, and every printer a station names configured."""
        for name, attr, why in (("stations", "id", "id"), ("printers", "id", "id"),
                                ("webhooks", "url", "url: give one webhook all the event types it takes")):
            seen = [getattr(entry, attr) for entry in values[name]]
            if len(set(seen)) != len(seen):
                raise ConfigError(f"two [[{name}]] share one {why}")
        printers = [p.id for p in values["printers"]]
        for station in values["stations"]:
            for name in ("print_on_receive", "printer"):
                named = getattr(station, name)
                if named is not None and named not in printers:
                    hint = nearest(named, printers, "printers") if printers else ": add it as a [[printers]] entry"
                    raise ConfigError(f"station {station.id}: {name} = {named!r} names no printer{hint}")

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
