"""The scan counters of ``GET /metrics``: every scan this process commits, whoever processed it (daemon or web).

``station_scans_total{station, outcome}`` and ``station_scan_seconds{station}``
are process-wide, as Prometheus counters are: the scan service notes each
scan on its session (``note``), and they are counted when that session's
transaction commits, so a scan run again after a deadlock, or held through
an outage and processed later, counts once, and a scan whose transaction
rolled back not at all. The time is from the start of ``ScanService.process``
to the commit: read, decided, carried out and durable.

The metric objects are registered in no registry here: each app's
``/metrics`` (web.metrics) registers them beside its own gauges. The commit
listener is attached to SQLAlchemy's Session class on the first scan (a
process-wide hook for process-wide counters), never at import.
"""
from __future__ import annotations

import threading
import time

from prometheus_client import Counter, Histogram
from sqlalchemy import event
from sqlalchemy.orm import Session

#: Around SPEC 6's 10 ms target, and out to the posting of a big receipt.
BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

SCANS = Counter("station_scans", "Scans committed by this process, by station and outcome (accepted or refused).",
                ["station", "outcome"], registry=None)
SCAN_SECONDS = Histogram("station_scan_seconds", "Seconds from a scan's start in this process to its commit.",
                         ["station"], buckets=BUCKETS, registry=None)

_KEY = "station.scans_noted"
#: The labelled series of each station and outcome (a dict's get and set are atomic under the GIL; two threads
#: making the same pair make the same series: labels() gives one child per label values).
_children: dict[tuple[str, str], tuple] = {}
_hooked = False
_hook_lock = threading.Lock()


def note(session: Session, station: str, accepted: bool, started: float) -> None:
    """Count this scan when ``session`` commits (``started``: its ``time.perf_counter()`` at the start)."""
    if not _hooked:
        _hook()
    session.info.setdefault(_KEY, []).append((station, "accepted" if accepted else "refused", started))


def _hook() -> None:
    global _hooked
    with _hook_lock:
        if not _hooked:
            event.listen(Session, "after_commit", _committed)
            event.listen(Session, "after_rollback", _rolled_back)
            _hooked = True


def _committed(session: Session) -> None:
    noted = session.info.pop(_KEY, None)
    if not noted:
        return
    now = time.perf_counter()
    for station, outcome, started in noted:
        counted = _children.get((station, outcome))
        if counted is None:  # a station's first scan of this outcome: its two series, kept (labels() locks)
            counted = _children[(station, outcome)] = (SCANS.labels(station, outcome), SCAN_SECONDS.labels(station))
        counted[0].inc()
        counted[1].observe(now - started)


def _rolled_back(session: Session) -> None:
    session.info.pop(_KEY, None)
