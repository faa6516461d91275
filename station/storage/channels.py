"""PostgreSQL notification channels: named once for the processes that notify and those that listen."""
from __future__ import annotations

#: A station's state changed (a scan was logged); the payload is the station's id.
STATION_CHANGES = "station_changes"

#: Labels were queued (station.storage.print_bell); the payload is empty: every daemon looks at its printers.
PRINT_JOBS = "print_jobs"
