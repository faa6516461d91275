"""The station's configuration: a TOML file, else built-in defaults (SPEC 5).

Lookup order: ``station --config FILE``, else ``$STATION_CONFIG``, else
``./station.toml``, else defaults (SQLite ``./station.db``, web on
127.0.0.1:8700, one station ``default`` in sell mode).
``$STATION_DATABASE_URL`` overrides the database in every case.
"""
from .model import (
    Config,
    DaemonConfig,
    DatabaseConfig,
    LabelPrinterConfig,
    ScannerConfig,
    ScanningConfig,
    ServiceConfig,
    StationConfig,
    TraceabilityConfig,
    WebConfig,
    WebhookConfig,
)
from .parse import from_dict, load

__all__ = [
    "Config",
    "DaemonConfig",
    "DatabaseConfig",
    "LabelPrinterConfig",
    "ScannerConfig",
    "ScanningConfig",
    "ServiceConfig",
    "StationConfig",
    "TraceabilityConfig",
    "WebConfig",
    "WebhookConfig",
    "from_dict",
    "load",
]
