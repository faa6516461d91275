"""PostgreSQL notification channels: named once for the processes that notify and those that listen.

The print queue's bell names its own (station.printing.bell.PRINT_JOBS)."""
from __future__ import annotations

#: A station's state changed (a scan was logged); the payload is the station's id.
STATION_CHANGES = "station_changes"
